"""CLI commands: apply, backport, clean (registered on the shared app).

No `from __future__ import annotations`: typer would evaluate the commands' string annotations at
each run; names imported only for type checking are quoted instead.
"""

import sys
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from patchtool.cli.app import JsonOption, RepoOption, app, emit_json, err, out, settings_for

if TYPE_CHECKING:  # the engine is imported when a command runs, to keep `patchtool --help` quick
    from patchtool.apply.candidates import CandidateReport
    from patchtool.apply.engine import ApplyResult
    from patchtool.config import Settings
    from patchtool.models import Series
    from patchtool.vcs.repo import GitRepo

SourceArg = Annotated[
    str,
    typer.Argument(help="The series: an mbox, .patch files, a directory, `-` for stdin, or a message-id."),
]
BranchOption = Annotated[
    str | None, typer.Option("--branch", help="Keep the result on a new branch NAME (never checked out).")
]
ForceOption = Annotated[bool, typer.Option("--force", help="Let --branch overwrite an existing branch.")]
WorktreeOption = Annotated[
    bool,
    typer.Option(
        "--checkout/--no-checkout", help="Also check the result out in patchtool's own (reused) worktree."
    ),
]


def _series(
    source: str, settings: "Settings", repo: "GitRepo", revision: int | None, functions: bool = True
) -> "Series":
    from patchtool.fetch import resolve_source
    from patchtool.parse.series import build_series

    raw = resolve_source(source, settings, repo=repo.path, stdin=sys.stdin.buffer)
    return build_series(raw, revision=revision, functions=functions)


def _progress(message: str) -> AbstractContextManager[object]:
    """A spinner on stderr while the work runs, only when a person is watching a terminal."""
    return err.status(message) if err.is_terminal else nullcontext()


def _msgids(series: "Series") -> set[str]:
    ids = {p.msgid for rev in series.revisions for p in rev.patches}
    return ids | {rev.cover.msgid for rev in series.revisions if rev.cover}


def _resolver(settings: "Settings", repo: "GitRepo", dependencies: list[Path]) -> Callable[[str], "Series"]:
    """Based-on: msgids are looked up in the --dependency files first, then fetched like a SOURCE."""
    local = [_series(str(path), settings, repo, None) for path in dependencies]

    def resolve(msgid: str) -> "Series":
        wanted = msgid.strip("<>")
        for series in local:
            if wanted in _msgids(series):
                return series
        return _series(wanted, settings, repo, None)

    return resolve


def _print_result(result: "ApplyResult", title: str) -> None:
    for dep in result.dependencies:
        _print_result(dep, "dependency")
    out.print(f"{title}: {result.base_label} ({result.base_reason})", markup=False)
    for p in result.patches:
        commit = (p.commit or "")[:12].ljust(12)
        out.print(f"  [{p.index}/{p.total}] {p.status:<8} {commit} {p.title}", markup=False)
        for note in p.adaptations:
            out.print(f"        {note}", markup=False)
        for c in p.conflicts:
            out.print(f"        conflict: {c.file} {c.hunk}".rstrip(), markup=False)
    for hint in result.hints:
        out.print(f"note: {hint}", markup=False)
    for label, value in (("head", result.head), ("branch", result.branch), ("worktree", result.worktree)):
        if value:
            out.print(f"{label}: {value}", markup=False)
    _print_findings(result)
    out.print(f"status: {result.status}", markup=False)


def _report(result: "ApplyResult", as_json: bool, title: str) -> None:
    from patchtool.apply.engine import conflict_error

    if as_json:
        emit_json(result)
    else:
        _print_result(result, title)
    if not result.ok:
        error = conflict_error(result)
        err.print(f"error: {error.message}", markup=False)
        raise typer.Exit(int(error.exit_code))


