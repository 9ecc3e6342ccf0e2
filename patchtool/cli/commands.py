"""Which module registers which command, so a run imports only the command it needs.

The order is the pipeline's, and it is the order `patchtool --help` lists the commands in.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

# command name -> module under patchtool.cli that registers it on the app (pipeline order)
COMMAND_MODULES: dict[str, str] = {
    "demo": "report_cmd",
    "fetch": "fetch_cmd",
    "apply": "apply_cmd",
    "backport": "apply_cmd",
    "build": "build_cmd",
    "test": "build_cmd",
    "bisect": "bisect_cmd",
    "diff": "diff_cmd",
    "report": "report_cmd",
    "batch": "cluster_cmd",
    "clean": "apply_cmd",
}


def command_name(args: Sequence[str]) -> str | None:
    """The command named in args: the first word that is not an option (None for `--help`)."""
    return next((a for a in args if not a.startswith("-")), None)


def register_commands(args: Sequence[str]) -> None:
    """Import the module of the command named in args; every module when none is (e.g. --help).

    Start-up time matters for a tool run once per bisect probe or apply: importing every engine
    for every command cost a third of a `patchtool fetch`.
    """
    module = COMMAND_MODULES.get(command_name(args) or "")
    for name in [module] if module else dict.fromkeys(COMMAND_MODULES.values()):
        importlib.import_module(f"patchtool.cli.{name}")
