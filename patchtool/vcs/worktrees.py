"""Worktrees owned by patchtool, outside the user's checkout, created and reused on demand.

The user's HEAD, index, work tree, stash and branches are never touched: a tool worktree is a
detached `git worktree` under Settings.data_dir, and only its own HEAD moves. An interrupted
creation leaves a directory that the next call detects and rebuilds.

What a developer's checkout holds that git does not track but a build needs (the meson
subprojects `configure` downloaded, their packagecache) is copied into the tool worktree and
refreshed when the checkout's copy changes. A copy, not a link: nothing a build does in the tool
worktree can write into the user's checkout. `git clean` in the tool worktree keeps the copies.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from patchtool.config import Settings
from patchtool.vcs import trees
from patchtool.vcs.repo import GitRepo


def repo_key(repo: GitRepo) -> str:
    """A stable short name for a repository (its common git dir), used in tool paths."""
    digest = trees.digest("sha256", str(repo.common_dir).encode()).hex()[:12]
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


# A `git worktree add` under way in another process (patchtool's or the user's) writes the new
# entry's files one by one; while its `commondir` is still empty, git dies reading the entry
# ("failed to read .git/worktrees/<name>/commondir"). The window is short: wait it out, 2 s at most.
_LIST_TRIES, _LIST_PAUSE = 40, 0.05


def worktree_listing(repo: GitRepo) -> str:
    """`git worktree list --porcelain`, retried while another process's `worktree add` is half-way."""
    for _ in range(_LIST_TRIES - 1):
        done = repo.git("worktree", "list", "--porcelain", check=False)
        if done.ok:
            return done.text().rstrip("\n")
        time.sleep(_LIST_PAUSE)
    return repo.out("worktree", "list", "--porcelain")  # the last try: its failure is the error


def _registered(repo: GitRepo) -> set[Path]:
    listing = worktree_listing(repo)
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
        carried = carried_dirs(repo)
        wt.git("checkout", "--quiet", "--force", "--detach", commit)
        keep = [arg for rel in carried for arg in ("-e", f"/{rel}/")]
        wt.git("clean", "-ffdxq", *keep)
        sync_carried(repo.path, path, carried)
        return path
    if path.exists():  # left over by an interrupted run, or no longer registered
        shutil.rmtree(path)
    # One registration at a time: a `worktree prune` beside another lane's half-done `worktree
    # add` removes that worktree's entry under it (`bisect --jobs 2` creating both lanes at once).
    with locked(worktrees_root(settings, repo) / ".registry"):
        worktree_listing(repo)  # `prune` and `add` read every entry too: wait until all are whole
        repo.git("worktree", "prune")
        path.parent.mkdir(parents=True, exist_ok=True)
        # Twice --force: a `worktree add` killed half-way leaves its registration locked.
        repo.git("worktree", "add", "--quiet", "--force", "--force", "--detach", str(path), commit)
    path.with_name(path.name + _STAMP).unlink(missing_ok=True)
    sync_carried(repo.path, path, carried_dirs(repo))
    return path


_CARRIED_UNDER = "subprojects"
_STAMP = ".carried.json"


def carried_dirs(repo: GitRepo) -> list[str]:
    """Untracked or ignored directories directly under subprojects/ of the user's checkout."""
    if not (repo.path / _CARRIED_UNDER).is_dir():
        return []
    listing = repo.out("ls-files", "-z", "--others", "--", f"{_CARRIED_UNDER}/")
    found = set()
    for entry in listing.split("\0"):
        parts = entry.split("/")
        if len(parts) >= 3 and parts[0] == _CARRIED_UNDER and parts[1] not in ("", ".", ".."):
            found.add(f"{_CARRIED_UNDER}/{parts[1]}")
    return sorted(found)


def _fingerprint(root: Path) -> list[int]:
    """File count, total size and newest mtime: changes when the developer updates a subproject."""
    count = size = newest = 0
    for top, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in files:
            st = os.lstat(os.path.join(top, name))
            count, size, newest = count + 1, size + st.st_size, max(newest, st.st_mtime_ns)
    return [count, size, newest]


def sync_carried(source: Path, tree: Path, carried: list[str]) -> None:
    """Copy the carried directories from the user's checkout into a tool worktree when they changed.

    copy2 keeps modification times, so a refreshed copy with the same files rebuilds nothing.
    """
    stamp_path = tree.with_name(tree.name + _STAMP)
    try:
        stamp: dict[str, list[int]] = json.loads(stamp_path.read_text())
    except (OSError, ValueError):
        stamp = {}
    new: dict[str, list[int]] = {}
    for rel in carried:
        new[rel] = _fingerprint(source / rel)
        target = tree / rel
        if stamp.get(rel) == new[rel] and target.is_dir():
            continue
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(source / rel, target, symlinks=True, ignore=shutil.ignore_patterns(".git"))
    for gone in set(stamp) - set(new):
        shutil.rmtree(tree / gone, ignore_errors=True)
    stamp_path.write_text(json.dumps(new))


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
