"""`patchtool bisect --broken OLD --fixed NEW`: the commit that made a flaky failure stop, on a line
and inside a merge, with real git and a real test script."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.bisection.test_bisect_graph import conclusive_runs, replayed_as_bisected
from tests.bisection.test_bisectrun import FLAKY, _named_commits, bisect_env, make_script_repo
from tests.conftest import run_patchtool
from tests.plugins.gitutil import git, snapshot_repo

FIX = 9
N_COMMITS = 24


def test_a_fix_search_names_the_commit_that_made_a_flaky_failure_stop(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shas = _broken_then_fixed(repo)
    (repo / "uncommitted.txt").write_text("mine\n")
    before = snapshot_repo(repo)
    args = ["bisect", "--broken", shas[1], "--fixed", "main", "--run", "./t.sh", "--repo", repo]
    done = run_patchtool(*args, "--json", env=bisect_env(tmp_path))
    assert done.code == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["fix"] is True
    assert report["culprit"]["sha"] == shas[FIX] and report["parent"]["sha"] == shas[FIX - 1]
    assert report["good"]["sha"] == shas[-1] and report["bad"]["sha"] == shas[1]
    assert report["probability"] >= 0.99
    # the fix passes its fresh runs, its parent fails
    assert report["confirmation"]["culprit_failures"] == 0
    assert report["confirmation"]["parent_failures"] >= 2
    assert report["p"]["mean"] > 0.2 and report["q"]["mean"] < 0.1  # fails before the fix, not after
    older, newer = report["range99"]
    assert shas.index(older["sha"]) <= FIX <= shas.index(newer["sha"])
    # the fix reverted on the fixed end: the failure comes back
    assert report["revert"]["status"] == "fails-again" and report["revert"]["failures"] >= 2
    assert report["revert"]["bad"] == shas[-1] and report["builds"] < N_COMMITS
    assert snapshot_repo(repo) == before

    human = run_patchtool(*args, env=bisect_env(tmp_path))  # the same again: every run reused
    assert human.code == 0, human.stderr
    assert f"fixed by: {shas[FIX][:12]} commit {FIX}" in human.stdout
    assert "failure rate before the fix p" in human.stdout and "the fix failed 0/" in human.stdout
    assert "reused from the store" in human.stdout
    assert "without the fix it fails again" in human.stdout


def test_a_fix_whose_revert_does_not_bring_the_failure_back_is_said_so(tmp_path: Path) -> None:
    """A later commit makes the test pass whatever the tree holds: the fix is still the first
    commit that passes, but reverting it on the fixed end changes nothing the test sees."""
    repo = tmp_path / "repo"
    shas = _broken_then_fixed(repo, passes_from=FIX + 6)
    args = ["bisect", "--broken", shas[1], "--fixed", "main", "--run", "./t.sh", "--repo", repo, "--json"]
    done = run_patchtool(*args, env=bisect_env(tmp_path))
    assert done.code == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["culprit"]["sha"] == shas[FIX]
    assert report["revert"]["status"] == "still-passes" and report["revert"]["failures"] < 2


def _broken_then_fixed(repo: Path, passes_from: int | None = None) -> list[str]:
    """Commits 0..N: the test fails about half its runs from commit 1 (commit 0 holds the script)
    until commit FIX, which fixes it; from ``passes_from`` on, the test script passes whatever."""

    def commit(i: int) -> tuple[dict[str, str], str]:
        files = {"state.txt": "fine\n" if i >= FIX else "bug\n", f"file{i}.txt": f"{i}\n"}
        if i == passes_from:
            files["t.sh"] = "#!/bin/sh\nexit 0\n"
        return files, f"commit {i}"

    shas = make_script_repo(repo, FLAKY, N_COMMITS, commit)
    assert (repo / "state.txt").read_text() == "fine\n"
    return shas


def _fix_on_a_branch(repo: Path) -> dict[str, str]:
    """c0 holds the script, the test failing about half its runs; c1, then a branch from c1 whose
    first commit s1 fixes it (s2, s3 after), while main goes on (c2, c3), merges the branch (m)
    and goes on (c5..c7). The shas by name."""
    shas, commit = _named_commits(repo, FLAKY, {"state.txt": "bug\n"})
    commit("c1", {"main1.txt": "1\n"})
    git(repo, "checkout", "-q", "-b", "side")
    commit("s1", {"state.txt": "fine\n"})
    for i in (2, 3):
        commit(f"s{i}", {f"side{i}.txt": f"{i}\n"})
    git(repo, "checkout", "-q", "main")
    for i in (2, 3):
        commit(f"c{i}", {f"main{i}.txt": f"{i}\n"})
    git(repo, "merge", "-q", "--no-ff", "--no-commit", "side")
    commit("m", {})
    for i in (5, 6, 7):
        commit(f"c{i}", {f"main{i}.txt": f"{i}\n"})
    return shas


def test_a_fix_that_came_in_with_a_merge_is_found_inside_it(tmp_path: Path) -> None:
    """The first-parent line names the merge m; the search inside it, from m's first parent
    (broken) to its second (fixed), names the branch's commit s1."""
    repo = tmp_path / "repo"
    shas = _fix_on_a_branch(repo)
    before = snapshot_repo(repo)
    args = ["bisect", "--broken", shas["c1"], "--fixed", "main", "--run", "./t.sh", "--repo", repo]
    done = run_patchtool(*args, "--json", env=bisect_env(tmp_path))
    assert done.code == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["merge"]["sha"] == shas["m"]
    assert report["culprit"]["sha"] == shas["s1"] and report["parent"]["sha"] == shas["c1"]
    assert report["confirmation"]["culprit_failures"] == 0 and report["confirmation"]["parent_failures"] >= 2
    assert report["line_runs"] > 0
    assert report["runs"] + report["line_runs"] == conclusive_runs(tmp_path / "cache" / "patchtool.sqlite3")
    assert snapshot_repo(repo) == before
    # the line's runs, counted inside as records, in the fix's words
    human = run_patchtool(*args, env=bisect_env(tmp_path))
    assert human.code == 0, human.stderr
    (bf, br), (gf, gr) = report["bad_record"], report["good_record"]
    said = f"p and q also count earlier runs: {bf}/{br} on commits before the fix, {gf}/{gr} on commits after"
    assert said in human.stdout, human.stdout
    replayed_as_bisected(tmp_path, repo, report)


