"""The command line as a whole: help, version, exit codes for usage errors."""

from __future__ import annotations

from patchtool import __version__
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
