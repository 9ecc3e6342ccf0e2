"""A bisect over commits older than an option its --configure passes (QEMU's --disable-rust before
QEMU had it), in a build directory these arguments configured before: those commits are skipped as
untestable, and the search goes on to name the culprit among the commits that configure. Real git,
a real ./configure, meson and ninja, no compiler."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

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


def test_commits_older_than_a_configure_option_are_skipped_and_the_culprit_is_named(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    shas = []
    for i in range(OLD + NEW + 1):
        new = i > OLD
        files = {
            "meson.build": MESON,
            "regress.sh": SCRIPT,
            "state.txt": "bug\n" if i >= CULPRIT else "fine\n",
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
    env = {
        "PATCHTOOL_CACHE_DIR": str(tmp_path / "cache"),
        "PATCHTOOL_DATA_DIR": str(tmp_path / "data"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    tail = ["--bad", "main", "--test", "regress", "--repo", repo, "--configure", "--with-extra", "--json"]
    # Where these arguments never configured anything, an old commit's failure to configure with
    # them is not told from the machine's or the arguments' own: it stops the bisect, in one line.
    elsewhere = {**env, "PATCHTOOL_DATA_DIR": str(tmp_path / "data-new")}
    stopped = run_patchtool("bisect", "--good", shas[0], *tail, env=elsewhere, timeout=600)
    assert stopped.code == 3 and "unknown option --with-extra" in stopped.stderr.splitlines()[0]
    # A first bisect whose commits all have the option: the bisect's build directory is configured
    # with these arguments (a QEMU developer's has been, by the bisects before).
    first = run_patchtool("bisect", "--good", shas[OLD + 1], *tail, "--no-revert-test", env=env, timeout=600)
    assert first.code == 0, first.stderr[-2000:]
    assert json.loads(first.stdout)["culprit"]["sha"] == shas[CULPRIT]
    args = ["bisect", "--good", shas[0], *tail, "--no-revert-test", "--fresh"]  # its runs forgotten
    done = run_patchtool(*args, env=env, timeout=600)
    assert done.code == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["culprit"]["sha"] == shas[CULPRIT]
    untestable = {c["sha"] for c in report["untestable"]}
    assert untestable and untestable <= set(shas[1 : OLD + 1])
    assert len(untestable) >= 2  # the search went on after an old commit, past a second
