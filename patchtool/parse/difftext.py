"""The one reader of diff text: files, extended headers, hunks and their lines; and path rewriting.

Every caller (the diff summary, the checks, apply and backport) reads diffs through split_files.
Hunks are read by the counts in their headers, as git apply reads them, so a removed line that
looks like a header (`--- a/x`) stays in its hunk. Only the file headers (from `diff --git` to the
first `@@`) are rewritten; hunk bodies are left byte-for-byte.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import replace

from patchtool.jsonable import record

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_HEADER_PATH = re.compile(
    r"^(?P<key>--- |\+\+\+ |rename from |rename to |copy from |copy to )(?P<path>.*?)(?P<tail>\t.*)?$"
)


@record
class DiffLine:
    kind: str  # "+", "-" or " "
    text: str  # without the leading marker


@record
class HunkText:
    """One hunk as written: its header's numbers, git's function context, and its lines."""

    old_start: int
    old_lines: int
    new_start: int
    new_lines: int
    header: str  # the whole `@@ ... @@ context` line
    section: str  # the text after the second `@@`
    lines: tuple[DiffLine, ...]


@record
class FileDiff:
    """One file's part of a diff: paths, extended header lines, hunks, and whether it is binary."""

    old_path: str | None  # None when the file is created
    new_path: str | None  # None when the file is deleted
    hunk_texts: tuple[HunkText, ...] = ()
    headers: tuple[str, ...] = ()  # `index`, `new file mode`, `rename from` ... lines
    binary: bool = False

    @property
    def path(self) -> str:
        return self.new_path or self.old_path or ""

    @property
    def hunks(self) -> tuple[tuple[int, str], ...]:
        """(old start line, header line) per hunk, as `git apply` names a failing hunk."""
        return tuple((h.old_start, h.header) for h in self.hunk_texts)

    @property
    def lines(self) -> tuple[DiffLine, ...]:
        return tuple(x for h in self.hunk_texts for x in h.lines)

    @property
    def added(self) -> tuple[DiffLine, ...]:
        return tuple(x for x in self.lines if x.kind == "+")

    @property
    def removed(self) -> tuple[DiffLine, ...]:
        return tuple(x for x in self.lines if x.kind == "-")


