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
    signature-changed when the signatures differ, else body-changed ("moved"). A prototype
    removed by one hunk and added by another with other parameters is signature-changed too
    (`void AUD_set_volume_out(SWVoiceOut *, int, uint8_t, uint8_t);` dropped above a struct and
    declared below it taking a `Volume *`, sample S); one moved unchanged stays as it reads."""
    out = _pair(changes, "removed", "added")
    return _pair(out, "prototype-removed", "prototype-added", keep_same=True)


def _pair(
    changes: list[FunctionChange], gone: str, came: str, keep_same: bool = False
) -> list[FunctionChange]:
    """Pair each ``gone`` entry with the ``came`` entry of the same file and name: one signature
    change, or (unless ``keep_same``, which leaves such a pair as it reads) a "moved" body."""
    removed = {(c.file, c.name): c for c in changes if c.kind == gone and c.old_signature}
    changed = {
        (c.file, c.name): signature_change(
            c.file, removed[(c.file, c.name)].old_signature or "", c.new_signature or "", c.line
        )
        for c in changes
        if c.kind == came and c.new_signature and (c.file, c.name) in removed
    }
    moved = {key for key, change in changed.items() if change is not None or not keep_same}
    out = []
    for c in changes:
        key = (c.file, c.name)
        if key not in moved or c.kind not in (gone, came):
            out.append(c)
        elif c.kind == came:
            out.append(changed[key] or replace(c, kind="body-changed", detail="moved"))
    return out
