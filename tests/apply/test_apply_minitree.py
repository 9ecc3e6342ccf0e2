"""apply and backport on the generated mini QEMU tree and its series as mail (the issue's "done when")."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from patchtool.apply.backport import NOT_BUILT, backport_series
from patchtool.apply.engine import apply_series
from patchtool.config import Settings, load_settings
from patchtool.demo.minitree import MiniTree
from patchtool.fetch.local import read_local
from patchtool.models import Series
from patchtool.parse.difftext import split_files
from patchtool.parse.series import build_series
from patchtool.vcs.repo import GitRepo
from patchtool.vcs.worktrees import list_worktrees
from tests.conftest import FIXTURES, run_patchtool
from tests.plugins.applyrepo import data_dir, start_patchtool, wait_for_work
from tests.plugins.gitutil import git, snapshot_repo

EXPECTED = FIXTURES / "backport" / "stable-backport"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings({"data_dir": str(tmp_path / "data"), "cache_dir": str(tmp_path / "cache")})


def series_of(minitree: MiniTree, name: str) -> Series:
    return build_series(read_local(str(minitree.series_path(name)), None))


def expected_listing(repo: Path, onto: str) -> str:
    """`git ls-tree -r` of the expected backport: onto's tree with the fixture's files in place."""
    files = {
        p.relative_to(EXPECTED / "files").as_posix(): p
        for p in (EXPECTED / "files").rglob("*")
        if p.is_file()
    }
    lines = []
    for line in git(repo, "ls-tree", "-r", onto).splitlines():
        meta, path = line.split("\t", 1)
        if path in files:
            blob = git(repo, "hash-object", "--no-filters", str(files[path])).strip()
            meta = " ".join([*meta.split()[:2], blob])
        lines.append(f"{meta}\t{path}\n")
    return "".join(lines)


def dirty(repo: Path) -> None:
    """A maintainer's work in progress: stash, staged and unstaged edits, an untracked file."""
    with (repo / "MAINTAINERS").open("a") as f:
        f.write("stashed\n")
    git(repo, "stash", "-q")
    with (repo / "accel/kvm/kvm-all.c").open("a") as f:
        f.write("/* unstaged */\n")
    with (repo / "util/rcu.c").open("a") as f:
        f.write("/* staged */\n")
    git(repo, "add", "util/rcu.c")
    (repo / "scratch.txt").write_text("mine\n")


def test_clean_apply_records_the_reviewed_by(minitree: MiniTree, settings: Settings) -> None:
    repo = GitRepo(minitree.repo)
    series = series_of(minitree, "reaper-v2")
    result = apply_series(repo, series, settings)
    assert [p.status for p in result.patches] == ["clean"]
    assert result.base == minitree.tip and result.base_reason == "the repository's HEAD"
    assert result.head is not None
    message = repo.out("log", "-1", "--format=%B", result.head)
    for trailer in series.revision.patches[0].review_trailers:
        assert f"{trailer.key}: {trailer.value}" in message
    assert message.rstrip().splitlines()[-1].startswith("Reviewed-by: ")
    changed = repo.out("diff", "--name-only", minitree.tip, result.head).splitlines()
    assert set(changed) == {
        "accel/kvm/kvm-all.c",
        "accel/stubs/kvm-stub.c",
        "include/system/kvm.h",
        "include/system/kvm_int.h",
        "system/dirtylimit.c",
    }


def test_thirteen_patches_apply_clean(minitree: MiniTree, settings: Settings) -> None:
    result = apply_series(GitRepo(minitree.repo), series_of(minitree, "dirty-ring-v4"), settings)
    assert [p.status for p in result.patches] == ["clean"] * 13 and result.ok


def test_three_way_apply(minitree: MiniTree, settings: Settings) -> None:
    result = apply_series(GitRepo(minitree.repo), series_of(minitree, "threeway"), settings)
    assert [p.status for p in result.patches] == ["3way"]
    assert result.patches[0].adaptations and result.status == "applied"


def test_conflict_with_file_and_hunk(minitree: MiniTree, settings: Settings) -> None:
    series = series_of(minitree, "conflict")
    result = apply_series(GitRepo(minitree.repo), series, settings)
    bad = result.first_conflict
    assert result.status == "conflict" and bad is not None and bad.commit is None
    hunks = {
        (f.new_path, h) for f in split_files(series.revision.patches[bad.index - 1].diff) for _, h in f.hunks
    }
    assert bad.conflicts and all((c.file, c.hunk) in hunks for c in bad.conflicts)
    assert {c.file for c in bad.conflicts} == {"system/dirtylimit.c"}


