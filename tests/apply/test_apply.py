"""apply_series on real repositories: clean, 3-way, conflicts, bases, branches, the user's tree untouched."""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from patchtool.apply.backport import series_from_commits
from patchtool.apply.commitmsg import build_message
from patchtool.apply.engine import apply_series, materialize
from patchtool.config import Settings, load_settings
from patchtool.errors import UsageError
from patchtool.models import Revision, Series, Trailer
from patchtool.vcs.repo import GitRepo
from patchtool.vcs.worktrees import list_worktrees
from tests.plugins.applyrepo import ApplyRepo, commit_all, edit, numbered
from tests.plugins.gitutil import git, snapshot_repo


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings({"data_dir": str(tmp_path / "data"), "cache_dir": str(tmp_path / "cache")})


def topic_series(r: ApplyRepo) -> Series:
    repo = GitRepo(r.path)
    shas = repo.out("rev-list", "--reverse", f"{r.base}..{r.topic}").split()
    return series_from_commits(repo, shas)


def with_base_commit(series: Series, base: str | None) -> Series:
    revision = dataclasses.replace(series.revision, base_commit=base)
    return dataclasses.replace(series, revisions=(revision,))


def test_clean_apply_gives_the_topic_tree(apply_repo: ApplyRepo, settings: Settings) -> None:
    repo = GitRepo(apply_repo.path)
    result = apply_series(repo, topic_series(apply_repo), settings, base=apply_repo.base)
    assert [p.status for p in result.patches] == ["clean", "clean", "clean"]
    assert result.status == "applied" and result.base == apply_repo.base
    assert result.head is not None and repo.tree_of(result.head) == repo.tree_of(apply_repo.topic)
    # Same author, committer, dates and message as the original commits: the very same commit ids.
    assert result.head == apply_repo.topic
    assert repo.git("fsck", "--strict", "--no-dangling").ok
    assert (
        repo.out("log", "--format=%an <%ae>|%s", "-1", result.head)
        == "Test Author <author@example.org>|a: spell out thirty"
    )
    assert result.base_reason == f"--base {apply_repo.base}"
    assert result.worktree is None and list_worktrees(repo, settings) == []


def test_offsets_are_clean_and_listed(apply_repo: ApplyRepo, settings: Settings) -> None:
    repo = GitRepo(apply_repo.path)
    result = apply_series(repo, topic_series(apply_repo), settings, base=apply_repo.tip_offset)
    assert [p.status for p in result.patches] == ["clean", "clean", "clean"]
    assert any("offset 2" in a for a in result.patches[0].adaptations)


def test_changed_context_needs_the_three_way_merge(apply_repo: ApplyRepo, settings: Settings) -> None:
    repo = GitRepo(apply_repo.path)
    result = apply_series(repo, topic_series(apply_repo), settings, base=apply_repo.tip_context)
    assert [p.status for p in result.patches] == ["3way", "clean", "clean"]
    assert result.patches[0].adaptations == ("3-way merge: src/a.c",)
    assert result.head is not None
    text = repo.out("show", f"{result.head}:src/a.c")
    assert "line five" in text and "line 7 (context changed)" in text and "line thirty" in text


def test_conflict_names_file_and_hunk_and_stops(apply_repo: ApplyRepo, settings: Settings) -> None:
    repo = GitRepo(apply_repo.path)
    result = apply_series(repo, topic_series(apply_repo), settings, branch="kept")
    assert result.base == apply_repo.tip_conflict and result.base_reason == "the repository's HEAD"
    assert [p.status for p in result.patches] == ["3way", "clean", "conflict"]
    bad = result.first_conflict
    assert bad is not None and bad.commit is None
    assert [(c.file, c.hunk) for c in bad.conflicts] == [("src/a.c", "@@ -27,7 +27,7 @@ line 26")]
    assert result.status == "conflict" and not result.ok
    assert result.branch is None and "kept" not in git(apply_repo.path, "branch")


