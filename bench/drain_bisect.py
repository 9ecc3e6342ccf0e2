"""A real QEMU regression whose test fails only some of the time, found with real builds.

The case (QEMU master, September 2023): commit c8bf923d5e ("test-bdrv-drain: avoid race with BH in
IOThread drain test") says `tests/unit/test-bdrv-drain` "sometimes fails without an error message",
and that 46eb6e861b ("block-backend: process I/O in the current AioContext"), later in the same
pull, is the first commit where it reproduces. Master merged the fix before that commit
(3da71a2111), so master never had the failure; a pull that took the change without the fix has
it. Here, under CPU load (--load busy processes on the machine's 2 cores), the test aborts in
`bdrv_poll_co: Assertion ... failed` on some of its runs from that commit on (7-13 % with its
output written to a file, 73 of 200 with it read through pipes as patchtool reads it), and never
at its parent (0 of 200).

meson runs each test in a session of its own, and patchtool so runs meson and a `--run` command
(so that a timeout kills all of it). Linux's autogroup scheduling gives each session a fair share
of the CPU, so the load of other sessions does not reach the test, and the race hid: 0 failures
in 300 runs at the bad end. The bench
refuses to run with kernel.sched_autogroup_enabled on; turn it off for the run, and back on after.

The history is made from real commits, in a `--shared` clone under WORKDIR (QEMU_GIT is only
read): master before the pull (3da71a2111^1, the good end), the pull's 27 other commits merged on
it without the fix, then master's next six first-parent commits (pulls) up to 11a629d246 replayed
on that merge (126 commits). The newest end must be 11a629d246's tree without the fix.

`patchtool bisect --good <master before the pull> --bad <newest end> --test test-bdrv-drain` runs
while the load does, --repeat times, each with a cache of its own (nothing stored is reused; the
build directory is). Under meson, which sets MALLOC_PERTURB_, the same race dies of a SIGSEGV
with no message of the test's own (the fix's "fails without an error message"); patchtool adds
meson's words for it, "killed by signal 11 SIGSEGV", to the run, so `--fail-match 'signal 11'`
selects it. Without --fail-match every failure counts.
--rates N first runs the test N times under the same load at the culprit and at its parent (with
plain ninja in the clone), to give p and q as this machine has them. --tested N first runs
`patchtool test` N times at the newest end, in the search's cache: the search counts those runs as
the bad end's record, and lists how their failures ended among its own (checked: the ways' runs
the bisect counted are its own failed runs and the record's failures), and whether its own runs
contradict that record (records_against: it is then set aside). Printed per search: the
commit named against the expected one, P, runs, builds, wall time, the revert test, whether the
report's replay of the stored search (`report --bisect-test`) says what the bisect said, and whether
the clone's checkout was left as it was. --first-parent bisects the first-parent line, where the
pull's merge is one commit, and then inside the merge it names.

Usage: nice -n 10 python bench/drain_bisect.py QEMU_GIT WORKDIR --keycodemapdb GIT \\
           --softfloat GIT --testfloat GIT [--load 3] [--repeat 1] [--rates 200] [--tree DIR]
           [--first-parent] [--tested N] [--fail-match REGEX]
"""

from __future__ import annotations

import os
import sys

sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]
# searched last, for chardev_bisect beside this file; `bisect` stays the standard library's
sys.path.append(os.path.dirname(os.path.abspath(__file__)))

import json  # noqa: E402
import sqlite3  # noqa: E402
import subprocess  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402

from chardev_bisect import (  # noqa: E402
    CONFIGURE,
    add_subprojects,
    arguments,
    checkout_state,
    clone,
    git,
    replay,
    search,
)

GOOD = "f2df7e7705e832a8a65422c227e9ef1bdac226c1"  # master before the block pull (3da71a2111^1)
PULL_MERGE = "3da71a2111"  # master's merge of the pull
FIX = "c8bf923d5e"
CULPRIT_UPSTREAM = "46eb6e861b"
END = "11a629d246"  # master, six first-parent commits after the pull
EXPECTED = "block-backend: process I/O in the current AioContext"
TEST = "test-bdrv-drain"
FAILURE = "bdrv_poll_co: Assertion"
AUTOGROUP = "/proc/sys/kernel/sched_autogroup_enabled"


