"""What a patch's diff changes: files, hunks, line counts and C functions, from the one diff reader."""

from __future__ import annotations

import re

from patchtool.models import DiffstatLine, DiffSummary, FileChange, Finding, FunctionChange, Hunk, Patch
from patchtool.parse.difftext import FileDiff, HunkText, split_files

_SIMILARITY = re.compile(r"^(?:similarity|dissimilarity) index (\d+)%")
_MODE = re.compile(r"^(old|new|new file|deleted file) mode (\d+)")
_COPY = re.compile(r"^copy from ")
_DIFFSTAT = re.compile(r"^ (\S.*?)\s+\|\s+(?:(\d+) ?[+-]*|(Bin)(?: .*)?)$")


def _file_status(fd: FileDiff) -> str:
    info = fd.headers
    if fd.old_path is None or any(line.startswith("new file mode ") for line in info):
        return "added"
    if fd.new_path is None or any(line.startswith("deleted file mode ") for line in info):
        return "removed"
    if any(_COPY.match(line) for line in info):
        return "copied"
    if fd.old_path != fd.new_path:
        return "renamed"
    return "modified"


def _modes(info: tuple[str, ...]) -> tuple[str | None, str | None]:
    old = new = None
    for line in info:
        if match := _MODE.match(line):
            if match.group(1) in ("old", "deleted file"):
                old = match.group(2)
            else:
                new = match.group(2)
    return old, new


def _hunk(h: HunkText) -> Hunk:
    added = sum(1 for x in h.lines if x.kind == "+")
    removed = sum(1 for x in h.lines if x.kind == "-")
    return Hunk(h.old_start, h.old_lines, h.new_start, h.new_lines, h.section.strip(), added, removed)


def _file_change(fd: FileDiff, functions: bool) -> tuple[FileChange, list[FunctionChange]]:
    path = fd.path
    similarity = next((int(m.group(1)) for line in fd.headers if (m := _SIMILARITY.match(line))), None)
    old_mode, new_mode = _modes(fd.headers)
    changed: list[FunctionChange] = []
    if functions:
        changed = _functions(fd)
    change = FileChange(
        path=path,
        old_path=fd.old_path if fd.old_path != path else None,
        status=_file_status(fd),
        added=len(fd.added),
        removed=len(fd.removed),
        similarity=similarity,
        old_mode=old_mode,
        new_mode=new_mode,
        binary=fd.binary,
        hunks=tuple(_hunk(h) for h in fd.hunk_texts),
    )
    return change, changed


def _functions(fd: FileDiff) -> list[FunctionChange]:
    from patchtool.parse.cfuncs import C_SUFFIXES, analyze_hunk  # C parsing: only when asked for

    changed: list[FunctionChange] = []
    if fd.path.endswith(C_SUFFIXES):
        for h in fd.hunk_texts:
            lines = [(x.kind, x.text) for x in h.lines]
            changed += analyze_hunk(fd.path, h.section, lines, (h.old_start, h.new_start))
    return changed


def _merged(changed: list[FunctionChange], files: list[FileDiff]) -> tuple[FunctionChange, ...]:
    if not changed:
        return ()
    from patchtool.parse.cmerge import merge_changes
    from patchtool.parse.cmoves import changed_lines, pair_across_files, pair_moves

    lines = changed_lines(files)
    return pair_across_files(merge_changes(pair_moves(changed, lines)), lines)


def summarize_diff(diff_text: str, *, functions: bool = True) -> DiffSummary:
    """A unified diff (git's extended headers included) as a DiffSummary, read by the one reader.

    `functions=False` skips the C functions (and tree-sitter): the summary then lists none.
    """
    files, changed = [], []
    read = split_files(diff_text)
    for fd in read:
        change, funcs = _file_change(fd, functions)
        files.append(change)
        changed += funcs
    return DiffSummary(
        files=tuple(files),
        functions=_merged(changed, read),
        added=sum(f.added for f in files),
        removed=sum(f.removed for f in files),
    )


def diff_bytes(patch: Patch, diff: str | None = None) -> bytes:
    """What git gets for a patch's diff (or for `diff`, a rewritten copy of it): the bytes sent."""
    if diff is None or diff == patch.diff:
        return patch.raw_diff or patch.diff.encode("utf-8", "surrogateescape")
    return diff.encode("utf-8", "surrogateescape")


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
