"""A C function a patch moves: removed by one hunk and added by another, of the same file or not.

Each hunk is read on its own, so a move reads as "removed" there and "added" here. QEMU series
move functions to change them (`migration_cancel()` taking the place of `migrate_fd_cancel()`
further down, stubs replaced by the real thing elsewhere in the file): what changed is the
function's signature or its body, and that is what the review checks (callers left in the old
form) need to see.

Across files (pair_across_files) the same reading is "removed" in one file and "added" in
another: QEMU moves code between files all the time (`gen_tb_start()` from a header into
translator.c, taking `uint32_t cflags` instead of the TranslationBlock; a target's ELF_ARCH from
elfload.c into its own target_elf.h; static helpers into a new file). Read as removed plus added,
the move hides a signature change from the caller checks, and a definition moved out of a .c
file that keeps its prototype reads as a body left behind.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from patchtool.models import FunctionChange
from patchtool.parse.cfragments import code_of
from patchtool.parse.cfuncs import signature_change
from patchtool.parse.difftext import FileDiff

# (path, "-" or "+") -> {line number on that side: text} of the lines a diff removes or adds
Lines = dict[tuple[str, str], dict[int, str]]


def pair_moves(changes: list[FunctionChange], lines: Lines | None = None) -> list[FunctionChange]:
    """Each function removed and added in the same file becomes one change at its new place:
    signature-changed when the signatures differ, else body-changed ("moved", and with the diff's
    ``lines`` ", unchanged" when its text moved word for word: _compare). A prototype
    removed by one hunk and added by another with other parameters is signature-changed too
    (`void AUD_set_volume_out(SWVoiceOut *, int, uint8_t, uint8_t);` dropped above a struct and
    declared below it taking a `Volume *`, sample S); one moved unchanged stays as it reads."""
    out = _pair(changes, "removed", "added", lines=lines)
    return _pair(out, "prototype-removed", "prototype-added", keep_same=True)


def _pair(
    changes: list[FunctionChange], gone: str, came: str, keep_same: bool = False, lines: Lines | None = None
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
            said = _compare(lines, removed[key], c, "moved") if lines is not None else ""
            detail = "moved" + (f", {said}" if said else "")
            out.append(changed[key] or replace(c, kind="body-changed", detail=detail))
    return out


# (the reading where a name goes, where it comes, the kind of its move) for each kind of name
_FAMILIES = (
    ("removed", "added", "moved"),
    ("prototype-removed", "prototype-added", "prototype-moved"),
    ("macro-removed", "macro-added", "macro-moved"),
    ("struct-removed", "struct-added", "struct-moved"),
)
_FROM = "moved from "


def moved_from(change: FunctionChange) -> str | None:
    """The file a cross-file move (pair_across_files) took ``change`` from, or None."""
    head, found, source = change.detail.rpartition(_FROM)
    lead = head.removesuffix("prototype ")  # "...; prototype moved from FILE": a prototype's
    return source.split(", ", 1)[0] if found and (not lead or lead.endswith("; ")) else None


def pair_across_files(
    changes: tuple[FunctionChange, ...], lines: Lines | None = None
) -> tuple[FunctionChange, ...]:
    """A name one patch removes from one file and adds to another, once each (a function, a
    prototype, a macro or a struct), is one entry at its new place, its detail saying where from:
    signature-changed when a function's or a prototype's signature differs (a prototype's detail
    ending "prototype moved from FILE"), else "moved" (or
    "prototype-moved", "macro-moved", "struct-moved"). A name removed or added more than once is
    left as it reads: which went where is not known. A removal the whole files find again (parse.
    cwhole.refine, which reads one file at a time) in the file an entry says it moved from is
    that move's, and dropped. With the diff's ``lines`` (changed_lines), a move that keeps its
    signature also says whether its text moved word for word (_compare)."""
    out = list(changes)
    for gone, came, kind in _FAMILIES:
        sources = {(moved_from(c), c.name) for c in out if c.kind in (kind, "signature-changed")}
        out = [c for c in out if not (c.kind == gone and (c.file, c.name) in sources)]
        removed: dict[str, list[FunctionChange]] = {}
        added: dict[str, list[FunctionChange]] = {}
        for c in out:
            if c.kind == gone:
                removed.setdefault(c.name, []).append(c)
            elif c.kind == came:
                added.setdefault(c.name, []).append(c)
        pairs = {
            name: (was[0], now[0])
            for name, was in removed.items()
            if len(was) == 1 and len(now := added.get(name, [])) == 1 and was[0].file != now[0].file
        }
        if pairs:
            out = [
                _moved(*pairs[c.name], kind, lines) if c.kind == came and c.name in pairs else c
                for c in out
                if not (c.kind == gone and c.name in pairs)
            ]
    return tuple(out)


def _moved(was: FunctionChange, now: FunctionChange, kind: str, lines: Lines | None) -> FunctionChange:
    old, new = was.old_signature, now.new_signature
    changed = signature_change(now.file, old, new, now.line) if old and new else None
    if changed is not None:  # a prototype's says so: signature-changed is a function's kind too
        what = "prototype " if kind == "prototype-moved" else ""
        return replace(changed, detail=f"{changed.detail}; {what}{_FROM}{was.file}")
    said = _compare(lines, was, now, kind) if lines is not None else ""
    detail = f"{_FROM}{was.file}" + (f", {said}" if said else "")
    return replace(now, kind=kind, old_signature=old, detail=detail)


def changed_lines(files: Iterable[FileDiff]) -> Lines:
    """The lines a diff removes and adds, by file, side and line number (on that side)."""
    out: Lines = {}
    for f in files:
        gone, came = out.setdefault((f.path, "-"), {}), out.setdefault((f.path, "+"), {})
        for h in f.hunk_texts:
            old, new = h.old_start, h.new_start
            for x in h.lines:
                if x.kind == "-":
                    gone[old] = x.text
                elif x.kind == "+":
                    came[new] = x.text
                old, new = old + (x.kind != "+"), new + (x.kind != "-")
    return out


def _compare(lines: Lines, was: FunctionChange, now: FunctionChange, kind: str) -> str:
    """ "unchanged" when the entity's lines moved word for word, "unchanged but for spacing" when
    only blanks and line breaks differ, "changed" otherwise; "" when either side is not whole
    among the lines the diff removes or adds (it starts before a hunk, or context cuts it)."""
    if was.line is None or now.line is None:
        return ""
    before = _entity(lines.get((was.file, "-"), {}), was.line, kind)
    after = _entity(lines.get((now.file, "+"), {}), now.line, kind)
    if before is None or after is None:
        return ""
    if [r.rstrip() for r in before] == [r.rstrip() for r in after]:
        return "unchanged"
    if "".join("".join(before).split()) == "".join("".join(after).split()):
        return "unchanged but for spacing"  # re-indented, or a line wrapped otherwise
    return "changed"


def _entity(side: dict[int, str], start: int, kind: str) -> list[str] | None:
    """The lines of the entity that starts at ``start`` on one side of the diff, read while they
    are changed lines: a macro to its last continued line, a prototype to its semicolon, a
    function or a struct to the brace that closes its body (and a struct to its semicolon)."""
    rows: list[str] = []
    depth, opened, line = 0, False, start
    while line in side:
        text = side[line]
        rows.append(text)
        line += 1
        if kind == "macro-moved":
            if not text.rstrip().endswith("\\"):
                return rows
            continue
        code = code_of(text)  # a string's or a comment's braces and semicolons are not the code's
        depth += code.count("{") - code.count("}")
        opened = opened or "{" in code
        if kind == "prototype-moved" and not opened and ";" in code:
            return rows
        if opened and depth <= 0 and (kind != "struct-moved" or ";" in code.rsplit("}", 1)[-1]):
            return rows
    return None
