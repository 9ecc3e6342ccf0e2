"""Line-level view of a patch's diff for the checks: which lines each file adds and removes."""

from __future__ import annotations

import re
from dataclasses import dataclass

_DIFF_GIT = re.compile(r"^diff --git a/(?P<old>.+?) b/(?P<new>.+)$")
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@")


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "+", "-" or " "
    text: str  # without the leading marker


@dataclass(frozen=True)
class FileDiff:
    path: str  # new path (old path when the file is deleted)
    old_path: str
    lines: tuple[DiffLine, ...]
    binary: bool = False

    @property
    def added(self) -> tuple[DiffLine, ...]:
        return tuple(x for x in self.lines if x.kind == "+")

    @property
    def removed(self) -> tuple[DiffLine, ...]:
        return tuple(x for x in self.lines if x.kind == "-")


class _Reader:
    """Walks a diff line by line, collecting the lines of the current file's hunks."""

    def __init__(self) -> None:
        self.files: list[FileDiff] = []
        self.cur: dict[str, str | bool] | None = None
        self.lines: list[DiffLine] = []
        self.in_hunk = False

    def flush(self) -> None:
        if self.cur is not None:
            c = self.cur
            self.files.append(FileDiff(str(c["path"]), str(c["old"]), tuple(self.lines), bool(c["binary"])))

    def header(self, raw: str) -> None:
        assert self.cur is not None
        if raw.startswith("+++ /dev/null"):
            self.cur["path"] = self.cur["old"]
        elif raw.startswith(("Binary files", "GIT binary patch")):
            self.cur["binary"] = True

    def body(self, raw: str) -> None:
        marker = raw[:1]
        if marker in ("+", "-"):
            self.lines.append(DiffLine(marker, raw[1:]))
        elif marker in (" ", ""):
            self.lines.append(DiffLine(" ", raw[1:]))
        elif marker != "\\":  # "\ No newline at end of file" stays in the hunk
            self.in_hunk = False

    def feed(self, raw: str) -> None:
        if m := _DIFF_GIT.match(raw):
            self.flush()
            self.cur = {"path": m.group("new"), "old": m.group("old"), "binary": False}
            self.lines, self.in_hunk = [], False
        elif self.cur is None:
            return
        elif _HUNK.match(raw):
            self.in_hunk = True
        elif self.in_hunk:
            self.body(raw)
        else:
            self.header(raw)


def parse_diff(diff: str) -> tuple[FileDiff, ...]:
    """Split a git diff into files and their hunk lines; tolerant of odd headers."""
    reader = _Reader()
    for raw in diff.splitlines():
        reader.feed(raw)
    reader.flush()
    return tuple(reader.files)
