"""CLI commands: report and demo (registered on the shared app)."""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from patchtool.bisection.classify import Classifier, TimeoutAs
from patchtool.cli.app import JsonOption, RepoOption, app, err, out, settings_for
from patchtool.errors import ExitCode, UsageError
from patchtool.report.records import FORMATS, ReportContext
from patchtool.report.render import render

_COLOURS = (
    (r"\b(FAIL|FAILED|failed|error|conflict|fail)\b", "bold red"),
    (r"\b(warning|flaky|not run)\b", "yellow"),
    (r"\b(PASS|ok|pass|applied clean|applied)\b", "green"),
)


def print_term(text: str) -> None:
    """Terminal report on stdout; colour only when stdout is a terminal (rich decides)."""
    if not out.is_terminal:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    styled = Text(text)
    for pattern, style in _COLOURS:
        styled.highlight_regex(re.compile(pattern), style)
    out.print(styled, end="")


def _progress(text: str) -> None:
    if err.is_terminal:
        err.print(f"[dim]{text}...[/dim]")


def write_report(ctx: ReportContext, fmt: str, output: Path | None) -> None:
    text = render(ctx, fmt)
    if output is None:
        if fmt == "term":
            print_term(text)
        else:
            sys.stdout.write(text)
            sys.stdout.flush()
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as e:
        raise UsageError(f"{output}: cannot write the report ({e.strerror})") from e
    err.print(f"report written to {output}", markup=False)


@app.command()
def report(
    source: Annotated[
        str, typer.Argument(help="The series: an mbox or .patch file(s), -, a URL or a message-id.")
    ],
    repo: RepoOption = None,
    base: Annotated[str | None, typer.Option("--base", help="Apply onto this revision.")] = None,
    revision: Annotated[
        int | None, typer.Option("--revision", help="Report on revision N (default newest).")
    ] = None,
    build: Annotated[bool, typer.Option("--build", help="Build the applied series (needs --repo).")] = False,
    test: Annotated[
        str | None, typer.Option("--test", help="Comma-separated tests to run repeatedly (implies --build).")
    ] = None,
    setup: Annotated[str | None, typer.Option("--setup", help="meson test setup, e.g. thorough.")] = None,
    repeat: Annotated[int, typer.Option("--repeat", min=1, help="Runs per test.")] = 1,
    configure: Annotated[
        str | None,
        typer.Option(
            "--configure",
            help="Configure arguments for --build, as one string (default: the repository's last build's).",
        ),
    ] = None,
    bisect_test: Annotated[
        str | None,
        typer.Option(
            "--bisect-test", help="Show the stored bisect result of this test (default: the first --test)."
        ),
    ] = None,
    bisect_fail_match: Annotated[
        str | None,
        typer.Option(
            "--bisect-fail-match", metavar="REGEX", help="The stored bisect's --fail-match, if it had one."
        ),
    ] = None,
    bisect_pass_match: Annotated[
        str | None,
        typer.Option(
            "--bisect-pass-match", metavar="REGEX", help="The stored bisect's --pass-match, if it had one."
        ),
    ] = None,
    bisect_timeout_as: Annotated[
        TimeoutAs,
        typer.Option(
            "--bisect-timeout-as", metavar="fail|skip|inconclusive", help="The stored bisect's --timeout-as."
        ),
    ] = TimeoutAs.FAIL,
    fmt: Annotated[str, typer.Option("--format", "-f", help="term, md, html, email or json.")] = "term",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write the report to FILE.")] = None,
    as_json: JsonOption = False,
    no_checkpatch: Annotated[
        bool, typer.Option("--no-checkpatch", help="Do not run the tree's scripts/checkpatch.pl.")
    ] = False,
    local: Annotated[
        bool,
        typer.Option(
            "--local", help="Keep local paths (build log, mbox file) in the report: not for sharing."
        ),
    ] = False,
    sender: Annotated[
        str | None,
        typer.Option(
            "--from", metavar="ADDRESS", help="Sender of the e-mail (default: git's user.name/email)."
        ),
    ] = None,
) -> None:
    """Review a series: checks, apply, build and test when asked, then one report.

    Exit code 1 when any stage gave a negative verdict, 3 when a stage could not run because of
    the environment (it shows as "not run" with the reason); the report is written either way.

    Example: patchtool report /tmp/pt/world/series/reaper-v2.mbox
    --repo /tmp/pt/world/qemu -f html -o /tmp/pt/r.html
    """
    import shlex

    from patchtool.pipeline import ReportRequest, environment_blocked, run_report

    fmt = "json" if as_json else fmt
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt}: choose one of {', '.join(FORMATS)}")
    names = tuple(n.strip() for n in (test or "").split(",") if n.strip())
    if (build or names or bisect_test) and repo is None:
        raise UsageError("--build, --test and --bisect-test need --repo (the tree to apply the series to)")
    if configure is not None and not (build or names):
        raise UsageError("--configure goes with --build or --test")
    if output is not None and not output.parent.resolve().is_dir():
        raise UsageError(f"{output}: the directory {output.parent} does not exist")
    reply_from = _sender(fmt, sender, repo)
    settings = settings_for(repo=repo)
    req = ReportRequest(
        source=source,
        repo=repo,
        base=base,
        revision=revision,
        build=build or bool(names),
        tests=names,
        setup=setup,
        repeat=repeat,
        configure_args=tuple(shlex.split(configure or "")),
        checkpatch=not no_checkpatch,
        bisect_test=bisect_test,
        bisect_match=Classifier(bisect_fail_match, bisect_pass_match, bisect_timeout_as),
        local=local or fmt == "term",  # the terminal is the user's own screen
    )
    ctx = run_report(req, settings, stdin=sys.stdin.buffer if source == "-" else None, progress=_progress)
    if reply_from:
        ctx = dataclasses.replace(ctx, reply_from=reply_from)
    write_report(ctx, fmt, output)
    if ctx.failed:
        raise typer.Exit(int(ExitCode.VERDICT))
    if environment_blocked(ctx):
        raise typer.Exit(int(ExitCode.ENVIRONMENT))


