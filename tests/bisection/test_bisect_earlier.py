"""`patchtool bisect --test` counts the runs `patchtool test` stored at its ends and between them
(bisection.earlier): real git, real meson, a real SQLite store."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from patchtool.bisection.classify import Classifier
from patchtool.bisection.earlier import counts_at, inside_rows
from patchtool.bisection.probe import ProbeSpec
from patchtool.build.meson import config_key
from patchtool.report.stages import bisect_view, load_stored_bisect
from patchtool.store import Store
from patchtool.testrun.results import RunRecord, record_runs
from patchtool.vcs.repo import GitRepo
from tests.bisection.test_bisect_graph import conclusive_runs
from tests.conftest import run_patchtool
from tests.plugins.gitutil import git

# No compiler needed: the test is a shell script. It passes until state.txt says "bug", then fails
# every other run (a counter in the build directory), so the counts are known exactly.
MESON = """\
project('earlier')
sh = find_program('sh')
test('regress', sh, args: [files('regress.sh'), meson.current_build_dir() / 'count',
                           meson.current_source_dir() / 'state.txt'], is_parallel: false)
"""
SCRIPT = """\
grep -q bug "$2" || exit 0
n=$(cat "$1" 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" > "$1"
if [ $((n % 2)) -eq 1 ]; then echo "replay diverged at run $n"; exit 1; fi
"""
CULPRIT = 3


def script_project(path: Path, files: dict[str, str], culprit: int, count: int) -> list[str]:
    """Commits 0..count-1 of a meson project of ``files`` whose state.txt says "bug" from commit
    ``culprit`` on, each with a file of its own; their shas."""
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    shas = []
    for i in range(count):
        state = "bug\n" if i >= culprit else "fine\n"
        for name, text in {**files, "state.txt": state, f"file{i}.txt": f"{i}\n"}.items():
            (path / name).write_text(text)
        git(path, "add", "-A")
        git(path, "commit", "-q", "-m", f"commit {i}")
        shas.append(git(path, "rev-parse", "HEAD").strip())
    return shas


def _repo(path: Path) -> list[str]:
    """Commits 0..6 of a meson project; commit CULPRIT brings the failure."""
    return script_project(path, {"meson.build": MESON, "regress.sh": SCRIPT}, CULPRIT, 7)


def meson_env(tmp_path: Path) -> dict[str, str]:
    return {
        "PATCHTOOL_CACHE_DIR": str(tmp_path / "cache"),
        "PATCHTOOL_DATA_DIR": str(tmp_path / "data"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def _runs_at(store: Path, sha: str) -> int:
    with sqlite3.connect(store) as conn:
        rows = conn.execute("SELECT COUNT(*) FROM bisect_observations WHERE commit_sha = ?", (sha,))
        return int(rows.fetchone()[0])


def _tested_then_bisected(
    repo: Path, env: dict[str, str], revs: list[str], repeat: int
) -> tuple[list[str | Path], dict[str, Any]]:
    """`patchtool test regress --repeat N` at each of ``revs``, then a bisect of the whole range:
    its arguments (without --json) and its --json report, the culprit checked."""
    for rev in revs:
        tested = ["test", "regress", "--repeat", f"{repeat}", "--rev", rev, "--repo", repo]
        done = run_patchtool(*tested, env=env)
        assert done.code in (0, 1), done.stderr
    first = git(repo, "rev-list", "--max-parents=0", "main").strip()
    args: list[str | Path] = ["bisect", "--good", first, "--bad", "main", "--test", "regress", "--repo", repo]
    args.append("--no-revert-test")
    done = run_patchtool(*args, "--json", env=env, timeout=600)
    assert done.code == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["culprit"]["subject"] == f"commit {CULPRIT}"
    return args, report


def test_the_runs_patchtool_test_stored_at_the_ends_are_counted_and_the_bad_end_is_not_built(
    tmp_path: Path,
) -> None:
    repo, env = tmp_path / "repo", meson_env(tmp_path)
    shas = _repo(repo)
    # 6 runs at each end: 3 failures at the bad end, none at the good
    args, report = _tested_then_bisected(repo, env, [shas[-1], shas[0]], 6)
    assert report["tested_before"] == [[3, 6], [0, 6]]
    assert report["bad_record"] == [3, 6] and report["good_record"] == [0, 6]
    # the stored runs are the bad end's calibration: it was neither built nor run
    assert _runs_at(tmp_path / "cache" / "patchtool.sqlite3", shas[-1]) == 0
    # the report's replay of the stored bisect counts them too: the posterior it stopped on
    with Store(tmp_path / "cache" / "patchtool.sqlite3") as store:
        found = load_stored_bisect(store, GitRepo(repo), "regress")
    assert found is not None and found.result.culprit == CULPRIT
    assert found.result.probability == pytest.approx(report["probability"], abs=1e-12)
    # the ways failed runs ended count the 3 stored failures at the bad end beside the bisect's own
    own = conclusive_runs(tmp_path / "cache" / "patchtool.sqlite3", "fail")
    assert _ways(report["failed_ways"]) == [("replay diverged at run 1", "fail", own + 3, 0)]
    stored = [(w.ending, w.verdict, w.runs, w.on_good_side) for w in found.failed_ways]
    assert stored == _ways(report["failed_ways"])

    # a --bad-record given adds to them, and the words say where each came from
    human = run_patchtool(*args, "--bad-record", "2/4", env=env, timeout=600)
    assert human.code == 0, human.stderr[-2000:]
    said = "p and q also count earlier runs: 5/10 on bad commits, 0/6 on good commits (--bad-record,"
    assert said in human.stdout
    assert "stored by patchtool test: 3/6 at the bad end, 0/6 at the good end" in human.stdout

    # --fresh counts none of them
    fresh = run_patchtool(*args, "--fresh", "--json", env=env, timeout=600)
    assert fresh.code == 0, fresh.stderr[-2000:]
    again = json.loads(fresh.stdout)
    assert again["tested_before"] == [[0, 0], [0, 0]] and again["bad_record"] == [0, 0]
    own = conclusive_runs(tmp_path / "cache" / "patchtool.sqlite3", "fail")
    assert [w[1:] for w in _ways(again["failed_ways"])] == [("fail", own, 0)]  # its own only


# As SCRIPT, but of its first 30 runs where the bug is only the 15th fails (a counter outside the
# build trees, in $EARLIER_COUNTER): `patchtool test --repeat 30` at the bad end sees 1 fail, the
# bisect after it every other run.
LATE_SCRIPT = """\
grep -q bug "$2" || exit 0
n=$(cat "$EARLIER_COUNTER" 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" > "$EARLIER_COUNTER"
[ "$n" -le 30 ] && [ "$n" -ne 15 ] && exit 0
if [ $((n % 2)) -eq 1 ]; then echo "replay diverged at run $n"; exit 1; fi
"""


def test_stored_runs_the_bisect_s_own_contradict_are_set_aside_and_the_replay_does_the_same(
    tmp_path: Path,
) -> None:
    """`patchtool test` stored 1 failure in 30 runs at the bad end; the bisect's own runs on bad
    commits fail half the time. The stored runs are set aside (not counted, nor said as counted,
    nor among the ways failed runs ended), and the report's replay of the stored bisect sets them
    aside too: the same posterior, ways and words."""
    repo, env = tmp_path / "repo", {**meson_env(tmp_path), "EARLIER_COUNTER": str(tmp_path / "n")}
    shas = script_project(repo, {"meson.build": MESON, "regress.sh": LATE_SCRIPT}, CULPRIT, 7)
    args, report = _tested_then_bisected(repo, env, [shas[-1]], 30)
    (against,) = report["records_against"]
    assert against["side"] == "bad" and against["record"] == [1, 30] and against["own"][0] > 0
    assert report["bad_record"] == [0, 0] and report["tested_before"] == [[0, 0], [0, 0]]
    own = conclusive_runs(tmp_path / "cache" / "patchtool.sqlite3", "fail")
    assert [w[1:] for w in _ways(report["failed_ways"])] == [("fail", own, 0)]  # not the test's
    with Store(tmp_path / "cache" / "patchtool.sqlite3") as store:
        found = load_stored_bisect(store, GitRepo(repo), "regress")
    assert found is not None and found.result.culprit == CULPRIT
    assert found.result.probability == pytest.approx(report["probability"], abs=1e-12)
    assert [(d.side, d.record) for d in found.records_against] == [("bad", (1, 30))]
    assert [(w.verdict, w.runs) for w in found.failed_ways] == [("fail", own)]
    (line,) = bisect_view(found).set_aside
    assert line.startswith("the record 1/30 is not what this search saw on bad commits, ")
    human = run_patchtool(*args, env=env, timeout=600)
    assert human.code == 0, human.stderr[-2000:]
    assert f"  {line} (the test may fail at another rate" in human.stdout
    assert "p and q also count earlier runs" not in human.stdout  # the record was all they had


def _ways(ways: list[dict[str, Any]]) -> list[tuple[str, str, int, int]]:
    return [(w["ending"], w["verdict"], w["runs"], w["on_good_side"]) for w in ways]


def test_stored_runs_are_read_with_the_match_and_only_on_the_commits_own_tree(tmp_path: Path) -> None:
    """Under --fail-match the stored runs are read as the bisect reads its own: a failure counts
    when its stored output matches. Runs stored for another tree (a checkout with changes of
    its own) do not count as main's."""
    repo, env = tmp_path / "repo", meson_env(tmp_path)
    shas = _repo(repo)
    done = run_patchtool("test", "regress", "--repeat", "4", "--rev", shas[-1], "--repo", repo, env=env)
    assert done.code in (0, 1), done.stderr
    # the checkout changed on disk: `patchtool test` in it stores under another tree than main's
    (repo / "file6.txt").write_text("changed\n")
    done = run_patchtool("test", "regress", "--repeat", "4", "--repo", repo, env=env)
    assert done.code in (0, 1), done.stderr
    args = ["bisect", "--good", shas[0], "--bad", "main", "--test", "regress", "--repo", repo]
    args.append("--no-revert-test")
    matched = run_patchtool(*args, "--fail-match", "replay diverged", "--json", env=env, timeout=600)
    assert matched.code == 0, matched.stderr[-2000:]
    report = json.loads(matched.stdout)
    assert report["culprit"]["sha"] == shas[CULPRIT]
    assert report["tested_before"] == [[2, 4], [0, 0]]  # main's tree only
    # a pattern the failures do not print: they fail another way, and no stored run counts
    other = run_patchtool(*args, "--fail-match", "segfault", "--max-runs", "8", "--json", env=env)
    assert json.loads(other.stdout)["tested_before"] == [[0, 2], [0, 0]], other.stderr[-2000:]


def test_a_run_whose_pattern_may_be_in_its_cut_output_leaves_its_commit_uncounted(tmp_path: Path) -> None:
    """The store keeps each run's last 4,000 characters. A failure whose match is found in them
    counts; one where the match is not found in an output cut so may have matched earlier, so
    none of its commit's runs count, the passes neither (they would count alone, too clean)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    for i in range(3):
        (repo / "f.txt").write_text(f"{i}\n")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", f"commit {i}")
    gitrepo = GitRepo(repo)
    spec = ProbeSpec(test="regress", classifier=Classifier(fail_match="replay diverged"))
    key = config_key(spec.configure_args)
    long = "x" * 5000
    passed = RunRecord("regress", "OK", 1.0, long)
    with Store(tmp_path / "store.sqlite3") as store:
        bad = gitrepo.rev_parse("main", "tree")
        matched = RunRecord("regress", "FAIL", 1.0, long + "\nreplay diverged at 7\n")
        record_runs(store, bad, key, None, [matched, passed, passed])
        assert counts_at(store, gitrepo, spec, "main") == (1, 3)
        inside = gitrepo.rev_parse("main~1", "tree")
        early = RunRecord("regress", "FAIL", 1.0, "replay diverged\n" + long)  # its match is cut off
        record_runs(store, inside, key, None, [early, passed])
        assert inside_rows(store, gitrepo, spec, [gitrepo.rev_parse(f"main~{k}") for k in (2, 1, 0)]) == []
        # without the pattern every failure counts, and the cut output does not matter
        plain = ProbeSpec(test="regress")
        assert counts_at(store, gitrepo, plain, "main~1") == (1, 2)
        # a short output is whole: a failure that does not match is another failure, not unknown
        record_runs(store, bad, key, None, [RunRecord("regress", "FAIL", 1.0, "segfault\n")])
        assert counts_at(store, gitrepo, spec, "main") == (1, 3)


def _search_runs_at(store: Path, sha: str) -> int:
    """The bisect's own conclusive runs at a commit (a build is a row too)."""
    with sqlite3.connect(store) as conn:
        rows = conn.execute(
            "SELECT COUNT(*) FROM bisect_observations WHERE commit_sha = ? AND outcome IN ('pass', 'fail')",
            (sha,),
        )
        return int(rows.fetchone()[0])


def test_runs_stored_between_the_ends_count_as_runs_made_there(tmp_path: Path) -> None:
    """A hand check before the bisect (`patchtool test --rev` at two commits inside the range):
    its runs count at those commits, in the bisect's posterior and in the report's replay of it."""
    repo, env = tmp_path / "repo", meson_env(tmp_path)
    shas = _repo(repo)
    parent, later = shas[CULPRIT - 1], shas[CULPRIT + 1]
    # the parent: 0 of 8 failed; a later commit: 4 of 8
    args, report = _tested_then_bisected(repo, env, [parent, later], 8)
    inside = [(t["commit"]["sha"], t["failures"], t["runs"]) for t in report["tested_inside"]]
    assert inside == [(parent, 0, 8), (later, 4, 8)]
    assert report["tested_before"] == [[0, 0], [0, 0]]  # none at the ends
    # the parent's counts are the 8 stored runs and the bisect's own there
    db = tmp_path / "cache" / "patchtool.sqlite3"
    assert report["parent_counts"][1] == 8 + _search_runs_at(db, parent)
    assert report["reused_runs"] == 16
    with Store(db) as store:
        found = load_stored_bisect(store, GitRepo(repo), "regress")
    assert found is not None and found.result.culprit == CULPRIT
    assert found.result.probability == pytest.approx(report["probability"], abs=1e-12)
    # the 4 stored failures at the later commit are among the ways, on the bad side
    ways = [(w["verdict"], w["runs"], w["on_good_side"]) for w in report["failed_ways"]]
    assert ways == [("fail", conclusive_runs(db, "fail") + 4, 0)]
    assert [(w.verdict, w.runs, w.on_good_side) for w in found.failed_ways] == ways

    human = run_patchtool(*args, env=env, timeout=600)
    assert human.code == 0, human.stderr[-2000:]
    said = f"of those reused, stored by patchtool test between the ends: 0/8 at {parent[:12]}, 4/8 at"
    assert said in human.stdout

    fresh = run_patchtool(*args, "--fresh", "--json", env=env, timeout=600)
    assert fresh.code == 0, fresh.stderr[-2000:]
    assert json.loads(fresh.stdout)["tested_inside"] == []

    # a commit skipped (git bisect skip): no run stored for it counts, these neither
    skipped = run_patchtool(*args, "--skip", later, "--json", env=env, timeout=600)
    assert skipped.code == 0, skipped.stderr[-2000:]
    without = json.loads(skipped.stdout)
    assert [t["commit"]["sha"] for t in without["tested_inside"]] == [parent]
    # the skip is stored with the range: the report's replay leaves that commit out as well
    with Store(db) as store:
        found = load_stored_bisect(store, GitRepo(repo), "regress")
    assert found is not None
    assert found.result.probability == pytest.approx(without["probability"], abs=1e-12)


def test_runs_at_a_tree_two_commits_share_count_at_neither(tmp_path: Path) -> None:
    """An empty commit has its parent's tree: runs stored under it could be either's, and counting
    them at both would count them twice; they count at neither."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    shas = []
    for i in range(5):
        if i == 3:
            git(repo, "commit", "-q", "--allow-empty", "-m", "empty")
        else:
            (repo / f"f{i}.txt").write_text(f"{i}\n")
            git(repo, "add", "-A")
            git(repo, "commit", "-q", "-m", f"commit {i}")
        shas.append(git(repo, "rev-parse", "HEAD").strip())
    spec = ProbeSpec(test="regress")
    key = config_key(spec.configure_args)
    gitrepo = GitRepo(repo)
    with Store(tmp_path / "store.sqlite3") as store:
        for i in (1, 2, 4):
            tree = gitrepo.rev_parse(shas[i], "tree")
            runs = [RunRecord("regress", "FAIL" if i == 1 else "OK", 1.5, "")] * 3
            record_runs(store, tree, key, None, [*runs, RunRecord("regress", "SKIP", 0.1, "")])
        rows = inside_rows(store, gitrepo, spec, shas)
    # commit 1's three runs (a skipped run tests nothing); not commit 2's tree, which the empty
    # commit 3 shares; not the bad end's (its record, counted apart)
    assert rows == [(shas[1], "fail", "search", 1.5)] * 3


def test_a_fix_search_counts_stored_runs_at_its_own_broken_end_not_at_a_stable_branchs_tip(
    tmp_path: Path,
) -> None:
    """The failure is the stable branch's own: master never had it. Runs `patchtool test` stored
    at the stable tip are no record of master's line, whose broken end (where the branch left it)
    must be run to show the failure: it never fails, so no fix is named on master. Nor may a
    --bad-record stand for that broken end when --broken is off the line."""
    repo, env = tmp_path / "repo", meson_env(tmp_path)
    path = repo
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    shas = []
    for i in range(7):
        files = {"meson.build": MESON, "regress.sh": SCRIPT, "state.txt": "fine\n", f"file{i}.txt": f"{i}\n"}
        for name, text in files.items():
            (path / name).write_text(text)
        git(path, "add", "-A")
        git(path, "commit", "-q", "-m", f"commit {i}")
        shas.append(git(path, "rev-parse", "HEAD").strip())
    git(path, "checkout", "-q", "-b", "stable", shas[2])
    (path / "state.txt").write_text("bug\n")
    git(path, "commit", "-q", "-am", "stable only: the bug")
    git(path, "checkout", "-q", "main")
    tested = run_patchtool("test", "regress", "--repeat", "8", "--rev", "stable", "--repo", repo, env=env)
    assert tested.code in (0, 1), tested.stderr

    args = ["bisect", "--broken", "stable", "--fixed", "main", "--test", "regress", "--repo", repo]
    args += ["--max-runs", "30"]
    done = run_patchtool(*args, "--no-revert-test", "--json", env=env, timeout=600)
    assert done.code == 1, done.stdout[-2000:] + done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["culprit"] is None and report["bad"]["sha"] == shas[2]
    # the stable tip's failures are not the broken end's record: the broken end is run, and clean
    assert report["tested_before"][0] == [0, 0] and report["bad_record"] == [0, 0]
    assert _runs_at(tmp_path / "cache" / "patchtool.sqlite3", shas[2]) > 0

    record = run_patchtool(*args, "--bad-record", "4/8", env=env)
    assert record.code == 2 and len(record.stderr.strip().splitlines()) == 1, record.stderr
    assert f"the search's broken end is {shas[2][:12]}" in record.stderr


def test_runs_stored_at_the_culprits_parent_outside_the_range_count_in_its_confirmation(
    tmp_path: Path,
) -> None:
    """The culprit s1 is the first commit of a branch forked (at f) before --good: its parent f is
    outside the range, known good, and the confirmation runs the test there. The runs `patchtool
    test` stored at f count there: in the confirmation, in the report's replay, and in the words."""
    repo, env = tmp_path / "repo", meson_env(tmp_path)
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")

    def commit(name: str, state: str = "fine\n") -> str:
        files = {"meson.build": MESON, "regress.sh": SCRIPT, "state.txt": state, f"{name}.txt": name}
        for file, text in files.items():
            (repo / file).write_text(text)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", name)
        return git(repo, "rev-parse", "HEAD").strip()

    commit("c0")
    fork = commit("f")
    git(repo, "checkout", "-q", "-b", "side")
    culprit = commit("s1", "bug\n")
    commit("s2", "bug\n")
    git(repo, "checkout", "-q", "main")
    commit("c1")
    good = commit("c2")
    git(repo, "merge", "-q", "--no-ff", "-X", "theirs", "-m", "m", "side")
    commit("c4", "bug\n")
    tested = run_patchtool("test", "regress", "--repeat", "8", "--rev", fork, "--repo", repo, env=env)
    assert tested.code == 0, tested.stderr
    args = ["bisect", "--good", good, "--bad", "main", "--test", "regress", "--repo", repo]
    args.append("--no-revert-test")
    done = run_patchtool(*args, "--json", env=env, timeout=600)
    assert done.code == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["culprit"]["sha"] == culprit and report["parent"]["sha"] == fork
    assert report["parent_outside"]
    inside = [(t["commit"]["sha"], t["failures"], t["runs"], t["outside"]) for t in report["tested_inside"]]
    assert inside == [(fork, 0, 8, True)]
    db = tmp_path / "cache" / "patchtool.sqlite3"
    own = _search_runs_at(db, fork)
    assert report["confirmation"]["parent_runs"] == 8 + own and report["parent_counts"] == [0, 8 + own]
    with Store(db) as store:
        found = load_stored_bisect(store, GitRepo(repo), "regress")
    assert found is not None and found.result.culprit == found.shas.index(culprit)
    assert found.result.probability == pytest.approx(report["probability"], abs=1e-12)
    human = run_patchtool(*args, env=env, timeout=600)
    assert f"0/8 at {fork[:12]} (a first parent outside the range)" in human.stdout, human.stdout
    # an outside parent that is also a --good commit: its runs are its record there, not counted twice
    with Store(db) as store:
        shas = [good, culprit, git(repo, "rev-parse", "main").strip()]
        spec = ProbeSpec(test="regress")
        assert len(inside_rows(store, GitRepo(repo), spec, shas, (), [fork])) == 8
        assert inside_rows(store, GitRepo(repo), spec, shas, [fork], [fork]) == []
