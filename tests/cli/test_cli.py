"""The command line as a whole: help, version, exit codes for usage errors."""

from __future__ import annotations

import subprocess
import sys

from patchtool import __version__
from patchtool.cli.commands import COMMAND_MODULES
from tests.conftest import run_patchtool


def test_version() -> None:
    result = run_patchtool("--version")
    assert result.code == 0
    assert __version__ in result.stdout


def test_help_lists_commands_with_an_example() -> None:
    result = run_patchtool("--help")
    assert result.code == 0
    assert "Example:" in result.stdout


def test_unknown_command_is_a_usage_error() -> None:
    result = run_patchtool("no-such-command")
    assert result.code == 2


def test_every_registered_command_is_mapped_to_its_module() -> None:
    """A command missing from COMMAND_MODULES would vanish when invoked by name."""
    from patchtool.cli.app import app
    from patchtool.cli.commands import register_commands

    register_commands(["--help"])
    registered = {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}
    assert registered == set(COMMAND_MODULES)


def test_each_command_has_help_with_an_example() -> None:
    for command in sorted(COMMAND_MODULES):
        result = run_patchtool(command, "--help")
        assert result.code == 0, (command, result.stderr)
        assert "Example" in result.stdout, command


def test_a_command_imports_only_its_own_engine() -> None:
    script = (
        "import sys\n"
        "from patchtool.cli import main\n"
        "try:\n    main(['fetch', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('patchtool.cli.')))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert "patchtool.cli.fetch_cmd" in done.stdout
    assert "patchtool.cli.build_cmd" not in done.stdout
    assert "patchtool.cli.report_cmd" not in done.stdout
