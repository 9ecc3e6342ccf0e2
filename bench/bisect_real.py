"""Bisect a simulated flaky test on a REAL git history (e.g. a month of QEMU master).

The candidates come from patchtool's own graph code (`bisection.ranges.commit_graph`, the code the
driver uses). The test is simulated: a run at a commit fails with probability p when CULPRIT is an
ancestor of it (itself included), else with probability q. p and q are unknown to every strategy.

Strategies, all on the same seeded trials:
* patchtool: the core over the commit graph (with --first-parent: the first-parent line, then the
  merge it names bisected inside, the runs at both ends carried over, as the driver does);
* line: the same core over `git rev-list --reverse --ancestry-path GOOD..BAD` treated as a line
  (the old v1 behaviour: everything listed after the culprit counted bad);
* git-bayesect: on the first-parent line (when the `bench` extra is installed);
* bayesect+inside: git-bayesect again inside the merge it names (from the branch's fork to its
  tip, then the merge), as a user of it would go on to name a commit; both searches paid for.

Printed per strategy: error with its 95 % Wilson interval, no answer, mean runs, builds (distinct
commits run) and cost (runs + 10 builds), how often the answer is a merge commit, and the cost of
the trials that gave an answer (a search that never converges runs to the 30,000-run cap).

Usage: nice -n 10 python bench/bisect_real.py /work/.mirror/pbo-linaro+qemu-ci/repo \\
           3a2d5612a7 ad9ce9f6f2 55d98e3ede --p 0.5 --q 0 --trials 200
"""

from __future__ import annotations

import os
import sys

# bench/bisect.py, beside this file, is named like the stdlib module: drop this directory from the
# import path before anything imports `bisect`.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402
import math  # noqa: E402
import random  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from functools import cache  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from patchtool.bisection.core import BisectState  # noqa: E402
from patchtool.bisection.graph import History  # noqa: E402
from patchtool.bisection.model import Strategy  # noqa: E402
from patchtool.bisection.ranges import commit_graph  # noqa: E402
from patchtool.testrun.stats import wilson_interval as wilson  # noqa: E402
from patchtool.vcs.repo import GitRepo  # noqa: E402

BUILD_COST = 10
MAX_RUNS = 30_000


def git(git_dir: str, *args: str) -> str:
    """Read-only git plumbing on the given repository (argv list, no shell)."""
    done = subprocess.run(["git", f"--git-dir={git_dir}", *args], capture_output=True, check=True)
    return done.stdout.decode()


@dataclass(frozen=True)
class Range:
    """The real history: commit graphs as the driver builds them, and the truth of every commit."""

    git_dir: str
    good: str
    bad: str
    culprit: str
    bad_set: frozenset[str]  # commits that contain the culprit
    merges: frozenset[str]  # commits of the range with more than one parent
    first_parent: bool


@cache
def load_range(git_dir: str, good: str, bad: str, culprit: str, first_parent: bool) -> Range:
    full = lambda r: git(git_dir, "rev-parse", r).strip()  # noqa: E731
    good, bad, culprit = full(good), full(bad), full(culprit)
    inside = set(git(git_dir, "rev-list", "--ancestry-path", f"{culprit}..{bad}").split())
    listing = git(git_dir, "rev-list", "--parents", f"{good}..{bad}").splitlines()
    merges = frozenset(line.split()[0] for line in listing if len(line.split()) > 2)
    return Range(git_dir, good, bad, culprit, frozenset(inside | {culprit}), merges, first_parent)


@cache
def graph(git_dir: str, good: str, bad: str, first_parent: bool) -> tuple[list[str], History]:
    shas, history, _ = commit_graph(GitRepo(Path(git_dir)), good, bad, first_parent)
    return shas, history


@cache
def ancestry_line(git_dir: str, good: str, bad: str) -> tuple[list[str], History]:
    """v1's candidates: the ancestry path in git's default order, as a line."""
    listed = git(git_dir, "rev-list", "--reverse", "--ancestry-path", f"{good}..{bad}").split()
    shas = [good, *listed]
    return shas, History.chain(len(shas) - 1)


class Oracle:
    """The simulated flaky test over real commits; counts runs and distinct commits run."""

    def __init__(self, rng: Range, p: float, q: float, seed: int) -> None:
        self.range, self.p, self.q, self.seed = rng, p, q, seed
        self.rand = random.Random(seed)
        self.runs = 0
        self.built: set[str] = set()

    def run(self, sha: str) -> bool:
        self.built.add(sha)
        self.runs += 1
        return self.rand.random() < (self.p if sha in self.range.bad_set else self.q)


def _strategy(**records: tuple[int, int]) -> Strategy:
    # Only the user's options: the confidence, the measured build cost, a run budget, and the
    # records of --bad-record / --good-record (or the first-parent search's, inside its merge).
    return Strategy(confidence=0.99, build_cost_in_runs=BUILD_COST, max_runs=MAX_RUNS, **records)