def test_conflict_skips_later_patches(apply_repo: ApplyRepo, settings: Settings) -> None:
    repo = GitRepo(apply_repo.path)
    series = topic_series(apply_repo)
    rev = series.revision
    swapped = dataclasses.replace(rev, patches=(rev.patches[2], rev.patches[1]))
    result = apply_series(repo, dataclasses.replace(series, revisions=(swapped,)), settings)
    assert [p.status for p in result.patches] == ["conflict", "skipped"]
    assert result.head is None


def test_base_commit_footer_is_honoured(apply_repo: ApplyRepo, settings: Settings) -> None:
    repo = GitRepo(apply_repo.path)
    series = with_base_commit(topic_series(apply_repo), apply_repo.base)
    result = apply_series(repo, series, settings)
    assert result.base == apply_repo.base
    assert result.base_reason.startswith(f"base-commit: {apply_repo.base}")
    assert [p.status for p in result.patches] == ["clean"] * 3


def test_unknown_base_commit_falls_back_to_head_and_says_so(
    apply_repo: ApplyRepo, settings: Settings
) -> None:
    repo = GitRepo(apply_repo.path)
    series = with_base_commit(topic_series(apply_repo), "0123456789abcdef0123456789abcdef01234567")
    result = apply_series(repo, series, settings, base=None)
    assert result.base == apply_repo.tip_conflict
    assert "is not in the repository" in result.base_reason


def test_patchew_base_is_used_after_the_footer(apply_repo: ApplyRepo, settings: Settings) -> None:
    repo = GitRepo(apply_repo.path)
    series = dataclasses.replace(
        topic_series(apply_repo), extras={"patchew.base": f"{apply_repo.base} (note)"}
    )
    result = apply_series(repo, series, settings)
    assert result.base == apply_repo.base and "patchew" in result.base_reason


def test_based_on_dependency_is_applied_first(apply_repo: ApplyRepo, settings: Settings) -> None:
    repo = GitRepo(apply_repo.path)
    whole = topic_series(apply_repo)
    first, rest = whole.revision.patches[:1], whole.revision.patches[1:]
    dep = dataclasses.replace(
        whole, revisions=(dataclasses.replace(whole.revision, patches=first, base_commit=apply_repo.base),)
    )
    later = dataclasses.replace(
        whole, revisions=(dataclasses.replace(whole.revision, patches=rest, based_on=("dep@example.org",)),)
    )
    asked: list[str] = []

    def resolve(msgid: str) -> Series:
        asked.append(msgid)
        return dep

    result = apply_series(repo, later, settings, resolve_based_on=resolve)
    assert asked == ["dep@example.org"]
    assert len(result.dependencies) == 1 and result.dependencies[0].base == apply_repo.base
    assert result.base == result.dependencies[0].head
    assert result.base_reason == "Based-on: <dep@example.org> applied first"
    assert result.head is not None and repo.tree_of(result.head) == repo.tree_of(apply_repo.topic)


def test_branch_is_created_and_never_overwritten_silently(apply_repo: ApplyRepo, settings: Settings) -> None:
    repo = GitRepo(apply_repo.path)
    series = topic_series(apply_repo)
    result = apply_series(repo, series, settings, base=apply_repo.base, branch="review/topic")
    assert result.branch == "review/topic" and repo.rev_parse("review/topic") == result.head
    with pytest.raises(UsageError, match="already exists"):
        apply_series(repo, series, settings, base=apply_repo.tip_offset, branch="review/topic")
    again = apply_series(
        repo, series, settings, base=apply_repo.tip_offset, branch="review/topic", force=True
    )
    assert repo.rev_parse("review/topic") == again.head != result.head
    with pytest.raises(UsageError, match="checked out"):
        apply_series(repo, series, settings, base=apply_repo.base, branch="main", force=True)
    with pytest.raises(UsageError, match="not a valid branch name"):
        apply_series(repo, series, settings, base=apply_repo.base, branch="bad..name")


