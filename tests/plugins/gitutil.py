"""Fixtures for tests that need real git repositories, and a byte-for-byte repository snapshot."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest


def git(cwd: Path, *args: str, input: bytes | None = None) -> str:
    """Run git in cwd (test helper); fail the test with git's stderr on error."""
    done = subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True, check=False)
    if done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr.decode()}")
    return done.stdout.decode("utf-8", "replace")


def make_repo(path: Path, files: dict[str, str] | None = None, message: str = "initial") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    for name, text in (files or {"README": "hello\n"}).items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", message)
    return path


def linear_repo(path: Path, n: int) -> list[str]:
    """A repository of n + 1 commits c0..cN, each rewriting one file; their shas, oldest first."""
    make_repo(path, {"f": "0\n"}, message="c0")
    for i in range(1, n + 1):
        (path / "f").write_text(f"{i}\n")
        git(path, "commit", "-qam", f"c{i}")
    return git(path, "rev-list", "--reverse", "HEAD").split()


def snapshot_repo(path: Path) -> dict[str, str]:
    """Everything a user could lose, hashed: HEAD, refs, index, stash, work tree files (not .git)."""
    state: dict[str, str] = {
        "HEAD": (path / ".git" / "HEAD").read_text() if (path / ".git").is_dir() else "",
        "refs": git(path, "for-each-ref", "--format=%(refname) %(objectname)"),
        "status": git(path, "status", "--porcelain=v2", "--branch", "--untracked-files=all"),
        "stash": git(path, "stash", "list"),
    }
    index = path / ".git" / "index"
    if index.exists():
        state["index"] = hashlib.sha256(index.read_bytes()).hexdigest()
    for root, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in files:
            file = Path(root) / name
            rel = file.relative_to(path).as_posix()
            state[f"file:{rel}"] = hashlib.sha256(file.read_bytes()).hexdigest()
    return state


@pytest.fixture
def repo_factory(tmp_path: Path) -> Callable[..., Path]:
    """Make a real repository under tmp_path: repo_factory("name", {"file": "text"})."""

    def factory(name: str = "repo", files: dict[str, str] | None = None) -> Path:
        return make_repo(tmp_path / name, files)

    return factory