def search(
    shas: list[str],
    history: History,
    oracle: Oracle,
    seen: list[tuple[str, bool]],
    **records: tuple[int, int],
) -> str | None:
    """The core's search over these commits, fed first with runs already made at them."""
    index = {sha: i for i, sha in enumerate(shas)}
    state = BisectState(history, _strategy(**records))
    for sha, failed in seen:
        if sha in index:
            state.observe(index[sha], failed)
    while (probe := state.next_probe()) is not None:
        sha = shas[probe.index]
        failed = oracle.run(sha)
        seen.append((sha, failed))
        state.observe(probe.index, failed)
    culprit = state.result().culprit
    return None if culprit is None else shas[culprit]


def strategy_patchtool(rng: Range, oracle: Oracle, **records: tuple[int, int]) -> str | None:
    seen: list[tuple[str, bool]] = []
    line, history = graph(rng.git_dir, rng.good, rng.bad, rng.first_parent)
    named = search(line, history, oracle, seen, **records)
    if not rng.first_parent or named is None or named not in rng.merges:
        return named
    first = git(rng.git_dir, "rev-parse", f"{named}^1").strip()  # bisect inside the merge named
    # the line's other runs count inside as records (core.BisectState.side_counts): after the merge bad,
    # before its first parent good
    at = line.index(named)
    bad, good = list(records.get("bad_record", (0, 0))), list(records.get("good_record", (0, 0)))
    for sha, failed in seen:
        if sha in (named, first):
            continue
        side = bad if line.index(sha) > at else good
        side[0], side[1] = side[0] + failed, side[1] + 1
    inner = {"bad_record": (bad[0], bad[1]), "good_record": (good[0], good[1])}
    return search(*graph(rng.git_dir, first, named, False), oracle, seen, **inner)


RECORD_RUNS = {"good": 100, "bad": 20}


def strategy_patchtool_record(rng: Range, oracle: Oracle) -> str | None:
    """patchtool given a CI record of the test (--bad-record, --good-record) drawn from the true
    rates: RECORD_RUNS runs at the bad end and on known-good commits, from a generator of their
    own (the trial's runs stay those of the other strategies)."""
    draw = random.Random(f"record {oracle.seed}")
    bad_f = sum(draw.random() < oracle.p for _ in range(RECORD_RUNS["bad"]))
    good_f = sum(draw.random() < oracle.q for _ in range(RECORD_RUNS["good"]))
    bad, good = (bad_f, RECORD_RUNS["bad"]), (good_f, RECORD_RUNS["good"])
    return strategy_patchtool(rng, oracle, bad_record=bad, good_record=good)


def strategy_line(rng: Range, oracle: Oracle) -> str | None:
    return search(*ancestry_line(rng.git_dir, rng.good, rng.bad), oracle, [])


def strategy_bayesect(rng: Range, oracle: Oracle) -> str | None:
    return _bayesect_line(graph(rng.git_dir, rng.good, rng.bad, True)[0], oracle)


def strategy_bayesect_inside(rng: Range, oracle: Oracle) -> str | None:
    """git-bayesect as a user would run it to name a commit: on the first-parent line, then, while
    it names a merge, on the branch that merge brought in (the first-parent line from where the
    branch forked to its tip, then the merge), up to three levels. Both searches are paid for."""
    named = strategy_bayesect(rng, oracle)
    for _ in range(3):
        if named is None or named not in rng.merges:
            return named
        tip = git(rng.git_dir, "rev-parse", f"{named}^2").strip()
        fork = git(rng.git_dir, "merge-base", f"{named}^1", tip).strip()
        branch = git(rng.git_dir, "rev-list", "--reverse", "--first-parent", f"{fork}..{tip}").split()
        named = _bayesect_line([fork, *branch, named], oracle)
    return named


def _bayesect_line(shas: list[str], oracle: Oracle) -> str | None:
    """git-bayesect over ``shas`` (the first known good, the last known bad), at confidence 0.99."""
    import numpy as np
    from git_bayesect import Bisector

    n = len(shas) - 1  # git_bayesect indexes newest first; the good end has prior weight 0
    prior = np.ones(n + 1)
    prior[n] = 0.0
    bisector = Bisector(prior)
    with np.errstate(all="ignore"):
        while float(bisector.distribution.max()) < 0.99 and oracle.runs < MAX_RUNS:
            j = bisector.select()
            bisector.record(j, oracle.run(shas[n - j]))
        if float(bisector.distribution.max()) < 0.99:
            return None
        return shas[n - int(np.argmax(bisector.distribution))]


STRATEGIES: dict[str, Callable[[Range, Oracle], str | None]] = {
    "patchtool": strategy_patchtool,
    "patchtool+record": strategy_patchtool_record,
    "line": strategy_line,
    "git-bayesect": strategy_bayesect,
    "bayesect+inside": strategy_bayesect_inside,
}


@dataclass(frozen=True)
class Outcome:
    correct: bool
    answered: bool
    merge: bool
    runs: int
    builds: int


Work = tuple[str, tuple[str, str, str, str, bool], float, float, int, int]