def test_a_stored_fix_search_is_read_back_as_one_and_never_as_a_regression(tmp_path: Path) -> None:
    """The report's replay reads a stored fix search on its own line, in the fix's terms. One it
    cannot replay (here, its range names a commit this repository lacks) is not read from its
    observations as a regression's range: that would name a commit at the wrong end."""
    from patchtool.bisection.fixes import fix_of
    from patchtool.bisection.probe import ProbeSpec
    from patchtool.bisection.stored import load_stored
    from patchtool.store import Store
    from patchtool.vcs.repo import GitRepo

    repo = tmp_path / "repo"
    shas = _broken_then_fixed(repo)
    args = ["bisect", "--broken", shas[1], "--fixed", "main", "--run", "./t.sh", "--repo", repo, "--json"]
    assert run_patchtool(*args, env=bisect_env(tmp_path)).code == 0
    key = ProbeSpec(command="./t.sh").key()
    with Store(tmp_path / "cache" / "patchtool.sqlite3") as store:
        found = load_stored(store, GitRepo(repo), "t", key)
        assert found is not None and found.fix and found.result.culprit is not None
        assert found.shas[fix_of(found.result.culprit)] == shas[FIX]
        assert found.revert is not None and found.revert.status == "fails-again"
        with store.transaction() as conn:
            conn.execute("UPDATE bisect_ranges SET good_sha = ?", ("0" * 40,))
        assert load_stored(store, GitRepo(repo), "t", key) is None


