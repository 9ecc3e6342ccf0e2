"""The command line: the only layer that prints, prompts or picks an exit code.

Kept free of heavy imports: `patchtool --version` answers before typer is imported, and a command
imports only its own module (see commands.py).
"""

from __future__ import annotations

import gc
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from patchtool.errors import EnvironmentProblem, ExitCode, Interrupted, PatchtoolError


def _raise_interrupted(signum: int, frame: FrameType | None) -> None:
    raise Interrupted("interrupted")


def split_debug(args: Sequence[str]) -> tuple[list[str], bool]:
    """Take `--debug` out of args wherever it is (before a `--`); say whether it was there."""
    end = args.index("--") if "--" in args else len(args)
    kept = [a for a in args[:end] if a != "--debug"] + list(args[end:])
    wanted = len(kept) != len(args) or os.environ.get("PATCHTOOL_DEBUG") == "1"
    return kept, wanted


def _say(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _os_problem(e: OSError) -> EnvironmentProblem:
    """An OS refusal (a data directory we cannot write, a full disk) is the environment's, exit 3."""
    where = e.filename if e.filename is not None else "patchtool"
    reason = (e.strerror or str(e)).lower()
    return EnvironmentProblem(f"{where}: {reason}", hint="check the path's permissions and free space")


def _traceback() -> None:
    import traceback  # only for --debug: its import (linecache, tokenize) costs start-up time

    traceback.print_exc()


def _one_line(text: object) -> str:
    # Messages quote mail and servers: no escape sequence or line break reaches the terminal.
    from patchtool.report.escape import for_terminal_line

    return for_terminal_line(text)


def _fail(e: PatchtoolError, debug: bool) -> None:
    if debug:
        _traceback()
    _say(f"error: {_one_line(e.message)}")
    if e.hint:
        _say(f"hint: {_one_line(e.hint)}")
    sys.exit(int(e.exit_code))


def _run(args: list[str]) -> None:
    from patchtool import __version__

    if args[:1] == ["--version"]:  # answered before typer and the commands are imported
        sys.stdout.write(f"patchtool {__version__}\n")
        return
    from patchtool.cli.app import run_app
    from patchtool.cli.commands import COMMAND_MODULES, register_commands

    register_commands(args)
    run_app(args, order=list(COMMAND_MODULES))


def main(argv: Sequence[str] | None = None) -> None:
    """Run patchtool; map every outcome to one line on stderr and an exit code."""
    # Start-up builds ~150,000 objects (typer, the stage modules), none of them garbage: collecting
    # while importing is ~7% of a fetch. run_app turns collection back on before the command runs
    # (and so does the end of this call, whatever happened).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        _main(argv)
    finally:
        (gc.enable if was_enabled else gc.disable)()


def _main(argv: Sequence[str] | None) -> None:
    args, debug = split_debug(list(sys.argv[1:] if argv is None else argv))
    # Ctrl-C becomes our own error, so click does not turn it into "Aborted!" with exit 1.
    signal.signal(signal.SIGINT, _raise_interrupted)
    signal.signal(signal.SIGTERM, _raise_interrupted)
    try:
        _run(args)
    except PatchtoolError as e:
        _fail(e, debug)
    except KeyboardInterrupt:
        _say("error: interrupted")
        sys.exit(int(ExitCode.INTERRUPTED))
    except OSError as e:
        _fail(_os_problem(e), debug)
    except Exception as e:
        if debug:
            _traceback()
        _say(f"error: internal error: {type(e).__name__}: {_one_line(e)}")
        _say("hint: rerun with --debug and report the traceback")
        sys.exit(int(ExitCode.ENVIRONMENT))
