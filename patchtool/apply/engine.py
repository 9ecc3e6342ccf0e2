"""Apply a series with `git am -3` semantics in a place owned by the tool: Series -> ApplyResult.

Commits are made from a temporary index (`read-tree`, `apply --cached [--3way]`, `write-tree`,
`commit-tree`), so the user's HEAD, index, work tree, stash and branches are never touched, and a
work tree is checked out (reused) only when a later stage needs files on disk (`materialize`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

from patchtool.apply.commitmsg import patch_message
from patchtool.apply.patches import Conflict, StepOutcome, git_date, temp_index
from patchtool.apply.pathguard import check_paths
from patchtool.apply.upstreamed import Landed, applied_hints, conflict_hints
from patchtool.config import Settings
from patchtool.errors import InputError, PatchtoolError, UsageError, VerdictError
from patchtool.jsonable import record
from patchtool.models import Patch, Series
from patchtool.parse.diffs import diff_bytes
from patchtool.parse.difftext import touched_paths
from patchtool.vcs.repo import GitRepo
from patchtool.vcs.worktrees import ensure_worktree, locked, worktree_listing, worktree_path

ResolveBasedOn = Callable[[str], Series]
_MAX_DEPENDENCY_DEPTH = 5


@record
class PatchApplyOutcome:
    """What happened to one patch: "clean", "3way", "fuzz" (backports only), "conflict", or "skipped"."""

    index: int
    total: int
    title: str
    status: str
    commit: str | None = None
    conflicts: tuple[Conflict, ...] = ()
    adaptations: tuple[str, ...] = ()  # renamed paths, 3-way merges, hunk offsets
    msgid: str | None = None
    source_commit: str | None = None  # the commit a backported patch came from


@record
class ApplyResult:
    """The outcome of applying (or backporting) a series: where, how, and the commits made."""

    base: str  # full sha the first patch was applied to
    base_label: str  # how to name the base to a person: the --base/--onto text or a short sha
    base_reason: str  # why this base was chosen
    patches: tuple[PatchApplyOutcome, ...]
    head: str | None  # the last commit made (None when nothing applied)
    status: str  # "applied" | "conflict" | "applied, not built" (a backport before its build)
    worktree: Path | None = None
    branch: str | None = None
    adaptations: tuple[str, ...] = ()
    dependencies: tuple[ApplyResult, ...] = ()  # Based-on: series applied first
    hints: tuple[str, ...] = ()  # patches the base has (or merged and reverted), where it was written
    landed: tuple[Landed, ...] = ()  # every patch the hints speak of, with its commit

    @property
    def ok(self) -> bool:
        return self.status != "conflict"

    @property
    def first_conflict(self) -> PatchApplyOutcome | None:
        return next((p for p in self.patches if p.status == "conflict"), None)


@record
class PlannedPatch:
    """A patch ready to apply: its diff (possibly rewritten) and the trailers to add to its message."""

    patch: Patch
    diff: str
    extra_lines: tuple[str, ...] = ()
    adaptations: tuple[str, ...] = ()
    source_commit: str | None = None
    fuzz: bool = False  # allow `git apply -C1` when the 3-way merge is impossible (backports)


@record
class BaseChoice:
    sha: str
    label: str
    reason: str
    dependencies: tuple[ApplyResult, ...] = ()


# A patch whose change the base has already: no commit is made for it.
ALREADY_APPLIED = "already-applied"
# A series every patch of which is already-applied.
ALREADY_IN_BASE = "already in the base"


def short(sha: str) -> str:
    return sha[:12]


def conflict_error(result: ApplyResult) -> VerdictError:
    """`patch 3/7 "title" does not apply to <base> (conflict in path)`, as a verdict error."""
    bad = result.first_conflict
    if bad is None:
        return VerdictError("the series applied")
    files = ", ".join(dict.fromkeys(c.file for c in bad.conflicts)) or "unknown file"
    hints = "".join(f"; {hint}" for hint in result.hints)
    return VerdictError(
        f'patch {bad.index}/{bad.total} "{bad.title}" does not apply to {result.base_label} '
        f"(conflict in {files}){hints}"
    )


def _outcome(planned: PlannedPatch, step: StepOutcome, commit: str | None) -> PatchApplyOutcome:
    patch = planned.patch
    notes = list(planned.adaptations)
    if step.status == "3way":
        notes += [f"3-way merge: {f}" for f in step.merged_files] or ["3-way merge"]
    if step.status == "fuzz":
        files = ", ".join(step.merged_files) or "some hunks"
        notes.append(f"fuzz: {files} applied with one line of context (git apply -C1); check the result")
    if step.status == ALREADY_APPLIED:
        notes.append("no change: the base has it already (no commit made)")
    notes += [f"offset: {o}" for o in step.offsets]
    return PatchApplyOutcome(
        index=patch.index,
        total=patch.total,
        title=patch.title,
        status=step.status,
        commit=commit,
        conflicts=step.conflicts,
        adaptations=tuple(notes),
        msgid=patch.msgid,
        source_commit=planned.source_commit,
    )


def _skipped(planned: PlannedPatch) -> PatchApplyOutcome:
    p = planned.patch
    return PatchApplyOutcome(p.index, p.total, p.title, "skipped", msgid=p.msgid)


def run_patches(
    repo: GitRepo,
    settings: Settings,
    base: str,
    planned: Sequence[PlannedPatch],
    *,
    skip_applied: bool = False,
) -> tuple[tuple[PatchApplyOutcome, ...], str | None]:
    """Apply each planned patch on top of the previous commit; stop at the first conflict, as git am.
    With ``skip_applied``, a patch that changes nothing (its change is there already) makes no
    commit and is "already-applied", as git am skips it, instead of an empty commit."""
    outcomes: list[PatchApplyOutcome] = []
    head: str | None = None
    for item in planned:
        if not item.diff.strip():
            p = item.patch
            raise InputError(f'patch {p.index}/{p.total} "{p.title}" has no diff')
    check_paths(planned)  # ../x, /x, .git/x, or a write through a symlink the series made: exit 2
    with temp_index(repo, settings) as index:
        index.load(base, {path for item in planned for path in touched_paths(item.diff)})
        parent = base
        for item in planned:
            if outcomes and outcomes[-1].status in ("conflict", "skipped"):
                outcomes.append(_skipped(item))
                continue
            step = index.apply(diff_bytes(item.patch, item.diff), fuzz=item.fuzz)
            commit = None
            if skip_applied and step.status != "conflict" and index.unchanged():
                step = dataclasses.replace(step, status=ALREADY_APPLIED)
            elif step.status != "conflict":
                author = (item.patch.author.name, item.patch.author.email, git_date(item.patch.date))
                message = patch_message(item.patch, item.extra_lines)
                commit = parent = head = index.commit(parent, message, author)
            outcomes.append(_outcome(item, step, commit))
    return tuple(outcomes), head


def series_patches(series: Series) -> tuple[Patch, ...]:
    revision = series.revision
    if not revision.patches:
        raise InputError(f'series "{series.title}" has no patches to apply')
    if revision.missing:
        missing = ", ".join(f"{i}/{revision.total}" for i in revision.missing)
        raise VerdictError(f'series "{series.title}" v{revision.number} is incomplete (missing {missing})')
    return revision.patches


def _try_base(repo: GitRepo, rev: str | None) -> str | None:
    return repo.try_rev_parse(rev) if rev else None


def _based_on_base(
    repo: GitRepo, series: Series, settings: Settings, resolve: ResolveBasedOn, depth: int
) -> BaseChoice:
    deps: list[ApplyResult] = []
    base: str | None = None
    for msgid in series.revision.based_on:
        dependency = resolve(msgid)
        result = apply_series(
            repo, dependency, settings, base=base, resolve_based_on=resolve, _depth=depth + 1
        )
        if not result.ok:
            error = conflict_error(result)
            error.hint = f"the series is Based-on: <{msgid}>, which must apply first"
            raise error
        deps.append(result)
        base = result.head
    assert base is not None
    msgids = ", ".join(f"<{m}>" for m in series.revision.based_on)
    return BaseChoice(base, short(base), f"Based-on: {msgids} applied first", tuple(deps))


def choose_base(
    repo: GitRepo,
    series: Series,
    settings: Settings,
    *,
    base: str | None = None,
    resolve_based_on: ResolveBasedOn | None = None,
    depth: int = 0,
) -> BaseChoice:
    """The base, in order: --base, `base-commit:`, patchew's base, `Based-on:` (applied first), HEAD."""
    if base is not None:
        return BaseChoice(repo.rev_parse(base), base, f"--base {base}")
    notes: list[str] = []
    footer = series.revision.base_commit
    if footer and (sha := _try_base(repo, footer)):
        return BaseChoice(sha, short(sha), f"base-commit: {footer} (footer of the series)")
    if footer:
        notes.append(f"base-commit {footer} is not in the repository")
    # sources/patchew.py records the git result's base as "patchew.base" ("<sha>[ (note)]").
    patchew = (series.extras.get("patchew.base") or series.extras.get("patchew_base") or "").split(" ")[0]
    if patchew and (sha := _try_base(repo, patchew)):
        return BaseChoice(sha, short(sha), f"patchew's base {patchew}")
    if series.revision.based_on and depth < _MAX_DEPENDENCY_DEPTH:
        if resolve_based_on is not None:
            try:
                return _based_on_base(repo, series, settings, resolve_based_on, depth)
            except VerdictError:
                raise
            except PatchtoolError as e:
                reason = e.message if len(e.message) < 80 else e.message[:77] + "..."
                notes.append(f"Based-on: could not be resolved: {reason}")
        else:
            notes.append("Based-on: given but not resolved")
    head = repo.head()
    if head is None:
        raise InputError(f"{repo.path}: the repository has no commits to apply onto", hint="pass --base REV")
    reason = "the repository's HEAD" + (f" ({'; '.join(notes)})" if notes else "")
    return BaseChoice(head, short(head), reason)