def test_a_fix_search_takes_one_pair_of_ends(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shas = _broken_then_fixed(repo)
    run = ["--run", "./t.sh", "--repo", repo]
    cases = {
        ("--broken", shas[1]): "--broken and --fixed go together",
        ("--broken", shas[1], "--fixed", "main", "--good", shas[0]): "not both",
        ("--broken", "main", "--fixed", shas[1]): "no commits between main and",
        (): "name --good and --bad",
    }
    for ends, said in cases.items():
        done = run_patchtool("bisect", *ends[:2], *run, *ends[2:], env=bisect_env(tmp_path))
        assert done.code == 2, (ends, done.stderr)
        assert said in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_the_live_status_names_the_fix_not_the_last_broken_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The status line shows the commit the search would name: in a fix search the fix, also
    while its revert is tested."""
    from patchtool.bisection.fixrun import run_fix_search
    from patchtool.bisection.options import BisectOptions
    from patchtool.bisection.probe import ProbeSpec, probers_for
    from patchtool.bisection.summary import Progress
    from patchtool.config import load_settings
    from patchtool.store import Store
    from patchtool.vcs.repo import GitRepo

    repo = tmp_path / "repo"
    shas = _broken_then_fixed(repo)
    for name, value in bisect_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    settings = load_settings(env=bisect_env(tmp_path))
    seen: list[Progress] = []
    spec = ProbeSpec(command="./t.sh")
    options = BisectOptions("main", shas[1], first_parent=True, fix=True)
    with (
        Store(tmp_path / "cache" / "patchtool.sqlite3") as store,
        probers_for(GitRepo(repo), settings, spec, store) as probers,
    ):
        report = run_fix_search(GitRepo(repo), store, spec, options, probers, seen.append, settings)
    assert report.culprit is not None and report.culprit.sha == shas[FIX]
    assert report.revert is not None and report.revert.status == "fails-again"
    assert seen[-1].top.sha == shas[FIX] and seen[-1].under_way[0].what == "testing the revert of"
    assert seen[-1].probability == report.probability


def test_a_fix_search_from_a_stable_branch_searches_master_from_where_the_branch_left(
    tmp_path: Path,
) -> None:
    """The backport case: the test fails on a stable branch and passes on master. The search runs
    on master's first-parent line down to the first commit the branch has (where it forked),
    which stands for the broken end; the stable branch's own commits are never run."""
    repo = tmp_path / "repo"
    shas = _broken_then_fixed(repo)
    git(repo, "checkout", "-q", "-b", "stable", shas[4])
    (repo / "stable.txt").write_text("backported\n")
    git(repo, "add", "stable.txt")
    git(repo, "commit", "-q", "-m", "stable only")
    stable = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "checkout", "-q", "main")
    args = ["bisect", "--broken", "stable", "--fixed", "main", "--run", "./t.sh", "--repo", repo, "--json"]
    done = run_patchtool(*args, env=bisect_env(tmp_path))
    assert done.code == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["culprit"]["sha"] == shas[FIX]
    assert report["bad"]["sha"] == shas[4] and report["candidates"] == N_COMMITS - 4
    with sqlite3.connect(tmp_path / "cache" / "patchtool.sqlite3") as db:
        run_at = {row[0] for row in db.execute("SELECT commit_sha FROM bisect_observations")}
    assert stable not in run_at


def test_a_failure_of_the_stable_branch_alone_is_not_blamed_on_master(tmp_path: Path) -> None:
    """The failure came with a commit of the stable branch, not from master: where master's line
    meets the branch's history it never fails, and the search says so instead of naming a fix."""
    repo = tmp_path / "repo"
    shas = _broken_then_fixed(repo)
    git(repo, "checkout", "-q", "-b", "stable", shas[FIX + 2])
    (repo / "state.txt").write_text("bug\n")
    git(repo, "commit", "-q", "-am", "stable only: the bug")
    git(repo, "checkout", "-q", "main")
    args = ["bisect", "--broken", "stable", "--fixed", "main", "--run", "./t.sh", "--repo", repo]
    done = run_patchtool(*args, env=bisect_env(tmp_path))
    assert done.code == 1, done.stderr
    assert "no verdict (bad-end-does-not-reproduce)" in done.stdout
    assert f"the broken end {shas[FIX + 2][:12]}" in done.stdout
    assert "is the failure --broken's own" in done.stdout


