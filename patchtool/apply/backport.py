"""Backport a series onto an older branch: map renamed paths, apply 3-way, say what was adapted.

A clean backport is not yet known to be right (an identifier may have been renamed in between), so
its status is "applied, not built" until the build stage has run on it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass

from patchtool.apply.engine import (
    ApplyResult,
    PlannedPatch,
    choose_base,
    finish,
    run_patches,
    series_patches,
    short,
)
from patchtool.config import Settings
from patchtool.models import Address, Patch, Revision, Series
from patchtool.parse.diffs import summarize_diff
from patchtool.parse.difftext import rewrite_paths, split_files, touched_paths
from patchtool.parse.trailers import commit_trailers
from patchtool.vcs.repo import GitRepo

NOT_BUILT = "applied, not built"


@dataclass(frozen=True)
class RenameMap:
    """Paths renamed between the target and the series' base: new path (series) -> old path (target)."""

    files: dict[str, str]
    dirs: dict[str, str]  # whole directories moved, for files a patch creates there

    def map(self, path: str, exists_on_target: set[str]) -> str:
        if path in self.files:
            return self.files[path]
        parent, name = posixpath.split(path)
        if parent in self.dirs and path not in exists_on_target:
            return posixpath.join(self.dirs[parent], name)
        return path


def find_renames(repo: GitRepo, target: str, source_base: str) -> RenameMap:
    """Renames made on the series' side since it forked from the target (git's rename detection)."""
    done = repo.git("diff", "-M", "--name-status", "-z", "--diff-filter=R", f"{target}...{source_base}")
    fields = done.stdout.decode("utf-8", "surrogateescape").split("\0")
    files: dict[str, str] = {}
    for i in range(0, len(fields) - 2, 3):
        if fields[i].startswith("R"):
            files[fields[i + 2]] = fields[i + 1]
    dirs: dict[str, str] = {}
    for new, old in files.items():
        new_dir, old_dir = posixpath.dirname(new), posixpath.dirname(old)
        if posixpath.basename(new) == posixpath.basename(old) and new_dir != old_dir:
            dirs.setdefault(new_dir, old_dir)
    return RenameMap(files, dirs)


def _existing(repo: GitRepo, commit: str, paths: Sequence[str]) -> set[str]:
    if not paths:
        return set()
    listing = repo.git("ls-tree", "-r", "-z", "--name-only", commit, "--", *paths).stdout
    return set(listing.decode("utf-8", "surrogateescape").split("\0")) - {""}


def _plan(
    repo: GitRepo, target: str, patch: Patch, renames: RenameMap, source_commit: str | None
) -> PlannedPatch:
    paths = sorted(touched_paths(patch.diff))
    existing = _existing(repo, target, paths)
    mapping = {p: renames.map(p, existing) for p in paths}
    moved = {p: q for p, q in mapping.items() if p != q}
    diff = rewrite_paths(patch.diff, lambda p: moved.get(p, p)) if moved else patch.diff
    notes = tuple(f"renamed path: {p} -> {q}" for p, q in sorted(moved.items()))
    if source_commit:
        extra: tuple[str, ...] = (f"(cherry picked from commit {source_commit})",)
    else:
        real = patch.msgid and not patch.msgid.endswith(".invalid")  # not a made-up id
        extra = (f"Message-Id: <{patch.msgid}>",) if real else ()
    return PlannedPatch(patch, diff, extra, notes, source_commit, fuzz=True)


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
) -> ApplyResult:
    """Apply the series onto `onto`, mapping renamed paths first; conflicts give status "conflict".

    With `signoff`, each commit also gets the backporter's Signed-off-by (as stable trees want).
    """
    target = repo.rev_parse(onto)
    patches = series_patches(series)
    if source_commits:
        source_base = repo.rev_parse(f"{source_commits[0]}^")
        why = f"the parent of {short(source_commits[0])}"
    elif written_against:
        source_base, why = repo.rev_parse(written_against), f"--from {written_against}"
    else:
        source_base, why = guess_source_base(repo, series, settings)
    renames = find_renames(repo, target, source_base)
    commits: list[str | None] = list(source_commits) if source_commits else [None] * len(patches)
    planned = [_plan(repo, target, p, renames, c) for p, c in zip(patches, commits, strict=True)]
    if signoff:
        ident = repo.out("var", "GIT_COMMITTER_IDENT").rsplit(" ", 2)[0]
        planned = [
            dataclasses.replace(p, extra_lines=(*p.extra_lines, f"Signed-off-by: {ident}")) for p in planned
        ]
    outcomes, head = run_patches(repo, settings, target, planned)
    conflict = any(o.status == "conflict" for o in outcomes)
    result = ApplyResult(
        base=target,
        base_label=onto,
        base_reason=f"--onto {onto} (series written against {short(source_base)}: {why})",
        patches=outcomes,
        head=head,
        status="conflict" if conflict else NOT_BUILT,
        adaptations=tuple(dict.fromkeys(a for o in outcomes for a in o.adaptations)),
    )
    return finish(repo, settings, result, branch=branch, force=force, worktree=worktree)


# Where a series from mail was most likely written, after its own base-commit: and patchew's base.
_UPSTREAM_GUESSES = ("HEAD", "refs/remotes/origin/HEAD", "origin/master", "origin/main", "master", "main")


def _has_paths(repo: GitRepo, commit: str, paths: list[str]) -> bool:
    return len(_existing(repo, commit, paths)) == len(paths)


def guess_source_base(repo: GitRepo, series: Series, settings: Settings) -> tuple[str, str]:
    """The commit the series was written against: its stated base, else the first likely upstream
    branch holding every file the first patch changes (HEAD may well be the stable branch itself)."""
    choice = choose_base(repo, series, settings)
    if not choice.reason.startswith("the repository's HEAD"):
        return choice.sha, choice.reason
    first = series.revision.patches[0]
    paths = sorted({f.old_path for f in split_files(first.diff) if f.old_path})
    for rev in _UPSTREAM_GUESSES:
        sha = repo.try_rev_parse(rev)
        if sha and _has_paths(repo, sha, paths):
            return (
                sha,
                f"{rev}, the first of {', '.join(_UPSTREAM_GUESSES)} with the files the series changes",
            )
    return choice.sha, choice.reason


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
