"""The real-QEMU flow on the mini tree: ignored subprojects in tool worktrees, test names checked
before anything is built, only the targets a test needs, a link failure's headline, progress lines,
one ninja per build directory, the last configuration reused."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from patchtool import proc
from tests.conftest import run_patchtool
from tests.plugins.buildtree import commit_change, use_ignored_subproject
from tests.plugins.gitutil import git, snapshot_repo

ALPHA = ["--target-list=alpha-softmmu"]


def _objects(build_dir: Path) -> list[Path]:
    return list(build_dir.rglob("*.o"))


def _build_dir(done_json: str) -> Path:
    return Path(json.loads(done_json)["build_dir"])


@pytest.mark.slow
def test_ignored_subproject_is_seen_by_the_tool_worktree_and_kept_across_git_clean(
    minitree_copy: Path, data_env: dict[str, str]
) -> None:
    use_ignored_subproject(minitree_copy)
    before = snapshot_repo(minitree_copy)

    first = run_patchtool("build", "--repo", minitree_copy, "--json", "--", *ALPHA, env=data_env)
    assert first.code == 0, first.stdout + first.stderr
    tree = Path(json.loads(first.stdout)["source_dir"])
    (tree / "subprojects" / "keymaps" / "stray.o").write_text("")
    again = run_patchtool("build", "--repo", minitree_copy, "--json", env=data_env)  # reuse: git clean
    assert again.code == 0, again.stdout + again.stderr
    assert (tree / "subprojects" / "keymaps" / "meson.build").is_file()
    assert json.loads(again.stdout)["steps_run"] == 0  # same configuration, nothing rebuilt
    assert snapshot_repo(minitree_copy) == before


@pytest.mark.slow
def test_typo_in_a_test_name_is_rejected_before_building(
    minitree_copy: Path, data_env: dict[str, str]
) -> None:
    typo = run_patchtool(
        "test", "func-alpha-replai", "--setup", "thorough", "--repo", minitree_copy,
        "--configure", " ".join(ALPHA), env=data_env,
    )  # fmt: skip
    assert typo.code == 2, typo.stdout + typo.stderr
    assert "test func-alpha-replai: no such test" in typo.stderr
    assert "did you mean func-alpha-replay?" in typo.stderr
    builds = Path(data_env["PATCHTOOL_DATA_DIR"]) / "builds"
    (configured,) = [p.parent for p in builds.rglob("build.ninja")]
    assert _objects(configured) == []  # configured, then stopped: nothing compiled

    setup = run_patchtool("test", "test-rcu", "--setup", "thorogh", "--repo", minitree_copy, env=data_env)
    assert setup.code == 2 and "test setup thorogh: not defined" in setup.stderr
    assert _objects(configured) == []


@pytest.mark.slow
def test_a_test_run_builds_only_what_the_test_needs(minitree_copy: Path, data_env: dict[str, str]) -> None:
    done = run_patchtool(
        "test", "test-rcu", "--repo", minitree_copy, "--configure", " ".join(ALPHA), "--json", env=data_env
    )
    assert done.code == 0, done.stdout + done.stderr
    build_dir = _build_dir(done.stdout)
    assert (build_dir / "tests" / "unit" / "test-rcu").is_file()
    assert not (build_dir / "qemu-system-alpha").exists()  # not a dependency of test-rcu
    assert not (build_dir / "tests" / "unit" / "test-cutils").exists()


@pytest.mark.slow
def test_failing_link_is_summarised_by_the_linker_line(minitree_copy: Path, data_env: dict[str, str]) -> None:
    rcu = (minitree_copy / "util" / "rcu.c").read_text()
    broken = rcu.replace(
        "void rcu_register_thread(struct rcu_reader_data *reader)\n{\n",
        "void rcu_never_defined(void);\n\nvoid rcu_register_thread(struct rcu_reader_data *reader)\n{\n"
        "    rcu_never_defined();\n",
    )
    commit_change(minitree_copy, {"util/rcu.c": broken}, "rcu: call a function nobody defines")
    line = broken.splitlines().index("    rcu_never_defined();") + 1
    done = run_patchtool("build", "--repo", minitree_copy, "--", *ALPHA, env=data_env)
    assert done.code == 1, done.stdout + done.stderr
    head = done.stdout.splitlines()[0]
    assert head == f"build failed: util/rcu.c:{line}: error: undefined reference to `rcu_never_defined'"
    assert re.search(r"^log: .*build-.*\.log$", done.stdout, re.M)


@pytest.mark.slow
def test_progress_lines_one_ninja_and_the_last_configuration(
    minitree_copy: Path, data_env: dict[str, str]
) -> None:
    first = run_patchtool("build", "--repo", minitree_copy, "--json", "--", *ALPHA, env=data_env)
    assert first.code == 0, first.stderr
    # Not a terminal: plain lines, the ninja step counter first.
    assert re.search(r"^build: \[\d+/\d+\] ", first.stderr, re.M), first.stderr
    build_dir = _build_dir(first.stdout)
    marker = json.loads((build_dir / "patchtool-configure.json").read_text())
    assert marker["ninja"] == shutil.which("ninja")  # the developer's ninja drives this directory
    own = proc.run([marker["ninja"], "-C", str(build_dir)], cwd=build_dir, timeout=120)
    assert "no work to do" in own.text()  # the developer's ninja finds nothing to rebuild

    again = run_patchtool("build", "--repo", minitree_copy, "--json", "--quiet", env=data_env)
    assert again.code == 0 and again.stderr == ""  # --quiet: no progress at all
    assert _build_dir(again.stdout) == build_dir  # no arguments: the last configuration
    assert json.loads(again.stdout)["steps_run"] == 0


def test_test_in_a_repository_without_meson_registers_no_worktree(
    tmp_path: Path, data_env: dict[str, str]
) -> None:
    repo = tmp_path / "plain"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "README").write_text("no build here\n")
    git(repo, "add", "README")
    git(repo, "commit", "-q", "-m", "readme")
    done = run_patchtool("test", "--repo", repo, env=data_env)
    assert done.code == 2 and "no meson.build" in done.stderr
    assert git(repo, "worktree", "list").count("\n") == 1  # only the user's own checkout
