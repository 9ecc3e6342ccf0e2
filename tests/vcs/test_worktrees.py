"""Tool-owned worktrees: created detached, reused, rebuilt after an interruption, removed by clean."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchtool.apply.engine import check_branch_name
from patchtool.apply.patches import remove_stale_indexes, temp_root
from patchtool.config import Settings, load_settings
from patchtool.vcs.repo import GitRepo
from patchtool.vcs.worktrees import ensure_worktree, list_worktrees, remove_worktrees, worktree_path
from tests.plugins.gitutil import git, snapshot_repo


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings({"data_dir": str(tmp_path / "data"), "cache_dir": str(tmp_path / "cache")})


def two_commits(repo_factory: object) -> tuple[Path, str, str]:
    path: Path = repo_factory("user", {"a.txt": "one\n"})  # type: ignore[operator]
    first = git(path, "rev-parse", "HEAD").strip()
    (path / "a.txt").write_text("two\n")
    git(path, "commit", "-q", "-am", "two")
    return path, first, git(path, "rev-parse", "HEAD").strip()


def test_worktree_is_detached_reused_and_cleaned(repo_factory: object, settings: Settings) -> None:
    path, first, second = two_commits(repo_factory)
    (path / "a.txt").write_text("dirty\n")
    before = snapshot_repo(path)
    repo = GitRepo(path)
    wt = ensure_worktree(repo, settings, "apply", first)
    assert (wt / "a.txt").read_text() == "one\n" and settings.data_dir in wt.parents
    (wt / "build-output").write_text("stale\n")
    again = ensure_worktree(repo, settings, "apply", second)
    assert again == wt and (wt / "a.txt").read_text() == "two\n" and not (wt / "build-output").exists()
    assert git(wt, "rev-parse", "--abbrev-ref", "HEAD").strip() == "HEAD"  # detached: no branch moved
    assert list_worktrees(repo, settings) == [wt.resolve()]
    assert snapshot_repo(path) == before
    assert remove_worktrees(repo, settings) == [wt.resolve()]
    assert not wt.exists() and list_worktrees(repo, settings) == []
    assert snapshot_repo(path) == before


def test_leftover_directory_from_an_interrupted_run_is_rebuilt(
    repo_factory: object, settings: Settings
) -> None:
    path, first, _ = two_commits(repo_factory)
    repo = GitRepo(path)
    leftover = worktree_path(settings, repo, "apply")
    leftover.mkdir(parents=True)
    (leftover / "half-written.c").write_text("x")
    wt = ensure_worktree(repo, settings, "apply", first)
    assert wt == leftover and sorted(p.name for p in wt.iterdir()) == [".git", "a.txt"]


def test_stale_temporary_indexes_are_removed_but_live_ones_kept(
    repo_factory: object, settings: Settings
) -> None:
    path, _, _ = two_commits(repo_factory)
    repo = GitRepo(path)
    root = temp_root(settings, repo)
    dead = root / "999999999-abc"  # no such pid
    live = root / "1-xyz"  # pid 1 is always alive
    for d in (dead, live):
        d.mkdir(parents=True)
        (d / "index").write_bytes(b"x")
    assert remove_stale_indexes(settings, repo) == [dead]
    assert live.exists() and not dead.exists()


def test_worktree_add_killed_half_way_is_recovered(repo_factory: object, settings: Settings) -> None:
    """`git worktree add` killed early leaves a locked registration and maybe no directory at all."""
    import shutil

    path, first, second = two_commits(repo_factory)
    repo = GitRepo(path)
    wt = ensure_worktree(repo, settings, "apply", first)
    admin = Path(git(wt, "rev-parse", "--git-dir").strip())
    (admin / "locked").write_text("initializing")
    shutil.rmtree(wt)
    again = ensure_worktree(repo, settings, "apply", second)
    assert again == wt and (wt / "a.txt").read_text() == "two\n"
    remove_worktrees(repo, settings)
    assert git(path, "worktree", "list", "--porcelain").count("worktree ") == 1


def test_clean_removes_a_locked_registration_without_directory(
    repo_factory: object, settings: Settings
) -> None:
    import shutil

    path, first, _ = two_commits(repo_factory)
    repo = GitRepo(path)
    wt = ensure_worktree(repo, settings, "apply", first)
    admin = Path(git(wt, "rev-parse", "--git-dir").strip())
    (admin / "locked").write_text("initializing")
    shutil.rmtree(wt)
    remove_worktrees(repo, settings)
    assert git(path, "worktree", "list", "--porcelain").count("worktree ") == 1


def test_ignored_subprojects_are_copied_kept_across_clean_and_refreshed(
    repo_factory: object, settings: Settings
) -> None:
    path, first, second = two_commits(repo_factory)
    (path / ".gitignore").write_text("/subprojects/keymaps/\n")
    git(path, "add", ".gitignore")
    git(path, "commit", "-q", "-m", "ignore the downloaded subproject")
    third = git(path, "rev-parse", "HEAD").strip()
    sub = path / "subprojects" / "keymaps"
    sub.mkdir(parents=True)
    (sub / "meson.build").write_text("project('keymaps', 'c')\n")
    (path / "subprojects" / "untracked-file.txt").write_text("not a directory: not carried\n")
    before = snapshot_repo(path)
    repo = GitRepo(path)

    wt = ensure_worktree(repo, settings, "build", third)
    copy = wt / "subprojects" / "keymaps" / "meson.build"
    assert copy.read_text() == "project('keymaps', 'c')\n"
    assert not (wt / "subprojects" / "untracked-file.txt").exists()
    copy.write_text("changed by a build in the tool worktree\n")
    assert (sub / "meson.build").read_text() == "project('keymaps', 'c')\n"  # a copy, not a link

    (wt / "subprojects" / "keymaps" / "build-junk").write_text("x\n")
    again = ensure_worktree(repo, settings, "build", first)  # reuse runs git clean -ffdx
    assert again == wt and (wt / "subprojects" / "keymaps").is_dir()
    assert (wt / "subprojects" / "keymaps" / "build-junk").exists()  # kept by the clean, not copied again

    assert snapshot_repo(path) == before  # nothing written into the user's checkout

    (sub / "meson.build").write_text("project('keymaps', 'c', version: '2')\n")
    ensure_worktree(repo, settings, "build", second)
    assert copy.read_text() == "project('keymaps', 'c', version: '2')\n"  # the developer updated it


def test_two_lanes_create_their_worktrees_at_once(repo_factory: object, settings: Settings) -> None:
    """`bisect --jobs 2` sets up both lanes together: one lane's `worktree prune` must not remove
    the entry of the other's `worktree add` half-way through."""
    import shutil
    from concurrent.futures import ThreadPoolExecutor

    path, _, second = two_commits(repo_factory)
    repo = GitRepo(path)
    names = [f"bisect-{i}" for i in range(1, 7)]
    with ThreadPoolExecutor(len(names)) as pool:
        for _ in range(30):
            for name in names:  # gone: each round registers every worktree anew
                shutil.rmtree(worktree_path(settings, repo, name), ignore_errors=True)
            trees = list(pool.map(lambda n: ensure_worktree(repo, settings, n, second), names))
            assert sorted(list_worktrees(repo, settings)) == sorted(t.resolve() for t in trees)


