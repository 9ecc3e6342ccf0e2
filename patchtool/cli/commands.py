"""Which module registers which command, so a run imports only the command it needs."""

from __future__ import annotations

import importlib
from collections.abc import Sequence

# command name -> module under patchtool.cli that registers it on the app
COMMAND_MODULES: dict[str, str] = {
    "fetch": "fetch_cmd",
    "apply": "apply_cmd",
    "backport": "apply_cmd",
    "clean": "apply_cmd",
    "build": "build_cmd",
    "test": "build_cmd",
    "bisect": "bisect_cmd",
    "report": "report_cmd",
    "demo": "report_cmd",
    "batch": "cluster_cmd",
}


def register_commands(args: Sequence[str]) -> None:
    """Import the module of the command named in args; every module when none is (e.g. --help).

    Start-up time matters for a tool run once per bisect probe or apply: importing every engine
    for every command cost a third of a `patchtool fetch`.
    """
    command = next((a for a in args if not a.startswith("-")), None)
    module = COMMAND_MODULES.get(command or "")
    for name in [module] if module else sorted(set(COMMAND_MODULES.values())):
        importlib.import_module(f"patchtool.cli.{name}")
