"""A culprit whose first parent is outside the searched range (a side branch forked before --good):
the report names that parent, known good, and the confirmation runs there, not at the good end."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from patchtool.bisection.classify import Verdict
from patchtool.bisection.core import BisectState
from patchtool.bisection.graph import GOOD_END
from patchtool.bisection.ranges import range_graph
from patchtool.bisection.replay import Replay
from patchtool.vcs.repo import GitRepo
from tests.bisection.test_bisectrun import _named_commits, bisect_env
from tests.conftest import run_patchtool
from tests.plugins.gitutil import git


def _side_branch_before_good(repo: Path, fork_untestable: bool = False) -> dict[str, str]:
    """c0, f (the fork point), then a branch from f with s1 (the culprit: bug.txt) and s2, and on
    main c1 c2 (--good), the merge m of the branch, c4 c5. With ``fork_untestable`` f adds
    broken.txt (the test exits 125 there), which s1 and c1 take away again."""
    shas, commit = _named_commits(repo)
    commit("f", {"broken.txt": "x\n"} if fork_untestable else {"fork.txt": "f\n"})
    git(repo, "checkout", "-q", "-b", "side")
    (repo / "broken.txt").unlink(missing_ok=True)
    commit("s1", {"bug.txt": "bug\n"})
    commit("s2", {"side2.txt": "2\n"})
    git(repo, "checkout", "-q", "main")
    (repo / "broken.txt").unlink(missing_ok=True)
    commit("c1", {"main1.txt": "1\n"})
    commit("c2", {"main2.txt": "2\n"})
    git(repo, "merge", "-q", "--no-ff", "--no-commit", "side")
    commit("m", {})
    commit("c4", {"main4.txt": "4\n"})
    commit("c5", {"main5.txt": "5\n"})
    return shas


def _rows(env: dict[str, str], sha: str) -> list[tuple[str, str]]:
    """(outcome, phase) of every stored row at a commit."""
    with sqlite3.connect(Path(env["PATCHTOOL_CACHE_DIR"]) / "patchtool.sqlite3") as conn:
        sql = "SELECT outcome, phase FROM bisect_observations WHERE commit_sha = ? ORDER BY seq"
        return [(str(o), str(p)) for o, p in conn.execute(sql, (sha,))]


def _runs(rows: list[tuple[str, str]], phase: str) -> int:
    return sum(o in (Verdict.PASS, Verdict.FAIL) and p == phase for o, p in rows)


def test_the_range_keeps_the_first_parents_outside_it(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shas = _side_branch_before_good(repo)
    listed, history, outside = range_graph(GitRepo(repo), [shas["c2"]], "main", first_parent=False)
    s1 = listed.index(shas["s1"])
    assert outside == {s1: shas["f"]} and history.first_parent(s1) == GOOD_END
    # --first-parent from a good commit on the branch: main's c1 has its parent f out of the range.
    listed, _, outside = range_graph(GitRepo(repo), [shas["s2"]], "main", first_parent=True)
    assert outside == {listed.index(shas["c1"]): shas["f"]}
    listed, _, outside = range_graph(GitRepo(repo), [shas["c2"]], "main", first_parent=True)
    assert outside == {}  # m's first parent is the good end


def test_runs_at_an_outside_parent_are_good_side_evidence_and_never_make_the_good_end_untestable() -> None:
    replay = Replay.over(BisectState(3), ["g", "a", "b", "c"], {1: "out"})
    replay.apply("out", Verdict.PASS, "confirm", 1.0)
    assert replay.state.counts(GOOD_END) == (0, 1) and replay.counts("out") == (0, 1)
    replay.apply("out", Verdict.UNTESTABLE, "confirm", 1.0)
    assert not replay.testable("out") and not replay.state.is_untestable(GOOD_END)
    replay.apply("out", Verdict.FAIL, "confirm", 1.0)  # after it was dropped: not counted
    assert replay.state.counts(GOOD_END) == (0, 1)


def test_the_culprits_parent_outside_the_range_is_named_and_confirmed_there(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shas = _side_branch_before_good(repo)
    env = bisect_env(tmp_path)
    args = ["bisect", "--good", shas["c2"], "--bad", "main", "--run", "./t.sh", "--repo", repo]
    done = run_patchtool(*args, "--json", env=env)
    assert done.code == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["culprit"]["sha"] == shas["s1"] and report["candidates"] == 5  # s1 s2 m c4 c5
    assert report["parent"] == {"sha": shas["f"], "subject": "f"} and report["parent_outside"]
    confirmed_at_f = _runs(_rows(env, shas["f"]), "confirm")
    assert confirmed_at_f > 0 and _runs(_rows(env, shas["c2"]), "confirm") == 0
    assert report["confirmation"]["parent_runs"] == confirmed_at_f
    assert (
        report["confirmation"]["parent_ok"]
        and report["confirmation"]["culprit_ok"]
        and report["parent_counts"] == [0, confirmed_at_f]
    )

    again = run_patchtool(*args, "--json", env=env)  # resumed: the confirmation runs are reused
    assert again.code == 0, again.stderr
    resumed = json.loads(again.stdout)
    assert resumed["parent"] == report["parent"] and resumed["parent_counts"] == report["parent_counts"]
    assert resumed["confirmation"] == report["confirmation"]
    assert resumed["reused_runs"] == report["runs"] == resumed["runs"]
    assert _runs(_rows(env, shas["f"]), "confirm") == confirmed_at_f
    human = run_patchtool(*args, env=env)
    assert f"parent {shas['f'][:12]} (outside the range, known good) 0/{confirmed_at_f}" in human.stdout


def test_an_outside_parent_that_cannot_run_the_test_gives_way_to_the_good_end(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shas = _side_branch_before_good(repo, fork_untestable=True)
    env = bisect_env(tmp_path)
    # Reverting s1 brings broken.txt back: the revert test could not run, and is not the point. An
    # outside parent never given up would be run for ever: --max-time makes that a failure.
    args = ["bisect", "--good", shas["c2"], "--bad", "main", "--run", "./t.sh", "--repo", repo,
            "--no-revert-test", "--max-time", "120"]  # fmt: skip
    done = run_patchtool(*args, "--json", env=env)
    assert done.code == 0, done.stderr
    report = json.loads(done.stdout)
    assert (
        report["culprit"]["sha"] == shas["s1"]
        and report["confirmation"]["parent_ok"]
        and report["confirmation"]["culprit_ok"]
    )
    assert report["parent"]["sha"] == shas["f"] and report["parent_outside"]
    assert [ref["sha"] for ref in report["untestable"]] == [shas["f"]]  # not the good end
    assert (Verdict.UNTESTABLE, "confirm") in _rows(env, shas["f"]) and report["parent_counts"] == [0, 0]
    at_good = _runs(_rows(env, shas["c2"]), "confirm")
    assert at_good > 0 and report["confirmation"]["parent_runs"] == at_good
    # f and the good end are two builds, though f's runs would have gone to the good end's position.
    with sqlite3.connect(Path(env["PATCHTOOL_CACHE_DIR"]) / "patchtool.sqlite3") as conn:
        sql = "SELECT DISTINCT commit_sha FROM bisect_observations WHERE phase IN ('search', 'confirm')"
        assert report["builds"] == len(conn.execute(sql).fetchall())
    human = run_patchtool(*args, env=env)  # resumed: f is tried again, and again gives way
    assert human.code == 0, human.stderr
    assert f"first bad commit: {shas['s1'][:12]} s1" in human.stdout
    assert f"cannot be tested: confirmed at {shas['c2'][:12]}" in human.stdout


def test_inside_a_merge_named_by_first_parent_the_branch_roots_parent_is_named(tmp_path: Path) -> None:
    """--first-parent names m, then bisects inside it from c2 (m's first parent): s1's first parent
    f is outside that range too."""
    repo = tmp_path / "repo"
    shas = _side_branch_before_good(repo)
    env = bisect_env(tmp_path)
    args = ["bisect", "--good", shas["c2"], "--bad", "main", "--first-parent", "--run", "./t.sh",
            "--repo", repo, "--json", "--no-revert-test"]  # fmt: skip
    done = run_patchtool(*args, env=env)
    assert done.code == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["merge"]["sha"] == shas["m"] and report["culprit"]["sha"] == shas["s1"]
    assert report["parent"]["sha"] == shas["f"] and report["parent_outside"]
    assert report["confirmation"]["parent_runs"] == _runs(_rows(env, shas["f"]), "confirm") > 0


def test_a_root_commit_named_as_the_culprit_says_it_has_no_parent(tmp_path: Path) -> None:
    """A history with a root commit of its own (r1, with the test script and bug.txt) merged into
    main after the good commit: r1 has no parent, so the report says so and compares it with the
    good end, rather than calling the good end its parent."""
    repo = tmp_path / "repo"
    shas, commit = _named_commits(repo)
    commit("c1", {"main1.txt": "1\n"})
    git(repo, "checkout", "-q", "--orphan", "other")
    git(repo, "rm", "-q", "-r", "--cached", ".")
    (repo / "main1.txt").unlink()
    commit("r1", {"bug.txt": "bug\n"})  # t.sh, as on main: the merge adds it again, unchanged
    commit("r2", {"other2.txt": "2\n"})
    git(repo, "checkout", "-q", "main")
    (repo / "bug.txt").unlink(missing_ok=True)
    (repo / "other2.txt").unlink(missing_ok=True)
    git(repo, "merge", "-q", "--no-ff", "--allow-unrelated-histories", "--no-commit", "other")
    commit("m", {})
    commit("c3", {"main3.txt": "3\n"})
    listed, history, outside = range_graph(GitRepo(repo), [shas["c1"]], "main", first_parent=False)
    assert history.parents[listed.index(shas["r1"])] == () and outside == {}
    env = bisect_env(tmp_path)
    args = ["bisect", "--good", shas["c1"], "--bad", "main", "--run", "./t.sh", "--repo", repo]
    done = run_patchtool(*args, "--json", "--no-revert-test", env=env)
    assert done.code == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["culprit"]["sha"] == shas["r1"] and report["parent_root"] and not report["parent_outside"]
    assert report["parent"]["sha"] == shas["c1"] and report["confirmation"]["parent_ok"]
    human = run_patchtool(*args, "--no-revert-test", env=env)
    assert f"no parent (a root commit): the good end {shas['c1'][:12]} 0/" in human.stdout, human.stdout
