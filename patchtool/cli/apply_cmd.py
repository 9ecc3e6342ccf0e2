"""CLI commands: apply, backport, clean (registered on the shared app)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from patchtool.cli.app import JsonOption, RepoOption, app, emit_json, err, out, settings_for

if TYPE_CHECKING:  # the engine is imported when a command runs, to keep `patchtool --help` quick
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


def _series(source: str, settings: Settings, repo: GitRepo, revision: int | None) -> Series:
    from patchtool.fetch import resolve_source
    from patchtool.parse.series import build_series

    raw = resolve_source(source, settings, repo=repo.path, stdin=sys.stdin.buffer)
    return build_series(raw, revision=revision)


def _progress(message: str) -> AbstractContextManager[object]:
    """A spinner on stderr while the work runs, only when a person is watching a terminal."""
    return err.status(message) if err.is_terminal else nullcontext()


def _msgids(series: Series) -> set[str]:
    ids = {p.msgid for rev in series.revisions for p in rev.patches}
    return ids | {rev.cover.msgid for rev in series.revisions if rev.cover}


def _resolver(settings: Settings, repo: GitRepo, dependencies: list[Path]) -> Callable[[str], Series]:
    """Based-on: msgids are looked up in the --dependency files first, then fetched like a SOURCE."""
    local = [_series(str(path), settings, repo, None) for path in dependencies]

    def resolve(msgid: str) -> Series:
        wanted = msgid.strip("<>")
        for series in local:
            if wanted in _msgids(series):
                return series
        return _series(wanted, settings, repo, None)

    return resolve


def _print_result(result: ApplyResult, title: str) -> None:
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
    for label, value in (("head", result.head), ("branch", result.branch), ("worktree", result.worktree)):
        if value:
            out.print(f"{label}: {value}", markup=False)
    out.print(f"status: {result.status}", markup=False)


def _report(result: ApplyResult, as_json: bool, title: str) -> None:
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
    series = _series(source, settings, git_repo, revision)
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


@app.command()
def backport(
    source: Annotated[
        str, typer.Argument(help="The series (as for apply), or commits of the repository: REV or A..B.")
    ],
    onto: Annotated[str, typer.Option("--onto", help="The older branch (or commit) to backport onto.")],
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
        typer.Option("--from", help="The commit the series was written against (default: guessed)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Backport a series onto an older branch, mapping paths renamed since, with 3-way merges.

    Commits get "(cherry picked from commit X)" (from commits) or "Message-Id:" (from mail).
    A clean backport is "applied, not built" until the build stage has run on it.

    Example: patchtool backport /tmp/pt/world/series/stable-backport.mbox --onto stable-9.2
    --repo /tmp/pt/world/qemu
    """
    from patchtool.apply.backport import backport_series, commit_range, series_from_commits
    from patchtool.vcs.repo import GitRepo

    git_repo = GitRepo(repo or Path.cwd())
    settings = settings_for(repo=git_repo.path)
    commits = None if Path(source).exists() or source == "-" else commit_range(git_repo, source)
    if commits:
        series = series_from_commits(git_repo, commits)
    else:
        series = _series(source, settings, git_repo, revision)
    with _progress(f"backporting {len(series.revision.patches)} patches onto {onto}"):
        result = backport_series(
            git_repo,
            series,
            settings,
            onto=onto,
            source_commits=commits,
            branch=branch,
            force=force,
            worktree=worktree,
            signoff=signoff,
            written_against=written_against,
        )
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
