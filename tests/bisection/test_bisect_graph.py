"""`patchtool bisect` on real merge-heavy git histories, and --fail-match / --jobs on the mini tree."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from patchtool.demo.minitree import MiniTree
from tests.bisection.test_bisectrun import bisect_env
from tests.conftest import run_patchtool
from tests.plugins.gitutil import git, make_repo

# The test of every commit: passes unless bug.txt exists (the culprit adds it, so exactly its
# descendants have it); then fails about half of its runs (a seeded coin stepped by a counter file
# outside the repository, so the whole test is reproducible). Good commits never fail.
FLAKY = """#!/bin/sh
test -f bug.txt || exit 0
exec "$BISECT_PYTHON" -c '
import os, random, sys
path = os.environ["BISECT_COUNTER"]
n = int(open(path).read()) if os.path.exists(path) else 0
open(path, "w").write(str(n + 1))
sys.exit(1 if random.Random(n).random() < 0.5 else 0)
'
"""


Position = tuple[int, int, int]  # (round, branch, index on the branch)


def merge_heavy_repo(path: Path, culprit_at: Position) -> tuple[str, dict[Position, str]]:
    """3 rounds of 3 parallel branches of 4 commits, each merged into main one after another, with
    author dates interleaved across branches (as pull requests developed in parallel are). The
    commit at (round, branch, index) adds bug.txt. Returns the good end and every branch commit."""
    make_repo(path, {"t.sh": FLAKY, "README": "base\n"}, message="base")
    (path / "t.sh").chmod(0o755)
    git(path, "add", "t.sh")
    git(path, "commit", "-q", "--amend", "-m", "base")
    good = git(path, "rev-parse", "HEAD").strip()
    commits: dict[Position, str] = {}
    clock = 1_700_000_000
    for rnd in range(3):
        fork = git(path, "rev-parse", "main").strip()
        for br in range(3):
            git(path, "branch", "-f", f"b{br}", fork)
        for idx in range(4):
            for br in range(3):  # interleaved dates: the listing mixes the branches
                clock += 60
                git(path, "checkout", "-q", f"b{br}")
                (path / f"r{rnd}b{br}.txt").write_text(f"{idx}\n")
                if (rnd, br, idx) == culprit_at:
                    (path / "bug.txt").write_text("bug\n")
                git(path, "add", "-A")
                date = f"@{clock} +0000"
                env_date = {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
                _commit(path, f"round {rnd} branch {br} commit {idx}", env_date)
                commits[(rnd, br, idx)] = git(path, "rev-parse", "HEAD").strip()
        git(path, "checkout", "-q", "main")
        for br in range(3):
            clock += 60
            os.environ.update({"GIT_AUTHOR_DATE": f"@{clock} +0000", "GIT_COMMITTER_DATE": f"@{clock} +0000"})
            try:
                git(path, "merge", "-q", "--no-ff", "-m", f"merge round {rnd} branch {br}", f"b{br}")
            finally:
                os.environ.pop("GIT_AUTHOR_DATE", None)
                os.environ.pop("GIT_COMMITTER_DATE", None)
    return good, commits


def _commit(path: Path, message: str, env: dict[str, str]) -> None:
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        git(path, "commit", "-q", "-m", message)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _not_descending_after(repo: Path, good: str, culprit: str) -> int:
    """Commits the old linear listing put after the culprit that do not contain it."""
    listed = git(repo, "rev-list", "--reverse", "--ancestry-path", f"{good}..main").split()
    after = listed[listed.index(culprit) + 1 :]
    return sum(1 for c in after if not _is_ancestor(repo, culprit, c))


def _is_ancestor(repo: Path, a: str, b: str) -> bool:
    import subprocess

    return subprocess.run(["git", "merge-base", "--is-ancestor", a, b], cwd=repo, check=False).returncode == 0


@pytest.mark.parametrize("culprit_at", [(0, 0, 1), (1, 1, 2), (2, 2, 0)])
def test_merge_history_names_the_culprit_not_its_merge(
    tmp_path: Path, culprit_at: tuple[int, int, int]
) -> None:
    repo = tmp_path / "repo"
    good, commits = merge_heavy_repo(repo, culprit_at)
    culprit = commits[culprit_at]
    assert _not_descending_after(repo, good, culprit) > 0  # the history really is interleaved
    args = ["bisect", "--good", good, "--bad", "main", "--run", "./t.sh", "--repo", repo, "--json"]
    done = run_patchtool(*args, env=bisect_env(tmp_path))
    assert done.code == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["culprit"]["sha"] == culprit
    assert report["probability"] >= 0.99
    assert report["confirmation"]["parent_failures"] == 0
    assert report["parent"]["sha"] != culprit and _is_ancestor(repo, report["parent"]["sha"], culprit)


def test_first_parent_names_the_merge_then_bisects_inside_it(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    good, commits = merge_heavy_repo(repo, (1, 2, 1))
    args = ["bisect", "--good", good, "--bad", "main", "--run", "./t.sh", "--first-parent", "--repo", repo]
    done = run_patchtool(*args, "--json", env=bisect_env(tmp_path))
    assert done.code == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["culprit"]["sha"] == commits[(1, 2, 1)]
    assert report["merge"]["subject"] == "merge round 1 branch 2"
    # The first-parent search's runs after the merge (its bad end's, at least) and before its first
    # parent count inside it as records: p is known there from the start.
    bad_f, bad_r = report["bad_record"]
    assert 0 < bad_f <= bad_r and report["good_record"][0] == 0
    # every run is counted once: inside the merge, or on the line at a commit inside does not have
    assert report["line_runs"] > 0 and report["line_builds"] > 0
    assert report["runs"] + report["line_runs"] == conclusive_runs(tmp_path / "cache" / "patchtool.sqlite3")
    assert bad_r + report["good_record"][1] == report["line_runs"]  # the same runs, as records
    # the ways the failed runs ended count the line's too (good commits never fail)
    failed = conclusive_runs(tmp_path / "cache" / "patchtool.sqlite3", "fail")
    assert sum(w["runs"] for w in report["failed_ways"]) == failed
    assert [w["on_good_side"] for w in report["failed_ways"]] == [0]
    human = run_patchtool(*args, env=bisect_env(tmp_path))  # all reused from the store
    assert human.code == 0, human.stderr
    assert "bisected inside it" in human.stdout and "first bad commit" in human.stdout
    assert f"p and q also count earlier runs: {bad_f}/{bad_r} on bad commits" in human.stdout
    assert "(the first-parent search's, and any --bad-record, --good-record)" in human.stdout
    assert f"before it, the first-parent line {report['line_runs']} runs" in human.stdout
    found = replayed_as_bisected(tmp_path, repo, report)
    # the report says what the bisect said, in every format
    from patchtool.config import load_settings
    from patchtool.fetch import resolve_source
    from patchtool.parse.series import build_series
    from patchtool.report.context import build_context
    from patchtool.report.render import render
    from tests.conftest import ROOT

    mbox = ROOT / "fixtures" / "mail" / "ring-v1-v2.mbox"
    series = build_series(resolve_source(str(mbox), load_settings()))
    ctx = build_context(series, bisect=found, reply_from="Rev <rev@example.org>")
    merge = report["merge"]["sha"][:12]
    said = f"first-parent search named the merge {merge} merge round 1 branch 2; bisected inside it"
    spent = f"(before it, the first-parent line {report['line_runs']} runs, {report['line_builds']} builds)"
    for fmt in ("term", "md", "html", "email"):
        text = " ".join(render(ctx, fmt).split())
        assert said in text and spent in text, fmt
    assert json.loads(render(ctx, "json"))["bisect"]["merge"] == f"the {said} {spent}"


def replayed_as_bisected(tmp_path: Path, repo: Path, report: dict[str, Any]) -> Any:
    """The report's replay of the bisect stored under ``tmp_path`` (a --run ./t.sh) is the bisect
    whose --json is ``report``: the commit named, its probability, p, the runs, the merge a line
    named and what that line spent, the ways its failed runs ended. Returns the replay."""
    from patchtool.bisection.fixes import fix_of
    from patchtool.bisection.probe import ProbeSpec
    from patchtool.bisection.stored import load_stored
    from patchtool.store import Store
    from patchtool.vcs.repo import GitRepo

    with Store(tmp_path / "cache" / "patchtool.sqlite3") as store:
        found = load_stored(store, GitRepo(repo), "t", ProbeSpec(command="./t.sh").key())
    assert found is not None
    result = found.result
    assert result.culprit is not None
    named = found.shas[fix_of(result.culprit) if found.fix else result.culprit]
    assert named == report["culprit"]["sha"]
    assert result.probability == pytest.approx(report["probability"], abs=1e-9)
    assert result.p.mean == pytest.approx(report["p"]["mean"], abs=1e-9)
    assert result.runs == report["runs"]
    merge = report.get("merge")
    assert (found.merge[0] if found.merge else None) == (merge["sha"] if merge else None)
    assert (found.line_runs, found.line_builds) == (report["line_runs"], report["line_builds"])
    ways = [(w.ending, w.runs, w.on_good_side) for w in found.failed_ways]
    assert ways == [(w["ending"], w["runs"], w["on_good_side"]) for w in report["failed_ways"]]
    return found


def conclusive_runs(db: Path, *outcomes: str) -> int:
    """The runs a bisect stored that passed or failed (``outcomes``: of those only), its revert
    test's left out."""
    wanted = outcomes or ("pass", "fail")
    with sqlite3.connect(db) as conn:
        sql = f"SELECT COUNT(*) FROM bisect_observations WHERE outcome IN ({', '.join('?' * len(wanted))})"
        return int(conn.execute(sql + " AND phase != 'revert'", wanted).fetchone()[0])


