"""A bisect on a REAL repository whose test also fails other ways, end to end through the CLI.

Each trial runs `patchtool bisect --run PROBE --fail-match "regression:"` on the given range. The
probe (written here, seeded per trial and run) checks the working tree for a marker: where FILE
contains TEXT (the culprit's change), it fails with "regression:" with probability p; at every
commit, before that, it fails with "download error" (another way) with probability --other. The
other failures are counted apart; a commit whose runs are mostly such failures by more than chance
is set aside as untestable (bisection.classify.set_aside). Set aside by chance, the culprit or its
parent leaves the search blocked or wrong.

Printed: how often the culprit was named, the stop reasons, commits set aside per trial, and mean
runs, unusable runs and builds. --tree runs another checkout of patchtool (to compare versions).
--bad-end-other R also makes the bad end fail another way with probability R (1: a bad end broken
by a later change; the search then calibrates a commit before it in its place). --broken K makes K
commits between the ends (drawn per trial, never the culprit) fail another way on every run, and
--broken-sha SHA (repeatable) that commit (the tip of the branch a broken merge bad end merged).
--simulate-search (no repository) runs the whole search in process on a line of --n commits, with
the same outcomes (--broken K: K commits between the ends, drawn per trial, always fail another
way; --q Q: good commits fail the regression's way at Q; --cannot-build K: the bad end and the K-1
commits before it do not build; --culprit N: the culprit at N), and prints how it stopped.
--simulate (no repository) measures the rule alone: how often a commit is set aside by chance
when the test fails other ways at rate r everywhere (100 runs elsewhere, 80 at the commit), and
after how many runs a commit that breaks the test is, against the two-thirds rule alone; how
often the first commit run (nothing known elsewhere) is set aside by chance; and how often a test
usable at rate r everywhere stops the search as mostly unusable.

Usage: nice -n 10 python bench/bisect_unusable.py /path/to/qemu 3a2d5612a7 ad9ce9f6f2 55d98e3ede \\
           --marker 'util/rcu.c:bool forced' --p 0.5 --other 0.55 --trials 20
"""

from __future__ import annotations

import os
import sys

# bench/bisect.py, beside this file, is named like the stdlib module: drop this directory from the
# import path before anything imports `bisect`.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402
import collections  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PROBE = """#!{python}
import os, random, subprocess, sys
counter = {counter!r}
n = int(open(counter).read()) if os.path.exists(counter) else 0
open(counter, "w").write(str(n + 1))
rng = random.Random("{seed}:" + str(n))
if rng.random() < {other}:
    print("download error"); sys.exit(1)
head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
if head in {broken!r}:
    print("harness: cannot start"); sys.exit(1)
if {bad_end_other} and rng.random() < {bad_end_other}:
    if head == {bad_sha!r}:
        print("harness: cannot start"); sys.exit(1)
try:
    bad = {text!r} in open({file!r}, encoding="utf-8", errors="replace").read()
except OSError:
    bad = False
if bad and rng.random() < {p}:
    print("regression: it broke"); sys.exit(1)
print("ok")
"""


def broken_commits(args: argparse.Namespace, number: int) -> set[str]:
    """--broken K: K commits between the ends (never the culprit), drawn for this trial, and the
    commits named by --broken-sha."""
    named = {c for c in args.between for prefix in args.broken_sha if c.startswith(prefix)}
    if not args.broken:
        return named
    between = [c for c in args.between if not c.startswith(args.culprit)]
    return named | set(random.Random(f"{args.seed}:{number}:broken").sample(between, args.broken))


