"""`patchtool bisect ... -- PATH...` (git bisect start -- PATH): only the commits that change the
paths are candidates, with their parents rewritten to the nearest ones that do. Real git, a --run
script that fails half its runs once hw/state.txt says "bug"."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from patchtool.bisection.probe import ProbeSpec
from patchtool.bisection.ranges import changes_paths, range_graph
from patchtool.bisection.stored import load_stored
from patchtool.config import load_settings
from patchtool.fetch import resolve_source
from patchtool.parse.series import build_series
from patchtool.report.context import build_context
from patchtool.report.render import render
from patchtool.store import Store
from patchtool.vcs.repo import GitRepo
from tests.bisection.test_bisectrun import FLAKY, bisect_env, make_script_repo
from tests.conftest import ROOT, run_patchtool
from tests.plugins.gitutil import git, snapshot_repo

MBOX = ROOT / "fixtures" / "mail" / "ring-v1-v2.mbox"
N = 24
CULPRIT = 18  # changes hw/ (every third commit does; the others change docs/)
SCRIPT = FLAKY.replace("state.txt", "hw/state.txt")


def _repo(path: Path) -> list[str]:
    def commit(i: int) -> tuple[dict[str, str], str]:
        for folder in ("docs", "hw"):
            (path / folder).mkdir(exist_ok=True)
        if i % 3:
            return {f"docs/d{i}.txt": f"{i}\n"}, f"docs {i}"
        return {"hw/state.txt": f"bug {i}\n" if i >= CULPRIT else f"fine {i}\n"}, f"hw {i}"

    return make_script_repo(path, SCRIPT, N, commit)


def _observed(tmp_path: Path) -> set[str]:
    """The commits the bisect stored any row for (a build, a run, a verdict)."""
    path = tmp_path / "cache" / "patchtool.sqlite3"
    if not path.exists():
        return set()
    with sqlite3.connect(path) as conn:
        if not conn.execute("SELECT name FROM sqlite_master WHERE name = 'bisect_observations'").fetchall():
            return set()
        return {r[0] for r in conn.execute("SELECT DISTINCT commit_sha FROM bisect_observations")}


def test_only_the_commits_that_change_the_paths_are_searched(tmp_path: Path) -> None:
    """-- hw: the 8 commits that change hw/ are the candidates (the bad end among them); no other
    commit is built or run; the culprit's parent is the commit before it that changes hw/; the
    report replays the same graph; the checkout is untouched."""
    repo = tmp_path / "repo"
    shas = _repo(repo)
    before = snapshot_repo(repo)
    args = ["bisect", "--good", shas[0], "--bad", "main", "--run", "./t.sh", "--repo", repo]
    args += ["--no-revert-test"]
    done = run_patchtool(*args, "--json", "--", "hw", env=bisect_env(tmp_path))
    assert done.code == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["culprit"]["sha"] == shas[CULPRIT]
    assert report["candidates"] == N // 3
    assert report["parent"]["sha"] == shas[CULPRIT - 3]
    assert (report["paths"], report["range_commits"], report["bad_changes_paths"]) == (["hw"], N, True)
    assert _observed(tmp_path) <= {shas[i] for i in range(0, N + 1, 3)}
    assert snapshot_repo(repo) == before

    with Store(tmp_path / "cache" / "patchtool.sqlite3") as store:
        found = load_stored(store, GitRepo(repo), "./t.sh", ProbeSpec(command="./t.sh").key())
    assert found is not None
    assert list(found.shas) == [shas[i] for i in range(0, N + 1, 3)]
    assert found.result.culprit is not None and found.shas[found.result.culprit] == shas[CULPRIT]
    assert abs(found.result.probability - report["probability"]) < 1e-9
    assert found.paths == ("hw",)
    ctx = build_context(build_series(resolve_source(str(MBOX), load_settings())), bisect=found)
    for fmt, said in (("term", "only the commits that change hw"), ("md", "Only the commits that change hw"),
                      ("html", "Only the commits that change <code>hw</code>")):  # fmt: skip
        assert said in render(ctx, fmt), fmt
    assert json.loads(render(ctx, "json"))["bisect"]["paths"] == ["hw"]

    human = run_patchtool(*args, "--", "hw", env=bisect_env(tmp_path))  # resumed, all reused
    assert human.code == 0, human.stderr
    assert "limited to hw: 8 of the range's 24 commits change them" in human.stdout


def test_a_bad_end_that_does_not_change_the_paths_stays_the_last_candidate(tmp_path: Path) -> None:
    """--bad at a docs commit: it follows the hw commits, its parent the newest of them, and the
    culprit is still named. Limited to a path only an early commit changes, every candidate but
    the bad end tests good: the bad end is named, and the words say the first bad commit changes
    something else."""
    repo = tmp_path / "repo"
    shas = _repo(repo)
    env = bisect_env(tmp_path)
    bad = shas[N - 1]
    args = ["bisect", "--good", shas[0], "--bad", bad, "--run", "./t.sh", "--repo", repo, "--no-revert-test"]
    done = run_patchtool(*args, "--json", "--", "hw", env=env)
    assert done.code == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["culprit"]["sha"] == shas[CULPRIT]
    assert report["candidates"] == 8 and report["bad_changes_paths"] is False  # hw 3..21 and the bad end
    assert report["bad"]["sha"] == bad

    graph = range_graph(GitRepo(repo), [shas[0]], bad, False, ["hw"])
    assert graph[0] == [shas[i] for i in range(0, N - 2, 3)] + [bad]
    assert graph[1].parents[-1] == (7,)  # the bad end's parent: hw 21

    early = run_patchtool(*args, "--", "docs/d1.txt", env=env)
    assert early.code == 0, early.stderr
    assert f"first bad commit: {bad[:12]}" in early.stdout
    assert "limited to docs/d1.txt: 1 of the range's 23 commits change them" in early.stdout
    assert "every commit that does tested good: the first bad commit changes something else" in early.stdout


def test_path_limited_graph_of_a_merge_history(tmp_path: Path) -> None:
    """A side branch that changes hw/ merged into a main line that changes it too: the commits
    that change hw/ keep their ancestry through the ones that do not (rewritten parents); the
    merge, which differs from both its parents there, is a candidate with both of them."""
    repo = tmp_path / "repo"
    shas = _repo(repo)
    g = lambda *a: git(repo, *a).strip()  # noqa: E731
    g("checkout", "-q", "-b", "side", shas[3])
    for name in ("a", "b"):
        (repo / "docs" / f"s{name}.txt").write_text(name)
        (repo / "hw" / f"s{name}.c").write_text(name)
        g("add", "-A")
        g("commit", "-q", "-m", f"side {name}")
    (repo / "docs" / "sc.txt").write_text("c")
    g("add", "-A")
    g("commit", "-q", "-m", "side docs")
    side = [g("rev-parse", f"side~{k}") for k in (2, 1, 0)]
    g("checkout", "-q", "main")
    g("merge", "-q", "--no-ff", "-m", "merge side", "side")
    merge = g("rev-parse", "HEAD")
    shas_, history, outside = range_graph(GitRepo(repo), [shas[0]], "main", False, ["hw"])
    at = {sha: i for i, sha in enumerate(shas_)}
    assert side[2] not in at and shas[4] not in at  # change docs only
    assert shas_[-1] == merge and set(history.parents[-1]) == {at[shas[N]], at[side[1]]}
    assert history.parents[at[side[0]]] == (at[shas[3]],)  # its own parent, hw 3
    assert history.parents[at[shas[6]]] == (at[shas[3]],)  # hw 3, through docs 4 and 5
    assert outside == {}
    # Against both parents the merge changes hw/; a merge that takes one side's hw/ does not,
    # save against its first parent alone (--first-parent), where it brings the side's changes in.
    g("checkout", "-q", "-b", "docs-only", shas[4])
    g("merge", "-q", "--no-ff", "-m", "merge side again", "side")
    took = g("rev-parse", "HEAD")
    assert changes_paths(GitRepo(repo), merge, ["hw"], False)
    assert not changes_paths(GitRepo(repo), took, ["hw"], False)
    assert changes_paths(GitRepo(repo), took, ["hw"], True)


def test_paths_nothing_changes_or_git_refuses_are_one_line_errors(tmp_path: Path) -> None:
    """A path no commit of the range changes, or one outside the repository: exit 2, one line
    naming it, before anything is built."""
    repo = tmp_path / "repo"
    shas = _repo(repo)
    args = ["bisect", "--good", shas[0], "--bad", "main", "--run", "./t.sh", "--repo", repo, "--"]
    one_line_path_errors(tmp_path, args, "changes nosuch: nothing to bisect")


def one_line_path_errors(tmp_path: Path, args: list[str | Path], nothing: str) -> None:
    """``args`` (ending in "--") with a path no commit changes says ``nothing``, and with one
    outside the repository says git's refusal: exit 2, one line each, and nothing run."""
    for path, said in (("nosuch", nothing), ("../elsewhere", "paths ../elsewhere:")):
        done = run_patchtool(*args, path, env=bisect_env(tmp_path))
        assert done.code == 2, done.stdout
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and said in lines[0], done.stderr
    assert _observed(tmp_path) == set()


