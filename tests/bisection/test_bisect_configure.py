"""A bisect over commits older than an option its --configure passes (QEMU's --disable-rust before
QEMU had it): those commits are skipped as untestable, and the search goes on to name the culprit
among the commits that configure, even in a build directory these arguments never configured (the
newest end tells). Where the newest end does not configure either, the bisect stops in one line.
Real git, a real ./configure, meson and ninja, no compiler."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.bisection.test_bisect_earlier import MESON, SCRIPT
from tests.conftest import run_patchtool
from tests.plugins.gitutil import git

OLD_CONFIGURE = """#!/bin/sh
for arg in "$@"; do
  case "$arg" in --with-extra) echo "ERROR: unknown option $arg"; exit 1;; esac
done
exec meson setup . "$(cd "$(dirname "$0")" && pwd)"
"""
NEW_CONFIGURE = """#!/bin/sh
exec meson setup . "$(cd "$(dirname "$0")" && pwd)" -Dextra=yes
"""
OPTION = "option('extra', type: 'string', value: '')\n"
OLD, NEW, CULPRIT = 12, 4, 15  # commits 1..12 predate the option, 13..16 have it


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    return option_history(tmp_path_factory.mktemp("configure") / "repo", fixed=False)


@pytest.fixture(scope="module")
def fixed_history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    return option_history(tmp_path_factory.mktemp("configure") / "repo", fixed=True)


def option_history(repo: Path, fixed: bool) -> tuple[Path, list[str]]:
    """Commit CULPRIT brings the bug in (or, `fixed`, takes it out)."""
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    shas = []
    for i in range(OLD + NEW + 1):
        new = i > OLD
        files = {
            "meson.build": MESON,
            "regress.sh": SCRIPT,
            "state.txt": "bug\n" if (i >= CULPRIT) != fixed else "fine\n",
            "configure": NEW_CONFIGURE if new else OLD_CONFIGURE,
            "meson_options.txt": OPTION if new else "",
            f"file{i}.txt": f"{i}\n",
        }
        for name, text in files.items():
            (repo / name).write_text(text)
        (repo / "configure").chmod(0o755)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", f"commit {i}")
        shas.append(git(repo, "rev-parse", "HEAD").strip())
    return repo, shas


def _bisect(
    tmp_path: Path, repo: Path, good: str, bad: str, ends: tuple[str, str] = ("--good", "--bad")
) -> tuple[int, str, str]:
    env = {
        "PATCHTOOL_CACHE_DIR": str(tmp_path / "cache"),
        "PATCHTOOL_DATA_DIR": str(tmp_path / "data"),  # the bisect's build directory is new
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    args = ["bisect", ends[0], good, ends[1], bad, "--test", "regress", "--repo", repo,
            "--configure", "--with-extra", "--no-revert-test", "--json"]  # fmt: skip
    done = run_patchtool(*args, env=env, timeout=600)
    return done.code, done.stdout, done.stderr


def test_commits_older_than_a_configure_option_are_skipped_and_the_culprit_is_named(
    tmp_path: Path, history: tuple[Path, list[str]]
) -> None:
    repo, shas = history
    code, out, err = _bisect(tmp_path, repo, shas[0], "main")
    assert code == 0, err[-2000:]
    report = json.loads(out)
    assert report["culprit"]["sha"] == shas[CULPRIT]
    untestable = {c["sha"] for c in report["untestable"]}
    assert untestable and untestable <= set(shas[1 : OLD + 1])
    assert len(untestable) >= 2  # the search went on after an old commit, past a second


def test_a_newest_end_that_does_not_configure_either_stops_the_bisect_in_one_line(
    tmp_path: Path, history: tuple[Path, list[str]]
) -> None:
    repo, shas = history
    code, _, err = _bisect(tmp_path, repo, shas[0], shas[OLD])  # every commit predates the option
    # stderr is no terminal here: the search's progress comes first, as plain lines
    first = next(line for line in err.splitlines() if not line.startswith("bisect: best "))
    assert code == 3 and "unknown option --with-extra" in first
    assert f"{shas[OLD][:12]} do not configure" in first  # the newest end was tried, and is named


def test_a_fix_search_over_commits_older_than_the_option_names_the_fix(
    tmp_path: Path, fixed_history: tuple[Path, list[str]]
) -> None:
    repo, shas = fixed_history  # its newest end is the fixed one
    code, out, err = _bisect(tmp_path, repo, shas[0], "main", ends=("--broken", "--fixed"))
    assert code == 0, err[-2000:]
    report = json.loads(out)
    assert report["culprit"]["sha"] == shas[CULPRIT]
    assert {c["sha"] for c in report["untestable"]} <= set(shas[: OLD + 1])  # the broken end too


def test_a_newest_end_the_repository_lacks_leaves_the_configure_error_as_it_was(
    tmp_path: Path, history: tuple[Path, list[str]]
) -> None:
    # A cluster worker's clone may lack the newest end: the old commit's own error is raised.
    from patchtool.bisection.probe import ProbeSpec, prober_for
    from patchtool.build.meson import ConfigureFailed
    from patchtool.config import load_settings
    from patchtool.store import Store
    from patchtool.vcs.repo import GitRepo

    repo, shas = history
    env = {"PATCHTOOL_CACHE_DIR": str(tmp_path / "cache"), "PATCHTOOL_DATA_DIR": str(tmp_path / "data")}
    spec = ProbeSpec(test="regress", configure_args=("--with-extra",), tip="f" * 40)
    with (
        Store(tmp_path / "cache" / "patchtool.sqlite3") as store,
        prober_for(GitRepo(repo), load_settings(env=env), spec, store) as prober,
        pytest.raises(ConfigureFailed, match=r"^configure of .* unknown option --with-extra"),
    ):
        prober.prepare(shas[1])


def test_the_live_line_names_the_newest_end_while_it_is_configured(
    tmp_path: Path, history: tuple[Path, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first old commit's configure fails, the newest end is configured in its place (QEMU: 13
    s), then the old commit is built: the live line names each in turn, not the old commit
    throughout."""
    from patchtool.bisection.driver import run_bisect
    from patchtool.bisection.options import BisectOptions
    from patchtool.bisection.probe import CONFIGURING_TIP, ProbeSpec, probers_for
    from patchtool.bisection.summary import Progress
    from patchtool.config import load_settings
    from patchtool.store import Store
    from patchtool.vcs.repo import GitRepo

    repo, shas = history
    env = {"PATCHTOOL_CACHE_DIR": str(tmp_path / "cache"), "PATCHTOOL_DATA_DIR": str(tmp_path / "data")}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    tip = shas[-1]
    spec = ProbeSpec(test="regress", configure_args=("--with-extra",), tip=tip)
    seen: list[Progress] = []
    with (
        Store(tmp_path / "cache" / "patchtool.sqlite3") as store,
        probers_for(GitRepo(repo), load_settings(env=env), spec, store) as probers,
    ):
        options = BisectOptions(shas[0], "main", revert_test=False)
        report = run_bisect(GitRepo(repo), store, spec, options, probers, seen.append, load_settings(env=env))
    assert report.culprit is not None and report.culprit.sha == shas[CULPRIT]
    steps = [(s.what, s.sha) for p in seen for s in p.under_way]
    shown = [x for i, x in enumerate(steps) if i == 0 or steps[i - 1] != x]
    at = shown.index((CONFIGURING_TIP, tip))  # the newest end is named while it is configured
    old = shown[at - 1][1]
    assert shown[at - 1] == ("building", old) and shown[at + 1] == ("building", old)
    assert old in shas[1 : OLD + 1] and old in {c.sha for c in report.untestable}
    assert steps.count((CONFIGURING_TIP, tip)) == 1  # configured once: the directory then is