def test_conflict_on_the_command_line(minitree: MiniTree) -> None:
    done = run_patchtool("apply", minitree.series_path("conflict"), "--repo", minitree.repo)
    assert done.code == 1
    line = done.stderr.strip()
    assert line.startswith('error: patch 2/2 "system/dirtylimit: ')
    assert f"does not apply to {minitree.tip[:12]} (conflict in system/dirtylimit.c); written on " in line
    assert "conflict: system/dirtylimit.c @@ -" in done.stdout
    # the hint names the commit the series was written on, and it applies there
    written = re.search(r"--base ([0-9a-f]{12}) applies it where it was written$", line)
    assert written is not None and "already in" not in line
    series = minitree.series_path("conflict")
    again = run_patchtool("apply", series, "--repo", minitree.repo, "--base", written[1])
    assert again.code == 0, again.stderr


def test_base_commit_footer_is_honoured(minitree: MiniTree, settings: Settings) -> None:
    series = series_of(minitree, "based")
    footer = series.revision.base_commit
    assert footer and not minitree.tip.startswith(footer)
    result = apply_series(GitRepo(minitree.repo), series, settings)
    assert result.base.startswith(footer) and result.base_reason.startswith("base-commit: ")
    assert result.ok


def test_based_on_dependency_is_applied_first(minitree: MiniTree) -> None:
    done = run_patchtool(
        "apply",
        minitree.series_path("dependent"),
        "--repo",
        minitree.repo,
        "--dependency",
        minitree.series_path("prereq"),
        "--json",
    )
    assert done.code == 0, done.stderr
    result = json.loads(done.stdout)
    (dep,) = result["dependencies"]
    assert [p["status"] for p in dep["patches"]] == ["clean", "clean"]
    assert result["base"] == dep["head"] and result["base_reason"].startswith("Based-on: <")
    assert [p["status"] for p in result["patches"]] == ["clean", "clean"]


def test_dependency_left_out_is_said_in_the_reason(minitree: MiniTree, settings: Settings) -> None:
    def unreachable(msgid: str) -> Series:
        from patchtool.errors import FetchError

        raise FetchError("https://patchew.org", f"{msgid}: cannot connect")

    result = apply_series(
        GitRepo(minitree.repo), series_of(minitree, "dependent"), settings, resolve_based_on=unreachable
    )
    assert "Based-on: could not be resolved" in result.base_reason and result.base == minitree.tip


def test_backport_across_the_rename_matches_the_fixture(minitree_copy: Path, minitree: MiniTree) -> None:
    dirty(minitree_copy)
    before = snapshot_repo(minitree_copy)
    stable_maintainer = {
        "GIT_COMMITTER_NAME": "Maren Kowalski",
        "GIT_COMMITTER_EMAIL": "mkowalski@example.org",
    }
    done = run_patchtool(
        "backport",
        minitree.series_path("stable-backport"),
        "--onto",
        "stable-9.2",
        "--repo",
        minitree_copy,
        "--signoff",
        "--json",
        env=stable_maintainer,
    )
    assert done.code == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == NOT_BUILT and result["base_label"] == "stable-9.2"
    assert set(result["adaptations"]) == {
        "renamed path: include/system/kvm.h -> include/sysemu/kvm.h",
        "renamed path: include/system/kvm_int.h -> include/sysemu/kvm_int.h",
    }
    head = result["head"]
    assert git(minitree_copy, "ls-tree", "-r", head) == expected_listing(minitree_copy, "stable-9.2")
    assert (
        git(minitree_copy, "diff", "--name-status", "stable-9.2", head)
        == (EXPECTED / "changed.txt").read_text()
    )
    assert git(minitree_copy, "log", "-1", "--format=%B", head) == (EXPECTED / "message.txt").read_text()
    assert git(minitree_copy, "rev-parse", f"{head}^{{tree}}").strip() == minitree.expected_backport_tree
    assert snapshot_repo(minitree_copy) == before


def test_backport_without_the_rename_map_would_not_apply(minitree: MiniTree, settings: Settings) -> None:
    """The rename mapping is what makes it apply: a plain apply onto stable-9.2 fails."""
    result = apply_series(
        GitRepo(minitree.repo), series_of(minitree, "stable-backport"), settings, base="stable-9.2"
    )
    assert result.status == "conflict"
    assert {c.file for c in result.patches[0].conflicts} & {
        "include/system/kvm.h",
        "include/system/kvm_int.h",
    }


