"""Backport a series onto an older branch: map renamed paths, apply 3-way, say what was adapted.

A clean backport is not yet known to be right (an identifier may have been renamed in between), so
its status is "applied, not built" until the build stage has run on it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import posixpath
from collections.abc import Sequence
from typing import Any

from patchtool.apply.backbase import (
    UPSTREAM_GUESSES,
    base_from_blobs,
    existing,
    path_history,
    series_preimages,
    upstream_revs,
)
from patchtool.apply.backcheck import CODE as MISSING_CODE
from patchtool.apply.backcheck import NameOracle
from patchtool.apply.backresolve import resolve_conflicts
from patchtool.apply.backreview import review_backport
from patchtool.apply.backsites import DUPLICATE, ELSEWHERE
from patchtool.apply.engine import (
    ALREADY_APPLIED,
    ALREADY_IN_BASE,
    ApplyResult,
    PlannedPatch,
    choose_base,
    finish,
    run_patches,
    series_patches,
    short,
)
from patchtool.apply.upstreamed import HistoryNotes, applied_hints, conflict_hints
from patchtool.config import Settings
from patchtool.jsonable import record
from patchtool.models import Address, Finding, Patch, Revision, Series
from patchtool.parse.diffs import summarize_diff
from patchtool.parse.difftext import rewrite_paths, split_files, touched_paths
from patchtool.parse.trailers import commit_trailers
from patchtool.vcs.repo import GitRepo

NOT_BUILT = "applied, not built"


NEEDS_ADAPTATION = "applied, needs adaptation"


@record
class BackportResult(ApplyResult):
    """An ApplyResult with what a maintainer must look at: missing identifiers, missing files."""

    findings: tuple[Finding, ...] = ()
    source_base: str | None = None  # the commit the series was written against
    prerequisites: tuple[str, ...] = ()  # upstream commits the conflicts or findings point at


@record
class RenameMap:
    """Paths renamed between the target and the series' base: path (series) -> path (target).

    Directory moves apply only to files the series creates: a file it modifies either exists on the
    target (under its own name or a followed rename) or is missing there, never guessed.
    """

    files: dict[str, str]
    dirs: dict[str, str]
    created: frozenset[str] = frozenset()

    def map(self, path: str) -> str:
        if path in self.files:
            return self.files[path]
        parent, name = posixpath.split(path)
        if path in self.created and parent in self.dirs:
            return posixpath.join(self.dirs[parent], name)
        return path


def _changed_and_created(series: Series) -> tuple[set[str], set[str]]:
    changed: set[str] = set()
    created: set[str] = set()
    for patch in series.revision.patches:
        for f in split_files(patch.diff):
            if f.old_path and f.old_path not in created:
                changed.add(f.old_path)
            elif f.old_path is None and f.new_path:
                created.add(f.new_path)
    return changed, created


def find_renames(
    repo: GitRepo, target: str, source_base: str, series: Series
) -> tuple[RenameMap, tuple[str, ...]]:
    """Each touched path's name on the target (its own history), and git's warnings as notes."""
    changed, created = _changed_and_created(series)
    history = path_history(repo, target, source_base, changed, created)
    return RenameMap(history.files, history.dirs, frozenset(created)), history.notes


def _plan(patch: Patch, renames: RenameMap, source_commit: str | None) -> PlannedPatch:
    paths = sorted(touched_paths(patch.diff))
    moved = {p: q for p in paths if (q := renames.map(p)) != p}
    diff = rewrite_paths(patch.diff, lambda p: moved.get(p, p)) if moved else patch.diff
    notes = tuple(f"renamed path: {p} -> {q}" for p, q in sorted(moved.items()))
    if source_commit:
        extra: tuple[str, ...] = (f"(cherry picked from commit {source_commit})",)
    else:
        real = patch.msgid and not patch.msgid.endswith(".invalid")  # not a made-up id
        extra = (f"Message-Id: <{patch.msgid}>",) if real else ()
    return PlannedPatch(patch, diff, extra, notes, source_commit, fuzz=True)


def source_base_of(
    repo: GitRepo,
    series: Series,
    settings: Settings,
    target: str,
    source_commits: Sequence[str] | None,
    written_against: str | None,
) -> tuple[str, str]:
    """The commit the series was written against, and how that is known."""
    if source_commits:
        return repo.rev_parse(f"{source_commits[0]}^"), f"the parent of {short(source_commits[0])}"
    if written_against:
        return repo.rev_parse(written_against), f"--from {written_against}"
    return guess_source_base(repo, series, settings, target)


def backport_series(
    repo: GitRepo,
    series: Series,
    settings: Settings,
    *,
    onto: str,
    source_commits: Sequence[str] | None = None,
    branch: str | None = None,
    force: bool = False,
    worktree: bool = False,
    signoff: bool = False,
    written_against: str | None = None,
    oracle: NameOracle | None = None,
) -> BackportResult:
    """Apply the series onto `onto`, mapping renamed paths first; conflicts give status "conflict".

    With `signoff`, each commit also gets the backporter's Signed-off-by (as stable trees want).
    """
    target = repo.rev_parse(onto)
    patches = series_patches(series)
    source_base, why = source_base_of(repo, series, settings, target, source_commits, written_against)
    renames, notes = find_renames(repo, target, source_base, series)
    commits: list[str | None] = list(source_commits) if source_commits else [None] * len(patches)
    planned = [_plan(p, renames, c) for p, c in zip(patches, commits, strict=True)]
    if signoff:
        ident = repo.out("var", "GIT_COMMITTER_IDENT").rsplit(" ", 2)[0]
        planned = [
            dataclasses.replace(p, extra_lines=(*p.extra_lines, f"Signed-off-by: {ident}")) for p in planned
        ]
    outcomes, head = run_patches(repo, settings, target, planned, skip_applied=True)
    if any(o.status == "conflict" for o in outcomes):
        planned, outcomes, head = resolve_conflicts(repo, settings, target, planned, outcomes, head)
    reference = source_base if source_base != target else upstream_reference(repo, target)
    checked = review_backport(
        repo,
        planned,
        outcomes,
        onto=onto,
        target=target,
        source_base=reference,
        oracle=oracle,
        written_on_target=source_base == target,
    )
    conflict = any(o.status == "conflict" for o in checked.outcomes)
    missing = any(f.code in (MISSING_CODE, ELSEWHERE, DUPLICATE) for f in checked.findings)
    status = "conflict" if conflict else (NEEDS_ADAPTATION if missing else NOT_BUILT)
    if all(o.status == ALREADY_APPLIED for o in checked.outcomes):
        status, head = ALREADY_IN_BASE, target  # the branch has every change already: no commit made
    history = HistoryNotes()
    already = {o.index for o in checked.outcomes if o.status == ALREADY_APPLIED}
    if already:
        history = conflict_hints(repo, series, patches, target, onto, conflict=False, already=already)
    elif not conflict:  # the branch took the fix once and reverted it, or has its title already
        history = applied_hints(repo, patches, target, onto)
    result = BackportResult(
        base=target,
        base_label=onto,
        base_reason=f"--onto {onto} (series written against {short(source_base)}: {why})",
        patches=checked.outcomes,
        head=head,
        status=status,
        adaptations=tuple(dict.fromkeys([*notes, *(a for o in checked.outcomes for a in o.adaptations)])),
        findings=checked.findings,
        source_base=source_base,
        prerequisites=checked.prerequisites,
        hints=history.hints,
        landed=history.landed,
    )
    return _finish(repo, settings, result, branch, force, worktree)


def backport_with_prerequisites(
    repo: GitRepo, series: Series, settings: Settings, *, onto: str, **options: Any
) -> BackportResult:
    """Backport the series; when it conflicts or needs adaptation and points at upstream commits, backport
    those first (in upstream order, each listed as a dependency) and the series on top of them."""
    branch, force, worktree = (
        options.pop("branch", None),
        options.pop("force", False),
        options.pop("worktree", False),
    )
    first = backport_series(repo, series, settings, onto=onto, **options)
    if first.status not in ("conflict", NEEDS_ADAPTATION) or not first.prerequisites:
        return _finish(repo, settings, first, branch, force, worktree)
    shas = list(first.prerequisites)
    signoff = bool(options.get("signoff", False))
    before = backport_series(
        repo, series_from_commits(repo, shas), settings, onto=onto, source_commits=shas, signoff=signoff
    )
    if not before.ok or before.head is None:
        note = f"prerequisites {', '.join(short(s) for s in shas)} do not apply to {onto} either"
        return dataclasses.replace(first, adaptations=(*first.adaptations, note), dependencies=(before,))
    options.setdefault("written_against", first.source_base)
    second = backport_series(repo, series, settings, onto=before.head, **options)
    listed = ", ".join(short(s) for s in shas)
    result = dataclasses.replace(
        second,
        base=first.base,
        base_label=onto,
        base_reason=f"{first.base_reason}; prerequisites backported first: {listed}",
        dependencies=(before,),
    )
    return _finish(repo, settings, result, branch, force, worktree)


def _finish(
    repo: GitRepo, settings: Settings, result: BackportResult, branch: str | None, force: bool, worktree: bool
) -> BackportResult:
    finished = finish(repo, settings, result, branch=branch, force=force, worktree=worktree)
    assert isinstance(finished, BackportResult)
    return finished


def upstream_reference(repo: GitRepo, target: str) -> str:
    """What the missing-identifier check compares with when the target itself holds the preimage
    blobs (the files did not change in between, but the names the patch uses may have): the first
    likely upstream branch that is not already in the target."""
    for sha in upstream_revs(repo):
        if not repo.is_ancestor(sha, target):
            return sha
    return target


def guess_source_base(repo: GitRepo, series: Series, settings: Settings, target: str) -> tuple[str, str]:
    """The commit the series was written against: its stated base (base-commit:, patchew's), else the
    commit whose tree holds the patch's preimage blobs, else a stated guess: the first likely upstream
    branch holding every file the first patch changes (HEAD may well be the stable branch itself)."""
    choice = choose_base(repo, series, settings)
    if not choice.reason.startswith("the repository's HEAD"):
        return choice.sha, choice.reason
    revs = upstream_revs(repo)
    pres = series_preimages(series)
    found = base_from_blobs(repo, target, pres, revs)
    if found:
        return found, f"the commit holding the {len(pres)} preimage blob(s) of its index lines"
    first = series.revision.patches[0]
    paths = sorted({f.old_path for f in split_files(first.diff) if f.old_path})
    for rev in UPSTREAM_GUESSES:
        sha = repo.try_rev_parse(rev)
        if sha and len(existing(repo, sha, paths)) == len(paths):
            return (
                sha,
                f"a guess: {rev}, the first of {', '.join(UPSTREAM_GUESSES)} with the files it changes",
            )
    return choice.sha, f"a guess: {choice.reason}"


def commit_range(repo: GitRepo, source: str) -> list[str] | None:
    """The commits SOURCE names in the repository (`A..B` or one commit), oldest first; else None."""
    if ".." in source:
        done = repo.git("rev-list", "--reverse", "--no-merges", source, "--", check=False)
        shas = done.text().split() if done.ok else []
        return shas or None
    sha = repo.try_rev_parse(source)
    return [sha] if sha else None


def _commit_patch(repo: GitRepo, sha: str, index: int, total: int) -> Patch:
    fields = repo.out("show", "-s", "--format=%an%x00%ae%x00%aI%x00%s%x00%b", sha, "--")
    name, email, date, title, body = fields.split("\0", 4)
    diff = repo.git("diff-tree", "-p", "--binary", "-M", "--no-commit-id", f"{sha}^", sha).text()
    return Patch(
        msgid="",
        index=index,
        total=total,
        subject=title,
        title=title,
        author=Address(name, email),
        date=dt.datetime.fromisoformat(date),
        message=body,
        trailers=commit_trailers(body),
        review_trailers=(),
        notes="",
        diffstat=(),
        diff=diff,
        summary=summarize_diff(diff),
    )


def series_from_commits(repo: GitRepo, shas: Sequence[str]) -> Series:
    """A series made of existing commits (the source of a `git cherry-pick -x` style backport)."""
    patches = tuple(_commit_patch(repo, sha, i, len(shas)) for i, sha in enumerate(shas, 1))
    revision = Revision(1, ("PATCH",), len(patches), None, patches, (), ())
    return Series(title=patches[0].title, revisions=(revision,), chosen=1, findings=())


def after_build(result: ApplyResult, built: bool) -> ApplyResult:
    """The backport's status once the build stage has run on it ("applied, built" or "build failed")."""
    if result.status != NOT_BUILT:
        return result
    return dataclasses.replace(result, status="applied, built" if built else "applied, build failed")
