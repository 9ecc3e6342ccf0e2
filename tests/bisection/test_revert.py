"""The revert test after a bisect: the bad commit with the culprit reverted, built and run.

Real repositories with a flaky script (test_bisectrun.py's): the revert fixes the tip; a later
commit breaks the tip as well, so the revert does not fix it; the revert conflicts; and the
reverted commit is the same on a second run, whose stored runs are reused.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
from pathlib import Path

import pytest

from patchtool.bisection.revert import make_revert, revert_by_apply, revert_pack
from patchtool.bisection.summary import BisectReport, Progress
from patchtool.config import load_settings
from patchtool.vcs.repo import GitRepo
from tests.bisection.test_bisectrun import CULPRIT, FLAKY, bisect_env, make_flaky_repo, make_script_repo
from tests.conftest import run_patchtool
from tests.plugins.gitutil import git, make_repo, snapshot_repo

# As FLAKY, and fails every run where a file named "also-broken" exists (a second breakage).
TWO_WAYS = FLAKY.replace("grep -q skip state.txt", "test -e also-broken && exit 1\ngrep -q skip state.txt")


def _bisect(repo: Path, tmp_path: Path, good: str, *extra: str) -> tuple[int, str, str]:
    args = ["bisect", "--good", good, "--bad", "main", "--run", "./t.sh", "--repo", repo, *extra]
    done = run_patchtool(*args, env=bisect_env(tmp_path))
    return done.code, done.stdout, done.stderr


def _add(repo: Path, name: str, text: str, message: str) -> str:
    """Commit a new file; the new commit's sha."""
    (repo / name).write_text(text)
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def _revert_rows(tmp_path: Path, phase: str | None = "revert") -> list[tuple[str, str]]:
    """The stored (commit, outcome) rows of the revert test (or, with ``phase`` None, of all)."""
    where, args = ("WHERE phase = ?", (phase,)) if phase else ("", ())
    with sqlite3.connect(tmp_path / "cache" / "patchtool.sqlite3") as conn:
        rows = conn.execute(
            f"SELECT commit_sha, outcome FROM bisect_observations {where} ORDER BY seq", args
        ).fetchall()
    return [(str(a), str(b)) for a, b in rows]


