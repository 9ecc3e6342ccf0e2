"""A small real repository for apply/backport tests: a 3-patch topic, a moved tip, a renamed directory."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.plugins.gitutil import git, make_repo


def numbered(n: int, prefix: str = "line", suffix: str = "") -> str:
    return "".join(f"{prefix} {i}{suffix}\n" for i in range(1, n + 1))


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def merge_both_sides(repo: Path, name: str) -> str:
    """A side branch and main each change `name` (lines 3 and 20), then main merges the side: no
    commit but the merge holds the file as it is after. Returns the merge."""
    git(repo, "checkout", "-q", "-b", "side")
    edit(repo / name, "line 3\n", "line three\n")
    commit_all(repo, f"{name}: three")
    git(repo, "checkout", "-q", "main")
    edit(repo / name, "line 20\n", "line twenty\n")
    commit_all(repo, f"{name}: twenty")
    git(repo, "merge", "-q", "--no-ff", "-m", "Merge side", "side")
    return git(repo, "rev-parse", "HEAD").strip()


def backport_mail(tmp_path: Path, repo: Path, commit: str, onto: str = "stable") -> tuple[Any, Any]:
    """(GitRepo, BackportResult) of `commit` sent as a mail (git format-patch) and backported onto
    `onto` with settings of its own under tmp_path: the base is what the mail's index lines say."""
    from patchtool.apply.backport import backport_series
    from patchtool.config import load_settings
    from patchtool.fetch.local import read_local
    from patchtool.parse.series import build_series
    from patchtool.vcs.repo import GitRepo

    mail = tmp_path / "fix.patch"
    mail.write_text(git(repo, "format-patch", "-1", "--stdout", commit))
    settings = load_settings({"data_dir": str(tmp_path / "data"), "cache_dir": str(tmp_path / "cache")})
    series = build_series(read_local(str(mail), None))
    return GitRepo(repo), backport_series(GitRepo(repo), series, settings, onto=onto)


@dataclass(frozen=True)
class ApplyRepo:
    """The repository and the names of its interesting commits and mail."""

    path: Path
    base: str  # where the topic forked
    topic: str  # the topic's last commit (the series, as commits)
    tip_offset: str  # main moved: lines inserted above the hunks (still applies, with offsets)
    tip_context: str  # main changed a context line of patch 1 (needs the 3-way merge)
    tip_conflict: str  # main changed the very line patch 3 changes (a conflict)
    series_mbox: Path  # format-patch --cover-letter --base of the topic


def build_apply_repo(root: Path) -> ApplyRepo:
    repo = make_repo(
        root / "upstream",
        {"src/a.c": numbered(40), "src/b.c": numbered(20, "b"), "README": "readme\n"},
    )
    base = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "checkout", "-q", "-b", "topic")
    edit(repo / "src/a.c", "line 5\n", "line five\n")
    commit_all(
        repo, "a: spell out five\n\nBecause words read better.\n\nSigned-off-by: Ann <ann@example.org>"
    )
    edit(repo / "src/b.c", "b 3\n", "b three\n")
    commit_all(repo, "b: spell out three\n\nSigned-off-by: Ann <ann@example.org>")
    edit(repo / "src/a.c", "line 30\n", "line thirty\n")
    topic = commit_all(repo, "a: spell out thirty\n\nSigned-off-by: Ann <ann@example.org>")
    mail = root / "mail"
    git(repo, "format-patch", "-q", "--cover-letter", f"--base={base}", "-o", str(mail), f"{base}..topic")
    series_mbox = root / "series.mbox"
    series_mbox.write_bytes(b"".join(p.read_bytes() for p in sorted(mail.glob("*.patch"))))
    git(repo, "checkout", "-q", "main")
    (repo / "src/a.c").write_text("/* header */\n/* more */\n" + numbered(40))
    tip_offset = commit_all(repo, "a: add a header comment")
    edit(repo / "src/a.c", "line 7\n", "line 7 (context changed)\n")
    tip_context = commit_all(repo, "a: touch line 7")
    edit(repo / "src/a.c", "line 30\n", "line XXX\n")
    tip_conflict = commit_all(repo, "a: roman thirty")
    return ApplyRepo(repo, base, topic, tip_offset, tip_context, tip_conflict, series_mbox)


@pytest.fixture
def apply_repo(tmp_path: Path) -> ApplyRepo:
    return build_apply_repo(tmp_path)


def data_dir(home: Path) -> Path:
    return home / "xdg_data_home" / "patchtool"


def start_patchtool(args: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "patchtool", *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env=dict(os.environ),
    )


def wait_for_work(tmp_root: Path, popen: subprocess.Popen[bytes]) -> bool:
    """Wait until the child has made its own temporary index (it is applying), or has finished."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and popen.poll() is None:
        if any(tmp_root.glob(f"*/{popen.pid}-*")):
            return True
        time.sleep(0.005)
    return False