# ----- the mini tree: a test that fails two ways, and parallel runs ----------------------------
# Runs in the probed tree of the mini QEMU: bad exactly when the RCU regression is an ancestor.
# There it fails half its runs with the regression's message; everywhere, a third of the runs
# fail another way (an asset download error). The coin is a PRNG stepped by a counter file, as in
# FLAKY, so the test is reproducible (one run at a time); with os.urandom, about 1 in 40 draws
# left the culprit's parent set aside after 3 clean runs, and the search spun until the budget.
TWO_WAYS = """#!/bin/sh
sleep "$BISECT_SLEEP"
coin=$("$BISECT_PYTHON" -c '
import os, random
path = os.environ["BISECT_COUNTER"]
n = int(open(path).read()) if os.path.exists(path) else 0
open(path, "w").write(str(n + 1))
print(random.Random(n).randrange(256))
')
if [ "$coin" -lt 85 ]; then echo "asset download failed: connection reset"; exit 1; fi
if git merge-base --is-ancestor "$BISECT_CULPRIT" HEAD && [ $((coin % 2)) -eq 0 ]; then
    echo "rcu: stall detected on CPU 0"; exit 1
fi
echo ok
"""


def _two_ways_script(tmp_path: Path) -> Path:
    script = tmp_path / "two-ways.sh"
    script.write_text(TWO_WAYS)
    script.chmod(0o755)
    return script


