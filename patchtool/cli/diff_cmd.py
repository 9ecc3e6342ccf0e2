"""CLI command `diff`: what changed between two revisions of a series, and whether review was answered."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from patchtool.cli.app import JsonOption, RepoOption, app, emit_json, settings_for
from patchtool.errors import UsageError
from patchtool.models import Revision


@app.command()
def diff(
    source: Annotated[
        str,
        typer.Argument(
            metavar="SOURCE", help="A thread holding both revisions (mbox, -, URL or message-id)."
        ),
    ],
    old: Annotated[
        int | None,
        typer.Option("--from", metavar="N", help="The older revision (default: the one before --to)."),
    ] = None,
    new: Annotated[
        int | None, typer.Option("--to", metavar="N", help="The newer revision (default: the newest).")
    ] = None,
    repo: RepoOption = None,
    no_interdiff: Annotated[
        bool, typer.Option("--no-interdiff", help="List the patches without their interdiffs.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Compare two revisions: patches matched (patch-id, title, content), unchanged / changed / new /
    dropped, and for each review comment on the older one whether the lines it quotes changed.

    The older revision is fetched when the thread lacks it and a Supersedes: line names it.

    Example: cat /tmp/pt/world/series/reaper-v1.mbox /tmp/pt/world/series/reaper-v2.mbox | patchtool diff -
    """
    from patchtool.fetch import resolve_source
    from patchtool.jsonable import to_jsonable
    from patchtool.parse.series import build_series
    from patchtool.report.conversation import since_view
    from patchtool.report.render import render_since
    from patchtool.review.revisions import compare_revisions, with_older_revision

    settings = settings_for(repo=repo)
    raw = resolve_source(source, settings, repo=repo, stdin=sys.stdin.buffer if source == "-" else None)
    series = build_series(raw, revision=new)
    raw, series = with_older_revision(raw, series, settings, old)
    newer = new if new is not None else series.chosen
    older = old if old is not None else _previous(series.revisions, newer)
    view = since_view(compare_revisions(series, raw, older, newer))
    if as_json:
        emit_json(to_jsonable(view))
    else:
        sys.stdout.write(render_since(view, interdiff=not no_interdiff))


def _previous(revisions: tuple[Revision, ...], newer: int) -> int:
    numbers = [r.number for r in revisions if r.patches]
    older = [n for n in numbers if n < newer]
    if not older:
        raise UsageError(f"v{newer} has no older revision in the thread; name one with --from N")
    return max(older)