def apply_series(
    repo: GitRepo,
    series: Series,
    settings: Settings,
    *,
    base: str | None = None,
    branch: str | None = None,
    force: bool = False,
    worktree: bool = False,
    resolve_based_on: ResolveBasedOn | None = None,
    _depth: int = 0,
) -> ApplyResult:
    """Apply the chosen revision of `series` with `git am -3` semantics, outside the user's tree."""
    patches = series_patches(series)
    if branch is not None:
        check_branch_name(repo, branch, force=force)
    choice = choose_base(repo, series, settings, base=base, resolve_based_on=resolve_based_on, depth=_depth)
    planned = [PlannedPatch(p, p.diff) for p in patches]
    outcomes, head = run_patches(repo, settings, choice.sha, planned, skip_applied=True)
    status = "conflict" if any(o.status == "conflict" for o in outcomes) else "applied"
    if all(o.status == ALREADY_APPLIED for o in outcomes):
        status, head = ALREADY_IN_BASE, choice.sha  # applying it leaves the base: --branch points there
    already = {o.index for o in outcomes if o.status == ALREADY_APPLIED}
    if status != "applied" or already:
        notes = conflict_hints(
            repo, series, patches, choice.sha, choice.label, conflict=status == "conflict", already=already
        )
    else:
        notes = applied_hints(repo, patches, choice.sha, choice.label)
    result = ApplyResult(
        base=choice.sha,
        base_label=choice.label,
        base_reason=choice.reason,
        patches=outcomes,
        head=head,
        status=status,
        dependencies=choice.dependencies,
        hints=notes.hints,
        landed=notes.landed,
    )
    return finish(repo, settings, result, branch=branch, force=force, worktree=worktree)