def test_materialize_checks_out_and_reuses_one_worktree(apply_repo: ApplyRepo, settings: Settings) -> None:
    repo = GitRepo(apply_repo.path)
    series = topic_series(apply_repo)
    first = apply_series(repo, series, settings, base=apply_repo.base, worktree=True)
    assert first.worktree is not None and "line thirty" in (first.worktree / "src/a.c").read_text()
    second = apply_series(repo, series, settings, base=apply_repo.tip_context)
    path = materialize(repo, settings, second)
    assert path == first.worktree and "context changed" in (path / "src/a.c").read_text()
    assert list_worktrees(repo, settings) == [path.resolve()]


def _make_user_mess(path: Path) -> None:
    """Work in progress a maintainer might have: unstaged, staged, untracked and stashed changes."""
    (path / "README").write_text("stash me\n")
    git(path, "stash", "-q")
    edit(path / "src/a.c", "line 1\n", "line one (unstaged)\n")
    edit(path / "src/b.c", "b 1\n", "b one (staged)\n")
    git(path, "add", "src/b.c")
    (path / "notes.txt").write_text("untracked\n")


def test_dirty_tree_index_and_stash_are_untouched(apply_repo: ApplyRepo, settings: Settings) -> None:
    _make_user_mess(apply_repo.path)
    before = snapshot_repo(apply_repo.path)
    repo = GitRepo(apply_repo.path)
    result = apply_series(repo, topic_series(apply_repo), settings, worktree=True)
    assert result.status == "conflict"
    apply_series(repo, topic_series(apply_repo), settings, base=apply_repo.base, worktree=True)
    assert snapshot_repo(apply_repo.path) == before


def test_mid_rebase_repository_is_untouched(apply_repo: ApplyRepo, settings: Settings) -> None:
    path = apply_repo.path
    git(path, "checkout", "-q", "topic")
    done = git_may_fail(path, "rebase", "main")
    assert done != 0 and (path / ".git" / "rebase-merge").is_dir()
    before = snapshot_repo(path)
    rebase_state = sorted(p.name for p in (path / ".git" / "rebase-merge").iterdir())
    result = apply_series(
        GitRepo(path), topic_series(apply_repo), settings, base=apply_repo.base, worktree=True
    )
    assert result.ok
    assert snapshot_repo(path) == before
    assert sorted(p.name for p in (path / ".git" / "rebase-merge").iterdir()) == rebase_state


def git_may_fail(cwd: Path, *args: str) -> int:
    import subprocess

    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False).returncode


def test_review_trailers_follow_existing_ones_without_duplicates() -> None:
    body = "Why.\n\nSigned-off-by: Ann <ann@example.org>\nReviewed-by: Bob <bob@example.org>"
    text = build_message("t: title", body, ["Reviewed-by: Bob  <bob@example.org>", "Acked-by: Cy <c@x>"])
    assert text == (
        "t: title\n\nWhy.\n\nSigned-off-by: Ann <ann@example.org>\n"
        "Reviewed-by: Bob <bob@example.org>\nAcked-by: Cy <c@x>\n"
    )
    assert (
        build_message("t", "Just prose.", ["Acked-by: Cy <c@x>"])
        == "t\n\nJust prose.\n\nAcked-by: Cy <c@x>\n"
    )
    assert build_message("t", "", []) == "t\n"


def test_review_trailers_are_recorded_in_commits(apply_repo: ApplyRepo, settings: Settings) -> None:
    repo = GitRepo(apply_repo.path)
    series = topic_series(apply_repo)
    reviewed = dataclasses.replace(
        series.revision.patches[0], review_trailers=(Trailer("Reviewed-by", "Rita <rita@example.org>"),)
    )
    rev: Revision = dataclasses.replace(series.revision, patches=(reviewed, *series.revision.patches[1:]))
    result = apply_series(repo, dataclasses.replace(series, revisions=(rev,)), settings, base=apply_repo.base)
    first = result.patches[0].commit
    assert first is not None
    assert repo.out("log", "-1", "--format=%b", first).splitlines()[-2:] == [
        "Signed-off-by: Ann <ann@example.org>",
        "Reviewed-by: Rita <rita@example.org>",
    ]


