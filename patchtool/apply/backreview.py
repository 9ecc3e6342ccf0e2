"""What a backport's outcome means for a maintainer: missing files, missing identifiers, prerequisites.

Runs after the patches were applied to the target: a conflict on a file the target does not have
says so and names the upstream commit that created it; a clean patch is checked for names the target
lacks (backcheck); the upstream commits behind both are offered as prerequisites.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Sequence

from patchtool.apply.backbase import added_by, existing
from patchtool.apply.backcheck import NameOracle, finding, missing_uses
from patchtool.apply.backresolve import RELOCATED
from patchtool.apply.backscope import out_of_scope, own_diff
from patchtool.apply.backsites import landing_sites
from patchtool.apply.engine import PatchApplyOutcome, PlannedPatch
from patchtool.jsonable import record
from patchtool.models import Finding
from patchtool.parse.difftext import split_files
from patchtool.vcs.repo import GitRepo

MISSING_FILE = "backport-missing-file"
RELOCATED_CODE = "backport-relocated-hunk"
_OLD_RANGE = re.compile(r"^@@ -(\d+)(?:,(\d+))? ")
_BLAME_HEADER = re.compile(r"^[0-9a-f]{40} \d+ \d+")
_MAX_PREREQUISITES = 5


@record
class Reviewed:
    outcomes: tuple[PatchApplyOutcome, ...]
    findings: tuple[Finding, ...]
    prerequisites: tuple[str, ...]  # upstream shas, oldest first


def _missing_files(
    repo: GitRepo, outcome: PatchApplyOutcome, planned: PlannedPatch, onto: str, target: str, base: str
) -> tuple[PatchApplyOutcome, list[Finding], list[str]]:
    """Name each conflicting file the target lacks, and the upstream commit that added it."""
    files = [c.file for c in outcome.conflicts]
    created = {f.new_path for f in split_files(planned.diff) if f.old_path is None}
    absent = [f for f in dict.fromkeys(files) if f not in created and f not in existing(repo, target, [f])]
    notes: list[str] = []
    findings: list[Finding] = []
    shas: list[str] = []
    for path in absent:
        origin = added_by(repo, base, path)
        said = f"added by upstream commit {origin[0][:12]} '{origin[1]}'?" if origin else "not found upstream"
        if origin:
            shas.append(origin[0])
        notes.append(f"{path} does not exist on {onto}: {said}")
        where = f"{outcome.index}/{outcome.total}"
        findings.append(Finding("error", MISSING_FILE, notes[-1], patch=where, file=path))
    changed = dataclasses.replace(outcome, adaptations=(*outcome.adaptations, *notes))
    return changed, findings, shas


def _base_path(planned: PlannedPatch, path: str) -> str:
    """The series' own name for a path the backport renamed (from its "renamed path:" notes)."""
    for note in planned.adaptations:
        old, arrow, new = note.removeprefix("renamed path: ").partition(" -> ")
        if arrow and new == path:
            return old
    return path


def conflict_prerequisites(
    repo: GitRepo, outcome: PatchApplyOutcome, planned: PlannedPatch, target: str, base: str
) -> list[str]:
    """The upstream commits (not on the target) that last changed the lines a conflicting hunk
    expected: `git blame` of the hunk's old range at the series' base."""
    shas: list[str] = []
    for conflict in outcome.conflicts:
        m = _OLD_RANGE.match(conflict.hunk)
        if not m:
            continue
        start, length = int(m.group(1)), int(m.group(2) or 1)
        if length == 0:
            continue
        done = repo.git(
            "blame",
            "--porcelain",
            "-L",
            f"{start},+{length}",
            base,
            "--",
            _base_path(planned, conflict.file),
            check=False,
        )
        shas += [line[:40] for line in done.text().splitlines() if _BLAME_HEADER.match(line)]
    unique = list(dict.fromkeys(shas))
    return [sha for sha in unique if not repo.is_ancestor(sha, target)][:_MAX_PREREQUISITES]


def review_backport(
    repo: GitRepo,
    planned: Sequence[PlannedPatch],
    outcomes: Sequence[PatchApplyOutcome],
    *,
    onto: str,
    target: str,
    source_base: str,
    oracle: NameOracle | None = None,
    written_on_target: bool = False,
) -> Reviewed:
    """Missing files on conflicts; missing identifiers, names a function lacks on the target
    (backscope), and hunks placed in another function or in one of several copies of their lines
    (backsites), on applied patches; their upstream commits.

    ``written_on_target``: the target holds the series' preimage blobs, so the functions its hunks
    land in are the very ones it was written in (``source_base`` is then a later upstream, for the
    names other files define): backscope has nothing to compare, and a later upstream's function
    (stable-2.1's pc_dimm_realize, which gained a local nb_numa_nodes years after the fix that
    uses the global) would make it warn about a name the patch never took from there."""
    reviewed: list[PatchApplyOutcome] = []
    findings: list[Finding] = []
    shas: list[str] = []
    for item, outcome in zip(planned, outcomes, strict=True):
        where = f"{outcome.index}/{outcome.total}"
        if outcome.status == "conflict":
            outcome, said, origins = _missing_files(repo, outcome, item, onto, target, source_base)
            findings += said
            shas += origins
            shas += conflict_prerequisites(repo, outcome, item, target, source_base)
        elif outcome.status != "skipped":
            findings += _relocations(outcome)
            for missing in missing_uses(repo, item.diff, target, source_base, item.patch.title, oracle):
                findings.append(finding(missing, onto, where))
                if missing.commit and not missing.external:  # a library's first caller is no prerequisite
                    shas.append(missing.commit[0])
            if outcome.commit:
                base_path = functools.partial(_base_path, item)
                made = own_diff(repo, outcome.commit)  # read once for both checks
                if not written_on_target:
                    findings += out_of_scope(repo, outcome.commit, source_base, onto, where, base_path, made)
                findings += landing_sites(repo, outcome.commit, item.diff, onto, where, base_path, made)
        reviewed.append(outcome)
    return Reviewed(tuple(reviewed), tuple(findings), _oldest_first(repo, shas))


def _relocations(outcome: PatchApplyOutcome) -> list[Finding]:
    """A hunk placed away from where git would put it is an adaptation to check, never silent."""
    moved = [a.removeprefix(RELOCATED) for a in outcome.adaptations if a.startswith(RELOCATED)]
    if not moved:
        return []
    where = f"{outcome.index}/{outcome.total}"
    text = "; ".join(moved)
    return [Finding("warning", RELOCATED_CODE, f"conflict resolved, check the result: {text}", patch=where)]


def _oldest_first(repo: GitRepo, shas: Sequence[str]) -> tuple[str, ...]:
    unique = list(dict.fromkeys(shas))
    if len(unique) < 2:
        return tuple(unique)
    listing = repo.out("rev-list", "--topo-order", "--reverse", "--no-walk", *unique)
    return tuple(listing.split())