def history(repo: Path) -> tuple[str, str, str]:
    """(good end, newest end, the culprit's replayed commit), made once (ends.json beside the clone
    keeps them, so a rerun searches the same commits)."""
    kept = repo.parent / "ends.json"
    if kept.is_file():
        good, bad, culprit = json.loads(kept.read_text())
        return good, bad, culprit
    git(repo, "config", "user.name", "patchtool bench")
    git(repo, "config", "user.email", "bench@patchtool.invalid")
    git(repo, "checkout", "-q", "--detach", GOOD)
    fix = git(repo, "rev-parse", FIX)
    culprit = ""
    for sha in git(repo, "rev-list", "--reverse", f"{GOOD}..{PULL_MERGE}^2").splitlines():
        if sha == fix:
            continue
        git(repo, "cherry-pick", sha)
        if sha.startswith(CULPRIT_UPSTREAM):
            culprit = git(repo, "rev-parse", "HEAD")
    side = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "--detach", GOOD)
    git(repo, "merge", "-q", "--no-ff", side, "-m", "Merge the block pull, without the drain test's race fix")
    merged = git(repo, "rev-parse", "HEAD")
    bad = replay(repo, merged, PULL_MERGE, END, (), [])
    if git(repo, "diff", "--name-only", END, bad).splitlines() != [f"tests/unit/{TEST}.c"]:
        raise SystemExit(f"the newest end is not {END}'s tree without the fix")
    if git(repo, "log", "-1", "--format=%s", culprit) != EXPECTED:
        raise SystemExit(f"{CULPRIT_UPSTREAM} was not replayed")
    kept.write_text(json.dumps([GOOD, bad, culprit]))
    return GOOD, bad, culprit


@contextmanager
def load(count: int) -> Iterator[None]:
    """``count`` busy processes for the duration: the CPU load under which the race shows."""
    spin = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for proc in spin:
            proc.kill()
            proc.wait()


def rates(repo: Path, commits: dict[str, str], runs: int) -> None:
    """Build the test with plain ninja in the clone at each commit and run it ``runs`` times."""
    build = repo / "build"
    if not (build / "build.ninja").is_file():
        build.mkdir(exist_ok=True)
        subprocess.run(["../configure", *CONFIGURE.split()], cwd=build, check=True, capture_output=True)
    for name, sha in commits.items():
        git(repo, "checkout", "-q", "--detach", sha)
        subprocess.run(["ninja", f"tests/unit/{TEST}"], cwd=build, check=True, capture_output=True)
        failed = matched = segv = 0
        for _ in range(runs):
            done = subprocess.run(  # as patchtool runs a test: its output read, in a session of its own
                [f"./tests/unit/{TEST}"], cwd=build, capture_output=True, text=True, timeout=300,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
            failed += done.returncode != 0
            matched += done.returncode != 0 and FAILURE in done.stderr + done.stdout
            segv += done.returncode == -11
        print(
            f"  {name} {sha[:12]}: {failed}/{runs} failed: {matched} on {FAILURE!r}, "
            f"{segv} by SIGSEGV (no message)",
            flush=True,
        )


def tested(repo: Path, work: Path, tree: Path, bad: str, runs: int, cache: str) -> dict[str, object]:
    """`patchtool test` ``runs`` times at ``bad``, its runs stored in WORKDIR/``cache`` (where the
    search then finds them): the test's statistics."""
    env = dict(os.environ, PYTHONPATH=str(tree), PATCHTOOL_DATA_DIR=str(work / "data"))
    env["PATCHTOOL_CACHE_DIR"] = str(work / cache)
    argv = [sys.executable, "-m", "patchtool", "test", TEST, "--rev", bad, "--repeat", str(runs)]
    argv += ["--configure", CONFIGURE, "--repo", str(repo), "--json"]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=work)
    if done.returncode not in (0, 1):
        raise SystemExit(f"patchtool test exited {done.returncode}: {done.stderr.strip()[-800:]}")
    stats = json.loads(done.stdout)["tests"][0]
    assert isinstance(stats, dict)
    return stats