def trial(args: argparse.Namespace, tree: Path, number: int) -> dict[str, object]:
    file, _, text = args.marker.partition(":")
    with tempfile.TemporaryDirectory(prefix="bisect-unusable-") as tmp:
        probe = Path(tmp) / "probe.py"
        fields = {"python": sys.executable, "counter": str(Path(tmp) / "n"), "seed": f"{args.seed}:{number}",
                  "other": args.other, "p": args.p, "text": text, "file": file,
                  "bad_end_other": args.bad_end_other, "bad_sha": args.bad_sha,
                  "broken": broken_commits(args, number)}  # fmt: skip
        probe.write_text(PROBE.format(**fields))
        probe.chmod(0o755)
        env = dict(os.environ, PYTHONPATH=str(tree.resolve()))
        env.update(PATCHTOOL_DATA_DIR=f"{tmp}/data", PATCHTOOL_CACHE_DIR=f"{tmp}/cache")
        goods = [x for g in args.good.split(",") for x in ("--good", g)]  # A,B: git bisect good A B
        argv = [sys.executable, "-m", "patchtool", "bisect", *goods, "--bad", args.bad,
                *(["--first-parent"] if args.first_parent else []),
                "--run", str(probe), "--fail-match", "regression:", "--no-revert-test", "--json",
                "--repo", str(Path(args.repo).resolve())]  # fmt: skip
        # Run from the scratch directory: `python -m` puts the working directory first on the
        # import path, ahead of PYTHONPATH (--tree).
        done = subprocess.run(argv, capture_output=True, env=env, cwd=tmp, check=False)
        if done.returncode not in (0, 1):
            return {"error": done.stderr.decode(errors="replace").strip().splitlines()[-1:]}
        report = json.loads(done.stdout)
    culprit = (report.get("culprit") or {}).get("sha") or ""
    return {
        "right": bool(culprit) and culprit.startswith(args.culprit),
        "stop": report.get("stop_reason"),
        "runs": report.get("runs", 0),
        "builds": report.get("builds", 0),
        "unusable": report.get("unusable_runs", 0),
        "set_aside": len(report.get("untestable") or []),
        "candidates": report.get("candidates", 0),
        "merge": ((report.get("merge") or {}).get("sha") or "")[:12],
    }


