"""Worktrees owned by patchtool, outside the user's checkout, created and reused on demand.

The user's HEAD, index, work tree, stash and branches are never touched: a tool worktree is a
detached `git worktree` under Settings.data_dir, and only its own HEAD moves. An interrupted
creation leaves a directory that the next call detects and rebuilds.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from patchtool.config import Settings
from patchtool.vcs.repo import GitRepo


def repo_key(repo: GitRepo) -> str:
    """A stable short name for a repository (its common git dir), used in tool paths."""
    digest = hashlib.sha256(str(repo.common_dir).encode()).hexdigest()[:12]
    return f"{repo.common_dir.parent.name or 'repo'}-{digest}"


def worktrees_root(settings: Settings, repo: GitRepo) -> Path:
    return settings.data_dir / "worktrees" / repo_key(repo)


def worktree_path(settings: Settings, repo: GitRepo, name: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip(".") or "wt"
    return worktrees_root(settings, repo) / safe


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock beside `path`, so two patchtool processes never share a worktree at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _registered(repo: GitRepo) -> set[Path]:
    listing = repo.out("worktree", "list", "--porcelain")
    return {
        Path(line.split(" ", 1)[1]).resolve() for line in listing.splitlines() if line.startswith("worktree ")
    }


def ensure_worktree(repo: GitRepo, settings: Settings, name: str, commit: str) -> Path:
    """Return a tool worktree named `name` with `commit` checked out (detached), reusing it.

    Reuse keeps unchanged files' timestamps, so an out-of-tree build directory rebuilds only what
    the new commit changed. Call under `locked(path)` when processes may race.
    """
    path = worktree_path(settings, repo, name)
    if path.exists() and path.resolve() in _registered(repo) and (path / ".git").exists():
        wt = GitRepo(path)
        wt.git("checkout", "--quiet", "--force", "--detach", commit)
        wt.git("clean", "-ffdxq")
        return path
    if path.exists():  # left over by an interrupted run, or no longer registered
        shutil.rmtree(path)
    repo.git("worktree", "prune")
    path.parent.mkdir(parents=True, exist_ok=True)
    # Twice --force: a `worktree add` killed half-way leaves its registration locked ("initializing").
    repo.git("worktree", "add", "--quiet", "--force", "--force", "--detach", str(path), commit)
    return path


def list_worktrees(repo: GitRepo, settings: Settings) -> list[Path]:
    root = worktrees_root(settings, repo).resolve()
    return sorted(p for p in _registered(repo) if root in p.parents)


def remove_worktrees(repo: GitRepo, settings: Settings) -> list[Path]:
    """Remove every tool worktree of `repo` (and stray directories left by interrupted runs)."""
    removed = []
    for path in list_worktrees(repo, settings):
        repo.git("worktree", "unlock", str(path), check=False)  # a locked one is never pruned
        repo.git("worktree", "remove", "--force", "--force", str(path), check=False)
        if path.exists():
            shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    root = worktrees_root(settings, repo)
    if root.exists():
        for stray in root.iterdir():
            if stray.is_dir():
                shutil.rmtree(stray, ignore_errors=True)
                removed.append(stray)
            else:
                stray.unlink(missing_ok=True)
    repo.git("worktree", "prune")
    return removed
