"""`patchtool bisect --broken OLD --fixed NEW -- PATH...`: a fix search over the commits of the
fixed end's first-parent line that change the paths (against their first parent), inside a merge
it names as well. Real git, a --run script that fails half its runs while hw/state.txt says "bug"."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from patchtool.bisection.fixes import fix_of
from patchtool.bisection.probe import ProbeSpec
from patchtool.bisection.stored import load_stored
from patchtool.store import Store
from patchtool.vcs.repo import GitRepo
from tests.bisection.test_bisect_graph import conclusive_runs
from tests.bisection.test_bisect_paths import SCRIPT, _observed, one_line_path_errors
from tests.bisection.test_bisectrun import _named_commits, bisect_env, make_script_repo
from tests.conftest import run_patchtool
from tests.plugins.gitutil import git, snapshot_repo

N = 24
FIX = 12  # changes hw/ (every third commit does; the others change docs/)
HW = [i for i in range(3, N + 1, 3)]


def _repo(path: Path) -> list[str]:
    """Commits 0..N: every third changes hw/ (hw/state.txt says "bug" until FIX makes it "fine"),
    the others docs/."""

    def commit(i: int) -> tuple[dict[str, str], str]:
        for folder in ("docs", "hw"):
            (path / folder).mkdir(exist_ok=True)
        if i % 3:
            return {f"docs/d{i}.txt": f"{i}\n"}, f"docs {i}"
        if i > FIX:  # not hw/state.txt, so the fix reverts cleanly on the fixed end
            return {f"hw/f{i}.txt": f"{i}\n"}, f"hw {i}"
        return {"hw/state.txt": "fine\n" if i == FIX else f"bug {i}\n"}, f"hw {i}"

    return make_script_repo(path, SCRIPT, N, commit)


def test_a_fix_search_limited_to_paths_runs_only_the_commits_that_change_them(tmp_path: Path) -> None:
    """-- hw: the fixed end and the line's hw commits are the candidates, the broken end (hw 3)
    below them; no docs commit is built or run; the fix's parent is the hw commit before it; the
    stored search is read back limited the same way; the checkout is untouched."""
    repo = tmp_path / "repo"
    shas = _repo(repo)
    before = snapshot_repo(repo)
    args = ["bisect", "--broken", shas[3], "--fixed", "main", "--run", "./t.sh", "--repo", repo, "--json"]
    done = run_patchtool(*args, "--", "hw", env=bisect_env(tmp_path))
    assert done.code == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["fix"] is True and report["paths"] == ["hw"]
    assert report["culprit"]["sha"] == shas[FIX] and report["parent"]["sha"] == shas[FIX - 3]
    # hw 24 (the fixed end) .. hw 6 are the fixes it could name, of the line's 21 commits 24..4
    assert report["candidates"] == len(HW) - 1 and report["range_commits"] == N - 3
    assert report["bad_changes_paths"] is True  # the fixed end changes hw itself
    assert report["revert"]["status"] == "fails-again"
    observed = _observed(tmp_path)
    assert observed & {shas[i] for i in range(N + 1) if i % 3} == set()
    assert {shas[FIX], shas[FIX - 3]} <= observed
    assert snapshot_repo(repo) == before

    with Store(tmp_path / "cache" / "patchtool.sqlite3") as store:
        found = load_stored(store, GitRepo(repo), "t", ProbeSpec(command="./t.sh").key())
    assert found is not None and found.fix and found.paths == ("hw",)
    assert found.result.culprit is not None and found.shas[fix_of(found.result.culprit)] == shas[FIX]
    assert len(found.shas) == len(HW)  # the fixed end .. hw 6, and the broken end hw 3

    human = run_patchtool(*args[:-1], "--", "hw", env=bisect_env(tmp_path))  # resumed: all reused
    assert human.code == 0, human.stderr
    assert f"limited to hw: {len(HW) - 1} of the range's {N - 3} commits change them" in human.stdout


def test_a_fix_that_changes_something_else_is_said_to(tmp_path: Path) -> None:
    """The test stops failing at a fixed end that does not change hw (it changes the test script),
    and every hw commit before it still fails: the fixed end is named, with why."""
    repo = tmp_path / "repo"
    _repo(repo)
    (repo / "hw" / "state.txt").write_text("bug again\n")
    git(repo, "commit", "-q", "-am", "hw: the bug again")
    again = git(repo, "rev-parse", "HEAD").strip()
    for name in ("hw/g.txt", "docs/g.txt", "hw/h.txt"):
        (repo / name).write_text("g\n")
        git(repo, "add", name)
        git(repo, "commit", "-q", "-m", f"add {name}")
    (repo / "t.sh").write_text("#!/bin/sh\nexit 0\n")
    git(repo, "commit", "-q", "-am", "the test passes whatever")
    tip = git(repo, "rev-parse", "HEAD").strip()
    args = ["bisect", "--broken", again, "--fixed", "main", "--run", "./t.sh", "--repo", repo]
    args += ["--no-revert-test"]
    done = run_patchtool(*args, "--json", "--", "hw", env=bisect_env(tmp_path))
    assert done.code == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["culprit"]["sha"] == tip and report["bad_changes_paths"] is False
    assert report["candidates"] == 3 and report["range_commits"] == 4  # the tip and two hw commits
    human = run_patchtool(*args, "--", "hw", env=bisect_env(tmp_path))
    assert "the fixed end does not change them" in human.stdout, human.stdout
    assert "the fix changes something else (search without the paths)" in human.stdout


def test_a_fix_inside_a_merge_is_searched_among_the_branchs_commits_that_change_the_paths(
    tmp_path: Path,
) -> None:
    """main: c1 (broken), c2 c3 (docs), the merge m of a branch from c1 (s1 docs, s2 the hw fix,
    s3 docs, s4 hw), c5 (docs), c6 (hw). -- hw: main's line is c6, m, c1; m is named and searched
    inside among s4 and s2; the docs commits are never run."""
    repo = tmp_path / "repo"
    (repo / "hw").mkdir(parents=True)
    shas, commit = _named_commits(repo, SCRIPT, {"hw/state.txt": "bug\n", "docs/a.txt": "a\n"})
    commit("c1", {"docs/c1.txt": "1\n"})
    git(repo, "checkout", "-q", "-b", "side")
    steps = {"s1": "docs/s1.txt", "s2": "hw/state.txt", "s3": "docs/s3.txt", "s4": "hw/state.txt"}
    for name, file in steps.items():
        commit(name, {file: f"fine {name}\n" if file.startswith("hw") else f"{name}\n"})
    git(repo, "checkout", "-q", "main")
    for name in ("c2", "c3"):
        commit(name, {f"docs/{name}.txt": f"{name}\n"})
    git(repo, "merge", "-q", "--no-ff", "--no-commit", "side")
    commit("m", {})
    commit("c5", {"docs/c5.txt": "5\n"})
    commit("c6", {"hw/other.txt": "6\n"})
    report = _fix_in_hw(tmp_path, repo, shas["c1"])
    assert report["merge"]["sha"] == shas["m"]
    assert report["culprit"]["sha"] == shas["s2"] and report["parent"]["sha"] == shas["c1"]
    assert report["candidates"] == 2  # inside: s4 (the branch's fixed end) and s2
    assert report["runs"] + report["line_runs"] == conclusive_runs(tmp_path / "cache" / "patchtool.sqlite3")
    assert _observed(tmp_path) & {shas[n] for n in ("s1", "s3", "c2", "c3", "c5")} == set()


def test_paths_a_fix_search_cannot_use_are_one_line_errors(tmp_path: Path) -> None:
    """A path no commit of the line changes, or one outside the repository: exit 2, one line
    naming it, before anything is built."""
    repo = tmp_path / "repo"
    shas = _repo(repo)
    args: list[str | Path] = ["bisect", "--broken", shas[3], "--fixed", "main", "--run", "./t.sh"]
    one_line_path_errors(tmp_path, [*args, "--repo", repo, "--"], "changes nosuch: nothing to search")


def test_a_fix_made_in_the_merge_itself_is_the_merge(tmp_path: Path) -> None:
    """The branch merged changes docs/ only, and the merge's own resolution fixes hw/ (an "evil"
    merge): -- hw names the merge, and the branch, none of whose commits change hw, is not
    searched."""
    repo = tmp_path / "repo"
    (repo / "hw").mkdir(parents=True)
    shas, commit = _named_commits(repo, SCRIPT, {"hw/state.txt": "bug\n", "docs/a.txt": "a\n"})
    commit("c1", {"docs/c1.txt": "1\n"})
    git(repo, "checkout", "-q", "-b", "side")
    for name in ("s1", "s2"):
        commit(name, {f"docs/{name}.txt": f"{name}\n"})
    git(repo, "checkout", "-q", "main")
    commit("c2", {"docs/c2.txt": "2\n"})
    git(repo, "merge", "-q", "--no-ff", "--no-commit", "side")
    commit("m", {"hw/state.txt": "fine\n"})
    commit("c4", {"hw/other.txt": "4\n"})
    report = _fix_in_hw(tmp_path, repo, shas["c1"])
    assert report["culprit"]["sha"] == shas["m"] and report["merge"] is None
    assert _observed(tmp_path) & {shas["s1"], shas["s2"], shas["c2"]} == set()


def _fix_in_hw(tmp_path: Path, repo: Path, broken: str) -> dict[str, Any]:
    """`bisect --broken BROKEN --fixed main --json -- hw`: its report, exit 0 checked."""
    args = ["bisect", "--broken", broken, "--fixed", "main", "--run", "./t.sh", "--repo", repo]
    done = run_patchtool(*args, "--json", "--", "hw", env=bisect_env(tmp_path))
    assert done.code == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report
