"""A small meson C project in a git repository, for the build and test stages' tests.

It has a static library, a program, a unit test, a test failing every other run (exactly half,
so counts are predictable), a test that hangs (and leaves a child that escaped its process
group), and a test that skips.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.plugins.gitutil import git

MESON_BUILD = """\
project('demo', 'c', default_options: ['warning_level=1'])
util = static_library('util', 'src/util.c', 'src/strs.c')
executable('prog', 'src/main.c', link_with: util)
unit = executable('unit', 'src/unit.c', link_with: util)
sh = find_program('sh')
test('unit-add', unit, suite: 'unit')
test('alternate', sh, args: [files('tests/alternate.sh'), meson.current_build_dir() / 'alternate.state'],
     suite: 'thorough', is_parallel: false, timeout: 20)
test('hang', sh, args: [files('tests/hang.sh'), meson.current_build_dir() / 'hang.pids'],
     suite: 'hangs', timeout: 2)
test('skipper', sh, args: [files('tests/skip.sh')], suite: 'thorough')
add_test_setup('quick', exclude_suites: ['thorough', 'hangs'], is_default: true)
add_test_setup('thorough')
"""

FILES = {
    "meson.build": MESON_BUILD,
    "src/util.c": "int add(int a, int b)\n{\n    return a + b;\n}\n",
    "src/strs.c": "#include <string.h>\nint same(const char *a, const char *b)\n{\n"
    "    return strcmp(a, b) == 0;\n}\n",
    "src/main.c": "int add(int, int);\nint main(void)\n{\n    return add(1, -1);\n}\n",
    "src/unit.c": "#include <stdio.h>\nint add(int, int);\nint main(void)\n{\n"
    '    if (add(2, 2) != 4) {\n        printf("add broken\\n");\n        return 1;\n    }\n'
    '    printf("ok\\n");\n    return 0;\n}\n',
    # Fails on every second run: a counter kept in the build directory.
    "tests/alternate.sh": 'n=$(cat "$1" 2>/dev/null || echo 0)\nn=$((n + 1))\necho "$n" > "$1"\n'
    'echo "run $n"\nif [ $((n % 2)) -eq 0 ]; then echo "replay diverged at run $n" >&2; exit 1; fi\n',
    # Hangs; its child escapes meson's process group, as a daemonising test would.
    "tests/hang.sh": 'setsid sleep 3600 &\necho $! >> "$1"\nsleep 3600 &\necho $! >> "$1"\n'
    'echo $$ >> "$1"\nwait\n',
    "tests/skip.sh": "echo 'no guest image'\nexit 77\n",
}


def write_project(path: Path, files: dict[str, str] | None = None) -> Path:
    for name, text in {**FILES, **(files or {})}.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return path


def make_project(path: Path) -> Path:
    """The demo project as a git repository with one commit on main."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    write_project(path)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "demo: initial")
    return path


def commit_change(repo: Path, files: dict[str, str], message: str) -> str:
    for name, text in files.items():
        (repo / name).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def commit_regression(repo: Path, before: int = 3) -> tuple[str, str]:
    """(good, bad): ``before`` commits that change no code, then one that makes unit-add fail."""
    good = git(repo, "rev-parse", "HEAD").strip()
    for i in range(before):
        commit_change(repo, {f"note{i}.txt": f"{i}\n"}, f"note {i}")
    bad = commit_change(repo, {"src/util.c": "int add(int a, int b)\n{\n    return a - b;\n}\n"},
                        "util: the regression")  # fmt: skip
    return good, bad


KEYMAPS_USE = "\nkeymaps = subproject('keymaps')\nkeymaps_dep = keymaps.get_variable('keymaps_dep')\n"


def use_ignored_subproject(tree: Path) -> None:
    """As QEMU's configure downloads its subprojects: the tree's meson.build uses subproject
    keymaps, whose directory is an ignored, untracked one of the checkout."""
    meson_build = (tree / "meson.build").read_text()
    commit_change(
        tree,
        {"meson.build": meson_build + KEYMAPS_USE, ".gitignore": "/build/\n/subprojects/keymaps/\n"},
        "build: use the keymaps subproject (downloaded, ignored)",
    )
    sub = tree / "subprojects" / "keymaps"
    sub.mkdir(parents=True)
    (sub / "meson.build").write_text("project('keymaps', 'c')\nkeymaps_dep = declare_dependency()\n")


def pid_alive(pid: int) -> bool:
    """True if the process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture
def demo_project(tmp_path: Path) -> Path:
    """A fresh copy of the demo meson project (a git repository)."""
    return make_project(tmp_path / "demo")


@pytest.fixture
def data_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """PATCHTOOL_DATA_DIR and PATCHTOOL_CACHE_DIR in tmp, set for this process and CLI children."""
    env = {"PATCHTOOL_DATA_DIR": str(tmp_path / "data"), "PATCHTOOL_CACHE_DIR": str(tmp_path / "cache")}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


ProjectFactory = Callable[[Path], Path]
