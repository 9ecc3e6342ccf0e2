"""No hook, fsmonitor, filter or merge driver of the user's repository runs under any command.

A real repository gets every hook git knows of, a `core.fsmonitor` command and a clean/smudge
filter plus a merge driver selected by its `.gitattributes`, each leaving a marker file when it
runs. The whole command line then runs on it; no marker may appear. A final control shows that
plain git does run them, so the test can fail.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

from tests.conftest import run_patchtool
from tests.plugins.buildtree import commit_change, make_project
from tests.plugins.gitutil import git

HOOKS = (
    "post-checkout",
    "post-index-change",
    "reference-transaction",
    "pre-commit",
    "prepare-commit-msg",
    "commit-msg",
    "post-commit",
    "pre-rebase",
    "post-rewrite",
    "applypatch-msg",
    "pre-applypatch",
    "post-applypatch",
    "pre-auto-gc",
    "post-merge",
)


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def plant_everything(repo: Path, marks: Path) -> None:
    """Every hook, an fsmonitor command, a filter and a merge driver, each touching a marker."""
    marks.mkdir()
    hooks = repo / ".git" / "hooks"
    for name in HOOKS:
        _script(hooks / name, f'touch "{marks}/{name}"\nexit 0\n')
    monitor = _script(repo.parent / "fsmonitor-watchman", f'touch "{marks}/fsmonitor"\nexit 1\n')
    git(repo, "config", "core.fsmonitor", str(monitor))
    for kind in ("clean", "smudge"):
        git(repo, "config", f"filter.evil.{kind}", f"sh -c 'touch \"{marks}/{kind}\"; cat'")
    git(repo, "config", "filter.evil.required", "true")
    git(repo, "config", "merge.evil.driver", f"sh -c 'touch \"{marks}/merge-driver\"; false'")
    git(repo, "config", "diff.evil.textconv", f'sh -c \'touch "{marks}/textconv"; cat "$0"\'')
    git(repo, "config", "gc.auto", "1")  # any loose object would ask for an automatic gc


def hostile_repo(root: Path) -> tuple[Path, Path, dict[str, str]]:
    """The demo meson project with a series, a stable branch and a bad commit; then the plants."""
    repo = make_project(root / "user")
    (repo / ".gitattributes").write_text("* filter=evil merge=evil diff=evil\n")
    git(repo, "add", ".gitattributes")
    git(repo, "commit", "-q", "-m", "attributes")
    base = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "branch", "stable", base)
    util = (repo / "src/util.c").read_text()
    commit_change(repo, {"src/util.c": util.replace("return a + b;", "return b + a;")}, "util: swap")
    git(repo, "format-patch", "-q", "-1", "-o", str(root / "mail"))
    bad = commit_change(repo, {"src/util.c": util.replace("return a + b;", "return a - b;")}, "util: break")
    series = next((root / "mail").glob("*.patch"))
    plant_everything(repo, root / "marks")
    return repo, root / "marks", {"series": str(series), "base": base, "bad": bad}


@pytest.mark.slow
def test_no_user_hook_runs_under_any_command(tmp_path: Path, data_env: dict[str, str]) -> None:
    repo, marks, names = hostile_repo(tmp_path)
    runs = [
        ("apply", names["series"], "--repo", repo, "--base", names["base"]),
        ("apply", names["series"], "--repo", repo, "--base", names["base"], "--checkout", "--branch", "r/x"),
        ("backport", names["series"], "--onto", "stable", "--repo", repo, "--checkout", "--branch", "bp/x"),
        ("build", "--repo", repo),
        ("test", "unit-add", "--repo", repo, "--rev", names["base"]),
        ("bisect", "--good", names["base"], "--bad", names["bad"], "--test", "unit-add", "--repo", repo),
        ("report", names["series"], "--repo", repo, "--base", names["base"], "--test", "unit-add"),
        ("report", names["series"], "--repo", repo, "--base", names["base"], "-f", "email"),
        ("clean", "--repo", repo),
    ]
    for args in runs:
        done = run_patchtool(*args, cwd=repo)
        assert done.code in (0, 1), f"{args[0]}: {done.stderr}"
        assert sorted(os.listdir(marks)) == [], f"`patchtool {args[0]}` ran the user's hooks/drivers"
    # The control: plain git in the same repository does run them.
    git(repo, "checkout", "-q", "stable")
    git(repo, "status", "--porcelain")
    assert {"post-checkout", "fsmonitor", "smudge"} <= set(os.listdir(marks))


PACKAGE = Path(__file__).resolve().parents[2] / "patchtool"
# The demo writes its own fresh repositories with plumbing of its own; it still turns hooks off.
OWN_PLUMBING = {"demo/minitree/_importer.py"}


def _starts_git(tree: ast.AST) -> bool:
    """True if the module builds an argv list whose first item is the string "git"."""
    return any(
        isinstance(node, ast.List)
        and node.elts
        and isinstance(node.elts[0], ast.Constant)
        and node.elts[0].value == "git"
        for node in ast.walk(tree)
    )


def test_every_git_process_starts_in_vcs() -> None:
    starters = sorted(
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if _starts_git(ast.parse(path.read_text(encoding="utf-8")))
    )
    assert starters == sorted({"vcs/gitcmd.py", *OWN_PLUMBING})
    importer = (PACKAGE / "demo/minitree/_importer.py").read_text(encoding="utf-8")
    assert "core.hooksPath" in importer and "no_hooks_dir()" in importer
