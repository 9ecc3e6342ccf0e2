"""Where a series leaves a function definable or callable: a definition left behind as a
declaration (`build-break`), and a function made static that other files still call (the
reason callers.check_callers gives those calls)."""

from __future__ import annotations

from patchtool.models import Finding, FunctionChange, Revision
from patchtool.parse.cmoves import moved_from


def _is_static(signature: str | None) -> bool:
    return "static" in (signature or "").split("(", 1)[0].split()


def made_static(c: FunctionChange) -> str | None:
    """Why calls from other files break when a change leaves a function to one .c file alone
    that they could call before: "made static in FILE" (an extern function turned static), or
    "moved into FILE as static" (from a header's static inline, or from another .c file whose
    calls stay there). None otherwise, and for a file that is included (`.c.inc`): its includer
    calls it."""
    if (
        c.kind not in ("moved", "signature-changed")
        or not c.file.endswith(".c")
        or not _is_static(c.new_signature)
    ):
        return None
    source = moved_from(c) or c.file
    if source == c.file:
        return None if _is_static(c.old_signature) else f"made static in {c.file}"
    return f"moved into {c.file} as static"


def check_definition_left_behind(rev: Revision) -> list[Finding]:
    """A definition turned into a declaration in the same .c file: its body is left behind."""
    found = []
    for p in rev.patches:
        kinds: dict[tuple[str, str], set[str]] = {}
        for c in p.summary.functions:
            kinds.setdefault((c.file, c.name), set()).add(c.kind)
        for (path, name), seen in kinds.items():
            if path.endswith(".c") and {"removed", "prototype-added"} <= seen and "added" not in seen:
                line = next(c.line for c in p.summary.functions if c.name == name and c.kind == "removed")
                message = (
                    f"{name}() is turned from a definition into a declaration in {path}: "
                    "the tree does not build"
                )
                label = f"{p.index}/{p.total}"
                found.append(
                    Finding("error", "build-break", message, label, file=path, line=line or 0, msgid=p.msgid)
                )
    return found
