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
