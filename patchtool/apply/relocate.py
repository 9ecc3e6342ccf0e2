"""Conflict handling beyond cherry-pick: place a hunk whose context changed or moved on the target.

When the 3-way merge fails, a hunk's own change is often intact on the target and only its context
differs (a neighbouring line renamed, code moved within the file). Each hunk of a conflicting file is
placed, in order of preference:
  1. where its removed lines (with the lines between them) occur exactly once;
  2. the same after undoing identifier renames made between the base and the target (`cmd` on the
     base is `command` on the target: the patch's lines are translated, added lines too);
  3. for a pure insertion, after its preceding context lines, searched inside its enclosing function
     on the target (tree-sitter finds the function the hunk header names), when they occur once there.
Every placement is reported; a hunk that cannot be placed leaves the conflict as it was.
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections import Counter
from collections.abc import Sequence

from patchtool.jsonable import record
from patchtool.parse.cparser import parser, top_level

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)$")
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\S")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{2,}$")
_CALLED = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(")


@record
class Hunk:
    old_start: int
    section: str
    lines: tuple[str, ...]  # with their ' ', '-', '+' prefix

    @property
    def old(self) -> list[str]:
        return [line[1:] for line in self.lines if line[:1] in (" ", "-")]

    @property
    def new(self) -> list[str]:
        return [line[1:] for line in self.lines if line[:1] in (" ", "+")]


def parse_hunks(section: str) -> list[Hunk] | None:
    """The hunks of one file's part of a diff; None for binary or mode-only parts."""
    hunks: list[Hunk] = []
    current: list[str] = []
    start, title = 0, ""
    for line in section.splitlines():
        if m := _HUNK.match(line):
            if current:
                hunks.append(Hunk(start, title, tuple(current)))
            start, title, current = int(m.group(1)), m.group(5), []
        elif hunks or current or start:
            if line.startswith("\\"):
                return None  # "\ No newline at end of file": leave such files to git
            current.append(line if line else " ")
    if current:
        hunks.append(Hunk(start, title, tuple(current)))
    return hunks or None


def _core(hunk: Hunk) -> tuple[list[str], list[str], int, int]:
    """The changed part of a hunk (first to last changed line): its old and new lines, and how many
    context lines precede and follow it."""
    changed = [i for i, line in enumerate(hunk.lines) if line[:1] in ("-", "+")]
    first, last = changed[0], changed[-1]
    body = hunk.lines[first : last + 1]
    old = [line[1:] for line in body if line[:1] in (" ", "-")]
    new = [line[1:] for line in body if line[:1] in (" ", "+")]
    return old, new, first, len(hunk.lines) - last - 1


def _find(lines: Sequence[str], block: Sequence[str], lo: int = 0, hi: int | None = None) -> list[int]:
    """Where `block` occurs in lines[lo:hi] (exactly, else ignoring whitespace)."""
    hi = len(lines) if hi is None else hi
    for norm in (lambda s: s, lambda s: " ".join(s.split())):
        want = [norm(b) for b in block]
        found = [
            i for i in range(lo, hi - len(block) + 1) if [norm(x) for x in lines[i : i + len(block)]] == want
        ]
        if found:
            return found
    return []