def run_chunk(work: Work) -> list[Outcome]:
    name, where, p, q, first_seed, trials = work
    rng = load_range(*where)
    outs = []
    for seed in range(first_seed, first_seed + trials):
        oracle = Oracle(rng, p, q, seed)
        named = STRATEGIES[name](rng, oracle)
        outs.append(Outcome(named == rng.culprit, named is not None, named in rng.merges,
                            oracle.runs, len(oracle.built)))  # fmt: skip
    return outs


def print_facts(rng: Range) -> None:
    """The facts of the range the issue quotes, measured here."""
    g, b, c = rng.git_dir, rng.good, rng.bad
    listed = git(g, "rev-list", "--reverse", "--ancestry-path", f"{b}..{c}").split()
    after = listed[listed.index(rng.culprit) + 1 :] if rng.culprit in listed else []
    stray = sum(1 for sha in after if sha not in rng.bad_set)
    fp = git(g, "rev-list", "--first-parent", "--parents", f"{b}..{c}").splitlines()
    fp_merges = sum(1 for line in fp if len(line.split()) > 2)
    _, history = graph(g, b, c, False)
    subject = git(g, "log", "-1", "--format=%s", rng.culprit).strip()
    print(f"range {b[:12]}..{c[:12]}  culprit {rng.culprit[:12]} {subject!r}")
    print(f"  ancestry path: {len(listed)} commits; good..bad (patchtool's graph): {history.n} candidates")
    print(f"  first-parent: {len(fp)} commits, {fp_merges} merges; merges in the range: {len(rng.merges)}")
    print(f"  listed after the culprit: {len(after)}, of which {stray} do not contain it")
    print(f"  commits containing the culprit: {len(rng.bad_set)}")


def print_row(name: str, outs: list[Outcome], seconds: float) -> None:
    n = len(outs)
    wrong = sum(o.answered and not o.correct for o in outs)
    lo, hi = wilson(wrong, n)
    runs = sum(o.runs for o in outs) / n
    builds = sum(o.builds for o in outs) / n
    merges = sum(o.answered and o.merge for o in outs)
    answered = [o.runs + BUILD_COST * o.builds for o in outs if o.answered]
    print(
        f"  {name:<15} {n:>6} {wrong:>5} {100 * wrong / n:>6.1f}% [{100 * lo:4.1f},{100 * hi:5.1f}]"
        f" {100 * sum(not o.answered for o in outs) / n:>8.1f}% {runs:>8.1f} {builds:>6.1f}"
        f" {runs + BUILD_COST * builds:>8.1f} {100 * merges / n:>6.1f}%"
        f" {sum(answered) / max(len(answered), 1):>9.1f}  ({seconds:.0f} s)"
    )


def main() -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=fmt)
    parser.add_argument("git_dir")
    parser.add_argument("good")
    parser.add_argument("bad")
    parser.add_argument("culprit")
    parser.add_argument("--p", type=float, default=0.5, help="failure rate of commits with the culprit")
    parser.add_argument("--q", type=float, default=0.0, help="failure rate of the others")
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--first-parent", action="store_true", help="patchtool bisects the first-parent line")
    parser.add_argument("--strategies", default="patchtool,line,git-bayesect,bayesect+inside")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes")
    args = parser.parse_args()
    where = (args.git_dir, args.good, args.bad, args.culprit, args.first_parent)
    rng = load_range(*where)
    if not _in_range(rng):
        parser.error(f"culprit {args.culprit} is not in {args.good}..{args.bad}")
    print_facts(rng)
    mode = "first-parent, then inside the merge" if args.first_parent else "commit graph"
    print(f"p={args.p} q={args.q} trials={args.trials} seeds {args.seed}.. (patchtool: {mode})")
    print(f"  {'strategy':<15} {'trials':>6} {'wrong':>5} {'error [95%]':>19} {'no answer':>9}"
          f" {'runs':>8} {'builds':>6} {'cost':>8} {'merge':>7} {'cost(ans)':>9}")  # fmt: skip
    for name in args.strategies.split(","):
        if name in ("git-bayesect", "bayesect+inside") and not _has_bayesect():
            print(f"  {name}  (not installed: pip install -e '.[bench]')")
            continue
        start = time.monotonic()
        print_row(name, _run(name, where, args), time.monotonic() - start)
        sys.stdout.flush()


def _in_range(rng: Range) -> bool:
    shas, _ = graph(rng.git_dir, rng.good, rng.bad, False)
    return rng.culprit in shas[1:]


def _has_bayesect() -> bool:
    try:
        import git_bayesect  # noqa: F401
    except ImportError:
        return False
    return True


def _run(name: str, where: tuple[str, str, str, str, bool], args: argparse.Namespace) -> list[Outcome]:
    chunks = max(args.jobs, 1) * 4
    size = math.ceil(args.trials / chunks)
    work: list[Work] = [
        (name, where, args.p, args.q, args.seed + i * size, min(size, args.trials - i * size))
        for i in range(chunks)
        if args.trials - i * size > 0
    ]
    if args.jobs <= 1:
        return [o for w in work for o in run_chunk(w)]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        return [o for outs in pool.map(run_chunk, work) for o in outs]


if __name__ == "__main__":
    main()