def test_a_listing_waits_while_another_process_is_half_way_through_worktree_add(
    repo_factory: object, settings: Settings
) -> None:
    """Four `apply --checkout` at once failed in CI: one listed the worktrees at the instant
    another's `git worktree add` had created its entry's `commondir` but not written it yet."""
    import threading

    path, first, _ = two_commits(repo_factory)
    repo = GitRepo(path)
    entry = Path(git(path, "rev-parse", "--git-common-dir").strip(), "worktrees", "other")
    if not entry.is_absolute():
        entry = path / entry
    entry.mkdir(parents=True)
    other = path.parent / "other"  # the other process's new worktree: `worktree prune` keeps it
    other.mkdir()
    (other / ".git").write_text(f"gitdir: {entry}\n")
    (entry / "gitdir").write_text(f"{other / '.git'}\n")
    for check in (
        lambda: check_branch_name(repo, "r/1", force=False),
        lambda: list_worktrees(repo, settings),
        lambda: ensure_worktree(repo, settings, "apply", first),  # creates it
        lambda: ensure_worktree(repo, settings, "apply", first),  # finds it registered: reuses it
    ):
        (entry / "commondir").write_text("")  # the state git leaves for an instant
        assert not repo.git("worktree", "list", "--porcelain", check=False).ok
        done = threading.Timer(0.3, (entry / "commondir").write_text, ["../..\n"])
        done.start()
        check()
        done.join()