def renames_between(base: Sequence[str], target: Sequence[str]) -> dict[str, str]:
    """Identifier renames from the base's text to the target's: tokens that differ, one for one, in
    lines that otherwise match, and always the same way."""
    seen: Counter[tuple[str, str]] = Counter()
    matcher = difflib.SequenceMatcher(None, base, target, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op != "replace" or a2 - a1 != b2 - b1:
            continue
        for old, new in zip(base[a1:a2], target[b1:b2], strict=True):
            ta, tb = _TOKEN.findall(old), _TOKEN.findall(new)
            if len(ta) == len(tb):
                pairs = [(x, y) for x, y in zip(ta, tb, strict=True) if x != y]
                if len(pairs) == 1 and _IDENT.match(pairs[0][0]) and _IDENT.match(pairs[0][1]):
                    seen[pairs[0]] += 1
    mapping: dict[str, str] = {}
    for (old, new), _count in seen.most_common():
        if old not in mapping and new not in mapping.values():
            mapping[old] = new
    return mapping


def _translate(lines: Sequence[str], mapping: dict[str, str]) -> list[str]:
    if not mapping:
        return list(lines)
    pattern = re.compile(r"\b(" + "|".join(re.escape(k) for k in mapping) + r")\b")
    return [pattern.sub(lambda m: mapping[m.group(1)], line) for line in lines]


def function_span(lines: Sequence[str], name: str) -> tuple[int, int] | None:
    """The lines (start, end) of the C function `name` in a file, found by tree-sitter (also inside
    `#ifdef` blocks); None when the file defines it more than once (`#if` and `#else` variants):
    which of them a hunk meant is not for us to guess."""
    tree = parser().parse("\n".join(lines).encode("utf-8", "surrogateescape"))
    spans = []
    for node in top_level(tree.root_node):
        if node.type != "function_definition":
            continue
        declarator = node.child_by_field_name("declarator")
        while declarator is not None and declarator.type != "function_declarator":
            declarator = declarator.child_by_field_name("declarator")
        ident = declarator.child_by_field_name("declarator") if declarator is not None else None
        if ident is not None and ident.text and ident.text.decode() == name:
            spans.append((node.start_point[0], node.end_point[0] + 1))
    return spans[0] if len(spans) == 1 else None


@record
class Placement:
    at: int  # index in the target's lines where the replaced block starts
    length: int  # how many target lines it replaces
    new: list[str]
    how: str


def place(hunk: Hunk, target: Sequence[str], mapping: dict[str, str]) -> Placement | None:
    """Where and how a hunk goes on the target's text, if it can be placed without doubt."""
    old, new, _before, _after = _core(hunk)
    if any(line[:1] == "-" for line in hunk.lines):
        for table, how in (({}, "at its removed lines"), (mapping, "after undoing renames")):
            if table is mapping and not mapping:
                continue
            old_t, new_t = _translate(old, table), _translate(new, table)
            spots = _find(target, old_t)
            if len(spots) == 1:
                return Placement(spots[0], len(old_t), new_t, how)
        return None
    return _place_insertion(hunk, target, mapping)


def _place_insertion(hunk: Hunk, target: Sequence[str], mapping: dict[str, str]) -> Placement | None:
    """A pure insertion goes after its preceding context lines, inside its enclosing function."""
    first = next(i for i, line in enumerate(hunk.lines) if line[:1] == "+")
    anchor = [line[1:] for line in hunk.lines[max(0, first - 2) : first]]
    if not anchor or not any(a.strip() for a in anchor):
        return None
    added = _translate([line[1:] for line in hunk.lines if line[:1] == "+"], mapping)
    called = _CALLED.findall(hunk.section)
    span = function_span(target, called[0]) if called else None
    lo, hi = span if span else (0, len(target))
    spots = _find(target, _translate(anchor, mapping), lo, hi)
    if len(spots) != 1:
        return None
    where = f"in {called[0]}()" if span else "after its context"
    return Placement(spots[0] + len(anchor), 0, added, f"inserted {where}")


def relocate_file(
    hunks: Sequence[Hunk], target: Sequence[str], base: Sequence[str] | None
) -> tuple[list[str], list[str]] | None:
    """The target's lines with every hunk placed, and what was done; None if a hunk cannot be placed."""
    mapping = renames_between(base, target) if base is not None else {}
    placements: list[Placement] = []
    for hunk in hunks:
        spot = place(hunk, target, mapping)
        if spot is None:
            return None
        placements.append(spot)
    ordered = sorted(placements, key=lambda p: p.at)
    for a, b in itertools.pairwise(ordered):
        if a.at + a.length > b.at:
            return None  # two hunks claim the same lines
    lines = list(target)
    for p in reversed(ordered):
        lines[p.at : p.at + p.length] = p.new
    used = {k: v for k, v in mapping.items() if any(k in line for h in hunks for line in h.lines)}
    notes = [f"hunk {i + 1} placed {p.how}" for i, p in enumerate(placements)]
    notes += [
        f"renamed on the target: {k} -> {v}"
        for k, v in sorted(used.items())
        if any(p.how == "after undoing renames" or p.how.startswith("inserted") for p in placements)
    ]
    return lines, notes
