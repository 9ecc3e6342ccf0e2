"""CLI command `fetch`: read a series from mail, print what it is, optionally write an am-ready mbox.

No `from __future__ import annotations` here: typer would evaluate every string annotation of the
command at each run (~2 ms of a fetch); as objects, they are read as they are.
"""

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from patchtool.cli.app import JsonOption, app, emit_json, err, out, settings_for
from patchtool.errors import UsageError
from patchtool.jsonable import to_jsonable
from patchtool.models import SERIES_SCHEMA_VERSION, Patch, RawThread, Series
from patchtool.report.escape import for_terminal

_SOURCE_HELP = (
    "Where the series is: an mbox or .eml/.patch file, a maildir or directory of mail files, "
    "'-' for stdin; several files are read as one thread. Remote forms: see the README."
)


def _raw_thread(
    sources: list[str], repo: Path | None, settings_cli: dict[str, str | None], offline: bool
) -> RawThread:
    from patchtool.fetch import resolve_source
    from patchtool.fetch.local import is_local, read_local, read_many

    if len(sources) > 1:
        remote = [s for s in sources if not is_local(s) or s == "-"]
        if remote:
            raise UsageError(f"{remote[0]}: only existing files can be combined with other sources")
        return read_many(sources)
    ref = sources[0]
    if is_local(ref):  # a file needs no settings: no config read, no data directory
        return read_local(ref, sys.stdin.buffer if ref == "-" else None)
    settings = settings_for(settings_cli, repo=repo, offline=offline)
    return resolve_source(ref, settings, repo=repo, stdin=sys.stdin.buffer if ref == "-" else None)


# Where a review trailer was given, by its origin (a plain reply otherwise).
_GIVEN_IN = {"cover-reply": "the cover letter", "series-reply": "a reply giving it to the whole series"}


def _patch_lines(patch: Patch) -> list[str]:
    summary = patch.summary
    lines = [
        f"  {patch.index}/{patch.total} {patch.title}",
        f"      {patch.author}  <{patch.msgid}>  "
        f"{len(summary.files)} file(s), +{summary.added} -{summary.removed}",
    ]
    for f in summary.files:
        extra = (
            f" ({f.status}{' from ' + f.old_path if f.old_path else ''})" if f.status != "modified" else ""
        )
        lines.append(f"      {f.path:<40} | +{f.added} -{f.removed}{extra}")
    for fn in summary.functions:
        detail = f" ({fn.detail})" if fn.detail else ""
        lines.append(f"      {fn.kind}: {fn.name} in {fn.file}{detail}")
    for t in patch.review_trailers:
        lines.append(f"      + {t.key}: {t.value}  (from {_GIVEN_IN.get(t.origin, 'a reply')} <{t.msgid}>)")
    return lines


def summary_lines(series: Series) -> list[str]:
    """The terminal summary: title, revisions, author, patches, trailers, provenance, findings."""
    rev = series.revision
    others = [f"v{r.number}" for r in series.revisions if r.number != rev.number]
    state = (
        "complete"
        if rev.complete
        else "incomplete, missing " + ", ".join(f"{i}/{rev.total}" for i in rev.missing)
    )
    author = rev.cover.author if rev.cover else (rev.patches[0].author if rev.patches else None)
    lines = [
        f"Series:    {series.title}",
        f"Revision:  v{rev.number} of {rev.total} patch(es), {state}"
        + (f"; other revisions in the thread: {', '.join(others)}" if others else ""),
        f"Author:    {author}",
    ]
    if rev.cover:
        lines.append(f"Cover:     <{rev.cover.msgid}>")
    if rev.base_commit:
        lines.append(f"Base:      {rev.base_commit}")
    lines += [f"Based-on:  <{m}>" for m in rev.based_on] + [f"Supersedes: <{m}>" for m in rev.supersedes]
    lines.append("Patches:")
    for patch in rev.patches:
        lines += _patch_lines(patch)
    total = sum(len(p.review_trailers) for p in rev.patches)
    lines.append(f"Collected: {total} review trailer(s) from {len(rev.replies)} repl(ies)")
    for prov in series.provenance:
        cached = " (from cache)" if prov.from_cache else ""
        lines.append(
            f"Source:    {prov.source} {prov.location}{' - ' + prov.detail if prov.detail else ''}{cached}"
        )
    for key, value in series.extras.items():
        lines.append(f"Extra:     {key}: {value}")
    if series.findings:
        lines.append("Findings:")
        for f in series.findings:
            where = f" [{f.patch}]" if f.patch else ""
            lines.append(f"  {f.severity}{where} {f.code}: {f.message}")
    return lines


