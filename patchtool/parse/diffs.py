"""What a patch's diff changes: files, hunks, line counts and C functions, from unidiff."""

from __future__ import annotations

import re
from typing import Any

from patchtool.errors import InputError
from patchtool.models import DiffstatLine, DiffSummary, FileChange, Finding, FunctionChange, Hunk
from patchtool.parse.cfuncs import C_SUFFIXES, analyze_hunk, merge_changes

_SIMILARITY = re.compile(r"^(?:similarity|dissimilarity) index (\d+)%")
_MODE = re.compile(r"^(old|new|new file|deleted file) mode (\d+)")
_COPY = re.compile(r"^copy from ")
_DIFFSTAT = re.compile(r"^ (\S.*?)\s+\|\s+(?:(\d+) ?[+-]*|(Bin) .*)$")


def _strip_prefix(path: str | None) -> str | None:
    if path is None or path == "/dev/null":
        return None
    return path[2:] if path[:2] in ("a/", "b/") else path


def _file_status(pf: Any, info: list[str]) -> str:
    if pf.is_added_file:
        return "added"
    if pf.is_removed_file:
        return "removed"
    if any(_COPY.match(line) for line in info):
        return "copied"
    if pf.is_rename:
        return "renamed"
    return "modified"


def _modes(info: list[str]) -> tuple[str | None, str | None]:
    old = new = None
    for line in info:
        if match := _MODE.match(line):
            if match.group(1) in ("old", "deleted file"):
                old = match.group(2)
            else:
                new = match.group(2)
    return old, new


def _file_change(pf: Any) -> tuple[FileChange, list[FunctionChange]]:
    info = [str(line).rstrip("\n") for line in (pf.patch_info or [])]
    old_path, new_path = _strip_prefix(pf.source_file), _strip_prefix(pf.target_file)
    path = new_path or old_path or pf.path
    similarity = next((int(m.group(1)) for line in info if (m := _SIMILARITY.match(line))), None)
    old_mode, new_mode = _modes(info)
    hunks, functions = [], []
    for hunk in pf:
        hunks.append(
            Hunk(
                hunk.source_start,
                hunk.source_length,
                hunk.target_start,
                hunk.target_length,
                hunk.section_header.strip(),
                hunk.added,
                hunk.removed,
            )
        )
        if path.endswith(C_SUFFIXES):
            lines = [(line.line_type, line.value.rstrip("\n")) for line in hunk if line.line_type in " +-"]
            starts = (hunk.source_start, hunk.target_start)
            functions += analyze_hunk(path, hunk.section_header, lines, starts)
    change = FileChange(
        path=path,
        old_path=old_path if old_path != path else None,
        status=_file_status(pf, info),
        added=pf.added,
        removed=pf.removed,
        similarity=similarity,
        old_mode=old_mode,
        new_mode=new_mode,
        binary=bool(pf.is_binary_file),
        hunks=tuple(hunks),
    )
    return change, functions


def summarize_diff(diff_text: str) -> DiffSummary:
    """Parse a unified diff (git's extended headers included) into a DiffSummary."""
    from unidiff import PatchSet
    from unidiff.errors import UnidiffParseError

    try:
        patchset = PatchSet(diff_text)
    except UnidiffParseError as e:
        raise InputError(f"the diff cannot be parsed: {e}") from e
    except (AttributeError, NameError, ValueError, IndexError) as e:  # unidiff trips on some damage
        raise InputError(f"the diff cannot be parsed ({type(e).__name__}: {e})") from e
    files, functions = [], []
    for pf in patchset:
        change, funcs = _file_change(pf)
        files.append(change)
        functions += funcs
    return DiffSummary(
        files=tuple(files),
        functions=merge_changes(functions),
        added=sum(f.added for f in files),
        removed=sum(f.removed for f in files),
    )


def parse_diffstat(text: str) -> tuple[DiffstatLine, ...]:
    """The diffstat lines (` path | 42 +++--`) found in the notes under `---`."""
    found = []
    for line in text.split("\n"):
        if match := _DIFFSTAT.match(line):
            binary = match.group(3) is not None
            found.append(DiffstatLine(match.group(1).strip(), 0 if binary else int(match.group(2)), binary))
    return tuple(found)


def _stated_path_matches(stated: str, actual: FileChange) -> bool:
    candidates = {actual.path, actual.old_path or actual.path}
    if " => " in stated:  # renames: "dir/{old => new}.c" or "old => new"
        return actual.status in ("renamed", "copied")
    if stated.startswith(".../"):
        return any(c.endswith(stated[3:]) for c in candidates)
    return stated in candidates


def check_diffstat(stated: tuple[DiffstatLine, ...], summary: DiffSummary, patch: str) -> list[Finding]:
    """Compare the diffstat the author sent with what the diff really changes."""
    if not stated:
        return []
    findings = []
    for line in stated:
        actual = next((f for f in summary.files if _stated_path_matches(line.path, f)), None)
        if actual is None:
            findings.append(
                Finding(
                    "warning",
                    "diffstat-mismatch",
                    f"diffstat names {line.path} but the diff does not touch it",
                    patch=patch,
                    file=line.path,
                )
            )
        elif not line.binary and not actual.binary and line.changes != actual.added + actual.removed:
            findings.append(
                Finding(
                    "warning",
                    "diffstat-mismatch",
                    f"diffstat says {line.changes} changed lines in {actual.path}, the diff has "
                    f"{actual.added + actual.removed} (+{actual.added} -{actual.removed})",
                    patch=patch,
                    file=actual.path,
                )
            )
    for f in summary.files:
        if not any(_stated_path_matches(line.path, f) for line in stated):
            findings.append(
                Finding(
                    "warning",
                    "diffstat-mismatch",
                    f"{f.path} is changed by the diff but missing from the diffstat",
                    patch=patch,
                    file=f.path,
                )
            )
    return findings