def unquote(path: str) -> str:
    """Undo git's C-style quoting of unusual paths ("a/t\\303\\251st")."""
    if not (path.startswith('"') and path.endswith('"')):
        return path
    raw = path[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")
    return raw.encode("latin-1").decode("utf-8", "surrogateescape")


def _strip_prefix(path: str) -> str | None:
    path = unquote(path)
    if path == "/dev/null":
        return None
    return path[2:] if path[:2] in ("a/", "b/") else path


def _diff_git_paths(line: str) -> tuple[str | None, str | None]:
    """Best-effort paths from `diff --git a/X b/Y` (used when no ---/+++ lines follow, e.g. a pure rename)."""
    rest = line[len("diff --git ") :]
    if rest.startswith('"'):
        return None, None
    half = (len(rest) - 1) // 2
    old, new = rest[:half], rest[half + 1 :]
    if old[2:] == new[2:]:
        return _strip_prefix(old), _strip_prefix(new)
    parts = rest.split(" b/", 1)
    return (_strip_prefix(parts[0]), _strip_prefix("b/" + parts[1])) if len(parts) == 2 else (None, None)


def _hunk(lines: list[str], i: int, match: re.Match[str]) -> tuple[HunkText, int]:
    """The hunk whose header is lines[i], read by its line counts (as git apply reads it).

    An empty line is an empty context line whose single space was stripped in transit; `\\ No
    newline at end of file` markers stay with the hunk but are not lines of it.
    """
    old = int(match.group(2)) if match.group(2) is not None else 1
    new = int(match.group(4)) if match.group(4) is not None else 1
    header = lines[i]
    body: list[DiffLine] = []
    i += 1
    while i < len(lines) and (old > 0 or new > 0 or lines[i].startswith("\\")):
        raw = lines[i]
        kind = raw[:1]
        if kind in ("+", "-"):
            body.append(DiffLine(kind, raw[1:]))
            old, new = old - (kind == "-"), new - (kind == "+")
        elif kind in (" ", "", "\r"):
            body.append(DiffLine(" ", raw[1:] if kind == " " else ""))
            old, new = old - 1, new - 1
        elif kind != "\\":
            break  # a damaged hunk ends here; the mail reader reports such damage with its line
        i += 1
    section = header.split("@@", 2)[2] if header.count("@@") >= 2 else ""
    hunk = HunkText(
        int(match.group(1)),
        int(match.group(2)) if match.group(2) is not None else 1,
        int(match.group(3)),
        int(match.group(4)) if match.group(4) is not None else 1,
        header,
        section[1:] if section.startswith(" ") else section,
        tuple(body),
    )
    return hunk, i


class _Reader:
    """Walks a diff: `diff --git` (or a bare `---`/`+++` pair) starts a file, `@@` a hunk."""

    def __init__(self) -> None:
        self.files: list[FileDiff] = []
        self.cur: FileDiff | None = None

    def flush(self) -> None:
        if self.cur is not None:
            self.files.append(self.cur)
        self.cur = None

    def start(self, old: str | None, new: str | None) -> None:
        self.flush()
        self.cur = FileDiff(old, new)

    def header(self, line: str) -> None:
        assert self.cur is not None
        cur = replace(self.cur, headers=(*self.cur.headers, line))
        if line.startswith(("GIT binary patch", "Binary files ")):
            cur = replace(cur, binary=True)
        elif not cur.hunk_texts and (m := _HEADER_PATH.match(line)):
            path = _strip_prefix(m.group("path"))
            if m.group("key") in ("--- ", "rename from ", "copy from "):
                cur = replace(cur, old_path=path)
            else:
                cur = replace(cur, new_path=path)
        self.cur = cur


def split_files(diff: str) -> list[FileDiff]:
    """The files of a diff, in order: the one reader of diff text every caller uses."""
    lines = diff.split("\n")
    reader = _Reader()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("diff --git "):
            reader.start(*_diff_git_paths(line))
        elif line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            if reader.cur is None or reader.cur.hunk_texts:  # a diff without `diff --git` lines
                reader.start(None, None)
            reader.header(line)
        elif reader.cur is None:
            pass
        elif m := _HUNK.match(line):
            hunk, i = _hunk(lines, i, m)
            reader.cur = replace(reader.cur, hunk_texts=(*reader.cur.hunk_texts, hunk))
            continue
        elif line.strip():
            reader.header(line)
        i += 1
    reader.flush()
    return reader.files


def hunk_headers_at(diff: str, file: str, lines: Iterable[int]) -> list[str]:
    """The hunk header lines of `file` whose old start is one of `lines` (as git apply names them)."""
    wanted = set(lines)
    headers: list[str] = []
    for fd in split_files(diff):
        if file in (fd.old_path, fd.new_path):
            headers += [header for start, header in fd.hunks if start in wanted]
    return headers


def changed_lines(diff: str) -> list[str]:
    """Lines a patch adds or removes, and its file names: what git patch-id hashes."""
    out = []
    for line in diff.splitlines():
        if line.startswith("diff --git ") or (line[:1] in "+-" and not line.startswith(("+++ ", "--- "))):
            out.append(line)
    return out


def touched_paths(diff: str) -> set[str]:
    return {p for fd in split_files(diff) for p in (fd.old_path, fd.new_path) if p}


def _quote_if_needed(path: str) -> str:
    if any(c in path for c in '"\\\t\n') or not path.isprintable():
        escaped = path.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t").replace("\n", "\\n")
        return f'"{escaped}"'
    return path


def _rewrite_header(line: str, mapping: Callable[[str], str]) -> str:
    if line.startswith("diff --git "):
        old, new = _diff_git_paths(line)
        if old is None or new is None:
            return line
        return f"diff --git {_quote_if_needed('a/' + mapping(old))} {_quote_if_needed('b/' + mapping(new))}"
    m = _HEADER_PATH.match(line)
    if not m:
        return line
    key, path, tail = m.group("key"), m.group("path"), m.group("tail") or ""
    stripped = _strip_prefix(path)
    if stripped is None:
        return line
    prefix = {"--- ": "a/", "+++ ": "b/"}.get(key, "")
    return f"{key}{_quote_if_needed(prefix + mapping(stripped))}{tail}"


def rewrite_paths(diff: str, mapping: Callable[[str], str]) -> str:
    """The diff with every path in its file headers passed through `mapping` (hunk bodies untouched)."""
    out: list[str] = []
    in_header = False
    for line in diff.splitlines(keepends=True):
        body = line.rstrip("\n")
        if body.startswith("diff --git "):
            in_header = True
        elif in_header and body.startswith("@@ "):
            in_header = False
        if in_header:
            ending = line[len(body) :]
            out.append(_rewrite_header(body, mapping) + ending)
        else:
            out.append(line)
    return "".join(out)
