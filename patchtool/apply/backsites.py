"""Where a backported hunk landed: in the function it changes upstream, and in every copy of it.

A hunk can apply cleanly (or merge three ways) in the wrong place when the lines it changes occur
more than once on the older branch. QEMU's stable-2.10 had the same `rawoutput.offset` test in the
websocket source's prepare, check and dispatch callbacks; upstream had consolidated them, and its
fix changed the one in `qio_channel_websock_source_check`. Applied to stable-2.10, the merge
changed the first copy, in `..._prepare`, and left the other two; the stable maintainer changed all
three. Two warnings say so:

* ``backport-hunk-elsewhere``: the hunk's added lines landed in a function other than the one it
  changes upstream, though the target has that function too;
* ``backport-duplicate-site``: the lines the hunk removes occur more often in the file on the target
  than in the upstream preimage (from the patch's index line), and the patch changes every copy
  upstream has: the other copies may need the fix.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from patchtool.apply.backcheck import _C_FILE
from patchtool.apply.backscope import definitions, file_at, own_diff
from patchtool.models import Finding
from patchtool.parse.cparser import parser
from patchtool.parse.difftext import FileDiff, HunkText, split_files
from patchtool.vcs.repo import GitRepo

ELSEWHERE = "backport-hunk-elsewhere"
DUPLICATE = "backport-duplicate-site"
_OBJECT_ID = re.compile(r"[0-9a-f]{4,64}")
_DISTINCT = 24  # a removed block counts as one site only when a row holds this many non-blank characters


def _functions(source: bytes) -> list[tuple[str, int, int]]:
    """(name, first row, last row) of each function definition, inside `#if` blocks too."""
    root = parser().parse(source).root_node
    return [(name, node.start_point[0], node.end_point[0]) for name, node in definitions(root)]


def _enclosing(functions: Sequence[tuple[str, int, int]], row: int) -> str | None:
    inside = [(end - start, name) for name, start, end in functions if start <= row <= end]
    return min(inside)[1] if inside else None


class _Rows:
    """A file's rows, spaces squeezed, the non-blank ones indexed by their text (a block is looked
    for where its first row is, not at every row: xtensa's 6,384-row generated core took 13 s)."""

    def __init__(self, text: bytes) -> None:
        rows = [" ".join(r.split()) for r in text.decode("utf-8", "surrogateescape").split("\n")]
        self.kept = [(i, r) for i, r in enumerate(rows) if r]
        self.at: dict[str, list[int]] = {}
        for k, (_, r) in enumerate(self.kept):
            self.at.setdefault(r, []).append(k)

    def occurrences(self, block: Sequence[str]) -> list[int]:
        """The rows where `block` starts (blank rows in the file are skipped over)."""
        if not block:
            return []
        size, wanted = len(block), list(block)
        starts = self.at.get(block[0], [])
        return [self.kept[k][0] for k in starts if [r for _, r in self.kept[k : k + size]] == wanted]


def _removed_run(hunk: HunkText) -> tuple[list[str], int]:
    """The hunk's longest run of removed rows (between two context rows), blanks dropped and spaces
    squeezed, to be looked for in a file; and the old file's row (0-based) where it starts."""
    runs: list[tuple[list[str], int]] = [([], 0)]
    row = hunk.old_start - 1
    for x in hunk.lines:
        if x.kind == "-":
            if not runs[-1][0]:
                runs[-1] = ([], row)
            if x.text.strip():
                runs[-1][0].append(" ".join(x.text.split()))
        elif x.kind == " " and runs[-1][0]:
            runs.append(([], 0))
        row += x.kind != "+"
    return max(runs, key=lambda run: len(run[0]))


def _preimage(repo: GitRepo, fd: FileDiff) -> bytes | None:
    """The file the upstream patch was written against, by its index line's blob (when the
    repository holds it)."""
    for header in fd.headers:
        if header.startswith("index "):
            blob = header.split()[1].split("..")[0] if len(header.split()) > 1 else ""
            # the mail's text: only an object id (abbreviated) reaches git, never an option
            if _OBJECT_ID.fullmatch(blob) and blob.strip("0"):
                shown = repo.git("cat-file", "blob", blob, check=False)
                return shown.stdout if shown.ok else None
    return None


def landing_sites(
    repo: GitRepo,
    commit: str,
    diff: str,
    onto: str,
    patch: str | None,
    base_path: Callable[[str], str],
    made: str | None = None,
) -> list[Finding]:
    """Warnings for the hunks of the series' ``diff`` that ``commit`` (the backport, against its
    parent) placed in another function than upstream, or in one of several copies of their lines."""
    made = own_diff(repo, commit) if made is None else made
    targets = {base_path(fd.path): fd for fd in split_files(made) if fd.path}
    found: list[Finding] = []
    for fd in split_files(diff):
        mine = targets.get(fd.path)
        if mine is None or fd.old_path is None or not _C_FILE.search(mine.path):
            continue
        path = mine.path
        preimage, before = _preimage(repo, fd), file_at(repo, f"{commit}^", path)
        if preimage is None or before is None:
            continue  # without the file upstream changed, nothing here is known for sure
        # the rows the backport removed (0-based, in the target's file): a copy of the removed
        # lines that it left in place is no landing site
        gone = {h.old_start - 1 + i for h in mine.hunk_texts for i in range(h.old_lines)}
        theirs_rows, theirs_functions = _Rows(preimage), _functions(preimage)
        rows, functions = _Rows(before), _functions(before)
        names = {name for name, _, _ in functions}
        runs = [_removed_run(hunk) for hunk in fd.hunk_texts]
        for number, (removed, near) in enumerate(runs, 1):
            if not removed:
                continue
            upstream = theirs_rows.occurrences(removed)
            sites = rows.occurrences(removed)
            landed = [row for row in sites if row in gone]
            if upstream and landed:
                theirs = _enclosing(theirs_functions, min(upstream, key=lambda row: abs(row - near)))
                here = {_enclosing(functions, row) for row in landed}
                if theirs in names and theirs not in here and None not in here:
                    landed_in = ", ".join(sorted(h or "" for h in here))
                    found.append(Finding(
                        "warning", ELSEWHERE,
                        f"{path}: hunk {number} changes {landed_in}() on {onto};"
                        f" upstream it changes {theirs}(), which {onto} has too",
                        patch=patch, file=path, line=landed[0] + 1,
                    ))  # fmt: skip
            # only when the fix changes every copy upstream has: one it left alone upstream (2 of
            # 18 copies of an assertion in stable-1.3's tests/test-aio.c) was left on purpose, and
            # the target's extra copies are no news
            every = len(upstream) <= sum(run == removed for run, _ in runs)
            if every and len(sites) > len(upstream) and max(len(r) for r in removed) >= _DISTINCT:
                where = [_enclosing(functions, row) or f"line {row + 1}" for row in sites]
                found.append(Finding(
                    "warning", DUPLICATE,
                    f"{path}: the lines hunk {number} changes occur {len(sites)} times on {onto}"
                    f" ({', '.join(where)}), {len(upstream)} upstream; the fix may be needed in each copy",
                    patch=patch, file=path,
                ))  # fmt: skip
    return found
