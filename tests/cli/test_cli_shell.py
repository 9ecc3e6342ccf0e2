"""The command-line shell: start-up cost, what each run imports, help text, completion, --debug, errors."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from patchtool.cli.commands import COMMAND_MODULES
from tests.conftest import ROOT, run_patchtool
from tests.plugins.applyrepo import ApplyRepo
from tests.plugins.gitutil import git

_IMPORTS = (
    "import json, sys\n"
    "from patchtool.cli import main\n"
    "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
    "names = {m.split('.')[0] for m in sys.modules} - set(sys.stdlib_module_names)\n"
    "print(json.dumps({'third': sorted(n for n in names if not n.startswith('_') and n != 'patchtool'),"
    " 'ours': sorted(m for m in sys.modules if m.startswith('patchtool')),"
    " 'stdlib': sorted(m for m in sys.modules if m.split('.')[0] in sys.stdlib_module_names)}))\n"
)


# Standard modules a plain run never needs, each a few ms of start-up: the email package (plain
# mail is read without it), OpenSSL's hashlib, sockets, and the dataclass code generator's exec.
_HEAVY_STDLIB = {
    "importlib.resources",  # tree_sitter_c's __init__ loads it for query files we do not read
    "email.message",
    "email.parser",
    "email.utils",
    "email.header",
    "email.policy",
    "email._parseaddr",  # git send-email's Date: is read without it
    "hashlib",
    "socket",
    "gzip",
    "base64",
    "platformdirs",
}


def _imported(*args: str | os.PathLike[str]) -> dict[str, list[str]]:
    """The third-party packages and patchtool modules that a run of `patchtool ARGS` imported."""
    done = subprocess.run(
        [sys.executable, "-c", _IMPORTS, *map(os.fspath, args)], capture_output=True, cwd=ROOT, check=True
    )
    last = done.stdout.decode().strip().splitlines()[-1]
    result: dict[str, list[str]] = json.loads(last)
    return result


def test_version_imports_nothing_but_the_cli_package() -> None:
    found = _imported("--version")
    assert {k: found[k] for k in ("third", "ours")} == {
        "third": [],
        "ours": ["patchtool", "patchtool.cli", "patchtool.errors"],
    }


def test_fetch_of_plain_mail_loads_no_email_package_nor_openssl(tmp_path: Path) -> None:
    """Reading and writing plain mail (an am-ready mbox out) needs none of them."""
    found = _imported("fetch", "fixtures/mail/reaper-v2.mbox", "-o", tmp_path)
    assert list(tmp_path.iterdir())
    assert _HEAVY_STDLIB.isdisjoint(found["stdlib"]), _HEAVY_STDLIB & set(found["stdlib"])


def test_fetch_of_a_file_imports_its_reader_and_nothing_heavy() -> None:
    found = _imported("fetch", "fixtures/mail/reaper-v2.mbox")
    # typer 0.29 would add pydantic; rich, jinja2, requests, GitPython, platformdirs are not needed
    # tree_sitter_c: its grammar extension is loaded on its own, without the package (parse/cparser.py)
    third = ["annotated_doc", "shellingham", "tree_sitter", "typer"]
    assert found["third"] == third
    ours = [m for m in found["ours"] if not m.startswith("patchtool.parse.")]  # parse's own split
    assert ours == [
        "patchtool",
        "patchtool.apply",
        "patchtool.apply.ammbox",
        "patchtool.cli",
        "patchtool.cli.app",
        "patchtool.cli.commands",
        "patchtool.cli.fetch_cmd",
        "patchtool.cli.helptext",
        "patchtool.errors",
        "patchtool.fetch",
        "patchtool.fetch.local",
        "patchtool.jsonable",
        "patchtool.models",
        "patchtool.parse",
        "patchtool.report",
        "patchtool.report.escape",  # every printed line is shown, never obeyed (issue 11); stdlib only
    ]


def test_apply_does_not_import_gitpython(apply_repo: ApplyRepo) -> None:
    found = _imported("apply", apply_repo.series_mbox, "--repo", apply_repo.path, "--base", apply_repo.base)
    assert "git" not in found["third"] and "pydantic" not in found["third"] and "rich" not in found["third"]
    assert "patchtool.apply.engine" in found["ours"]
    # applying reads no C functions: no tree-sitter, no C parser module
    assert "tree_sitter" not in found["third"] and "patchtool.parse.cfuncs" not in found["ours"]
    # object ids by the interpreter's own sha1 (hashlib would load OpenSSL), no email package
    assert {"hashlib", "email.utils", "email.parser", "socket"}.isdisjoint(found["stdlib"])


def _commands_in_help(text: str) -> list[str]:
    section = text.split("Commands", 1)[1]
    return [m.group(1) for m in re.finditer(r"^│ (\w+)\s", section, re.MULTILINE)]


def test_help_lists_commands_in_pipeline_order_starting_with_demo() -> None:
    done = run_patchtool("--help")
    assert done.code == 0
    assert _commands_in_help(done.stdout) == list(COMMAND_MODULES)
    assert list(COMMAND_MODULES)[:3] == ["demo", "fetch", "apply"]
    assert "Example: patchtool demo --dir /tmp/pt --keep" in done.stdout


def test_help_names_values_as_a_user_would() -> None:
    for command in COMMAND_MODULES:
        text = run_patchtool(command, "--help").stdout
        for python_type in ("<str>", "<int>", "<bool>", "<path>", "<float>", "list[", "{", "TEXT"):
            assert python_type not in text, (command, python_type)
        example = re.search(r"Example: (patchtool \S+.*)", text)
        assert example and example.group(1).startswith(f"patchtool {command}"), command
        assert "fixtures/" not in text and "~/" not in text, command  # examples work anywhere
    fetch = run_patchtool("fetch", "--help").stdout
    assert "patchtool fetch [OPTIONS] SOURCE..." in fetch and "--revision          -v      N" in fetch
    assert re.search(r"--repo\s+PATH", fetch)


def _help_paragraphs(command: str) -> list[list[str]]:
    """The lines of each paragraph above the options box of `command --help` on a wide terminal."""
    text = run_patchtool(command, "--help", env={"COLUMNS": "400"}).stdout
    lines = [line.strip() for line in text.split("\u256d")[0].splitlines()]
    start = next(i for i, line in enumerate(lines) if line.startswith("Usage:")) + 1
    return [p.split("\n") for p in "\n".join(lines[start:]).strip().split("\n\n")]


def test_help_paragraphs_are_unwrapped_so_examples_stay_whole() -> None:
    """Typer keeps a docstring's line breaks: help came out ragged, and an example was cut where the
    source wrapped it (copied, `patchtool bisect ...` ran without its --repo). On a wide terminal
    each paragraph is one line, save for examples, each on a line of its own."""
    for command in COMMAND_MODULES:
        for rows in _help_paragraphs(command):
            assert all(row.startswith("Example: patchtool ") for row in rows[1:]), (command, rows)
    example = "Example: patchtool bisect --good v10.0.0 --bad main --test func-alpha-replay --setup thorough"
    assert [example + " --repo /tmp/pt/world/qemu"] in _help_paragraphs("bisect")


def test_every_option_name_has_one_meaning_across_commands() -> None:
    from patchtool.cli.app import app
    from patchtool.cli.commands import register_commands
    from patchtool.cli.helptext import use_patchtool_commands

    register_commands([])
    use_patchtool_commands(app)
    group = typer.main.get_command(app)
    meanings: dict[str, set[tuple[bool, str]]] = {}
    assert isinstance(group, typer.core.TyperGroup)
    for command in group.commands.values():
        for param in command.params:
            if isinstance(param, typer.core.TyperOption):
                for name in param.opts:
                    meanings.setdefault(name, set()).add((param.is_flag, param.type.name))
                    assert name != "--repo" or param.metavar == "PATH", command.name
    assert {name: kinds for name, kinds in meanings.items() if len(kinds) > 1} == {}
    assert "--checkout" in meanings and meanings["--worktree"] == {(False, "path")}


def test_debug_is_accepted_after_the_command(tmp_path: Path) -> None:
    missing = tmp_path / "no-such.mbox"
    for args in (["--debug", "fetch", missing], ["fetch", missing, "--debug"]):
        done = run_patchtool(*args)
        assert done.code == 2 and "Traceback" in done.stderr, args
        assert any(line.startswith("error: ") for line in done.stderr.splitlines())
    quiet = run_patchtool("fetch", missing)
    assert quiet.code == 2 and "Traceback" not in quiet.stderr and len(quiet.stderr.strip().splitlines()) <= 2


def _under_bash(*args: str) -> subprocess.CompletedProcess[str]:
    """Run patchtool with bash as its parent: typer finds the user's shell by walking up the processes."""
    line = " ".join([sys.executable, "-m", "patchtool", *args]) + "; true"  # `; true`: bash must not exec
    return subprocess.run(["bash", "-c", line], capture_output=True, text=True, cwd=ROOT, check=False)


