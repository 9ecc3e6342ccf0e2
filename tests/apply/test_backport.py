"""backport_series on a real repository with a renamed directory and an older stable branch."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from patchtool.apply.backport import (
    NOT_BUILT,
    after_build,
    backport_series,
    commit_range,
    find_renames,
    series_from_commits,
)
from patchtool.apply.engine import apply_series
from patchtool.config import Settings, load_settings
from patchtool.parse.difftext import rewrite_paths, split_files
from patchtool.vcs.repo import GitRepo
from tests.plugins.applyrepo import commit_all, edit, numbered
from tests.plugins.gitutil import git, make_repo, snapshot_repo

HEADER = "#ifndef KVM_H\n#define KVM_H\nint kvm_init(void);\n" + numbered(12, "/* doc", " */") + "#endif\n"
SOURCE = '#include "sysemu/kvm.h"\n' + numbered(30, "int x")


@dataclass(frozen=True)
class RenameRepo:
    path: Path
    fix: str  # the fix on main, after the rename
    fix_range: str


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings({"data_dir": str(tmp_path / "data"), "cache_dir": str(tmp_path / "cache")})


@pytest.fixture
def rename_repo(tmp_path: Path) -> RenameRepo:
    path = make_repo(
        tmp_path / "r", {"include/sysemu/kvm.h": HEADER, "include/sysemu/other.h": "o\n", "kvm.c": SOURCE}
    )
    git(path, "branch", "stable")
    git(path, "mv", "include/sysemu", "include/system")
    edit(path / "kvm.c", '"sysemu/kvm.h"', '"system/kvm.h"')
    commit_all(path, "include: move sysemu/ to system/")
    edit(path / "kvm.c", "int x 20\n", "int x 20 /* after the move */\n")
    commit_all(path, "kvm: unrelated change")
    edit(
        path / "include/system/kvm.h", "int kvm_init(void);\n", "int kvm_init(void);\nvoid kvm_kick(void);\n"
    )
    edit(path / "kvm.c", "int x 3\n", "int x 3 /* kicked */\n")
    (path / "include/system/kick.h").write_text("/* new */\n")
    fix = commit_all(path, "kvm: add a kick\n\nSigned-off-by: Ann <ann@example.org>")
    return RenameRepo(path, fix, f"{fix}~1..{fix}")


def test_renames_are_found_per_touched_path_with_directory_moves(rename_repo: RenameRepo) -> None:
    """Only the paths the series touches are followed (other.h moved too, but is not asked about)."""
    repo = GitRepo(rename_repo.path)
    series = series_from_commits(repo, [rename_repo.fix])
    renames, notes = find_renames(repo, "stable", f"{rename_repo.fix}~1", series)
    assert renames.files == {"include/system/kvm.h": "include/sysemu/kvm.h"}
    assert renames.dirs == {"include/system": "include/sysemu"}
    assert renames.created == {"include/system/kick.h"} and notes == ()


def test_backport_from_a_commit_maps_paths_and_records_the_source(
    rename_repo: RenameRepo, settings: Settings
) -> None:
    repo = GitRepo(rename_repo.path)
    before = snapshot_repo(rename_repo.path)
    commits = commit_range(repo, rename_repo.fix_range)
    assert commits == [rename_repo.fix]
    result = backport_series(
        repo, series_from_commits(repo, commits), settings, onto="stable", source_commits=commits
    )
    assert result.status == NOT_BUILT and result.base == repo.rev_parse("stable")
    outcome = result.patches[0]
    assert outcome.status == "3way" and outcome.source_commit == rename_repo.fix
    assert set(outcome.adaptations) >= {
        "renamed path: include/system/kick.h -> include/sysemu/kick.h",
        "renamed path: include/system/kvm.h -> include/sysemu/kvm.h",
        "3-way merge: kvm.c",
    }
    assert result.head is not None
    files = repo.out("ls-tree", "-r", "--name-only", result.head).splitlines()
    assert files == ["include/sysemu/kick.h", "include/sysemu/kvm.h", "include/sysemu/other.h", "kvm.c"]
    assert repo.out("show", f"{result.head}:include/sysemu/kvm.h") + "\n" == HEADER.replace(
        "int kvm_init(void);\n", "int kvm_init(void);\nvoid kvm_kick(void);\n"
    )
    assert repo.out("show", f"{result.head}:kvm.c") + "\n" == SOURCE.replace(
        "int x 3\n", "int x 3 /* kicked */\n"
    )
    message = repo.out("log", "-1", "--format=%B", result.head)
    assert message.endswith(
        f"Signed-off-by: Ann <ann@example.org>\n(cherry picked from commit {rename_repo.fix})"
    )
    assert snapshot_repo(rename_repo.path) == before


def test_backport_conflict_is_a_verdict_with_the_hunk(rename_repo: RenameRepo, settings: Settings) -> None:
    path = rename_repo.path
    git(path, "checkout", "-q", "stable")
    edit(path / "include/sysemu/kvm.h", "int kvm_init(void);\n", "int kvm_init(int flags);\n")
    commit_all(path, "stable: a different kvm_init")
    git(path, "checkout", "-q", "main")
    repo = GitRepo(path)
    commits = [rename_repo.fix]
    result = backport_series(
        repo, series_from_commits(repo, commits), settings, onto="stable", source_commits=commits
    )
    assert result.status == "conflict" and result.head is None
    conflict = result.patches[0].conflicts
    assert [c.file for c in conflict] == ["include/sysemu/kvm.h"] and conflict[0].hunk.startswith("@@ -1,")


def test_rewrite_paths_leaves_hunk_bodies_alone() -> None:
    diff = (
        "diff --git a/x/f.c b/x/f.c\nindex 1..2 100644\n--- a/x/f.c\n+++ b/x/f.c\n@@ -1,2 +1,2 @@\n"
        "--- a/x/f.c\n-old\n+new\n"
    )
    out = rewrite_paths(diff, lambda p: p.replace("x/", "y/"))
    assert out.splitlines()[:4] == [
        "diff --git a/y/f.c b/y/f.c",
        "index 1..2 100644",
        "--- a/y/f.c",
        "+++ b/y/f.c",
    ]
    assert out.splitlines()[5] == "--- a/x/f.c"
    assert [(f.old_path, f.new_path) for f in split_files(out)] == [("y/f.c", "y/f.c")]


def test_fuzz_is_the_last_resort_when_blobs_are_unknown(rename_repo: RenameRepo, settings: Settings) -> None:
    """Mail from a tree we do not have (unknown preimage blobs): no 3-way merge, so -C1, said loudly."""
    import dataclasses
    import re

    repo = GitRepo(rename_repo.path)
    series = series_from_commits(repo, [rename_repo.fix])
    patch = series.revision.patches[0]
    foreign = dataclasses.replace(
        patch, diff=re.sub(r"(?m)^index \w+\.\.\w+", "index 1234567..89abcde", patch.diff)
    )
    series = dataclasses.replace(
        series, revisions=(dataclasses.replace(series.revision, patches=(foreign,)),)
    )
    result = backport_series(repo, series, settings, onto="stable")
    outcome = result.patches[0]
    assert outcome.status == "fuzz" and result.status == NOT_BUILT
    assert any(a.startswith("fuzz: kvm.c applied with one line of context") for a in outcome.adaptations)
    assert result.head is not None
    assert repo.out("show", f"{result.head}:kvm.c") + "\n" == SOURCE.replace(
        "int x 3\n", "int x 3 /* kicked */\n"
    )
    assert after_build(result, built=True).status == "applied, built"
    plain = apply_series(repo, series, settings, base="stable")
    assert plain.status == "conflict"  # plain apply never fuzzes
