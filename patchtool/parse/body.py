"""The parts of one patch mail's body: in-body headers, commit message, notes, diff, footers.

The diff is delimited by walking git's own grammar (extended headers, then hunks whose line
counts say where they end), so a signature, a b4 footer or a trailing "-- " never leaks into the
diff, and a patch whose context lines lost their leading space is caught as mangled.
"""

from __future__ import annotations

import re
from dataclasses import field

from patchtool.errors import InputError
from patchtool.jsonable import record

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
_IN_BODY = re.compile(r"^(from|date|subject):\s*(.*)$", re.IGNORECASE)
_FORMAT_PATCH_FROM = re.compile(r"^From [0-9a-f]{40} Mon Sep 17 00:00:00 2001$")
_STAT_LINE = re.compile(
    r"^ (\S.*?\s+\|\s+(\d+ ?[+-]*|Bin(?: .*)?)|\d+ files? changed.*|(create|delete) mode \d+ .*|rename .*|"
    r"mode change .*|copy .*)$"
)


@record
class PatchBody:
    in_body: dict[str, str]
    message: str
    notes: str
    stat_text: str
    diff: str
    footers: dict[str, str] = field(default_factory=dict)
    based_on: tuple[str, ...] = ()
    supersedes: tuple[str, ...] = ()
    raw_diff: bytes = b""  # the diff's bytes, kept only when they are not UTF-8


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


def _hunk_end(lines: list[str], i: int, where: str, first: int) -> int:
    """Index past the hunk at `i`; its header's counts say where it ends, as git apply reads them.

    An empty line counts as an empty context line (git apply accepts a blank context line whose
    single space was stripped in transit).
    """
    match = _HUNK.match(lines[i])
    assert match is not None
    old = int(match.group(1)) if match.group(1) is not None else 1
    new = int(match.group(2)) if match.group(2) is not None else 1
    header = lines[i].split("@@")[1].strip()
    i += 1
    while old > 0 or new > 0:
        if i >= len(lines):
            raise InputError(f"{where}: truncated hunk {header!r}")
        kind = lines[i][:1]
        if kind in ("", " ", "\r"):
            old, new = old - 1, new - 1
        elif kind == "-":
            old -= 1
        elif kind == "+":
            new -= 1
        elif kind != "\\":
            raise InputError(
                f"{where}: mangled diff at line {first + i + 1}: {lines[i][:40]!r} inside hunk {header!r} "
                "is not a diff line (whitespace stripped or lines wrapped?)"
            )
        i += 1
    return i


def _binary_end(lines: list[str], i: int) -> int:
    """Index past a `GIT binary patch` (one or two base85 blocks, each ended by a blank line)."""
    while i < len(lines) and (lines[i] == "" or _BASE85.match(lines[i])):
        if lines[i] == "" and (i + 1 >= len(lines) or not _BASE85.match(lines[i + 1])):
            return i + 1  # the blank line that closes the last block belongs to the patch
        i += 1
    return i


def _looks_like_diff(line: str) -> bool:
    """A line that only makes sense inside a diff (never a signature `-- ` or prose)."""
    if line in ("--", "-- "):
        return False
    return line.startswith(("@@", "+", "-", "diff --git "))


def diff_end(lines: list[str], start: int, where: str, first: int = 0) -> int:
    """Index just past the diff that starts at `start`, checking every hunk's line counts.

    Diff text the reader cannot place (an unrecognised hunk header, a hunk longer than its header
    says) is an error naming the line, never a silently shorter diff. `first` is the index of
    `lines[0]` in the body, for those line numbers.
    """
    i = start
    while i < len(lines):
        line = lines[i]
        if _HUNK.match(line):
            i = _hunk_end(lines, i, where, first)
        elif line.startswith(_DIFF_HEADERS) or line.startswith("\\ "):
            i += 1
        elif line == "GIT binary patch":
            i = _binary_end(lines, i + 1)
        else:
            break
    rest = lines[i:]
    tail = rest[: rest.index("-- ")] if "-- " in rest else rest
    stray = any(_HUNK.match(t) or t.startswith("diff --git ") for t in tail)
    if (tail and _looks_like_diff(tail[0])) or stray:
        raise InputError(
            f"{where}: mangled diff at line {first + i + 1}: {rest[0][:40]!r} breaks the diff "
            "(unrecognised hunk header, wrong line counts, whitespace stripped or lines wrapped?)"
        )
    return i


def _is_patch_separator(line: str) -> bool:
    """git's is_format_patch_separator(): `From <40 hex> Mon Sep 17 00:00:00 2001`."""
    return _FORMAT_PATCH_FROM.match(line) is not None


