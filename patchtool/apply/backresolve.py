"""Resolve a backport's conflicts that git leaves: relocate hunks (relocate.py) and apply again.

The engine stops at the first conflicting patch; here that patch's conflicting files are rewritten
against the tree the patch was applied to (each hunk placed by relocate.py), and the run resumes
from that patch. Nothing is guessed silently: each placement is an adaptation note, and the review
turns it into a warning.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Sequence

from patchtool.apply.engine import PatchApplyOutcome, PlannedPatch, run_patches
from patchtool.apply.relocate import parse_hunks, relocate_file
from patchtool.config import Settings
from patchtool.parse.difftext import split_files
from patchtool.vcs.repo import GitRepo

RELOCATED = "relocated: "
_INDEX = re.compile(r"^index ([0-9a-f]+)\.\.", re.MULTILINE)


def sections(diff: str) -> list[str]:
    """A diff cut into one text per file (each starting at its `diff --git` line)."""
    parts: list[str] = []
    for line in diff.splitlines(keepends=True):
        if line.startswith("diff --git ") or not parts:
            parts.append(line)
        else:
            parts[-1] += line
    return parts


def _blob_lines(repo: GitRepo, spec: str) -> list[str] | None:
    done = repo.git("cat-file", "-p", spec, check=False)
    if not done.ok:
        return None
    text = done.stdout.decode("utf-8", "surrogateescape")
    return text.splitlines() if text.endswith("\n") or not text else None


def _rewrite_section(repo: GitRepo, section: str, path: str, parent: str) -> tuple[str, list[str]] | None:
    hunks = parse_hunks(section)
    target = _blob_lines(repo, f"{parent}:{path}")
    if not hunks or target is None:
        return None
    pre = _INDEX.search(section)
    base = _blob_lines(repo, pre.group(1)) if pre and pre.group(1).strip("0") else None
    placed = relocate_file(hunks, target, base)
    if placed is None:
        return None
    lines, notes = placed
    body = difflib.unified_diff(
        [f"{x}\n" for x in target], [f"{x}\n" for x in lines], f"a/{path}", f"b/{path}", n=3
    )
    text = f"diff --git a/{path} b/{path}\n" + "".join(body)
    return text, [f"{RELOCATED}{path}: {note}" for note in notes]


def relocated_patch(
    repo: GitRepo, item: PlannedPatch, outcome: PatchApplyOutcome, parent: str
) -> PlannedPatch | None:
    """The patch with its conflicting files rewritten against `parent`, or None if one cannot be."""
    files = set(dict.fromkeys(c.file for c in outcome.conflicts))
    parts = sections(item.diff)
    notes: list[str] = []
    for i, part in enumerate(parts):
        found = split_files(part)
        path = found[0].new_path if found else None
        if path is None or path not in files:
            continue
        rewritten = _rewrite_section(repo, part, path, parent)
        if rewritten is None:
            return None
        parts[i], said = rewritten
        notes += said
        files.discard(path)
    if files or not notes:
        return None
    return dataclasses.replace(item, diff="".join(parts), adaptations=(*item.adaptations, *notes), fuzz=False)


def resolve_conflicts(
    repo: GitRepo,
    settings: Settings,
    target: str,
    planned: Sequence[PlannedPatch],
    outcomes: Sequence[PatchApplyOutcome],
    head: str | None,
) -> tuple[list[PlannedPatch], tuple[PatchApplyOutcome, ...], str | None]:
    """Relocate the first conflicting patch's hunks and resume; repeat while that helps."""
    plan, done = list(planned), tuple(outcomes)
    for _ in range(len(plan)):
        k = next((i for i, o in enumerate(done) if o.status == "conflict"), None)
        if k is None:
            break
        parent = next((o.commit for o in reversed(done[:k]) if o.commit), target)
        fixed = relocated_patch(repo, plan[k], done[k], parent)
        if fixed is None:
            break
        again, new_head = run_patches(repo, settings, parent, [fixed, *plan[k + 1 :]], skip_applied=True)
        if again[0].status == "conflict":
            break
        plan[k] = fixed
        done = (*done[:k], *again)
        head = new_head or head
    return plan, done, head