@app.command()
def apply(
    source: SourceArg,
    repo: RepoOption = None,
    base: Annotated[
        str | None, typer.Option("--base", help="Apply onto REV instead of the series' base.")
    ] = None,
    branch: BranchOption = None,
    revision: Annotated[
        int | None, typer.Option("--revision", help="Apply revision N (default: newest).")
    ] = None,
    worktree: WorktreeOption = False,
    force: ForceOption = False,
    dependency: Annotated[
        list[Path] | None,
        typer.Option(
            "--dependency", help="A series (mbox) the SOURCE is Based-on:, used instead of fetching it."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Apply a series (git am -3 semantics) without touching your checkout, index or branches.

    Base, in order: --base, the series' base-commit:, patchew's base, Based-on: (applied first), HEAD.

    Example: patchtool apply /tmp/pt/world/series/reaper-v2.mbox --repo /tmp/pt/world/qemu
    --branch review/reaper-v2
    """
    from patchtool.apply.engine import apply_series
    from patchtool.vcs.repo import GitRepo

    git_repo = GitRepo(repo or Path.cwd())
    settings = settings_for(repo=git_repo.path)
    series = _series(source, settings, git_repo, revision, functions=False)  # apply never reads them
    with _progress(f"applying {len(series.revision.patches)} patches"):
        result = apply_series(
            git_repo,
            series,
            settings,
            base=base,
            branch=branch,
            force=force,
            worktree=worktree,
            resolve_based_on=_resolver(settings, git_repo, dependency or []),
        )
    _report(result, as_json, "base")


def _print_findings(result: "ApplyResult") -> None:
    """A backport's warnings and the upstream commits they point at (nothing for a plain apply)."""
    for finding in getattr(result, "findings", ()):
        where = f"{finding.file}:{finding.line}: " if finding.file and finding.line else ""
        out.print(f"{finding.severity}: {finding.code}: {where}{finding.message}", markup=False)
    prerequisites = getattr(result, "prerequisites", ())
    if prerequisites and result.status != "applied, not built":
        listed = " ".join(sha[:12] for sha in prerequisites)
        out.print(f"prerequisites (try --with-prerequisites): {listed}", markup=False)


def _print_candidates(report: "CandidateReport") -> None:
    release = f", last release {report.last_release[:12]}" if report.last_release else ""
    out.print(
        f"{report.branch}: forked from {report.upstream} at {report.fork_point[:12]}{release}; "
        f"{report.held} marked commits already held, {len(report.candidates)} candidates",
        markup=False,
    )
    for c in report.candidates:
        out.print(f"  {c.sha[:12]} {c.prediction:<16} {c.subject}", markup=False)
        out.print(f"        {'; '.join(c.reasons)}", markup=False)
        for line in c.detail:
            out.print(f"        {line}", markup=False)


def _candidates(git_repo: "GitRepo", branch: str, upstream: str | None, all_: bool, as_json: bool) -> None:
    from patchtool.apply.backbase import UPSTREAM_GUESSES
    from patchtool.apply.candidates import stable_candidates
    from patchtool.errors import UsageError

    settings = settings_for(repo=git_repo.path)
    rev = upstream or next((r for r in UPSTREAM_GUESSES[1:] if git_repo.try_rev_parse(r)), None)
    if rev is None:
        raise UsageError("no upstream branch found: pass --upstream REV")
    with _progress(f"looking for stable candidates for {branch}"):
        report = stable_candidates(git_repo, settings, branch, rev, since_release=not all_)
    if as_json:
        emit_json(report)
    else:
        _print_candidates(report)


@app.command()
def backport(
    source: Annotated[
        str | None,
        typer.Argument(help="The series (as for apply), or commits of the repository: REV or A..B."),
    ] = None,
    onto: Annotated[
        str | None, typer.Option("--onto", help="The older branch (or commit) to backport onto.")
    ] = None,
    repo: RepoOption = None,
    branch: BranchOption = None,
    revision: Annotated[int | None, typer.Option("--revision", help="Backport revision N.")] = None,
    worktree: WorktreeOption = False,
    force: ForceOption = False,
    signoff: Annotated[
        bool, typer.Option("--signoff", "-s", help="Add your Signed-off-by: to each backported commit.")
    ] = False,
    written_against: Annotated[
        str | None,
        typer.Option("--from", help="The commit the series was written against (default: found)."),
    ] = None,
    with_prerequisites: Annotated[
        bool,
        typer.Option(
            "--with-prerequisites", help="Backport the upstream commits a conflict points at first."
        ),
    ] = False,
    candidates: Annotated[
        str | None,
        typer.Option("--candidates", metavar="BRANCH", help="List upstream commits BRANCH should consider."),
    ] = None,
    upstream: Annotated[
        str | None,
        typer.Option("--upstream", metavar="REV", help="Upstream for --candidates (default: master)."),
    ] = None,
    all_candidates: Annotated[
        bool, typer.Option("--all", help="With --candidates: since the fork point, not the last release.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Backport a series onto an older branch, mapping paths renamed since, with 3-way merges.

    The series' base is its --from, base-commit:, patchew's base, else the commit holding the
    preimage blobs of its index lines, else a stated guess. Commits get "(cherry picked from commit
    X)" (from commits) or "Message-Id:" (from mail). Names the added lines use that the branch lacks
    make the status "applied, needs adaptation"; a clean backport is "applied, not built" until built.

    Example: patchtool backport /tmp/pt/world/series/stable-backport.mbox --onto stable-9.2
    --repo /tmp/pt/world/qemu
    Example: patchtool backport --candidates stable-9.2 --repo /tmp/pt/world/qemu
    """
    from patchtool.apply.backport import backport_with_prerequisites, commit_range, series_from_commits
    from patchtool.errors import UsageError
    from patchtool.vcs.repo import GitRepo

    git_repo = GitRepo(repo or Path.cwd())
    if candidates is not None:
        _candidates(git_repo, candidates, upstream, all_candidates, as_json)
        return
    if source is None or onto is None:
        raise UsageError("backport needs a SOURCE and --onto BRANCH (or --candidates BRANCH)")
    settings = settings_for(repo=git_repo.path)
    commits = None if Path(source).exists() or source == "-" else commit_range(git_repo, source)
    if commits:
        series = series_from_commits(git_repo, commits)
    else:
        series = _series(source, settings, git_repo, revision)
    options = dict(
        source_commits=commits,
        branch=branch,
        force=force,
        worktree=worktree,
        signoff=signoff,
        written_against=written_against,
    )
    with _progress(f"backporting {len(series.revision.patches)} patches onto {onto}"):
        if with_prerequisites:
            result = backport_with_prerequisites(git_repo, series, settings, onto=onto, **options)
        else:
            from patchtool.apply.backport import backport_series

            result = backport_series(git_repo, series, settings, onto=onto, **options)  # type: ignore[arg-type]
    _report(result, as_json, "onto")


@app.command()
def clean(repo: RepoOption = None, as_json: JsonOption = False) -> None:
    """Remove patchtool's worktrees and temporary indexes for a repository (your checkout is untouched).

    Example: patchtool clean --repo /tmp/pt/world/qemu
    """
    from patchtool.apply.patches import remove_stale_indexes
    from patchtool.vcs.repo import GitRepo
    from patchtool.vcs.worktrees import remove_worktrees

    git_repo = GitRepo(repo or Path.cwd())
    settings = settings_for(repo=git_repo.path)
    removed = remove_worktrees(git_repo, settings) + remove_stale_indexes(settings, git_repo)
    if as_json:
        emit_json({"removed": [str(p) for p in removed]})
        return
    for path in removed:
        out.print(f"removed {path}", markup=False)
    if not removed:
        out.print("nothing to remove", markup=False)