def _minitree_env(tmp_path: Path, minitree: MiniTree, sleep: str) -> dict[str, str]:
    env = bisect_env(tmp_path)
    env.update({"BISECT_CULPRIT": minitree.rcu_regression, "BISECT_SLEEP": sleep})
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return env


def _range(repo: Path, minitree: MiniTree, before: int, after: int) -> tuple[str, str]:
    listed = git(repo, "rev-list", "--reverse", "--first-parent", "main").split()
    at = listed.index(minitree.rcu_regression)
    return listed[max(at - before, 0)], listed[min(at + after, len(listed) - 1)]


def test_fail_match_counts_other_failures_apart(
    minitree: MiniTree, minitree_copy: Path, tmp_path: Path
) -> None:
    good, bad = _range(minitree_copy, minitree, 9, 6)
    script = _two_ways_script(tmp_path)
    done = run_patchtool(
        "bisect", "--good", good, "--bad", bad, "--run", str(script), "--fail-match", r"rcu: stall",
        "--repo", minitree_copy, "--json", env=_minitree_env(tmp_path, minitree, "0"),
    )  # fmt: skip
    assert done.code == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["culprit"]["sha"] == minitree.rcu_regression
    assert report["unusable_runs"] > 0  # the download errors were seen and set apart
    assert report["q"]["high"] < 0.15  # ... and did not make good commits look flaky


def test_bad_fail_match_is_a_usage_error(minitree_copy: Path, tmp_path: Path) -> None:
    done = run_patchtool(
        "bisect", "--good", "HEAD~3", "--bad", "HEAD", "--run", "true", "--fail-match", "(unclosed",
        "--repo", minitree_copy, env=bisect_env(tmp_path),
    )  # fmt: skip
    assert done.code == 2 and "--fail-match" in done.stderr and "Traceback" not in done.stderr


SLOW = """#!/bin/sh
sleep 1
if git merge-base --is-ancestor "$BISECT_CULPRIT" HEAD; then echo "rcu: stall"; exit 1; fi
"""


def _timed_bisect(tmp_path: Path, minitree: MiniTree, repo: Path, jobs: int) -> tuple[float, int]:
    """A bisect whose every run sleeps one second (bad exactly where the RCU regression is)."""
    good, bad = _range(repo, minitree, 7, 4)
    store = tmp_path / f"jobs{jobs}"
    store.mkdir()
    script = tmp_path / "slow.sh"
    script.write_text(SLOW)
    script.chmod(0o755)
    start = time.monotonic()
    done = run_patchtool(
        "bisect", "--good", good, "--bad", bad, "--run", str(script), "--jobs", str(jobs),
        "--repo", repo, "--json", env=_minitree_env(store, minitree, "1"),
    )  # fmt: skip
    elapsed = time.monotonic() - start
    assert done.code == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["culprit"]["sha"] == minitree.rcu_regression
    return elapsed, int(report["runs"])


def test_two_jobs_halve_the_wall_time_of_slow_probes(
    minitree: MiniTree, minitree_copy: Path, tmp_path: Path
) -> None:
    one, runs1 = _timed_bisect(tmp_path, minitree, minitree_copy, 1)
    two, runs2 = _timed_bisect(tmp_path, minitree, minitree_copy, 2)
    assert runs1 >= 8 and runs2 >= 8
    # Per run of the test: two at once take half the wall time (plus the builds' share).
    assert two / runs2 <= 0.65 * (one / runs1)
