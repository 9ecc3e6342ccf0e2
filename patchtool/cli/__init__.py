"""The command line: the only layer that prints, prompts or picks an exit code."""

from __future__ import annotations

import os
import signal
import sys
import traceback
from collections.abc import Sequence
from types import FrameType

from patchtool.cli.app import app, err
from patchtool.cli.commands import register_commands
from patchtool.errors import ExitCode, Interrupted, PatchtoolError
from patchtool.report.escape import for_terminal_line


def _raise_interrupted(signum: int, frame: FrameType | None) -> None:
    raise Interrupted("interrupted")


def _debug_requested(argv: Sequence[str]) -> bool:
    return "--debug" in argv or os.environ.get("PATCHTOOL_DEBUG") == "1"


def main(argv: Sequence[str] | None = None) -> None:
    """Run patchtool; map every outcome to one line on stderr and an exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = _debug_requested(args)
    # Ctrl-C becomes our own error, so click does not turn it into "Aborted!" with exit 1.
    signal.signal(signal.SIGINT, _raise_interrupted)
    signal.signal(signal.SIGTERM, _raise_interrupted)
    try:
        register_commands(args)
        app(args=args, prog_name="patchtool")
    except PatchtoolError as e:
        if debug:
            traceback.print_exc()
        # one line, whatever the message quotes from mail or a server
        err.print(f"error: {for_terminal_line(e.message)}", markup=False)
        if e.hint:
            err.print(f"hint: {for_terminal_line(e.hint)}", markup=False)
        sys.exit(int(e.exit_code))
    except KeyboardInterrupt:
        err.print("error: interrupted", markup=False)
        sys.exit(int(ExitCode.INTERRUPTED))
    except Exception as e:
        if debug:
            traceback.print_exc()
        err.print(f"error: internal error: {type(e).__name__}: {for_terminal_line(e)}", markup=False)
        err.print("hint: rerun with --debug and report the traceback", markup=False)
        sys.exit(int(ExitCode.ENVIRONMENT))
