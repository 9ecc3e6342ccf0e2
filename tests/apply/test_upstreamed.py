"""What apply says of a series the base's history knows: retitled when merged, merged and reverted,
or applied again on top of itself (shapes seen on real qemu-devel mail applied to today's master)."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchtool.apply.engine import ALREADY_IN_BASE, apply_series
from patchtool.config import Settings, load_settings
from patchtool.fetch.local import read_local
from patchtool.models import Series
from patchtool.parse.series import build_series
from patchtool.vcs.repo import GitRepo
from tests.plugins.applyrepo import commit_all, edit, numbered
from tests.plugins.gitutil import git, make_repo


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings({"data_dir": str(tmp_path / "data"), "cache_dir": str(tmp_path / "cache")})


def mailed(tmp_path: Path, repo: Path, revs: str) -> Series:
    """The commits `revs` as a series of mail, as `git format-patch` writes it."""
    out = tmp_path / "mail"
    git(repo, "format-patch", "-q", "-o", str(out), revs)
    mbox = tmp_path / "series.mbox"
    mbox.write_bytes(b"".join(p.read_bytes() for p in sorted(out.glob("*.patch"))))
    return build_series(read_local(str(mbox), None))


def two_patch_repo(tmp_path: Path) -> tuple[Path, str, Series]:
    """main with two patches on top, mailed; main is then reset to before them."""
    repo = make_repo(tmp_path / "q", {"a.c": numbered(40, "int line", ";"), "b.c": numbered(20, "b")})
    base = git(repo, "rev-parse", "HEAD").strip()
    edit(repo / "a.c", "int line 5;\n", "int line_five_renamed_for_clarity;\n")
    commit_all(repo, "a: rename line five")
    edit(repo / "b.c", "b 3\n", "b three, spelled out in full\n")
    commit_all(repo, "b: spell out three")
    series = mailed(tmp_path, repo, f"{base}..HEAD")
    git(repo, "reset", "-q", "--hard", base)
    return repo, base, series


def test_a_patch_merged_under_another_title_is_named_by_its_change(
    tmp_path: Path, settings: Settings
) -> None:
    # sample AP: a linux-user series merged with six of its eight titles rewritten by the maintainer;
    # all eight changed nothing on master, and only the two kept titles were named
    repo, _, series = two_patch_repo(tmp_path)
    edit(repo / "a.c", "int line 5;\n", "int line_five_renamed_for_clarity;\n")
    edit(repo / "a.c", "int line 30;\n", "int line thirty;\n")  # squashed with another change
    retitled = commit_all(repo, "a.c: clearer names for two lines")
    edit(repo / "b.c", "b 3\n", "b three, spelled out in full\n")
    kept = commit_all(repo, "b: spell out three")
    result = apply_series(GitRepo(repo), series, settings, base="main")
    assert result.status == ALREADY_IN_BASE and [p.status for p in result.patches] == ["already-applied"] * 2
    assert result.hints == (
        f'every patch is already in main: 1/2 as {retitled[:12]} ("a.c: clearer names for two lines")'
        f" (changed when merged), 2/2 as {kept[:12]}",
    )


def test_a_short_change_is_not_looked_for_under_another_title(tmp_path: Path, settings: Settings) -> None:
    # a one-word line is in too many commits to say which of them is the patch
    repo = make_repo(tmp_path / "q", {"a.c": numbered(10)})
    base = git(repo, "rev-parse", "HEAD").strip()
    edit(repo / "a.c", "line 5\n", "five\n")
    commit_all(repo, "a: five")
    series = mailed(tmp_path, repo, f"{base}..HEAD")
    git(repo, "reset", "-q", "--hard", base)
    edit(repo / "a.c", "line 5\n", "five\n")
    commit_all(repo, "a: shorter")
    result = apply_series(GitRepo(repo), series, settings, base="main")
    assert result.status == ALREADY_IN_BASE and result.hints == ()


def test_a_series_merged_and_reverted_applies_and_says_so(tmp_path: Path, settings: Settings) -> None:
    # sample AN: an SPDX series whose first patch was merged, reverted and redone another way; the
    # rest stayed: on master it "applied cleanly", its last patch a second time, at an offset
    repo, _, series = two_patch_repo(tmp_path)
    git(repo, "am", "-q", str(tmp_path / "mail" / "0001-a-rename-line-five.patch"))
    merged = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "revert", "--no-edit", "HEAD")
    revert = git(repo, "rev-parse", "HEAD").strip()
    spelled = numbered(20, "b").replace("b 3\n", "b three, spelled out in full\n")
    (repo / "b.c").write_text("b 0\n" * 3 + spelled)
    kept = commit_all(repo, "b: spell out three")  # merged, then lines added above it
    (repo / "b.c").write_text(numbered(20, "b") + "b 3\n")
    commit_all(repo, "b: a tail")  # so that the patch's context is found once more, lower down
    result = apply_series(GitRepo(repo), series, settings, base="main")
    assert result.status == "applied" and [p.status for p in result.patches] == ["clean", "clean"]
    assert result.hints == (
        "already in main under these titles, yet applied again on top: "
        f"2/2 as {kept[:12]} (changed when merged)",
        f"merged and reverted in main: 1/2 as {merged[:12]} (reverted by {revert[:12]})",
    )
    assert [(x.index, x.kind, x.commit, x.reverted_by) for x in result.landed] == [
        (1, "reverted", merged, revert),
        (2, "applied-again", kept, None),
    ]


@pytest.mark.parametrize("title", ['Revert "Revert "a: rename line five""', 'Reapply "a: rename line five"'])
def test_a_reapplied_patch_is_not_called_reverted(tmp_path: Path, settings: Settings, title: str) -> None:
    # git titles the revert of a revert either way, by its version
    repo, _, series = two_patch_repo(tmp_path)
    git(repo, "am", "-q", str(tmp_path / "mail" / "0001-a-rename-line-five.patch"))
    git(repo, "revert", "--no-edit", "HEAD")
    git(repo, "revert", "--no-edit", "HEAD")
    git(repo, "commit", "-q", "--amend", "-m", title)
    reapplied = git(repo, "rev-parse", "HEAD").strip()
    result = apply_series(GitRepo(repo), series, settings, base="main")
    assert [p.status for p in result.patches] == ["already-applied", "clean"]
    assert result.hints == (f"already in main: 1/2 as {reapplied[:12]}",)


def test_a_conflicting_series_merged_and_reverted_is_not_called_in_the_base(
    tmp_path: Path, settings: Settings
) -> None:
    repo, _, series = two_patch_repo(tmp_path)
    git(repo, "am", "-q", str(tmp_path / "mail" / "0001-a-rename-line-five.patch"))
    merged = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "revert", "--no-edit", "HEAD")
    revert = git(repo, "rev-parse", "HEAD").strip()
    edit(repo / "a.c", "int line 5;\n", "long line 5;\n")
    commit_all(repo, "a: widen line five")
    result = apply_series(GitRepo(repo), series, settings, base="main")
    assert result.status == "conflict"
    assert result.hints[0] == f"merged and reverted in main: 1/2 as {merged[:12]} (reverted by {revert[:12]})"
    assert result.hints[1].startswith(f"written on {revert[:12]} ")  # the revert gave back its blobs


def test_an_unrelated_commit_with_the_same_title_is_not_the_patch(tmp_path: Path, settings: Settings) -> None:
    repo, _, series = two_patch_repo(tmp_path)
    (repo / "c.c").write_text("c\n")
    commit_all(repo, "b: spell out three")  # a title reused for a change to another file
    result = apply_series(GitRepo(repo), series, settings, base="main")
    assert result.status == "applied" and result.hints == ()


def test_a_nul_in_a_mailed_line_is_never_handed_to_git(tmp_path: Path) -> None:
    # untrusted mail: a NUL cannot go into git's argv (Python refuses it), so such a line is no
    # telling line; the search goes on with the others
    import dataclasses

    from patchtool.apply.upstreamed import landed_as

    repo, _, series = two_patch_repo(tmp_path)
    patch = series.revision.patches[1]
    line = "+b three, spelled out in full\n"
    diff = patch.diff.replace(line, line + "+\0" + "x" * 80 + "\n")
    assert landed_as(GitRepo(repo), "main", dataclasses.replace(patch, diff=diff), by_change=True) is None


def test_a_retitled_patch_that_wraps_a_line_in_an_if_is_found(tmp_path: Path, settings: Settings) -> None:
    # sample AO: "Make sure fetch_instruction exist before calling it", merged under a prefixed
    # title; its longest line is the call it re-indents, which occurs as often after it as before
    body = "void decode(Ops *ops)\n{\n    ops->fetch_instruction(cpu, &val, va, size);\n}\n"
    repo = make_repo(tmp_path / "q", {"decode.c": body})
    base = git(repo, "rev-parse", "HEAD").strip()
    guarded = body.replace(
        "    ops->fetch_instruction(cpu, &val, va, size);\n",
        "    if (ops->fetch_instruction) {\n        ops->fetch_instruction(cpu, &val, va, size);\n    }\n",
    )
    (repo / "decode.c").write_text(guarded)
    commit_all(repo, "Make sure fetch_instruction exists before calling it")
    series = mailed(tmp_path, repo, f"{base}..HEAD")
    git(repo, "reset", "-q", "--hard", base)
    (repo / "decode.c").write_text(guarded)
    merged = commit_all(repo, "target/i386: emulate: Make sure fetch_instruction exists before calling it")
    result = apply_series(GitRepo(repo), series, settings, base="main")
    assert result.status == ALREADY_IN_BASE
    assert result.hints == (f'every patch is already in main: 1/1 as {merged[:12]} ("target/i386: emulate: '
                            'Make sure fetch_instruction exists ...")',)  # fmt: skip


def test_a_hint_names_three_patches_and_the_result_holds_each(tmp_path: Path, settings: Settings) -> None:
    # a long series merged long ago: the hint stays one readable line, a script gets all the commits
    repo = make_repo(tmp_path / "q", {f"f{i}.c": numbered(10, f"file {i} line") for i in range(5)})
    base = git(repo, "rev-parse", "HEAD").strip()
    for i in range(5):
        edit(repo / f"f{i}.c", f"file {i} line 4\n", f"file {i} line four, written out in words\n")
        commit_all(repo, f"f{i}: spell out line four")
    merged = git(repo, "log", "--reverse", "--format=%H", f"{base}..HEAD").split()
    series = mailed(tmp_path, repo, f"{base}..HEAD~1")  # the first four were mailed
    result = apply_series(GitRepo(repo), series, settings, base="main")
    assert result.status == ALREADY_IN_BASE
    named = ", ".join(f"{i}/4 as {sha[:12]}" for i, sha in enumerate(merged[:3], 1))
    assert result.hints == (f"every patch is already in main: {named} and 1 more",)
    assert [(x.index, x.total, x.commit, x.kind, x.same) for x in result.landed] == [
        (i, 4, sha, "in-base", True) for i, sha in enumerate(merged[:4], 1)
    ]