def _sender(fmt: str, explicit: str | None, repo: Path | None) -> str:
    """The e-mail's sender, checked before any stage runs: refused when there is none."""
    if fmt != "email":
        return ""
    from patchtool.pipeline import git_identity
    from patchtool.report.reply import require_sender, sender_identity

    return require_sender(sender_identity(explicit, git_identity(repo), os.environ))


@app.command()
def demo(
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Work here (kept) instead of a new temporary directory."),
    ] = None,
    keep: Annotated[
        bool,
        typer.Option("--keep", help="Keep the generated tree, builds and store (default: only report.html)."),
    ] = False,
    repeat: Annotated[int, typer.Option("--repeat", min=1, help="Runs of func-alpha-replay.")] = 4,
) -> None:
    """Run the whole pipeline on bundled data: build the mini QEMU tree, then fetch, check, apply,
    build, test (func-alpha-replay, setup thorough) and report on the reaper series.

    Prints the terminal report and writes report.html. The exit code is 0 when the demo ran,
    whatever the verdict on the series (the report says it).

    Example: patchtool demo --dir /tmp/pt --keep
    """
    import tempfile

    from patchtool.demo.run import run_demo

    if directory is not None:
        directory = directory.resolve()
        if directory.exists() and any(directory.iterdir()):
            raise UsageError(f"{directory}: exists and is not empty", "give a new or empty directory")
        workdir, keep = directory, True
    else:
        workdir = Path(tempfile.mkdtemp(prefix="patchtool-demo-"))
    result = run_demo(workdir, repeat=repeat, keep=keep, progress=_progress)
    print_term(result.terminal)
    out.print(f"\nHTML report: {result.html_path}", markup=False)
    if keep:
        out.print(f"demo tree and results kept in {result.workdir}", markup=False)
    out.print(f"demo finished in {result.seconds:.0f}s", markup=False)
