"""CLI command `diff`: what changed between two revisions of a series, and whether review was answered."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from patchtool.cli.app import JsonOption, RepoOption, app, emit_json, settings_for
from patchtool.config import Settings
from patchtool.errors import UsageError
from patchtool.models import RawThread, Revision


@app.command()
def diff(
    sources: Annotated[
        list[str],
        typer.Argument(
            metavar="SOURCE...",
            help="A thread holding both revisions (mbox, -, URL or message-id), or several mail files.",
        ),
    ],
    old_arg: Annotated[
        str | None,
        typer.Option("--from", metavar="N", help="The older revision, 2 or v2 (default: before --to)."),
    ] = None,
    new_arg: Annotated[
        str | None, typer.Option("--to", metavar="N", help="The newer revision (default: the newest).")
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

    Example: patchtool diff /tmp/pt/world/series/reaper-v1.mbox /tmp/pt/world/series/reaper-v2.mbox
    """
    from patchtool.jsonable import to_jsonable
    from patchtool.parse.series import build_series
    from patchtool.report.conversation import since_view
    from patchtool.report.render import render_since
    from patchtool.review.revisions import compare_revisions, with_older_revision

    settings = settings_for(repo=repo)
    raw = _read(sources, settings, repo)
    old, new = _revision("--from", old_arg), _revision("--to", new_arg)
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


def _read(sources: list[str], settings: Settings, repo: Path | None) -> RawThread:
    """One source as `fetch` reads it, or several local mail files read as one thread."""
    from patchtool.fetch import resolve_source
    from patchtool.fetch.local import is_local, read_many

    if len(sources) > 1:
        if any(not is_local(s) or s == "-" for s in sources):
            raise UsageError("several sources must all be existing mail files")
        return read_many(sources)
    source = sources[0]
    return resolve_source(source, settings, repo=repo, stdin=sys.stdin.buffer if source == "-" else None)


def _revision(option: str, value: str | None) -> int | None:
    """A revision number as a user writes it: 2 or v2 (`--from` takes text on every command)."""
    if value is None:
        return None
    digits = value[1:] if value[:1] in ("v", "V") else value
    if not digits.isdigit() or int(digits) < 1:
        raise UsageError(f"{option} {value}: not a revision number (e.g. 2 or v2)")
    return int(digits)