def test_backport_that_cannot_apply_exits_1_with_conflicts(minitree_copy: Path, minitree: MiniTree) -> None:
    repo = minitree_copy
    git(repo, "checkout", "-q", "stable-9.2")
    source = (repo / "accel/kvm/kvm-all.c").read_text()
    marker = "bool kvm_hwpoisoned_mem(void)\n{\n    return false;"
    assert marker in source
    (repo / "accel/kvm/kvm-all.c").write_text(
        source.replace(marker, marker.replace("false", "0 /* stable */"))
    )
    git(repo, "commit", "-q", "-am", "stable: a different hwpoison answer")
    git(repo, "checkout", "-q", "main")
    done = run_patchtool(
        "backport", minitree.series_path("stable-backport"), "--onto", "stable-9.2", "--repo", repo
    )
    assert done.code == 1
    assert done.stderr.strip().endswith("does not apply to stable-9.2 (conflict in accel/kvm/kvm-all.c)")
    assert "conflict: accel/kvm/kvm-all.c @@ -" in done.stdout
    assert "renamed path: include/system/kvm.h -> include/sysemu/kvm.h" in done.stdout


def test_dirty_tree_untouched_by_apply_backport_and_clean(minitree_copy: Path, minitree: MiniTree) -> None:
    dirty(minitree_copy)
    before = snapshot_repo(minitree_copy)
    for name in ("reaper-v2", "dirty-ring-v4", "conflict"):
        run_patchtool("apply", minitree.series_path(name), "--repo", minitree_copy, "--checkout")
    run_patchtool(
        "backport", minitree.series_path("stable-backport"), "--onto", "stable-9.2", "--repo", minitree_copy
    )
    assert snapshot_repo(minitree_copy) == before
    done = run_patchtool("clean", "--repo", minitree_copy)
    assert done.code == 0 and done.stdout.startswith("removed ")
    assert snapshot_repo(minitree_copy) == before
    assert git(minitree_copy, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert run_patchtool("clean", "--repo", minitree_copy).stdout.strip() == "nothing to remove"


def test_clean_leaves_no_worktree(minitree_copy: Path, minitree: MiniTree, settings: Settings) -> None:
    repo = GitRepo(minitree_copy)
    result = apply_series(repo, series_of(minitree, "reaper-v2"), settings, worktree=True)
    assert result.worktree is not None and (result.worktree / "accel/kvm/kvm-all.c").exists()
    assert list_worktrees(repo, settings) == [result.worktree.resolve()]
    from patchtool.vcs.worktrees import remove_worktrees

    remove_worktrees(repo, settings)
    assert list_worktrees(repo, settings) == [] and not result.worktree.exists()


def test_interrupted_apply_mid_rebase_leaves_the_repo_unchanged(
    minitree_copy: Path, minitree: MiniTree, hermetic: Path
) -> None:
    repo = minitree_copy
    git(repo, "checkout", "-q", "-b", "mine", "stable-9.2")
    assert (
        subprocess.run(["git", "rebase", "main"], cwd=repo, capture_output=True, check=False).returncode != 0
    )
    (repo / "scratch.txt").write_text("mine\n")
    before = snapshot_repo(repo)
    tmp_root = data_dir(hermetic) / "tmp"
    for sig in (signal.SIGKILL, signal.SIGINT):
        child = start_patchtool(
            ["apply", str(minitree.series_path("dirty-ring-v4")), "--repo", str(repo), "--checkout"]
        )
        wait_for_work(tmp_root, child)
        os.killpg(child.pid, sig)
        child.wait(timeout=60)
        assert snapshot_repo(repo) == before
    done = run_patchtool(
        "apply", minitree.series_path("dirty-ring-v4"), "--repo", repo, "--base", "main", "--checkout"
    )
    assert done.code == 0, done.stderr
    assert [p for d in tmp_root.iterdir() for p in d.iterdir()] == []
    assert run_patchtool("clean", "--repo", repo).code == 0
    assert snapshot_repo(repo) == before and (repo / ".git" / "rebase-merge").is_dir()


def test_backport_from_a_stable_checkout_finds_where_the_series_was_written(
    minitree_copy: Path, minitree: MiniTree, settings: Settings
) -> None:
    """A stable maintainer usually has the stable branch checked out: HEAD is not the series' base."""
    git(minitree_copy, "checkout", "-q", "stable-9.2")
    repo = GitRepo(minitree_copy)
    result = backport_series(repo, series_of(minitree, "stable-backport"), settings, onto="stable-9.2")
    assert result.status == NOT_BUILT and "preimage blob(s) of its index lines" in result.base_reason
    assert result.head is not None and repo.tree_of(result.head) == minitree.expected_backport_tree
    explicit = backport_series(
        repo, series_of(minitree, "stable-backport"), settings, onto="stable-9.2", written_against="v10.1.0"
    )
    assert explicit.ok and "--from v10.1.0" in explicit.base_reason
