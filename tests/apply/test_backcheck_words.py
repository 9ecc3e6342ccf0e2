"""Which names a tree holds (backcheck.words_in_tree), as the missing-identifier check asks it: many
names at once (a generated file's hundreds), member links, and words that are not names."""

from __future__ import annotations

from pathlib import Path

from patchtool.apply.backcheck import words_in_tree
from patchtool.vcs.repo import GitRepo
from tests.plugins.gitutil import git, make_repo


def table(first: int, last: int) -> str:
    """A generated table of the even field names in [first, last)."""
    return (
        "static const int ops[] = {\n"
        + "".join(f"    FIELD_op_{i:04d},\n" for i in range(first, last, 2))
        + "};\n"
    )


def _repo(tmp_path: Path) -> tuple[GitRepo, str]:
    path = make_repo(
        tmp_path / "r",
        {
            "target/toy/ops.inc.c": table(0, 400),
            "target/toy/more-ops.inc.c": table(400, 900),  # names a first git grep does not ask
            "hw/dev.c": "void dev_reset(Dev *d)\n{\n    d->regs.ctrl = 0x10abc;\n    s->blk = blob_of(d);\n}\n",  # noqa: E501
        },
    )
    return GitRepo(path), git(path, "rev-parse", "HEAD").strip()


def test_hundreds_of_names_are_all_looked_for(tmp_path: Path) -> None:
    # 900 names asked, over three git greps: each even one is there, no odd one, the last ones too
    repo, head = _repo(tmp_path)
    names = [f"FIELD_op_{i:04d}" for i in range(900)]
    assert words_in_tree(repo, head, names) == set(names[::2])


def test_member_links_and_words_that_are_not_names(tmp_path: Path) -> None:
    repo, head = _repo(tmp_path)
    asked = ["regs.ctrl", "d.regs", "s.blk", "dev_reset", "x10abc", "regs.flags", "blob_of", "blob", "hw"]
    # `d->regs.ctrl` holds both links; 0x10abc's tail is no name; the file's name, object ids and
    # sizes are not read as words
    assert words_in_tree(repo, head, asked) == {"regs.ctrl", "d.regs", "s.blk", "dev_reset", "blob_of"}
    assert words_in_tree(repo, head, ["ops", "toy"], ["hw/"]) == set()


def _moved_vl(tmp_path: Path, name: str, board: bool = False) -> tuple[GitRepo, str, str, str]:
    """softmmu/vl.c gains `int name(void);` after the fork (the commit returned), hw/board.c
    calls it then when `board`, and vl.c moves to system/: (repo, fork, base, that commit)."""
    path = make_repo(tmp_path / "r", {"softmmu/vl.c": "int main_loop(void);\n" * 20})
    git(path, "branch", "fork")
    (path / "softmmu/vl.c").write_text("int main_loop(void);\n" * 20 + f"int {name}(void);\n")
    git(path, "commit", "-q", "-am", f"vl: declare {name}")
    first = GitRepo(path).rev_parse("HEAD")
    if board:
        (path / "hw").mkdir()
        (path / "hw/board.c").write_text(f"void board(void)\n{{\n    {name}();\n}}\n")
        git(path, "add", "-A")
        git(path, "commit", "-q", "-m", "hw: a board")
    (path / "system").mkdir()
    git(path, "mv", "softmmu/vl.c", "system/vl.c")
    git(path, "commit", "-q", "-m", "move vl.c")
    repo = GitRepo(path)
    return repo, repo.rev_parse("fork"), repo.rev_parse("HEAD"), first


def test_a_files_former_names_are_read_once_per_fork_and_base(tmp_path: Path) -> None:
    # `git log --follow` costs seconds a file on a decade of QEMU, and every missing name of a
    # backport (and every backport of a branch) asks it of the same files: asked once, and the
    # answer is the same, its renames included
    from patchtool.apply import backorigin

    repo, fork, base, _ = _moved_vl(tmp_path, "qemu_init")
    first = backorigin.former_paths(repo, fork, base, "system/vl.c")
    assert first == {"system/vl.c", "softmmu/vl.c"}
    key = (str(repo.common_dir), fork, base, "system/vl.c")
    assert backorigin._FORMER[key] == frozenset(first)
    git(Path(repo.path), "update-ref", "refs/heads/unrelated", "HEAD")  # it depends on fork and base only
    backorigin._FORMER[key] = frozenset({"system/vl.c", "remembered"})
    assert backorigin.former_paths(repo, fork, base, "system/vl.c") == {"system/vl.c", "remembered"}


def test_a_name_first_used_in_a_file_moved_since_is_traced_to_that_use(tmp_path: Path) -> None:
    # the name came in vl.c (2015), another file used it later (2018), then vl.c moved (2020): the
    # oldest commit found on the files as they are now is the 2018 one, but the move created a
    # file too, so its old name is searched and the 2015 commit is the origin. A file created
    # fresh (not moved) is not followed.
    from patchtool.apply.backorigin import introduced_by

    repo, fork, base, first = _moved_vl(tmp_path, "qemu_init_early", board=True)
    found = introduced_by(repo, fork, base, "qemu_init_early", ["hw/board.c", "system/vl.c"])
    assert found == (first, "vl: declare qemu_init_early")
