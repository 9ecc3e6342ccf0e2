"""`patchtool bisect --test` counts the runs `patchtool test` stored at its ends (bisection.earlier):
real git, real meson, a real SQLite store."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from pathlib import Path

import pytest

from patchtool.report.stages import load_stored_bisect
from patchtool.store import Store
from patchtool.vcs.repo import GitRepo
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


def _repo(path: Path) -> list[str]:
    """Commits 0..6 of a meson project; commit CULPRIT brings the failure."""
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    shas = []
    for i in range(7):
        state = "bug\n" if i >= CULPRIT else "fine\n"
        files = {"meson.build": MESON, "regress.sh": SCRIPT, "state.txt": state}
        for name, text in {**files, f"file{i}.txt": f"{i}\n"}.items():
            (path / name).write_text(text)
        git(path, "add", "-A")
        git(path, "commit", "-q", "-m", f"commit {i}")
        shas.append(git(path, "rev-parse", "HEAD").strip())
    return shas


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        "PATCHTOOL_CACHE_DIR": str(tmp_path / "cache"),
        "PATCHTOOL_DATA_DIR": str(tmp_path / "data"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def _runs_at(store: Path, sha: str) -> int:
    with sqlite3.connect(store) as conn:
        rows = conn.execute("SELECT COUNT(*) FROM bisect_observations WHERE commit_sha = ?", (sha,))
        return int(rows.fetchone()[0])


def test_the_runs_patchtool_test_stored_at_the_ends_are_counted_and_the_bad_end_is_not_built(
    tmp_path: Path,
) -> None:
    repo, env = tmp_path / "repo", _env(tmp_path)
    shas = _repo(repo)
    for rev in (shas[-1], shas[0]):  # 6 runs at each end: 3 failures at the bad end, none at the good
        done = run_patchtool("test", "regress", "--repeat", "6", "--rev", rev, "--repo", repo, env=env)
        assert done.code in (0, 1), done.stderr
    args = ["bisect", "--good", shas[0], "--bad", "main", "--test", "regress", "--repo", repo]
    args.append("--no-revert-test")
    done = run_patchtool(*args, "--json", env=env, timeout=600)
    assert done.code == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["culprit"]["sha"] == shas[CULPRIT]
    assert report["tested_before"] == [[3, 6], [0, 6]]
    assert report["bad_record"] == [3, 6] and report["good_record"] == [0, 6]
    # the stored runs are the bad end's calibration: it was neither built nor run
    assert _runs_at(tmp_path / "cache" / "patchtool.sqlite3", shas[-1]) == 0
    # the report's replay of the stored bisect counts them too: the posterior it stopped on
    with Store(tmp_path / "cache" / "patchtool.sqlite3") as store:
        found = load_stored_bisect(store, GitRepo(repo), "regress")
    assert found is not None and found.result.culprit == CULPRIT
    assert found.result.probability == pytest.approx(report["probability"], abs=1e-12)

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


def test_stored_runs_are_not_counted_when_a_match_decides_what_a_run_means(tmp_path: Path) -> None:
    """The store keeps the output of a few failing runs only: under --fail-match the stored runs
    cannot be told apart, so none is counted; nor are runs stored for another tree."""
    repo, env = tmp_path / "repo", _env(tmp_path)
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
    assert report["tested_before"] == [[0, 0], [0, 0]] and report["bad_record"] == [0, 0]
    plain = run_patchtool(*args, "--json", env=env, timeout=600)
    assert plain.code == 0, plain.stderr[-2000:]
    assert json.loads(plain.stdout)["tested_before"] == [[2, 4], [0, 0]]  # main's tree only