def own_failures(work: Path, cache: str) -> int:
    """The search's own failed runs in its store (its revert test's left out)."""
    with sqlite3.connect(work / cache / "patchtool.sqlite3") as conn:
        sql = "SELECT COUNT(*) FROM bisect_observations WHERE outcome = 'fail' AND phase != 'revert'"
        return int(conn.execute(sql).fetchone()[0])


def ways_check(report: dict[str, object], own: int) -> str:
    """The ways the search lists, and whether their counted runs are its own failures and the
    failures of the record `patchtool test` stored at the bad end."""
    ways = report.get("failed_ways") or []
    assert isinstance(ways, list)
    record = report.get("tested_before") or [[0, 0], [0, 0]]
    assert isinstance(record, list)
    counted = sum(int(w["runs"]) for w in ways if w["verdict"] == "fail")
    listed = "; ".join(f"{w['runs']} ({w['on_good_side']} on good commits): {w['ending'][:60]}" for w in ways)
    same = counted == own + int(record[0][0]) + int(record[1][0])
    against = report.get("records_against") or []
    assert isinstance(against, list)
    doubts = "; ".join(
        f"{a['side']} record {a['record']} against own {a['own']}, p {a['p_value']:.2g}" for a in against
    )
    return (
        f"    stored by patchtool test and counted: {record[0][0]}/{record[0][1]} at the bad end; "
        f"ways: {listed}; "
        f"counted {counted} = own {own} + test's {record[0][0] + record[1][0]}: {'yes' if same else 'NO'}; "
        f"records set aside: {doubts or 'none'}"
    )


REPLAYED = """
import json, shlex, sys
from pathlib import Path
from patchtool.bisection.classify import Classifier
from patchtool.bisection.fixes import fix_of
from patchtool.report.stages import load_stored_bisect
from patchtool.store import Store
from patchtool.vcs.repo import GitRepo
db, repo, test, configure, match = sys.argv[1:6]
with Store(Path(db)) as store:
    found = load_stored_bisect(store, GitRepo(repo), test, None, shlex.split(configure),
                               Classifier(fail_match=match or None))
r = found.result
named = found.shas[fix_of(r.culprit) if found.fix else r.culprit] if r.culprit is not None else None
print(json.dumps({"culprit": named, "probability": r.probability, "p": r.p.mean, "runs": r.runs,
                  "merge": found.merge[0] if found.merge else None,
                  "line": [found.line_runs, found.line_builds],
                  "ways": sorted([w.ending, w.runs, w.on_good_side] for w in found.failed_ways)}))
"""


def replay_check(
    work: Path, tree: Path, repo: Path, cache: str, report: dict[str, object], match: str
) -> str:
    """Whether the report's replay of the stored search (report --bisect-test, run from ``tree``)
    is the bisect's --json ``report``: the commit named, P, p, runs, the merge a first-parent line
    named and what it spent, the ways its failed runs ended."""
    db = str(work / cache / "patchtool.sqlite3")
    argv = [sys.executable, "-c", REPLAYED, db, str(repo), TEST, CONFIGURE, match]
    env = dict(os.environ, PYTHONPATH=str(tree))
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    if done.returncode:
        return f"    report's replay: FAILED {done.stderr.strip()[-400:]}"
    got = json.loads(done.stdout)
    named, merge, rate = report.get("culprit") or {}, report.get("merge") or {}, report.get("p") or {}
    ways = report.get("failed_ways") or []
    assert isinstance(named, dict) and isinstance(merge, dict) and isinstance(rate, dict)
    assert isinstance(ways, list)
    bisect = {
        "culprit": named.get("sha"),
        "probability": report.get("probability"),
        "p": rate.get("mean"),
        "runs": report.get("runs"),
        "merge": merge.get("sha"),
        "line": [report.get("line_runs", 0), report.get("line_builds", 0)],
        "ways": sorted([w["ending"], w["runs"], w["on_good_side"]] for w in ways),
    }
    differ = []
    for name, said in bisect.items():
        if name in ("probability", "p"):
            same = abs(float(got[name]) - float(said or 0)) < 1e-9  # type: ignore[arg-type]
        else:
            same = got[name] == said
        if not same:
            differ.append(f"{name}: bisect {said}, report {got[name]}")
    line = f"; merge {str(got['merge'])[:12]}, line {got['line'][0]} runs, {got['line'][1]} builds"
    verdict = "the same" if not differ else "DIFFERS: " + "; ".join(differ)
    return f"    report's replay: {verdict}" + (line if got["merge"] else "")


