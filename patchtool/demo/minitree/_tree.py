"""File-level edits of the mini tree: a tree is a dict of path -> text, changes are small records."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from patchtool.jsonable import record
from patchtool.resources import fixtures_dir

Tree = dict[str, str]

# Files that must keep their executable bit whatever the install did to the fixture's modes.
EXECUTABLES = frozenset({"configure", "scripts/checkpatch.pl", "tests/functional/test_alpha_replay.sh"})

# Fixture file names that stand for dot-files (packaging tools may drop dot-files).
_RENAMED_ON_LOAD = {"dot-gitignore": ".gitignore"}


class TreeEditError(Exception):
    """A story edit did not find the text it expected: the fixture data and the story disagree."""


@record
class Replace:
    """Replace the only occurrence of `old` in `path` with `new`."""

    path: str
    old: str
    new: str

    def apply(self, tree: Tree) -> None:
        text = tree.get(self.path)
        if text is None:
            raise TreeEditError(f"{self.path}: no such file")
        count = text.count(self.old)
        if count != 1:
            raise TreeEditError(f"{self.path}: expected one match of {self.old[:60]!r}, found {count}")
        tree[self.path] = text.replace(self.old, self.new)


@record
class ReplaceAll:
    """Replace every occurrence of `old` in `path` (at least one)."""

    path: str
    old: str
    new: str

    def apply(self, tree: Tree) -> None:
        text = tree.get(self.path, "")
        if self.old not in text:
            raise TreeEditError(f"{self.path}: {self.old[:60]!r} not found")
        tree[self.path] = text.replace(self.old, self.new)


@record
class Write:
    """Create or overwrite `path` with `text`."""

    path: str
    text: str

    def apply(self, tree: Tree) -> None:
        tree[self.path] = self.text


@record
class Append:
    """Append `text` at the end of `path` (which must exist)."""

    path: str
    text: str

    def apply(self, tree: Tree) -> None:
        if self.path not in tree:
            raise TreeEditError(f"{self.path}: no such file")
        tree[self.path] += self.text


@record
class Delete:
    path: str

    def apply(self, tree: Tree) -> None:
        if tree.pop(self.path, None) is None:
            raise TreeEditError(f"{self.path}: no such file")


@record
class Move:
    """Rename a file, keeping its content."""

    old: str
    new: str

    def apply(self, tree: Tree) -> None:
        if self.old not in tree:
            raise TreeEditError(f"{self.old}: no such file")
        tree[self.new] = tree.pop(self.old)


Change = Replace | ReplaceAll | Write | Append | Delete | Move


def apply_changes(tree: Tree, changes: Iterable[Change]) -> Tree:
    """Return a copy of `tree` with `changes` applied in order."""
    result = dict(tree)
    for change in changes:
        change.apply(result)
    return result


def map_paths(changes: Iterable[Change], mapping: Callable[[str], str]) -> list[Change]:
    """The same changes with every path passed through `mapping` (a backport across a rename)."""
    mapped: list[Change] = []
    for c in changes:
        if isinstance(c, Move):
            mapped.append(Move(mapping(c.old), mapping(c.new)))
        elif isinstance(c, Delete):
            mapped.append(Delete(mapping(c.path)))
        elif isinstance(c, Write | Append):
            mapped.append(type(c)(mapping(c.path), c.text))
        else:
            mapped.append(type(c)(mapping(c.path), c.old, c.new))
    return mapped


def changed_paths(before: Mapping[str, str], after: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """(paths added or modified, paths deleted) between two trees, sorted."""
    modified = sorted(p for p, text in after.items() if before.get(p) != text)
    deleted = sorted(p for p in before if p not in after)
    return modified, deleted


def load_initial_tree() -> Tree:
    """The first commit's files, read from fixtures/minitree/tree."""
    root = fixtures_dir() / "minitree" / "tree"
    tree: Tree = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            rel = path.relative_to(root).as_posix()
            rel = _RENAMED_ON_LOAD.get(rel, rel)
            tree[rel] = path.read_text(encoding="utf-8")
    return tree


def story_text(name: str) -> str:
    """A longer piece of C or prose used by a story commit, from fixtures/minitree/story."""
    return (fixtures_dir() / "minitree" / "story" / name).read_text(encoding="utf-8")
