"""The parts of one patch mail's body: in-body headers, commit message, notes, diff, footers.

The diff is delimited by walking git's own grammar (extended headers, then hunks whose line
counts say where they end), so a signature, a b4 footer or a trailing "-- " never leaks into the
diff, and a patch whose context lines lost their leading space is caught as mangled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from patchtool.errors import InputError

_DIFF_HEADERS = (
    "diff --git ",
    "index ",
    "old mode ",
    "new mode ",
    "deleted file mode ",
    "new file mode ",
    "similarity index ",
    "dissimilarity index ",
    "rename from ",
    "rename to ",
    "copy from ",
    "copy to ",
    "--- ",
    "+++ ",
    "Binary files ",
)
_HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")
_BASE85 = re.compile(r"^(literal \d+|delta \d+|[A-Za-z][0-9A-Za-z!#$%&()*+;<=>?@^_`{|}~-]*)$")
_FOOTER = re.compile(r"^(base-commit|change-id|prerequisite-patch-id|prerequisite-change-id): *(\S+)\s*$")
_IN_BODY = re.compile(r"^(From|Date|Subject): *(.*)$")
_STAT_LINE = re.compile(
    r"^ (\S.*?\s+\|\s+(\d+ ?[+-]*|Bin .*)|\d+ files? changed.*|(create|delete) mode \d+ .*|rename .*|"
    r"mode change .*|copy .*)$"
)


@dataclass(frozen=True)
class PatchBody:
    in_body: dict[str, str]
    message: str
    notes: str
    stat_text: str
    diff: str
    footers: dict[str, str] = field(default_factory=dict)
    based_on: tuple[str, ...] = ()
    supersedes: tuple[str, ...] = ()


def diff_start(lines: list[str]) -> int | None:
    """Index of the first line of the diff, or None when the body carries no diff."""
    for i, line in enumerate(lines):
        if line.startswith("diff --git ") or (
            line.startswith("--- ")
            and i + 2 < len(lines)
            and lines[i + 1].startswith("+++ ")
            and _HUNK.match(lines[i + 2])
        ):
            return i
        if line.startswith("Index: ") and i + 1 < len(lines) and lines[i + 1].startswith("====="):
            return i + 2
    return None


def has_diff(body: str) -> bool:
    return diff_start(body.split("\n")) is not None


def _hunk_end(lines: list[str], i: int, where: str) -> int:
    match = _HUNK.match(lines[i])
    assert match is not None
    old = int(match.group(1)) if match.group(1) is not None else 1
    new = int(match.group(2)) if match.group(2) is not None else 1
    header = lines[i]
    i += 1
    while old > 0 or new > 0:
        if i >= len(lines):
            raise InputError(f"{where}: truncated hunk {header.split('@@')[1].strip()!r}")
        line = lines[i]
        kind = line[:1]
        if line == "" or kind == " ":
            old, new = old - 1, new - 1
        elif kind == "-":
            old -= 1
        elif kind == "+":
            new -= 1
        elif kind != "\\":
            raise InputError(
                f"{where}: mangled diff: line {line[:40]!r} inside hunk {header.split('@@')[1].strip()!r} "
                "is not a diff line (whitespace stripped or lines wrapped?)"
            )
        i += 1
    return i


def diff_end(lines: list[str], start: int, where: str) -> int:
    """Index just past the diff that starts at `start`, checking every hunk's line counts."""
    i = start
    while i < len(lines):
        line = lines[i]
        if _HUNK.match(line):
            i = _hunk_end(lines, i, where)
        elif line.startswith(_DIFF_HEADERS) or line.startswith("\\ "):
            i += 1
        elif line == "GIT binary patch":
            i += 1
            while (
                i < len(lines)
                and (lines[i] == "" or _BASE85.match(lines[i]))
                and not lines[i].startswith("diff --git")
            ):
                if lines[i] == "" and (i + 1 >= len(lines) or not _BASE85.match(lines[i + 1])):
                    break
                i += 1
        else:
            break
    rest = lines[i:]
    tail = rest[: rest.index("-- ")] if "-- " in rest else rest
    if any(_HUNK.match(t) or t.startswith("diff --git ") for t in tail):
        raise InputError(
            f"{where}: mangled diff: line {rest[0][:40]!r} breaks the diff "
            "(whitespace stripped or lines wrapped?)"
        )
    return i


def _in_body_headers(lines: list[str]) -> tuple[dict[str, str], list[str]]:
    """git mailinfo's in-body From:/Date:/Subject: lines at the very top of the body."""
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    found: dict[str, str] = {}
    i = start
    while i < len(lines) and (match := _IN_BODY.match(lines[i])):
        found[match.group(1)] = match.group(2).strip()
        i += 1
    if found and (i >= len(lines) or not lines[i].strip()):
        return found, lines[i:]
    return {}, lines[start:]


def _split_stat(notes_lines: list[str]) -> tuple[str, str]:
    notes = [ln for ln in notes_lines if not _STAT_LINE.match(ln)]
    stat = [ln for ln in notes_lines if _STAT_LINE.match(ln)]
    return "\n".join(notes).strip("\n"), "\n".join(stat)


def _msgid_lines(lines: list[str], key: str) -> tuple[str, ...]:
    prefix = key.lower() + ":"
    return tuple(ln.split(":", 1)[1].strip().strip("<>") for ln in lines if ln.lower().startswith(prefix))


def parse_patch_body(body: str, where: str) -> PatchBody:
    """Split a patch mail body; `where` names the file and message for errors."""
    in_body, lines = _in_body_headers(body.split("\n"))
    start = diff_start(lines)
    if start is None:
        raise InputError(f"{where}: no diff found in the patch")
    end = diff_end(lines, start, where)
    sep = next((i for i, ln in enumerate(lines[:start]) if ln.rstrip() == "---"), start)
    message = "\n".join(lines[:sep]).strip("\n")
    notes, stat = _split_stat(lines[sep + 1 : start] if sep < start else [])
    after = lines[end:]
    footers: dict[str, str] = {}
    for ln in lines[sep:start] + after:
        if match := _FOOTER.match(ln):
            key = match.group(1)
            footers[key] = f"{footers[key]} {match.group(2)}" if key in footers else match.group(2)
    notes = "\n".join(ln for ln in notes.split("\n") if not _FOOTER.match(ln)).strip("\n")
    everything = lines[:start]
    return PatchBody(
        in_body=in_body,
        message=message,
        notes=notes,
        stat_text=stat,
        diff="\n".join(lines[start:end]).rstrip("\n") + "\n",
        footers=footers,
        based_on=_msgid_lines(everything, "Based-on"),
        supersedes=_msgid_lines(everything, "Supersedes"),
    )


def cover_parts(body: str) -> tuple[str, dict[str, str], tuple[str, ...], tuple[str, ...]]:
    """A cover letter's text, its footers and its Based-on:/Supersedes: message-ids."""
    lines = body.split("\n")
    footers: dict[str, str] = {}
    for ln in lines:
        if match := _FOOTER.match(ln):
            footers[match.group(1)] = match.group(2)
    return body.strip("\n"), footers, _msgid_lines(lines, "Based-on"), _msgid_lines(lines, "Supersedes")