def test_first_parent_names_the_merge_then_the_commit_inside_it(tmp_path: Path) -> None:
    """QEMU's way: the culprit on a pull request's branch. --first-parent -- hw names the merge on
    the line, then bisects inside it, limited to hw too: the branch's commit is named."""
    repo = tmp_path / "repo"
    shas = _repo(repo)
    g = lambda *a: git(repo, *a).strip()  # noqa: E731
    g("checkout", "-q", "-b", "side", shas[6])
    steps = (("docs", "d"), ("hw", "bug side\n"), ("docs", "e"), ("hw", "bug 2\n"))
    for i, (folder, text) in enumerate(steps):
        (repo / folder / ("state.txt" if folder == "hw" else f"s{i}.txt")).write_text(text)
        g("add", "-A")
        g("commit", "-q", "-m", f"side {i}")
    culprit = g("rev-parse", "side~2")
    g("checkout", "-q", shas[12])
    g("branch", "-f", "line")
    g("checkout", "-q", "line")
    g("merge", "-q", "--no-ff", "-X", "theirs", "-m", "merge side", "side")
    (repo / "docs" / "after.txt").write_text("after\n")
    g("add", "-A")
    g("commit", "-q", "-m", "docs after")
    args = ["bisect", "--good", shas[0], "--bad", "line", "--run", "./t.sh", "--repo", repo]
    args += ["--first-parent", "--no-revert-test", "--json", "--", "hw"]
    done = run_patchtool(*args, env=bisect_env(tmp_path))
    assert done.code == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["merge"]["subject"] == "merge side"
    assert report["culprit"]["sha"] == culprit
    assert report["paths"] == ["hw"]
    assert report["candidates"] == 3  # inside: the branch's two hw commits and the merge
