"""A C function a patch moves: removed by one hunk and added by another of the same file.

Each hunk is read on its own, so a move reads as "removed" there and "added" here. QEMU series
move functions to change them (`migration_cancel()` taking the place of `migrate_fd_cancel()`
further down, stubs replaced by the real thing elsewhere in the file): what changed is the
function's signature or its body, and that is what the review checks (callers left in the old
form) need to see.
"""

from __future__ import annotations

from dataclasses import replace

from patchtool.models import FunctionChange
from patchtool.parse.cfuncs import signature_change


def pair_moves(changes: list[FunctionChange]) -> list[FunctionChange]:
    """Each function removed and added in the same file becomes one change at its new place:
    signature-changed when the signatures differ, else body-changed ("moved")."""
    removed = {(c.file, c.name): c for c in changes if c.kind == "removed" and c.old_signature}
    moved = {(c.file, c.name) for c in changes if c.kind == "added" and c.new_signature} & removed.keys()
    out = []
    for c in changes:
        key = (c.file, c.name)
        if key not in moved or c.kind not in ("added", "removed"):
            out.append(c)
        elif c.kind == "added":
            old = removed[key].old_signature or ""
            changed = signature_change(c.file, old, c.new_signature or "", c.line)
            out.append(changed or replace(c, kind="body-changed", detail="moved"))
    return out
