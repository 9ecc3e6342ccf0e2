"""The typer application and the pieces every command shares (consoles, JSON output, settings).

Start-up cost matters (a bisect probe or a CI bot runs patchtool thousands of times), so this
module imports typer and nothing heavy: rich is imported only when a console needs more than plain
lines, and settings only when a command asks for them.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer

from patchtool import __version__

if TYPE_CHECKING:
    from rich.console import Console

    from patchtool.config import Settings

APP_HELP = (
    "Take a mailing-list patch series from where it was posted to a verdict: "
    "fetch, parse, apply, build, test, bisect, report.\n\n"
    "Example: patchtool demo --dir /tmp/pt --keep   (builds a mini QEMU world there; "
    "the examples of each command use it)"
)

app = typer.Typer(
    name="patchtool",
    help=APP_HELP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# rich's Console decides by these variables that a pipe is a terminal; leave such cases to rich.
_TERMINAL_OVERRIDES = ("FORCE_TERMINAL", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "FORCE_COLOR")
# What rich removes from printed text (bell, backspace, vertical tab, form feed, carriage return).
_STRIPPED = dict.fromkeys((7, 8, 11, 12, 13))


class LazyConsole:
    """A rich Console made on first need; plain lines (markup=False) are written directly.

    Importing rich costs ~45 ms, a quarter of a `patchtool fetch`; most output is plain lines
    on a pipe. Plain lines get what rich would do to them (control codes removed, tabs expanded),
    everything else (styles, spinners, progress bars) goes to the real Console.
    """

    def __init__(self, *, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def _stream(self) -> TextIO:
        return sys.stderr if self._stderr else sys.stdout

    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr, highlight=False, soft_wrap=True)
        return self._console

    @property
    def is_terminal(self) -> bool:
        if self._console is None and not any(os.environ.get(v) for v in _TERMINAL_OVERRIDES):
            return self._stream().isatty()
        return self.console.is_terminal

    def print(self, *objects: Any, markup: bool | None = None, end: str = "\n", **kwargs: Any) -> None:
        # Subjects, trailers and server messages reach these prints: an escape sequence among them
        # is shown, never obeyed (report.escape.for_terminal), on both paths.
        from patchtool.report.escape import for_terminal

        objects = tuple(for_terminal(o) if isinstance(o, str) else o for o in objects)
        if markup is False and not kwargs and all(isinstance(o, str) for o in objects):
            text = " ".join(objects).translate(_STRIPPED).expandtabs(8)
            stream = self._stream()
            stream.write(text + end)
            stream.flush()
            return
        self.console.print(*objects, markup=markup, end=end, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.console, name)


# stdout carries results (and --json); stderr carries progress, errors and hints. Typed as rich's
# Console for the commands: every attribute they use is rich's, reached through the lazy wrapper.
out: Console = LazyConsole(stderr=False)  # type: ignore[assignment]
err: Console = LazyConsole(stderr=True)  # type: ignore[assignment]

JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]
RepoOption = Annotated[
    Path | None,
    typer.Option(
        "--repo", help="The git repository to act on (default: the current directory).", metavar="PATH"
    ),
]


def emit_json(value: Any) -> None:
    """Write a result as JSON to stdout (dataclasses converted by to_jsonable)."""
    import json

    from patchtool.jsonable import to_jsonable

    sys.stdout.write(json.dumps(to_jsonable(value), indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def settings_for(
    cli: dict[str, str | None] | None = None, repo: Path | None = None, offline: bool = False
) -> Settings:
    from patchtool.config import load_settings
    from patchtool.vcs.gitcmd import patchtool_config

    return load_settings(cli, repo=repo, offline=offline, git_values=patchtool_config(repo))


def _version(value: bool) -> None:
    if value:
        out.print(f"patchtool {__version__}", markup=False)
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[
        bool,
        typer.Option("--debug", help="Show tracebacks for errors (for bug reports); accepted anywhere."),
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """patchtool: review, test, bisect and backport patch series from mailing lists."""


_frozen = False  # gc.freeze() done in this process (counting the frozen objects is itself slow)


def _keep_only_the_command_run(args: Sequence[str]) -> None:
    """Typer builds a click command for every registered one at each run (~1.5 ms each with many
    options); a run of `apply` needs only apply. An unknown name keeps them all, for the hint."""
    from patchtool.cli.commands import COMMAND_MODULES, command_name

    wanted = command_name(args)
    if wanted in COMMAND_MODULES:
        app.registered_commands = [c for c in app.registered_commands if _command_name(c) == wanted]


def _command_name(info: typer.models.CommandInfo) -> str:
    callback = info.callback.__name__ if info.callback else ""
    return info.name or callback.lower().replace("_", "-")


def run_app(args: Sequence[str], order: Sequence[str]) -> None:
    """Run the typer app on args, with commands listed in `order` and readable metavariables."""
    from patchtool.cli.helptext import order_commands, use_patchtool_commands

    use_patchtool_commands(app)
    _keep_only_the_command_run(args)
    # --install-completion and --show-completion belong to the bare `patchtool`; typer's completion
    # module costs ~15 ms, so a command run without them (or a completion request) does not load it.
    asked = any(a.startswith(("--install-completion", "--show-completion")) for a in args)
    named = any(not a.startswith("-") for a in args)
    app._add_completion = asked or not named or "_PATCHTOOL_COMPLETE" in os.environ
    command = typer.main.get_command(app)
    order_commands(command, order)
    # Imports are done (patchtool.cli.main paused the collector for them): what exists now lives
    # for the whole run, so it is frozen out of every later collection, and collection resumes.
    # Frozen once per process: a caller running commands in-process must not freeze its garbage.
    global _frozen
    if not _frozen:
        gc.freeze()
        _frozen = True
    gc.enable()
    command.main(args=list(args), prog_name="patchtool")