def test_shell_completion_is_offered_and_completes_commands(hermetic: Path) -> None:
    shown = _under_bash("--show-completion")
    assert "_PATCHTOOL_COMPLETE" in shown.stdout, shown.stderr
    installed = _under_bash("--install-completion")
    assert "completion installed" in installed.stdout.lower(), installed.stderr
    assert "patchtool" in (hermetic / ".bashrc").read_text()
    env = {"_PATCHTOOL_COMPLETE": "complete_bash", "COMP_WORDS": "patchtool fe", "COMP_CWORD": "1"}
    completed = run_patchtool(env=env)
    assert completed.stdout.split() == ["fetch"]
    options = run_patchtool(env={**env, "COMP_WORDS": "patchtool apply --chec", "COMP_CWORD": "2"})
    assert "--checkout" in options.stdout


def test_an_unusable_data_directory_is_an_environment_error(apply_repo: ApplyRepo, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")  # tests run as root: a file in the path blocks even root
    env = {"PATCHTOOL_DATA_DIR": str(blocker / "data")}
    done = run_patchtool("apply", apply_repo.series_mbox, "--repo", apply_repo.path, env=env)
    assert done.code == 3, done.stderr
    first = done.stderr.strip().splitlines()[0]
    assert first.startswith(f"error: {blocker}") and "internal error" not in done.stderr
    assert "not a directory" in first


def test_bisect_between_one_commit_says_so_in_one_line(apply_repo: ApplyRepo) -> None:
    same = ("--good", "HEAD", "--bad", "HEAD")
    done = run_patchtool("bisect", *same, "--run", "true", "--repo", apply_repo.path)
    assert done.code == 2
    sha = git(apply_repo.path, "rev-parse", "HEAD").strip()
    assert done.stderr.strip() == (
        f"error: --good HEAD and --bad HEAD are the same commit {sha[:12]}: nothing to bisect"
    )


@pytest.mark.slow
def test_build_of_a_revision_names_the_commit_not_the_tool_worktree(
    demo_project: Path, data_env: dict[str, str]
) -> None:
    sha = git(demo_project, "rev-parse", "HEAD").strip()
    done = run_patchtool("build", "--repo", demo_project, "--rev", "HEAD", env=data_env)
    assert done.code == 0, done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith(f"built HEAD (commit {sha[:12]}) in ")
    assert data_env["PATCHTOOL_DATA_DIR"] not in first


@pytest.mark.parametrize(
    "args", [["--version"], ["fetch", "fixtures/mail/reaper-v2.mbox"], ["fetch", "/nonexistent"]]
)
def test_the_collector_is_back_on_after_a_run(args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """main() pauses garbage collection for start-up only: a caller (or a long bisect) gets it back."""
    import gc

    from patchtool.cli import main

    monkeypatch.chdir(ROOT)
    assert gc.isenabled()
    with contextlib.suppress(SystemExit):  # click ends a command with SystemExit, errors too
        main(args)
    assert gc.isenabled()
