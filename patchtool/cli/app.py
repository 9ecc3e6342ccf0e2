"""The typer application and the pieces every command shares (consoles, JSON output, settings)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from patchtool import __version__
from patchtool.config import Settings, load_settings
from patchtool.jsonable import to_jsonable

app = typer.Typer(
    name="patchtool",
    help=(
        "Take a mailing-list patch series from where it was posted to a verdict: "
        "fetch, parse, apply, build, test, bisect, report.\n\n"
        "Example: patchtool fetch fixtures/mail/reaper-v2.mbox"
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class SafeConsole(Console):
    """A console that shows, never obeys, control characters in the strings it prints.

    Subjects, trailers, server messages reach these prints; an escape sequence among them must
    not retitle or clear the user's terminal (report.escape.for_terminal makes it visible).
    """

    def print(self, *objects: Any, **kwargs: Any) -> None:
        from patchtool.report.escape import for_terminal

        super().print(*(for_terminal(o) if isinstance(o, str) else o for o in objects), **kwargs)


# stdout carries results (and --json); stderr carries progress, errors and hints.
out = SafeConsole(highlight=False, soft_wrap=True)
err = SafeConsole(stderr=True, highlight=False, soft_wrap=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]
RepoOption = Annotated[
    Path | None,
    typer.Option("--repo", help="The git repository to act on (default: the current directory)."),
]


def emit_json(value: Any) -> None:
    """Write a result as JSON to stdout (dataclasses converted by to_jsonable)."""
    sys.stdout.write(json.dumps(to_jsonable(value), indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def settings_for(
    cli: dict[str, str | None] | None = None, repo: Path | None = None, offline: bool = False
) -> Settings:
    from patchtool.vcs.gitcmd import patchtool_config

    return load_settings(cli, repo=repo, offline=offline, git_values=patchtool_config(repo))


def _version(value: bool) -> None:
    if value:
        out.print(f"patchtool {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks for errors (for bug reports).")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """patchtool: review, test, bisect and backport patch series from mailing lists."""