def test_a_fix_inside_a_merge_inside_a_merge_is_found_with_every_lines_runs_counted_once(
    tmp_path: Path,
) -> None:
    """A pull request (b1) that merged another (b2, whose first commit s1 is the fix) was merged
    into main: main's line names m1, b1's line names m2, b2's line names s1. The runs of both
    lines above count inside as records, and in the report, each once."""
    repo = tmp_path / "repo"
    shas, commit = _named_commits(repo, FLAKY, {"state.txt": "bug\n"})
    commit("c1", {"main1.txt": "1\n"})
    git(repo, "checkout", "-q", "-b", "b1")
    commit("b1a", {"b1a.txt": "a\n"})
    git(repo, "checkout", "-q", "-b", "b2")
    commit("s1", {"state.txt": "fine\n"})
    commit("s2", {"s2.txt": "2\n"})
    git(repo, "checkout", "-q", "b1")
    commit("b1b", {"b1b.txt": "b\n"})
    git(repo, "merge", "-q", "--no-ff", "--no-commit", "b2")
    commit("m2", {})
    commit("b1c", {"b1c.txt": "c\n"})
    git(repo, "checkout", "-q", "main")
    commit("c2", {"main2.txt": "2\n"})
    git(repo, "merge", "-q", "--no-ff", "--no-commit", "b1")
    commit("m1", {})
    for i in (4, 5):
        commit(f"c{i}", {f"main{i}.txt": f"{i}\n"})
    args = ["bisect", "--broken", shas["c1"], "--fixed", "main", "--run", "./t.sh", "--repo", repo, "--json"]
    done = run_patchtool(*args, env=bisect_env(tmp_path))
    assert done.code == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["culprit"]["sha"] == shas["s1"] and report["merge"]["sha"] == shas["m2"]
    assert report["runs"] + report["line_runs"] == conclusive_runs(tmp_path / "cache" / "patchtool.sqlite3")
    # both lines' runs are records inside, as many as the report counts for them
    assert report["bad_record"][1] + report["good_record"][1] == report["line_runs"]
    # and the ways their failed runs ended are the report's, beside those inside (after the fix,
    # on the "good" side, nothing fails)
    failed = conclusive_runs(tmp_path / "cache" / "patchtool.sqlite3", "fail")
    assert sum(w["runs"] for w in report["failed_ways"]) == failed
    assert [w["on_good_side"] for w in report["failed_ways"]] == [0]
    # the report's replay goes down both merges as the search did
    replayed_as_bisected(tmp_path, repo, report)


def test_a_fix_skipped_leaves_the_range_it_is_in(tmp_path: Path) -> None:
    """git bisect skip in a fix search: with the fix never built (--skip), the first commit that
    passes and the last that fails bound it, and the answer is that range, oldest first."""
    repo = tmp_path / "repo"
    shas = _broken_then_fixed(repo)
    args = ["bisect", "--broken", shas[1], "--fixed", "main", "--run", "./t.sh", "--repo", repo]
    done = run_patchtool(*args, "--skip", shas[FIX], "--no-revert-test", env=bisect_env(tmp_path))
    assert done.code == 1, done.stderr
    assert f"the fix is one of {shas[FIX][:12]}..{shas[FIX + 1][:12]} (2 commits)" in done.stdout, done.stdout
    with sqlite3.connect(tmp_path / "cache" / "patchtool.sqlite3") as db:
        run_at = {row[0] for row in db.execute("SELECT commit_sha FROM bisect_observations")}
    assert shas[FIX] not in run_at and shas[FIX - 1] in run_at
