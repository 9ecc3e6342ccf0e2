"""build: real meson, ninja and cc on a small C project made by the tests."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest

from patchtool.build.meson import (
    build_dir_for,
    build_tree,
    config_key,
    find_tool,
    parse_diagnostics,
    stored_build,
    tree_id_of,
)
from patchtool.config import load_settings
from patchtool.demo.minitree import MiniTree
from patchtool.errors import EnvironmentProblem, InputError
from patchtool.store import Store
from patchtool.vcs.repo import GitRepo
from patchtool.vcs.worktrees import ensure_worktree
from tests.conftest import run_patchtool
from tests.plugins.buildtree import commit_change, write_project
from tests.plugins.gitutil import git, snapshot_repo

BROKEN_UTIL = "int add(int a, int b)\n{\n    return a + c;\n}\n"
MESON_BROKEN = "project('demo', 'c')\nexecutable('prog', 'src/main.c', link_with: no_such_library)\n"


def test_diagnostics_are_parsed_with_file_line_column_and_severity(tmp_path: Path) -> None:
    build_dir = tmp_path / "build"
    lines = [
        "[1/4] Compiling C object libutil.a.p/src_util.c.o",
        "FAILED: libutil.a.p/src_util.c.o",
        "../src/util.c: In function 'add':",
        "../src/util.c:3:16: error: 'c' undeclared (first use in this function)",
        "../src/util.c:3:16: note: each undeclared identifier is reported only once",
        "../include/x.h:7: warning: no newline at end of file",
        "../include/x.h:7: warning: no newline at end of file",
        "/usr/include/stdio.h:12:1: fatal error: bits/libc.h: No such file or directory",
    ]
    diags = parse_diagnostics(lines, build_dir, tmp_path / "src")
    assert [str(d) for d in diags] == [
        "util.c:3:16: error: 'c' undeclared (first use in this function)",
        "../include/x.h:7: warning: no newline at end of file",
        "/usr/include/stdio.h:12:1: fatal error: bits/libc.h: No such file or directory",
    ]
    assert diags[0].line == 3 and diags[0].column == 16 and diags[1].column is None


def test_find_tool_prefers_the_venv_next_to_python() -> None:
    assert find_tool("meson") == str(Path(sys.executable).parent / "meson")
    with pytest.raises(EnvironmentProblem, match="no-such-tool-xyz: not found"):
        find_tool("no-such-tool-xyz")


def test_configuration_key_follows_arguments_and_compiler() -> None:
    assert config_key(["-Dx=1"], {}) == config_key(["-Dx=1"], {})
    assert config_key(["-Dx=1"], {}) != config_key(["-Dx=2"], {})
    assert config_key([], {"CC": "clang"}) != config_key([], {"CC": "gcc"})


def test_tree_id_covers_uncommitted_work_without_touching_the_index(demo_project: Path) -> None:
    head_tree = git(demo_project, "rev-parse", "HEAD^{tree}").strip()
    assert tree_id_of(demo_project) == head_tree
    (demo_project / "src" / "util.c").write_text(BROKEN_UTIL)
    (demo_project / "src" / "new.c").write_text("int x;\n")
    before = snapshot_repo(demo_project)
    changed = tree_id_of(demo_project)
    assert changed is not None and changed != head_tree
    assert snapshot_repo(demo_project) == before
    assert tree_id_of(demo_project / "src") == git(demo_project, "rev-parse", f"{changed}:src").strip()
    assert tree_id_of(demo_project.parent) is None


def test_not_a_meson_tree_is_bad_input(tmp_path: Path, data_env: dict[str, str]) -> None:
    with pytest.raises(InputError, match=r"no meson\.build"):
        build_tree(tmp_path, load_settings())


@pytest.mark.slow
def test_rebuild_after_touching_one_file_compiles_only_its_object(
    demo_project: Path, data_env: dict[str, str]
) -> None:
    settings = load_settings()
    shown: list[str] = []
    first = build_tree(demo_project, settings, progress=shown.append)
    assert first.ok and first.configured
    assert shown[0] == "configuring demo" and any(line.startswith("[1/") for line in shown)
    assert sorted(first.compiled) == [
        "libutil.a.p/src_strs.c.o",
        "libutil.a.p/src_util.c.o",
        "prog.p/src_main.c.o",
        "unit.p/src_unit.c.o",
    ]
    assert first.build_dir == build_dir_for(demo_project, settings, config_key([]))
    assert Path(data_env["PATCHTOOL_DATA_DIR"]) in first.build_dir.parents
    assert not (demo_project / "build").exists()

    (demo_project / "src" / "util.c").write_text("int add(int a, int b)\n{\n    return b + a;\n}\n")
    second = build_tree(demo_project, settings)
    assert second.ok and not second.configured
    assert second.compiled == ("libutil.a.p/src_util.c.o",)
    assert second.steps_run >= 2  # the object, the archive, then the relinks
    assert second.build_dir == first.build_dir

    noop = build_tree(demo_project, settings)
    assert noop.ok and noop.steps_run == 0 and noop.compiled == ()


@pytest.mark.slow
def test_compile_error_is_a_verdict_with_diagnostics_and_a_kept_log(
    demo_project: Path, data_env: dict[str, str]
) -> None:
    (demo_project / "src" / "util.c").write_text(BROKEN_UTIL)
    (demo_project / "src" / "strs.c").write_text("int same(void)\n{\n    int unused;\n    return 0;\n}\n")
    with Store(load_settings().store_path) as store:
        result = build_tree(demo_project, load_settings(), store=store)
        assert not result.ok
        assert result.first_error is not None
        assert result.first_error.startswith("src/util.c:3:")
        assert "error: 'c' undeclared" in result.first_error.replace("‘", "'").replace("’", "'")
        warning = next(d for d in result.warnings if d.file == "src/strs.c")
        assert (warning.line, warning.column) == (3, 9)
        assert "unused variable" in warning.message
        log = result.log_path.read_text()
        assert "FAILED:" in log and "\x1b[" not in log
        assert result.tree_id == tree_id_of(demo_project)
        remembered = stored_build(store, result.tree_id or "", result.config_key)
        assert remembered is not None and not remembered.ok
        assert remembered.first_error == result.first_error


@pytest.mark.slow
def test_missing_compiler_is_an_environment_problem(
    demo_project: Path, data_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CC", "/nonexistent/cc")
    with pytest.raises(EnvironmentProblem, match="C compiler /nonexistent/cc not found") as caught:
        build_tree(demo_project, load_settings())
    assert caught.value.hint and "compiler" in caught.value.hint
    done = run_patchtool("build", "--worktree", demo_project, env={**data_env, "CC": "/nonexistent"})
    assert done.code == 3
    assert "error: configure of" in done.stderr and "C compiler /nonexistent not found" in done.stderr
    assert "hint: install a C compiler" in done.stderr


@pytest.mark.slow
def test_missing_dependency_is_named(demo_project: Path, data_env: dict[str, str]) -> None:
    meson_build = (demo_project / "meson.build").read_text()
    write_project(demo_project, {"meson.build": meson_build + "dependency('libnosuchthing-xyz')\n"})
    with pytest.raises(EnvironmentProblem, match="build dependency libnosuchthing-xyz not found") as caught:
        build_tree(demo_project, load_settings())
    assert caught.value.hint and "libnosuchthing-xyz" in caught.value.hint


@pytest.mark.slow
def test_a_subproject_that_cannot_be_downloaded_is_named(
    demo_project: Path, data_env: dict[str, str]
) -> None:
    # real QEMU offline: meson fetches the dtc subproject its .wrap names, and cannot
    meson_build = (demo_project / "meson.build").read_text()
    write_project(
        demo_project,
        {
            "meson.build": meson_build + "subproject('libwidget', required: true)\n",
            "subprojects/libwidget.wrap": "[wrap-git]\nurl = http://127.0.0.1:9/libwidget.git\n"
            "revision = 0123456789abcdef0123456789abcdef01234567\ndepth = 1\n",
        },
    )
    with pytest.raises(EnvironmentProblem, match="subproject libwidget is not in subprojects/") as caught:
        build_tree(demo_project, load_settings())
    hint = caught.value.hint or ""
    assert "subprojects/libwidget" in hint and "--disable-download" in hint


@pytest.mark.slow
def test_configure_script_is_run_from_inside_the_build_dir(
    demo_project: Path, data_env: dict[str, str]
) -> None:
    # A QEMU-like ./configure: records its arguments, then hands over to meson from the build dir.
    configure = demo_project / "configure"
    configure.write_text(
        '#!/bin/sh\nsrc=$(cd "$(dirname "$0")" && pwd)\necho "$@" > configure-args.txt\n'
        'exec meson setup . "$src"\n'
    )
    configure.chmod(0o755)
    result = build_tree(demo_project, load_settings(), configure_args=["--target-list=alpha-softmmu"])
    assert result.ok and result.configured
    assert (result.build_dir / "configure-args.txt").read_text() == "--target-list=alpha-softmmu\n"
    again = build_tree(demo_project, load_settings(), configure_args=["--target-list=alpha-softmmu"])
    assert not again.configured and again.build_dir == result.build_dir


# A QEMU-like ./configure that passes meson an option of the tree's own (QEMU's passes -Dgdb=...
# once meson_options.txt has it): older versions of the tree do not know the option.
CONFIGURE = '#!/bin/sh\nsrc=$(cd "$(dirname "$0")" && pwd)\nexec meson setup . "$src"{extra}\n'
OPTIONS = "option('other', type: 'string', value: '')\n"
NEWER_OPTIONS = OPTIONS + "option('extra', type: 'string', value: '')\n"


def _configure_script(repo: Path, extra: str) -> None:
    configure = repo / "configure"
    configure.write_text(CONFIGURE.format(extra=extra))
    configure.chmod(0o755)


@pytest.mark.slow
def test_a_build_directory_configured_for_another_version_is_configured_afresh(
    demo_project: Path, data_env: dict[str, str]
) -> None:
    # Seen on real QEMU (bisect over commits seven months older than the build directory's):
    # ninja's regeneration reused the newer configure's -Dgdb, and every older commit "failed
    # to build" on "Unknown options". A developer would configure afresh; so does build_tree.
    _configure_script(demo_project, "")
    old = commit_change(demo_project, {"meson_options.txt": OPTIONS}, "build: a configure script")
    _configure_script(demo_project, " -Dextra=yes")
    newer_sha = commit_change(demo_project, {"meson_options.txt": NEWER_OPTIONS}, "build: an option it sets")
    settings = load_settings()
    newer = build_tree(demo_project, settings)
    assert newer.ok and newer.configured

    git(demo_project, "checkout", "-q", old)
    older = build_tree(demo_project, settings)
    assert older.ok, older.first_error
    assert older.configured and older.build_dir == newer.build_dir
    assert (older.build_dir / "prog").is_file()
    logs = sorted(older.log_path.parent.glob("build-*.log"))
    assert any("Unknown options" in log.read_text() for log in logs)  # what it got past, kept

    # A version whose build files do not configure at all is a failed build of that version (a
    # bisect skips it), not an error of the machine; the next version configures again.
    broken = commit_change(demo_project, {"meson.build": MESON_BROKEN}, "build: break meson.build")
    failed = build_tree(demo_project, settings)
    assert not failed.ok and failed.first_error is not None
    assert "configure of" in failed.first_error and failed.log_path.name.startswith("configure-")
    # The same version again (a bisect's next commit as old as it, seen on real QEMU): the directory
    # is not configured now, and these arguments configured it before: a failed build again, not
    # an error of the machine that would stop the bisect.
    again = build_tree(demo_project, settings)
    assert not again.ok and again.first_error is not None and "configure of" in again.first_error
    # Arguments that never configured a directory here: the first configure's failure is the
    # machine's (or the arguments'), as it always was.
    with pytest.raises(EnvironmentProblem, match="configure of"):
        build_tree(demo_project, settings, configure_args=["--never-configured"])
    git(demo_project, "checkout", "-q", f"{broken}~1")
    assert build_tree(demo_project, settings).ok

    # A fresh configure that times out is the machine's problem (a loaded builder, a hung
    # download), not a verdict on that version: the build stops on it, as a first configure does.
    git(demo_project, "checkout", "-q", newer_sha)
    shutil.rmtree(newer.build_dir)  # configured by the newer ./configure, with -Dextra=yes
    assert build_tree(demo_project, settings).configured
    git(demo_project, "checkout", "-q", old)
    (demo_project / "configure").write_text("#!/bin/sh\nsleep 600\n")
    with pytest.raises(EnvironmentProblem, match=r"configure of .* timed out"):
        build_tree(demo_project, settings, timeout=10)


@pytest.mark.slow
def test_cli_builds_a_revision_in_a_tool_worktree_and_reports_the_first_error(
    demo_project: Path, data_env: dict[str, str]
) -> None:
    good = git(demo_project, "rev-parse", "HEAD").strip()
    commit_change(demo_project, {"src/util.c": BROKEN_UTIL}, "util: break the build")
    (demo_project / "src" / "main.c").write_text("dirty work in progress\n")  # would not compile
    before = snapshot_repo(demo_project)

    done = run_patchtool("build", "--repo", demo_project, "--rev", good, "--json", env=data_env)
    assert done.code == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["ok"] is True and Path(data_env["PATCHTOOL_DATA_DIR"]) in Path(result["source_dir"]).parents

    broken = run_patchtool("build", "--repo", demo_project, env=data_env)
    assert broken.code == 1
    first = broken.stdout.splitlines()[0]
    assert first.startswith("build failed: src/util.c:3:") and "error:" in first
    assert snapshot_repo(demo_project) == before

    unknown = run_patchtool("build", "--repo", demo_project, "--rev", good, "--target", "nope", env=data_env)
    assert unknown.code == 2 and "unknown target" in unknown.stderr


def test_cli_rejects_inconsistent_tree_options(tmp_path: Path, data_env: dict[str, str]) -> None:
    done = run_patchtool("build", "--repo", tmp_path, "--worktree", tmp_path, env=data_env)
    assert done.code == 2 and "exclusive" in done.stderr
    done = run_patchtool("build", "--rev", "HEAD", "--worktree", tmp_path, env=data_env)
    assert done.code == 2 and "--rev needs --repo" in done.stderr
    help_text = run_patchtool("build", "--help").stdout
    assert "Example:" in help_text


# --- the mini QEMU tree (real ./configure, meson, ninja and cc) ---

ALPHA = ["--target-list=alpha-softmmu"]


@pytest.mark.slow
def test_minitree_switching_commits_and_touching_rcu_recompile_only_rcu(
    minitree: MiniTree, minitree_copy: Path, data_env: dict[str, str]
) -> None:
    settings = load_settings()
    repo = GitRepo(minitree_copy)
    worktree = ensure_worktree(repo, settings, "build-test", minitree.rcu_parent)
    first = build_tree(worktree, settings, configure_args=ALPHA)
    assert first.ok and first.configured
    assert (first.build_dir / "qemu-system-alpha").is_file()
    assert "libqemuutil.a.p/util_rcu.c.o" in first.compiled and len(first.compiled) > 5

    # The regression commit changes util/rcu.c only: only its object is compiled again.
    assert git(
        minitree.repo, "diff", "--name-only", minitree.rcu_parent, minitree.rcu_regression
    ).split() == ["util/rcu.c"]
    ensure_worktree(repo, settings, "build-test", minitree.rcu_regression)
    switched = build_tree(worktree, settings, configure_args=ALPHA)
    assert switched.ok and not switched.configured and switched.build_dir == first.build_dir
    assert switched.compiled == ("libqemuutil.a.p/util_rcu.c.o",)

    rcu = worktree / "util" / "rcu.c"
    rcu.write_text(rcu.read_text() + "/* touched */\n")
    touched = build_tree(worktree, settings, configure_args=ALPHA)
    assert touched.compiled == ("libqemuutil.a.p/util_rcu.c.o",)
    assert touched.steps_run < first.steps_run
    assert build_tree(worktree, settings, configure_args=ALPHA).steps_run == 0


@pytest.mark.slow
def test_minitree_commit_that_does_not_build_exits_1_with_the_first_error(
    minitree: MiniTree, minitree_copy: Path, data_env: dict[str, str]
) -> None:
    done = run_patchtool(
        "build", "--repo", minitree_copy, "--rev", minitree.build_break, "--", *ALPHA, env=data_env
    )
    assert done.code == 1, done.stderr
    first_line = done.stdout.splitlines()[0]
    assert re.match(r"build failed: system/main\.c:\d+:\d+: error: too few arguments", first_line), first_line
    as_json = run_patchtool(
        "build", "--repo", minitree_copy, "--rev", minitree.build_break, "--json", env=data_env
    )
    result = json.loads(as_json.stdout)
    assert as_json.code == 1 and not result["ok"]
    assert first_line == f"build failed: {result['first_error']}"
    error = result["diagnostics"][0]
    assert error["severity"] == "error" and error["line"] > 0 and (minitree.repo / error["file"]).exists()

    fixed = run_patchtool(
        "build", "--repo", minitree_copy, "--rev", minitree.build_fix, "--", *ALPHA, env=data_env
    )
    assert fixed.code == 0, fixed.stdout + fixed.stderr


@pytest.mark.slow
def test_minitree_missing_compiler_exits_3_with_a_hint(minitree_copy: Path, data_env: dict[str, str]) -> None:
    done = run_patchtool("build", "--repo", minitree_copy, env={**data_env, "CC": "/nonexistent"})
    assert done.code == 3
    assert "C compiler /nonexistent not found" in done.stderr
    assert "hint: install a C compiler" in done.stderr