def _in_body_header(line: str, found: dict[str, str]) -> str | None:
    """The header name when `line` starts an in-body header not yet seen (git's is_inbody_header)."""
    match = _IN_BODY.match(line)
    if match is None:
        return None
    name = match.group(1).capitalize()
    return None if name in found else name


def _flush(accum: list[str], found: dict[str, str]) -> None:
    if accum:
        match = _IN_BODY.match(accum[0])
        assert match is not None
        found[match.group(1).capitalize()] = "".join([match.group(2), *accum[1:]]).strip()
        accum.clear()


def in_body_headers(lines: list[str]) -> tuple[dict[str, str], int]:
    """git mailinfo's in-body From:/Date:/Subject: (folded or not, also after a `>From <sha>` line).

    Returns the headers and the index where the message starts. As in git, blank lines before the
    headers are skipped, a header is read once, and a `[PATCH] title` line sets the subject.
    """
    found: dict[str, str] = {}
    accum: list[str] = []
    for i, line in enumerate(lines):
        if line == "":
            if accum:
                _flush(accum, found)
                return found, i + 1
            continue
        if accum and line[:1] in (" ", "\t"):
            accum.append(line)
            continue
        _flush(accum, found)
        if line.startswith(">From") and line[5:6].isspace():
            if _is_patch_separator(line[1:]):
                continue
            return found, i
        if line.startswith("[PATCH]") and line[7:8].isspace():
            found["Subject"] = line
            continue
        if _in_body_header(line, found) is not None:
            accum.append(line)
            continue
        return found, i
    _flush(accum, found)
    return found, len(lines)


def _split_stat(notes_lines: list[str]) -> tuple[str, str]:
    notes = [ln for ln in notes_lines if not _STAT_LINE.match(ln)]
    stat = [ln for ln in notes_lines if _STAT_LINE.match(ln)]
    return "\n".join(notes).strip("\n"), "\n".join(stat)


def _msgid_lines(lines: list[str], key: str) -> tuple[str, ...]:
    prefix = key.lower() + ":"
    return tuple(ln.split(":", 1)[1].strip().strip("<>") for ln in lines if ln.lower().startswith(prefix))


def _patchbreak(line: str) -> bool:
    """git mailinfo's patchbreak(): where the commit message ends."""
    if line.startswith(("diff -", "Index: ")):
        return True
    if not line.startswith("---"):
        return False
    return (line[3:4] == " " and line[4:5] != "" and not line[4:5].isspace()) or not line[3:].strip()


def parse_patch_body(body: str, where: str, exact: str | None = None) -> PatchBody:
    """Split a patch mail body; `where` names the file and message for errors.

    `exact` is the same body with every byte kept (Mail.exact_body): the diff is cut from it, so
    what git gets is what was sent, while the message is read from the decoded `body`.
    """
    all_lines = body.split("\n")
    in_body, first = in_body_headers(all_lines)
    lines = all_lines[first:]
    start = diff_start(lines)
    if start is None:
        raise InputError(f"{where}: no diff found in the patch")
    exact_lines = exact.split("\n")[first:] if exact is not None else lines
    if len(exact_lines) != len(lines):  # a charset that is not ASCII-compatible: no alignment
        exact_lines = lines
    end = diff_end(exact_lines, start, where, first)
    sep = next((i for i, ln in enumerate(lines[:start]) if _patchbreak(ln)), start)
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
    # end is exact: a stripped blank last context line stays in the diff.
    diff, raw_diff = readable_diff("\n".join(exact_lines[start:end]) + "\n")
    return PatchBody(
        in_body=in_body,
        message=message,
        notes=notes,
        stat_text=stat,
        diff=diff,
        footers=footers,
        based_on=_msgid_lines(everything, "Based-on"),
        supersedes=_msgid_lines(everything, "Supersedes"),
        raw_diff=raw_diff,
    )


def readable_diff(exact: str) -> tuple[str, bytes]:
    """(text, raw bytes) of a diff whose undecodable bytes are surrogates: UTF-8 diffs are their
    own text (raw stays empty); other lines read as Latin-1, and the bytes are kept beside them."""
    raw = exact.encode("utf-8", "surrogateescape")
    try:
        return raw.decode("utf-8"), b""
    except UnicodeDecodeError:
        lines = raw.split(b"\n")
        return "\n".join(_line_text(line) for line in lines), raw


def _line_text(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode("latin-1")


def cover_parts(body: str) -> tuple[str, dict[str, str], tuple[str, ...], tuple[str, ...]]:
    """A cover letter's text, its footers and its Based-on:/Supersedes: message-ids."""
    lines = body.split("\n")
    footers: dict[str, str] = {}
    for ln in lines:
        if match := _FOOTER.match(ln):
            footers[match.group(1)] = match.group(2)
    return body.strip("\n"), footers, _msgid_lines(lines, "Based-on"), _msgid_lines(lines, "Supersedes")