def finish(
    repo: GitRepo, settings: Settings, result: ApplyResult, *, branch: str | None, force: bool, worktree: bool
) -> ApplyResult:
    """Keep a fully applied result on a branch and/or check it out, as the user asked."""
    if not result.ok or result.head is None:
        return result
    if branch is not None:
        result = keep_branch(repo, result, branch, force=force)
    if worktree:
        result = dataclasses.replace(result, worktree=materialize(repo, settings, result))
    return result


def materialize(repo: GitRepo, settings: Settings, result: ApplyResult, name: str = "apply") -> Path:
    """Check out the result's head in the tool's (reused) worktree, for stages that need files."""
    if result.head is None:
        raise UsageError("nothing was applied, so there is nothing to check out")
    path = worktree_path(settings, repo, name)
    with locked(path):
        return ensure_worktree(repo, settings, name, result.head)


def _checked_out_branches(repo: GitRepo) -> set[str]:
    listing = worktree_listing(repo)
    return {line.split(" ", 1)[1] for line in listing.splitlines() if line.startswith("branch ")}


def check_branch_name(repo: GitRepo, name: str, *, force: bool) -> str:
    """Refuse a bad branch name, an existing branch (unless force), and any checked-out branch."""
    done = repo.git("check-ref-format", "--branch", name, check=False)
    if not done.ok or name.startswith("-"):
        raise UsageError(f"--branch {name}: not a valid branch name")
    ref = f"refs/heads/{name}"
    if ref in _checked_out_branches(repo):
        raise UsageError(f"--branch {name}: the branch is checked out; patchtool never moves it")
    if not force and repo.git("rev-parse", "--verify", "--quiet", ref, check=False).ok:
        raise UsageError(f"--branch {name}: the branch already exists", hint="pass --force to overwrite it")
    return ref


def keep_branch(repo: GitRepo, result: ApplyResult, name: str, *, force: bool) -> ApplyResult:
    """Point branch `name` at the result's head (created atomically; never a checked-out branch)."""
    ref = check_branch_name(repo, name, force=force)
    assert result.head is not None
    old = [] if force else [""]  # an empty old value makes update-ref refuse an existing branch
    repo.git("update-ref", "-m", "patchtool apply", ref, result.head, *old)
    return dataclasses.replace(result, branch=name)