def main() -> int:
    ap = arguments(__doc__.splitlines()[0])
    ap.add_argument("--load", type=int, default=3, help="busy processes while the test runs")
    ap.add_argument("--repeat", type=int, default=1, help="searches, each with a cache of its own")
    ap.add_argument("--rates", type=int, default=0, help="first run the test so often at culprit, parent")
    ap.add_argument("--fail-match", help="count only failures whose output matches ('signal 11': a SIGSEGV)")
    ap.add_argument("--tested", type=int, default=0, help="first `patchtool test` so often at the newest end")
    ap.add_argument("--first-parent", action="store_true", help="bisect the first-parent line, then inside")
    args = ap.parse_args()
    work, repo = clone(args)
    if args.load and Path(AUTOGROUP).read_text().strip() != "0":
        raise SystemExit(
            f"{AUTOGROUP} is on: patchtool runs the test in a session of its own, which the scheduler "
            "then shields from the load (the race does not show); set it to 0 for the run, and back after"
        )
    good, bad, culprit = history(repo)
    add_subprojects(repo, args)
    count = git(repo, "rev-list", "--count", f"{good}..{bad}")
    print(f"regression search: {good[:12]}..{bad[:12]}, {count} commits, culprit {culprit[:12]}", flush=True)
    if args.rates:
        with load(args.load):
            rates(repo, {"culprit": culprit, "parent": git(repo, "rev-parse", f"{culprit}^")}, args.rates)
        git(repo, "checkout", "-q", "--detach", bad)
    before = checkout_state(repo)
    right = 0
    for attempt in range(args.repeat):
        with load(args.load):
            more = ("--fail-match", args.fail_match) if args.fail_match else ()
            more += ("--first-parent",) if args.first_parent else ()
            if args.tested:
                stats = tested(repo, work, args.tree, bad, args.tested, f"cache-{attempt}")
                said = f"{stats['failures']}/{stats['runs']} failed"
                print(f"  patchtool test at {bad[:12]}: {said}", flush=True)
            got = search(repo, work, args.tree, "regression", (good, bad), TEST, more, f"cache-{attempt}")
        report = got["report"]
        assert isinstance(report, dict)
        named = report.get("culprit") or {}
        verdict = "right" if named.get("sha") == culprit else "WRONG" if named else "no verdict"
        right += verdict == "right"
        revert = report.get("revert") or {}
        sha, subject = str(named.get("sha", ""))[:12], named.get("subject", "(none)")
        rate = report.get("p") or {}
        print(
            f"  search {attempt + 1}: named {sha} {subject}: {verdict}; "
            f"P = {float(report.get('probability') or 0):.4f}, "
            f"p {rate.get('mean', 0):.3f} [{rate.get('low', 0):.3f}, {rate.get('high', 0):.3f}], "
            f"runs {report.get('runs')}, builds {report.get('builds')}, wall {got['wall']:.0f} s; "
            f"revert test: {revert.get('status')}",
            flush=True,
        )
        print(ways_check(report, own_failures(work, f"cache-{attempt}")), flush=True)
        replayed = replay_check(work, args.tree, repo, f"cache-{attempt}", report, args.fail_match or "")
        print(replayed, flush=True)
    print(f"right {right} of {args.repeat}")
    print("checkout left as it was" if checkout_state(repo) == before else "CHECKOUT CHANGED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