def test_the_revert_fixes_the_tip_and_touches_nothing_of_the_user(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shas = make_flaky_repo(repo)
    hook_marker = tmp_path / "hook-ran"
    for hook in ("post-checkout", "pre-commit", "commit-msg", "post-commit", "reference-transaction"):
        path = repo / ".git" / "hooks" / hook
        path.write_text(f"#!/bin/sh\necho {hook} >> {hook_marker}\n")
        path.chmod(0o755)
    (repo / "uncommitted.txt").write_text("mine\n")
    before = snapshot_repo(repo)

    code, stdout, stderr = _bisect(repo, tmp_path, shas[0], "--json")
    assert code == 0, stderr
    report = json.loads(stdout)
    assert report["culprit"]["sha"] == shas[CULPRIT]
    revert = report["revert"]
    assert revert["status"] == "fixed" and revert["bad"] == shas[-1]
    assert revert["runs"] >= 1 and revert["failures"] <= revert["allowed_failures"]
    assert revert["reused_runs"] == 0 and revert["builds"] == 1  # its cost, apart from the search's
    sha = revert["sha"]
    # The reverted commit: on the bad commit, the culprit's change undone, on no branch.
    assert git(repo, "rev-parse", f"{sha}^").strip() == shas[-1]
    assert git(repo, "show", f"{sha}:state.txt") == "fine\n"
    assert f"file{CULPRIT}.txt" not in git(repo, "ls-tree", "--name-only", sha).split()
    assert git(repo, "diff", "--stat", f"{shas[CULPRIT]}^", shas[CULPRIT]) == git(
        repo, "diff", "--stat", sha, f"{sha}^"
    )
    assert git(repo, "for-each-ref", "--contains", sha) == ""
    assert snapshot_repo(repo) == before
    assert not hook_marker.exists()
    rows = _revert_rows(tmp_path)
    assert {r[0] for r in rows} == {sha} and rows[0][1] == "built"
    assert sum(r[1] in ("pass", "fail") for r in rows) == revert["runs"]

    # Again: the same reverted commit, its runs reused from the store, no new revert row.
    code, stdout, stderr = _bisect(repo, tmp_path, shas[0])
    assert code == 0, stderr
    assert f"revert test ({shas[-1][:12]} with {shas[CULPRIT][:12]} reverted)" in stdout
    assert "the revert fixes it" in stdout
    assert f"; the revert test {revert['runs']} runs ({revert['runs']} reused), 0 builds" in stdout
    assert _revert_rows(tmp_path) == rows
    code, stdout, stderr = _bisect(repo, tmp_path, shas[0], "--fresh")  # all again: its one build
    assert code == 0, stderr
    assert re.search(r"; the revert test \d+ runs \(0 reused\), 1 build\n", stdout), stdout


def test_a_later_breakage_means_the_revert_does_not_fix_the_tip(tmp_path: Path) -> None:
    """Commit CULPRIT breaks the test; commit CULPRIT + 3 breaks it again another way. The first
    bad commit is still CULPRIT (exit 0), and the revert test says the tip stays broken."""
    fresh = tmp_path / "repo"
    shas = make_flaky_repo(fresh)
    _add(fresh, "t.sh", TWO_WAYS, "t.sh learns a second way to fail")
    _add(fresh, "also-broken", "x\n", "a second breakage")

    code, stdout, stderr = _bisect(fresh, tmp_path, shas[0], "--json")
    assert code == 0, stderr
    report = json.loads(stdout)
    assert report["culprit"]["sha"] == shas[CULPRIT]
    revert = report["revert"]
    assert revert["status"] == "still-fails", revert
    assert revert["failures"] > revert["allowed_failures"]

    code, stdout, _ = _bisect(fresh, tmp_path, shas[0])
    assert code == 0
    assert "the revert does NOT fix it" in stdout


def test_a_test_that_aborts_on_the_reverted_tree_keeps_the_verdict(tmp_path: Path) -> None:
    """The test command aborts (exit 200: not good, bad or untestable) only on the reverted tree.
    The search was already done: the culprit is still named (exit 0) and the revert test says it
    could not be run, with the command's error, instead of the whole bisect ending in an error."""
    fresh = tmp_path / "repo"
    shas = make_flaky_repo(fresh)
    crash = f"test -e later && ! test -e file{CULPRIT}.txt && exit 200\n"
    (fresh / "t.sh").write_text(FLAKY.replace("grep -q skip", crash + "grep -q skip"))
    git(fresh, "add", "t.sh")
    _add(fresh, "later", "x\n", "a later commit; the harness aborts where it has no file17.txt")

    code, stdout, stderr = _bisect(fresh, tmp_path, shas[0], "--json")
    assert code == 0, stderr
    report = json.loads(stdout)
    assert report["culprit"]["sha"] == shas[CULPRIT]
    assert report["revert"]["status"] == "untestable", report["revert"]
    assert "exited with 200" in report["revert"]["detail"]
    code, stdout, _ = _bisect(fresh, tmp_path, shas[0])
    assert code == 0 and "cannot be built or tested (command" in stdout


def test_a_revert_that_conflicts_is_reported_and_not_run(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shas = make_flaky_repo(repo)
    (repo / "state.txt").write_text("bug, and more\n")  # the culprit's line, changed again
    git(repo, "commit", "-q", "-am", "state: more")

    code, stdout, stderr = _bisect(repo, tmp_path, shas[0], "--json")
    assert code == 0, stderr
    report = json.loads(stdout)
    assert report["culprit"]["sha"] == shas[CULPRIT]
    assert report["revert"]["status"] == "conflicts"
    assert report["revert"]["conflicts"] == ["state.txt"]
    assert report["revert"]["runs"] == 0 and report["revert"]["sha"] is None
    assert _revert_rows(tmp_path) == []

    code, stdout, _ = _bisect(repo, tmp_path, shas[0])
    assert "does not apply there (conflicts in state.txt): not run" in stdout


def test_no_revert_test(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shas = make_flaky_repo(repo)
    code, stdout, stderr = _bisect(repo, tmp_path, shas[0], "--json", "--no-revert-test")
    assert code == 0, stderr
    assert json.loads(stdout)["revert"] is None
    assert _revert_rows(tmp_path) == []


def test_the_reverted_commit_depends_only_on_its_inputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same culprit and bad commit, another clock and committer: the same commit (so stored runs
    of an interrupted revert test are found again); a merge is reverted against its first parent."""
    repo = make_repo(tmp_path / "repo", {"a.txt": "one\n"})
    git(repo, "checkout", "-q", "-b", "side")
    _add(repo, "b.txt", "side\n", "side adds b")
    git(repo, "checkout", "-q", "main")
    (repo / "a.txt").write_text("two\n")
    git(repo, "commit", "-q", "-am", "main changes a")
    git(repo, "merge", "-q", "--no-ff", "-m", "merge side", "side")
    merge = git(repo, "rev-parse", "HEAD").strip()
    bad = _add(repo, "c.txt", "later\n", "later")

    settings = load_settings(env={"PATCHTOOL_DATA_DIR": str(tmp_path / "data")})
    first = make_revert(GitRepo(repo), settings, merge, bad)
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2001-01-01T00:00:00")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Someone Else")
    second = make_revert(GitRepo(repo), settings, merge, bad)
    assert first.sha is not None and first == second
    # The bad commit's own date and time zone: an ident git's fsck accepts (workers check it).
    date = git(repo, "show", "-s", "--date=raw", "--format=%cd", bad).strip()
    lines = git(repo, "cat-file", "commit", first.sha).splitlines()
    assert f"committer patchtool <patchtool@localhost> {date}" in lines
    assert f"author patchtool <patchtool@localhost> {date}" in lines
    git(repo, "fsck", "--strict", "--no-dangling")
    assert git(repo, "ls-tree", "--name-only", first.sha).split() == ["a.txt", "c.txt"]
    assert git(repo, "show", f"{first.sha}:a.txt") == "two\n"
    assert not list((tmp_path / "data" / "tmp").rglob("index"))  # the temporary index is gone


def test_the_reverted_commit_travels_as_a_pack_to_a_clone_that_never_had_it(tmp_path: Path) -> None:
    """A cluster worker's clone comes from a repository without the reverted commit (on no
    branch): the pack of what it adds to the bad commit makes the same commit there, and holds
    nothing the bad commit already has."""
    body = "".join(f"line {i}\n" for i in range(50))
    repo = make_repo(tmp_path / "repo", {"a.c": body, "big.bin": "x" * 20000})
    (repo / "a.c").write_text(body.replace("line 7\n", "line 7 broken\n"))
    git(repo, "commit", "-q", "-am", "the culprit")
    culprit = git(repo, "rev-parse", "HEAD").strip()
    bad = _add(repo, "later.txt", "later\n", "later")
    settings = load_settings(env={"PATCHTOOL_DATA_DIR": str(tmp_path / "data")})
    made = make_revert(GitRepo(repo), settings, culprit, bad)
    assert made.sha is not None
    pack = revert_pack(GitRepo(repo), made.sha, bad)
    assert pack.startswith(b"PACK") and len(pack) < 2000  # the new commit, tree and blob only

    worker = tmp_path / "worker"
    git(tmp_path, "clone", "-q", "--no-local", str(repo), str(worker))
    never = subprocess.run(["git", "cat-file", "-e", made.sha], cwd=worker, check=False, capture_output=True)
    assert never.returncode != 0  # it never had it
    git(worker, "unpack-objects", "-q", "--strict", input=pack)  # as a worker unpacks it
    assert git(worker, "rev-parse", f"{made.sha}^{{tree}}") == git(repo, "rev-parse", f"{made.sha}^{{tree}}")
    assert git(worker, "show", f"{made.sha}:a.c") == body
    git(worker, "fsck", "--no-dangling", "--connectivity-only")


def test_a_revert_follows_a_later_rename_as_git_revert_does(tmp_path: Path) -> None:
    """The culprit changes a file that a later commit renames: the revert lands in the renamed
    file, as `git revert` puts it (the three-way merge follows renames). The temporary-index path
    kept for a git without `merge-tree --write-tree` refuses it instead of guessing."""
    body = "".join(f"line {i}\n" for i in range(40))
    repo = make_repo(tmp_path / "repo", {"a.c": body})
    (repo / "a.c").write_text(body.replace("line 20\n", "line 20 broken\n"))
    git(repo, "commit", "-q", "-am", "the culprit")
    culprit = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "mv", "a.c", "b.c")
    git(repo, "commit", "-q", "-m", "rename a.c to b.c")
    bad = _add(repo, "other.txt", "x\n", "later")

    settings = load_settings(env={"PATCHTOOL_DATA_DIR": str(tmp_path / "data")})
    made = make_revert(GitRepo(repo), settings, culprit, bad)
    assert made.sha is not None and made.conflicts == ()
    assert git(repo, "show", f"{made.sha}:b.c") == body
    assert git(repo, "ls-tree", "--name-only", made.sha).split() == ["b.c", "other.txt"]
    scratch = tmp_path / "scratch"  # git revert itself, in a clone, for comparison
    git(tmp_path, "clone", "-q", str(repo), str(scratch))
    git(scratch, "revert", "--no-commit", culprit)
    assert git(scratch, "write-tree").strip() == git(repo, "rev-parse", f"{made.sha}^{{tree}}").strip()

    parent = git(repo, "rev-parse", f"{culprit}^").strip()
    old = revert_by_apply(GitRepo(repo), settings, culprit, parent, bad, "p <p@p> 0 +0000", "m\n")
    assert old.sha is None and old.conflicts == ("a.c",)


def test_a_culprit_that_is_not_an_ancestor_is_reverted_by_its_diff(tmp_path: Path) -> None:
    """A revert of a commit the bad commit does not descend from (its change arrived by a
    cherry-pick, as on a distribution's branch): the culprit cannot be the merge base, so its
    diff is reversed instead, giving git revert's tree."""
    body = "".join(f"line {i}\n" for i in range(30))
    repo = make_repo(tmp_path / "repo", {"a.c": body})
    git(repo, "checkout", "-q", "-b", "upstream")
    (repo / "a.c").write_text(body.replace("line 9\n", "line 9 changed\n"))
    git(repo, "commit", "-q", "-am", "the change upstream")
    culprit = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "checkout", "-q", "main")
    (repo / "a.c").write_text(body.replace("line 25\n", "line 25 local\n"))
    git(repo, "commit", "-q", "-am", "a local change")
    git(repo, "cherry-pick", culprit)
    bad = git(repo, "rev-parse", "HEAD").strip()

    settings = load_settings(env={"PATCHTOOL_DATA_DIR": str(tmp_path / "data")})
    made = make_revert(GitRepo(repo), settings, culprit, bad)
    assert made.sha is not None
    assert git(repo, "show", f"{made.sha}:a.c") == body.replace("line 25\n", "line 25 local\n")


def test_a_root_commit_culprit_is_not_reverted(tmp_path: Path) -> None:
    """An unrelated history merged in: its root commit can be the first bad commit, and has no
    parent to revert to; the bisect still names it and says why no revert test ran."""
    script = "#!/bin/sh\ntest -e poison || exit 0\n" + FLAKY.split("\n", 3)[3].replace(
        "grep -q bug state.txt || exit 0\n", ""
    )
    repo = make_repo(tmp_path / "repo", {"t.sh": script})
    (repo / "t.sh").chmod(0o755)
    git(repo, "add", "t.sh")
    git(repo, "commit", "-q", "-m", "the test")
    good = _add(repo, "a.txt", "a\n", "a")
    git(repo, "checkout", "-q", "--orphan", "other")
    git(repo, "rm", "-q", "--cached", "a.txt")
    (repo / "a.txt").unlink()
    root = _add(repo, "poison", "x\n", "an unrelated history (with the same test)")
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--allow-unrelated-histories", "-m", "merge it", "other")

    code, stdout, stderr = _bisect(repo, tmp_path, good, "--json")
    assert code == 0, stderr
    report = json.loads(stdout)
    assert report["culprit"]["sha"] == root
    assert report["revert"]["status"] == "not-run"
    assert report["revert"]["detail"] == "the culprit has no parent"


def _live_bisect(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int = 1, revert_test: bool = True
) -> tuple[list[str], BisectReport, list[Progress]]:
    """A bisect of the flaky repository in process, in ``jobs`` lanes: its commits, its report and
    every state of its live line."""
    from patchtool.bisection.driver import run_bisect
    from patchtool.bisection.options import BisectOptions
    from patchtool.bisection.probe import ProbeSpec, probers_for
    from patchtool.store import Store

    repo = tmp_path / "repo"
    shas = make_flaky_repo(repo)
    for name, value in bisect_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    settings = load_settings(env=bisect_env(tmp_path))
    seen: list[Progress] = []
    spec = ProbeSpec(command="./t.sh")
    with (
        Store(tmp_path / "cache" / "patchtool.sqlite3") as store,
        probers_for(GitRepo(repo), settings, spec, store, jobs=jobs, lanes=jobs) as probers,
    ):
        options = BisectOptions(shas[0], "main", jobs=jobs, revert_test=revert_test)
        report = run_bisect(GitRepo(repo), store, spec, options, probers, seen.append, settings)
    return shas, report, seen


def test_the_live_totals_count_on_through_the_revert_test(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The status line's runs and builds go on counting while the reverted commit is built and
    run, and end at the search's totals plus the revert test's."""
    _, report, seen = _live_bisect(tmp_path, monkeypatch)
    assert report.revert is not None and report.revert.status == "fixed" and report.revert.builds == 1
    during = [p for p in seen if p.under_way and p.under_way[0].what == "testing the revert of"]
    assert during and during[0].runs == report.runs and during[0].builds == report.builds
    assert [p.runs for p in during] == sorted(p.runs for p in during) and during[-1].runs > report.runs
    assert during[-1].runs < report.runs + report.revert.runs and during[-1].builds == report.builds + 1


def _stored_revert(repo: Path, tmp_path: Path) -> tuple[str, str] | None:
    """(status, detail) of the revert test as the report finds it in the store."""
    from patchtool.bisection.probe import ProbeSpec
    from patchtool.bisection.stored import load_stored
    from patchtool.store import Store

    with Store(tmp_path / "cache" / "patchtool.sqlite3") as store:
        found = load_stored(store, GitRepo(repo), "./t.sh", ProbeSpec(command="./t.sh").key())
    assert found is not None
    return (found.revert.status, found.revert.detail) if found.revert is not None else None


def _history(
    repo: Path, script: str, special: dict[int, tuple[dict[str, str], str]], n: int = 12
) -> list[str]:
    """Commits 0..n, each adding file<i>.txt, except those in ``special``: (files, subject) instead
    (no files: an empty commit)."""
    return make_script_repo(
        repo, script, n, lambda i: special.get(i, ({f"file{i}.txt": f"{i}\n"}, f"commit {i}"))
    )


def test_a_culprit_that_changes_no_file_is_not_reverted_and_is_doubted(tmp_path: Path) -> None:
    """The test fails where the history has a commit "version bump" (as a build that embeds
    `git describe` differs with no source change); that commit is empty. It is named, and the
    revert test says reverting it changes nothing, not "the revert does NOT fix it"."""
    by_history = FLAKY.replace("grep -q bug state.txt", "git log --format=%s | grep -q 'version bump'")
    repo = tmp_path / "repo"
    shas = _history(repo, by_history, {6: ({}, "version bump")})
    assert git(repo, "rev-parse", f"{shas[6]}^{{tree}}") == git(repo, "rev-parse", f"{shas[5]}^{{tree}}")

    code, stdout, stderr = _bisect(repo, tmp_path, shas[0], "--json")
    assert code == 0, stderr
    report = json.loads(stdout)
    assert report["culprit"]["sha"] == shas[6]
    assert report["revert"]["status"] == "no-op" and report["revert"]["runs"] == 0
    assert "changes no file" in report["revert"]["detail"]
    assert _revert_rows(tmp_path) == []
    assert _stored_revert(repo, tmp_path) == ("no-op", report["revert"]["detail"])  # what the report shows
    code, stdout, _ = _bisect(repo, tmp_path, shas[0])
    assert code == 0 and "reverting it changes nothing there (the culprit changes no file" in stdout


def test_a_culprit_undone_later_is_not_reverted_again(tmp_path: Path) -> None:
    """Commit 5 breaks the test (state.txt: bug); commit 8 puts state.txt back and breaks it
    another way. Reverting 5 on the bad commit gives the bad commit's own tree: nothing to run."""
    repo = tmp_path / "repo"
    special = {
        5: ({"state.txt": "bug\n"}, "commit 5"),
        8: ({"state.txt": "fine\n", "also-broken": "x\n"}, "commit 8"),
    }
    shas = _history(repo, TWO_WAYS, special)

    code, stdout, stderr = _bisect(repo, tmp_path, shas[0], "--json")
    assert code == 0, stderr
    report = json.loads(stdout)
    assert report["culprit"]["sha"] == shas[5]
    revert = report["revert"]
    assert revert["status"] == "no-op" and revert["runs"] == 0 and revert["sha"]
    assert "already undone there" in revert["detail"]
    assert git(repo, "rev-parse", f"{revert['sha']}^{{tree}}") == git(repo, "rev-parse", "main^{tree}")
    assert _stored_revert(repo, tmp_path) == ("no-op", revert["detail"])


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_live_line_names_the_commit_being_built_and_tested(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    """While a commit is built and its runs are under way, the status line names it ("building",
    then "testing"), not the commit tested before; once its runs are in it is gone from the line.
    With two lanes, two commits are under way at once at some point."""
    shas, report, seen = _live_bisect(tmp_path, monkeypatch, jobs, revert_test=False)
    assert report.culprit is not None and report.culprit.sha == shas[CULPRIT]
    steps = [(s.what, s.sha) for p in seen for s in p.under_way]
    rows = _revert_rows(tmp_path, None)
    # every commit built was on the line as built, and every commit run as tested
    assert {sha for what, sha in steps if what == "building"} == {sha for sha, out in rows if out == "built"}
    assert {sha for what, sha in steps if what == "testing"} == {sha for sha, out in rows if out != "built"}
    if jobs == 1:  # one lane: a commit is built (when it is not already), tested, then counted
        lines = [[(s.what, s.sha) for s in p.under_way] for p in seen]
        for i, line in enumerate(lines[1:], 1):
            if line and line[0][0] == "testing":
                assert lines[i - 1] in ([], [("building", line[0][1])]), (lines[i - 1], line)
                assert lines[i + 1] == [] and seen[i + 1].runs >= seen[i].runs  # (125 counts none)
        assert not seen[-1].under_way and seen[-1].runs == report.runs
    else:
        assert any(len({s.sha for s in p.under_way}) == 2 for p in seen)


def test_a_revert_that_conflicts_names_the_commit_that_already_reverted_the_culprit(tmp_path: Path) -> None:
    # bench/revert_real.py --noop: a culprit reverted after its own revert (6 of master's 112 plain
    # reverts) conflicts, its lines gone; the outcome says which commit took them out. One that
    # merely mentions the culprit, or a revert before it, is not named.
    from patchtool.bisection.revert import conflicts_outcome, describe_revert

    repo = make_repo(tmp_path / "r", {"f.c": "a\nb\nc\n"})
    culprit = _add(repo, "g.c", "x\n", "g: add x")
    (repo / "f.c").write_text("a\nB\nc\n")
    git(repo, "commit", "-q", "-am", "f: B")
    git(repo, "commit", "-q", "--allow-empty", "-m", f"mention\n\nThis reverts commit {culprit[:12]}, say.")
    before = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "rm", "-q", "g.c")
    git(repo, "commit", "-q", "-m", f'Revert "g: add x"\n\nThis reverts commit {culprit}.')
    revert = git(repo, "rev-parse", "HEAD").strip()
    _add(repo, "g.c", "y\n", "g: add y")
    bad = git(repo, "rev-parse", "HEAD").strip()

    named = conflicts_outcome(GitRepo(repo), culprit[:10], bad, ("g.c",))
    assert named.status == "conflicts" and named.conflicts == ("g.c",)
    assert named.detail == f"already reverted by {revert[:12]} 'Revert \"g: add x\"'"
    line = describe_revert(named, culprit)
    assert line.endswith(
        f"(conflicts in g.c; already reverted by {revert[:12]} 'Revert \"g: add x\"'): not run"
    )
    assert conflicts_outcome(GitRepo(repo), culprit, before, ("g.c",)).detail == ""
