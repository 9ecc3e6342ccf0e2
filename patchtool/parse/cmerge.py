"""How the hunks' readings of a diff's C functions combine into one entry per function.

Each hunk is read alone (parse.cfuncs.analyze_hunk); across hunks a function may be named twice
(added, then body-changed further down), or git's pairing of lines may make a rename of what is
a new function beside an old one. These are set right here, from the whole diff's readings.
"""

from __future__ import annotations

from patchtool.models import FunctionChange
from patchtool.parse.cfuncs import signature_change

_PRIORITY = {
    "added": 0, "stub-added": 0, "renamed": 1, "removed": 1, "signature-changed": 2, "body-changed": 3,
}  # fmt: skip


def _defined_again(changes: list[FunctionChange]) -> list[FunctionChange]:
    """A rename whose old name the patch defines again in the same file is no rename: git paired
    the old definition's lines with the new function's (sample AR: `test_tls_discard_cert` split
    into a new `test_tls_deinit_cert` and itself, which kept its name and callers). The new name
    is added; the old one changed (its body, or its signature when that differs too)."""
    again = {(c.file, c.name) for c in changes if c.kind == "added"}
    was = {
        (c.file, c.detail.removeprefix("renamed from ")): c.old_signature
        for c in changes
        if c.kind == "renamed" and (c.file, c.detail.removeprefix("renamed from ")) in again
    }
    if not was:
        return changes
    out = []
    for c in changes:
        if c.kind == "renamed" and (c.file, c.detail.removeprefix("renamed from ")) in was:
            out.append(FunctionChange(c.file, c.name, "added", new_signature=c.new_signature, line=c.line))
        elif c.kind == "added" and (c.file, c.name) in was:
            old_signature = was[(c.file, c.name)]
            changed = None
            if old_signature and c.new_signature:  # None when only the spacing differs
                changed = signature_change(c.file, old_signature, c.new_signature, c.line)
            body = FunctionChange(c.file, c.name, "body-changed", new_signature=c.new_signature, line=c.line)
            out.append(changed or body)
        else:
            out.append(c)
    return out


def merge_changes(changes: list[FunctionChange]) -> tuple[FunctionChange, ...]:
    """One entry per (file, name, kind family): an added function is not also "body-changed".

    A hunk after the one that renames a function is headed by its old name (git names a hunk by
    the line before it in the old file): that body change is the renamed function's, unless the
    patch defines a function of the old name again (sample AQ: `npcm7xx_gcr_read` renamed
    `npcm_gcr_read`, its body changed two hunks down)."""
    changes = _defined_again(changes)
    renamed_from = {(c.file, c.detail.removeprefix("renamed from ")) for c in changes if c.kind == "renamed"}
    added = {(c.file, c.name) for c in changes if c.kind in ("added", "stub-added")}
    gone = renamed_from - added
    best: dict[tuple[str, str, str], FunctionChange] = {}
    order: list[tuple[str, str, str]] = []
    for change in changes:
        if change.kind == "body-changed" and (change.file, change.name) in gone:
            continue
        family = "function" if change.kind in _PRIORITY else change.kind + change.detail
        key = (change.file, change.name, family)
        if key not in best:
            order.append(key)
            best[key] = change
        elif _PRIORITY.get(change.kind, 9) < _PRIORITY.get(best[key].kind, 9):
            best[key] = change
    return tuple(best[k] for k in order)