def simulate(trials: int, seed: int) -> None:
    from patchtool.bisection.classify import set_aside

    def two_thirds(conclusive: int, unusable: int, elsewhere: tuple[int, int]) -> bool:
        return unusable >= 8 and unusable > 2 * conclusive

    Rule = Callable[[int, int, tuple[int, int]], bool]

    def first_set_aside(rule: Rule, rng: random.Random, r_else: float, r: float, runs: int) -> int:
        u_else = sum(rng.random() < r_else for _ in range(100))
        conclusive = unusable = 0
        for k in range(runs):
            if rng.random() < r:
                unusable += 1
            else:
                conclusive += 1
            if rule(conclusive, unusable, (u_else, 100)):
                return k + 1
        return 0

    for name, rule in (("two-thirds rule", two_thirds), ("set_aside", set_aside)):
        chance = []
        for r in (1 / 3, 0.5, 0.6, 0.7, 0.8, 0.9):
            rng = random.Random(seed)
            hits = sum(bool(first_set_aside(rule, rng, r, r, 80)) for _ in range(trials))
            chance.append(f"{r:.2f}: {hits / trials:.2%}")
        print(f"{name}: set aside by chance within 80 runs at r = " + ", ".join(chance))
        found = []
        for r_else, r in ((0.1, 0.8), (1 / 3, 0.9), (0.5, 0.95), (0.7, 1.0)):
            rng = random.Random(seed)
            at = sorted(first_set_aside(rule, rng, r_else, r, 200) or 10**6 for _ in range(trials // 10))
            found.append(f"{r:.2f} among {r_else:.2f}: median {at[len(at) // 2]} runs")
        print(f"{name}: a commit failing other ways at " + "; ".join(found))
    first_commit_chance(trials, seed)
    everywhere_chance(trials, seed)


def first_commit_chance(trials: int, seed: int) -> None:
    """The first commit run (usually the bad end, with nothing run elsewhere yet) is run until 4
    of its runs count (the bad end's calibration at p = 0.5): how often is it set aside first,
    when the test is unusable at rate r everywhere?"""
    from patchtool.bisection.classify import set_aside

    def valve_30(conclusive: int, unusable: int, elsewhere: tuple[int, int]) -> bool:
        return unusable >= 30 and unusable > 9 * conclusive  # the rule before this round's

    for name, rule in (("30 at nine tenths", valve_30), ("set_aside", set_aside)):
        parts = []
        for r in (0.7, 0.8, 0.9, 0.95):
            rng = random.Random(seed)
            hits = 0
            for _ in range(trials):
                conclusive = unusable = 0
                while conclusive < 4:
                    if rng.random() < r:
                        unusable += 1
                    else:
                        conclusive += 1
                    if rule(conclusive, unusable, (0, 0)):
                        hits += 1
                        break
            parts.append(f"{r:.2f}: {hits / trials:.2%}")
        print(f"{name}: the first commit run set aside before 4 runs count, at r = " + ", ".join(parts))


def everywhere_chance(trials: int, seed: int) -> None:
    """How often, and when, unusable_everywhere stops a search over 1500 runs of a test usable at
    rate r everywhere, against the rule it replaced (over 95 % of at least 50 runs)."""
    from patchtool.bisection.classify import unusable_everywhere

    def share_seen(unusable: int, conclusive: int) -> bool:
        return unusable >= 50 and unusable > 19 * conclusive

    for name, rule in (("over 95 % of 50", share_seen), ("unusable_everywhere", unusable_everywhere)):
        parts = []
        for r in (0.0, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15):
            rng = random.Random(seed)
            when = []
            for _ in range(trials // 4):
                unusable = conclusive = 0
                for k in range(1500):
                    usable = rng.random() < r
                    conclusive, unusable = conclusive + usable, unusable + (not usable)
                    if rule(unusable, conclusive):
                        when.append(k + 1)
                        break
            median = sorted(when)[len(when) // 2] if when else "-"
            parts.append(f"{r:.2f}: {len(when) / (trials // 4):.1%} (median run {median})")
        print(f"{name}: stopped within 1500 runs, usable at r = " + ", ".join(parts))


def simulate_search(args: argparse.Namespace) -> None:
    """The whole search in process (BisectState and Replay, as the driver feeds them), on a line of
    --n commits: how it stops when the test fails other ways at --other everywhere, at
    --bad-end-other at the bad end (1: a bad end broken by a later change), and always at
    --broken commits between the ends (drawn per trial); good commits fail the regression's way at
    --q; the bad end and the --cannot-build - 1 commits before it do not build (--culprit N puts
    the culprit at N, e.g. the nearest that builds). Builds are the switches of one build tree."""
    from patchtool.bisection.classify import Verdict
    from patchtool.bisection.core import BisectState
    from patchtool.bisection.graph import History
    from patchtool.bisection.model import StopReason, Strategy
    from patchtool.bisection.replay import Replay

    stops: collections.Counter[str] = collections.Counter()
    right, wrong, runs, builds = 0, 0, [], []
    for t in range(args.trials):
        rng = random.Random(f"{args.seed}:{t}")
        culprit = rng.randint(1, args.n) if args.culprit_at is None else args.culprit_at
        broken = set(rng.sample(range(1, args.n), args.broken)) if args.broken else set()
        unbuilt = set(range(args.n - args.cannot_build + 1, args.n + 1))
        state = BisectState(History.chain(args.n), Strategy(max_runs=args.max_runs))
        replay = Replay(state, {str(i): i for i in range(args.n + 1)})
        made = 0
        while (probe := state.next_probe()) is not None:
            i, made = probe.index, made + 1
            other = args.bad_end_other if i == args.n and args.bad_end_other else args.other
            if i in unbuilt:
                verdict, made = Verdict.UNTESTABLE, made - 1
            elif rng.random() < (1.0 if i in broken else other):
                verdict = Verdict.OTHER
            else:
                failing = args.p if i >= culprit else args.q
                verdict = Verdict.FAIL if rng.random() < failing else Verdict.PASS
            replay.apply(str(i), verdict, "search", 1.0)
        result = state.result()
        stops[result.stop_reason.value if result.stop_reason else "none"] += 1
        right += result.culprit == culprit
        wrong += result.stop_reason == StopReason.CONFIDENT and result.culprit != culprit
        runs.append(made)
        builds.append(state.switches)
    runs.sort()
    print(
        f"N {args.n}, p {args.p}, other {args.other}, bad end other {args.bad_end_other},"
        f" broken {args.broken}, q {args.q}, cannot build {args.cannot_build}, culprit"
        f" {'random' if args.culprit_at is None else args.culprit_at}, seed {args.seed}:"
        f" culprit named {right}/{args.trials} ({wrong} wrong);"
        f" stops {dict(stops)}; runs median {runs[len(runs) // 2]}, max {runs[-1]}, mean"
        f" {sum(runs) / len(runs):.1f}; builds mean {sum(builds) / len(builds):.1f}"
    )


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("repo", nargs="?")
    parser.add_argument("good", nargs="?", help="the good commit; A,B for several (--good A --good B)")
    parser.add_argument("bad", nargs="?")
    parser.add_argument("culprit", nargs="?", help="the culprit's sha (a prefix will do)")
    parser.add_argument("--simulate", action="store_true", help="measure the set-aside rule alone")
    parser.add_argument("--marker", help="FILE:TEXT, in the tree from the culprit on")
    parser.add_argument("--p", type=float, default=0.5, help="failure rate (the regression) with the marker")
    parser.add_argument("--other", type=float, default=0.5, help="rate of failing another way, everywhere")
    parser.add_argument(
        "--bad-end-other",
        type=float,
        default=0.0,
        help="rate of failing another way at the bad end (on top of --other)",
    )
    parser.add_argument(
        "--simulate-search",
        action="store_true",
        help="the whole search in process, on a line of --n commits (no repository)",
    )
    parser.add_argument("--n", type=int, default=646, help="commits, for --simulate-search")
    parser.add_argument(
        "--broken", type=int, default=0, help="commits between the ends always failing another way"
    )
    parser.add_argument(
        "--broken-sha",
        action="append",
        default=[],
        help="a commit between the ends always failing another way",
    )
    parser.add_argument("--max-runs", type=int, default=20000, help="budget, for --simulate-search")
    parser.add_argument("--q", type=float, default=0.0, help="good commits' failure rate (--simulate-search)")
    parser.add_argument("--cannot-build", type=int, default=0, help="unbuildable: the bad end, K-1 before")
    parser.add_argument("--culprit", dest="culprit_at", type=int, help="its position (--simulate-search)")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    here = Path(__file__).resolve().parent.parent
    parser.add_argument("--tree", default=str(here), help="the patchtool checkout to run")
    parser.add_argument("--first-parent", action="store_true", help="bisect with --first-parent")
    args = parser.parse_args()
    if args.simulate:
        simulate(max(args.trials, 1000), args.seed)
        return
    if args.simulate_search:
        if not 0 <= args.cannot_build <= args.n or not 1 <= (args.culprit_at or 1) <= args.n:
            parser.error(f"--cannot-build and --culprit must lie within the {args.n} commits (--n)")
        simulate_search(args)
        return
    if not (args.culprit and args.marker):
        parser.error("REPO GOOD BAD CULPRIT and --marker are needed (or --simulate)")
    args.bad_sha = subprocess.run(["git", "-C", args.repo, "rev-parse", "--verify", args.bad + "^{commit}"],
                                  capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    git = ["git", "-C", args.repo]
    goods = [f"^{g}" for g in args.good.split(",")]
    listed = subprocess.run([*git, "rev-list", "--ancestry-path", args.bad_sha, *goods],
                            capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    args.between = sorted(c for c in listed if c != args.bad_sha)
    started, results = time.time(), []
    for number in range(args.trials):
        results.append(trial(args, Path(args.tree), number))
        print(f"trial {number}: {results[-1]}", file=sys.stderr, flush=True)
    ok = [r for r in results if "error" not in r]
    n = max(len(ok), 1)
    stops = collections.Counter(str(r["stop"]) for r in ok)
    errors = len(results) - len(ok)
    print(f"{args.tree}: {len(ok)} trials (+{errors} errors), p {args.p}, other {args.other}", end="")
    print(f", bad end other {args.bad_end_other}" if args.bad_end_other else "", end="")
    print(f", broken {args.broken}" if args.broken else "", end="")
    print(f", seed {args.seed}")
    print(f"  culprit named: {sum(bool(r['right']) for r in ok)}/{len(ok)}; stops: {dict(stops)}")
    for key in ("candidates", "set_aside", "runs", "unusable", "builds"):
        print(f"  mean {key}: {sum(float(str(r[key])) for r in ok) / n:.2f}")
    print(f"  {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