def test_index_reader_agrees_with_git(apply_repo: ApplyRepo, tmp_path: Path) -> None:
    from patchtool.vcs.trees import read_index_file

    index = tmp_path / "index"
    env = {"GIT_INDEX_FILE": str(index), "GIT_INDEX_VERSION": "2"}
    repo = GitRepo(apply_repo.path)
    repo.git("read-tree", apply_repo.topic, extra_env=env)
    listed = repo.git("ls-files", "-s", "-z", extra_env=env).stdout.split(b"\0")
    expected = {}
    for record in filter(None, listed):
        meta, _, path = record.partition(b"\t")
        mode, oid, _ = meta.decode().split()
        expected[path.decode()] = (mode, oid)
    assert read_index_file(index) == expected and len(expected) == 3
    repo.git("read-tree", apply_repo.topic, extra_env={**env, "GIT_INDEX_VERSION": "4"})
    assert read_index_file(index) is None  # version 4: the caller falls back to git ls-files


def test_renames_deletions_modes_and_binaries_rebuild_the_same_tree(
    repo_factory: Callable[..., Path], settings: Settings, tmp_path: Path
) -> None:
    """Every kind of change a patch can carry gives exactly the tree git made."""
    from patchtool.fetch.local import read_local
    from patchtool.parse.series import build_series

    files = {"d/keep.c": numbered(30), "d/sub/gone.c": "bye\n", "d/sub/other.c": "x\n", "run.sh": "echo\n"}
    path = repo_factory("kinds", files)
    base = git(path, "rev-parse", "HEAD").strip()
    (path / "e").mkdir()
    git(path, "mv", "d/keep.c", "e/moved.c")
    edit(path / "e/moved.c", "line 3\n", "line three\n")
    git(path, "rm", "-q", "d/sub/gone.c")
    commit_all(path, "move and delete")
    (path / "run.sh").chmod(0o755)
    (path / "d/sub/other.c").unlink()
    middle = commit_all(path, "mode, and the last file of a directory")
    (path / "blob.bin").write_bytes(bytes(range(256)) * 4)
    topic = commit_all(path, "a binary file")
    mbox = tmp_path / "kinds.mbox"
    argv = ["git", "format-patch", "--stdout", "-M", f"{base}..{middle}"]
    mbox.write_bytes(subprocess.run(argv, cwd=path, capture_output=True, check=True).stdout)
    repo = GitRepo(path)
    from_mail = apply_series(repo, build_series(read_local(str(mbox), None)), settings, base=base)
    assert [p.status for p in from_mail.patches] == ["clean", "clean"]
    assert from_mail.head is not None and repo.tree_of(from_mail.head) == repo.tree_of(middle)
    binary = apply_series(repo, series_from_commits(repo, [topic]), settings, base=middle)
    assert binary.head is not None and repo.tree_of(binary.head) == repo.tree_of(topic)
    assert repo.git("fsck", "--strict", "--no-dangling").ok


def test_incomplete_series_is_refused_before_anything_is_made(
    apply_repo: ApplyRepo, settings: Settings
) -> None:
    from patchtool.errors import VerdictError

    series = topic_series(apply_repo)
    rev = dataclasses.replace(series.revision, patches=series.revision.patches[::2], missing=(2,))
    with pytest.raises(VerdictError, match=r"incomplete \(missing 2/3\)"):
        apply_series(GitRepo(apply_repo.path), dataclasses.replace(series, revisions=(rev,)), settings)
