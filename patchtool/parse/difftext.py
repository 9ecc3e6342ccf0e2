"""Line-level reading and rewriting of git diff text: which hunk is where, and renaming its paths.

Only the file headers (from `diff --git` to the first `@@`) are rewritten; hunk bodies are left
byte-for-byte, since a removed line may itself look like a header (`--- a/x`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_HEADER_PATH = re.compile(
    r"^(?P<key>--- |\+\+\+ |rename from |rename to |copy from |copy to )(?P<path>.*?)(?P<tail>\t.*)?$"
)


@dataclass(frozen=True)
class FileDiff:
    """One file's part of a diff: its old and new path and its hunk header lines."""

    old_path: str | None  # None when the file is created
    new_path: str | None  # None when the file is deleted
    hunks: tuple[tuple[int, str], ...]  # (old start line, header line)


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


def split_files(diff: str) -> list[FileDiff]:
    """The files of a diff, with their hunks, in order."""
    files: list[FileDiff] = []
    old: str | None = None
    new: str | None = None
    hunks: list[tuple[int, str]] = []
    started = False
    for line in diff.splitlines():
        if line.startswith("diff --git "):
            if started:
                files.append(FileDiff(old, new, tuple(hunks)))
            old, new = _diff_git_paths(line)
            hunks, started = [], True
        elif not started:
            continue
        elif m := _HUNK.match(line):
            hunks.append((int(m.group(1)), line))
        elif not hunks and (m := _HEADER_PATH.match(line)):
            path = _strip_prefix(m.group("path"))
            if m.group("key") in ("--- ", "rename from ", "copy from "):
                old = path
            else:
                new = path
    if started:
        files.append(FileDiff(old, new, tuple(hunks)))
    return files


def hunk_headers_at(diff: str, file: str, lines: Iterable[int]) -> list[str]:
    """The hunk header lines of `file` whose old start is one of `lines` (as git apply names them)."""
    wanted = set(lines)
    headers: list[str] = []
    for fd in split_files(diff):
        if file in (fd.old_path, fd.new_path):
            headers += [header for start, header in fd.hunks if start in wanted]
    return headers


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