def series_json(series: Series, mbox: Path | None) -> dict[str, Any]:
    """The --json document: the schema version, the whole Series, and the mbox written (if any)."""
    doc: dict[str, Any] = {"schema_version": SERIES_SCHEMA_VERSION}
    doc.update(to_jsonable(series))
    doc["complete"] = series.revision.complete
    doc["mbox"] = str(mbox) if mbox else None
    return doc


@app.command()
def fetch(
    source: Annotated[list[str], typer.Argument(help=_SOURCE_HELP, show_default=False)],
    revision: Annotated[
        int | None, typer.Option("--revision", "-v", help="Pick revision N (default: newest).")
    ] = None,
    allow_incomplete: Annotated[
        bool, typer.Option("--allow-incomplete", help="Accept a series with missing patches (exit 0).")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write a ready-to-`git am` mbox into DIR.", metavar="DIR"),
    ] = None,
    json_out: JsonOption = False,
    offline: Annotated[
        bool, typer.Option("--offline", help="Use only the local cache for remote sources.")
    ] = False,
    repo: Annotated[
        Path | None, typer.Option("--repo", help="Repository to fetch a patchew tag into (remote sources).")
    ] = None,
    patchew_url: Annotated[str | None, typer.Option("--patchew-url", help="Patchew server.")] = None,
    patchew_git: Annotated[str | None, typer.Option("--patchew-git", help="Patchew's git mirror.")] = None,
    patchwork_url: Annotated[str | None, typer.Option("--patchwork-url", help="Patchwork server.")] = None,
    lore_url: Annotated[str | None, typer.Option("--lore-url", help="lore / public-inbox server.")] = None,
    project: Annotated[
        str | None, typer.Option("--project", help="Project name on patchew/patchwork.")
    ] = None,
    mail_list: Annotated[str | None, typer.Option("--list", help="Mailing list name on lore.")] = None,
) -> None:
    """Read a patch series (every revision, cover, replies) and show what it is.

    Example: patchtool fetch /tmp/pt/world/series/reaper-v2.mbox -o /tmp/pt/out
    """
    from patchtool.apply.ammbox import write_am_mbox
    from patchtool.parse.series import build_series

    cli = {
        "patchew_url": patchew_url,
        "patchew_git": patchew_git,
        "patchwork_url": patchwork_url,
        "lore_url": lore_url,
        "project": project,
        "list": mail_list,
    }
    series = build_series(_raw_thread(source, repo, cli, offline), revision=revision)
    rev = series.revision
    usable = rev.complete or allow_incomplete
    mbox = write_am_mbox(series, output) if output is not None and usable else None
    if json_out:
        emit_json(series_json(series, mbox))
    else:
        lines = summary_lines(series) + ([f"Wrote:     {mbox}"] if mbox is not None else [])
        # one call: rich's per-call cost adds up; subjects and trailers are shown, never obeyed
        out.print(for_terminal("\n".join(lines)), markup=False)
    if not usable:
        missing = ", ".join(f"{i}/{rev.total}" for i in rev.missing)
        err.print(f"error: series v{rev.number} is incomplete: {missing} not found", markup=False)
        err.print("hint: pass --allow-incomplete to accept it anyway", markup=False)
        raise typer.Exit(1)
