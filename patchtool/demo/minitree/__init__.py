"""A mini QEMU world: a small C tree with a QEMU-shaped history and patch series as mail.

API: ``generate(dest, *, padding_files=0) -> MiniTree`` writes, deterministically (the same commit
ids on every run, about 0.6 s), into ``dest`` (a new or empty directory; anything else is an
InputError):

- ``dest/qemu``: a git repository checked out at ``main`` (315 commits, linear) with annotated tags
  v9.2.0, v10.0.0, v10.1.0; ``include/sysemu/`` is renamed to ``include/system/`` between v9.2.0
  and v10.0.0. The branch ``stable-9.2`` forks at v9.2.0 (before the rename) and carries three
  backports "(cherry picked from commit ...)" and v9.2.1. After v10.0.0 one commit breaks the
  build (``MiniTree.build_break``; it and the next two do not build, ``build_fix`` repairs it) and
  one commit in util/rcu.c (``rcu_regression``) makes ``func-alpha-replay`` (only run by
  ``meson test --setup thorough``) fail on about half of its runs, where before it (``rcu_parent``)
  it always passes. ``refs/minitree/expected-backport`` is the expected result of backporting
  stable-backport.mbox onto stable-9.2.
- ``dest/series/NAME.mbox``: ``git format-patch`` output of throwaway commits (not kept in the
  repository) plus review replies: reaper-v1 (no stub: does not link), reaper-v2 (applies, builds,
  Reviewed-by reply), dirty-ring-v4 (cover + 13, patches 5-13 reply to 4), rcu-gp (fixes the
  regression), conflict, stable-backport (needs the rename mapped), threeway (needs ``git am -3``),
  based (``base-commit:`` footer, older base), prereq and dependent (``Based-on:``).

The tree builds with ``./configure --target-list=alpha-softmmu && ninja -C build`` (meson and ninja
on PATH) or ``meson setup build && ninja -C build``; ``scripts/checkpatch.pl`` takes patch files or
``--branch A..B``. ``padding_files`` adds that many never-built files under hw/ for benchmarks that
want a QEMU-sized tree.
"""

from __future__ import annotations

import shutil
from dataclasses import field
from pathlib import Path

from patchtool.demo.minitree._history import STABLE_BRANCH, Chronicle, write_main, write_stable
from patchtool.demo.minitree._importer import Importer, run_git
from patchtool.errors import EnvironmentProblem, InputError
from patchtool.jsonable import record

__all__ = ["STABLE_BRANCH", "MiniTree", "generate"]


@record
class MiniTree:
    """Where the generated world is, and the commits and series that tests and demos refer to."""

    repo: Path
    series_dir: Path
    series: dict[str, Path]
    tags: dict[str, str]
    commits: dict[str, str]
    commit_count: int
    rcu_regression: str
    rcu_parent: str
    build_break: str
    build_fix: str
    rename: str
    tip: str
    stable_branch: str
    stable_branch_tip: str
    expected_backport: str
    expected_backport_tree: str
    broken_commits: tuple[str, ...] = field(default=())

    def series_path(self, name: str) -> Path:
        """The mbox of series `name` (e.g. "reaper-v2")."""
        return self.series[name]


def _check_dest(dest: Path) -> None:
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise InputError(f"{dest}: exists and is not an empty directory", "give a new or empty directory")
    if shutil.which("git") is None:
        raise EnvironmentProblem("git not found on PATH", "install git")


def generate(dest: Path, *, padding_files: int = 0) -> MiniTree:
    """Write the mini world under `dest` (new or empty directory) and describe it.

    `padding_files` adds that many small never-built files under hw/ to the first commit, for
    benchmarks that need a QEMU-sized tree (about 10,000 files); the history and series are the
    same apart from commit ids.
    """
    dest = Path(dest).resolve()
    _check_dest(dest)
    created = [dest / "qemu", dest / "series"]
    try:
        return _generate(dest, padding_files)
    except BaseException:
        # Leave the directory as we found it: empty (or absent), not half-written.
        for path in created:
            shutil.rmtree(path, ignore_errors=True)
        raise


def _generate(dest: Path, padding: int) -> MiniTree:
    from patchtool.demo.minitree._series import write_series  # imports the catalog, which needs _history

    repo = dest / "qemu"
    repo.mkdir(parents=True)
    run_git(repo, "init", "-q", "-b", "main")
    imp = Importer(repo)
    chronicle = Chronicle(imp)
    try:
        write_main(chronicle, padding)
        write_stable(chronicle)
        series, expected = write_series(chronicle, dest / "series")
    except BaseException:
        imp.kill()
        raise
    run_git(repo, "checkout", "-q", "-f", "main")
    return _describe(chronicle, repo, dest / "series", series, expected)


def _describe(c: Chronicle, repo: Path, series_dir: Path, series: dict[str, Path], expected: str) -> MiniTree:
    sha = c.imp.sha
    commits = {name: sha(mark) for name, mark in c.names.items() if ":" not in name}
    regression = c.names["rcu_regression"]
    parent = c.imp.commits[regression].parent
    assert parent is not None
    broken: list[str] = []
    mark = c.imp.commits[c.names["build_fix"]].parent
    while mark is not None and mark >= c.names["build_break"]:
        broken.append(sha(mark))
        mark = c.imp.commits[mark].parent
    return MiniTree(
        repo=repo,
        series_dir=series_dir,
        series=series,
        tags={tag: sha(mark) for tag, mark in c.tags.items()},
        commits=commits,
        commit_count=int(run_git(repo, "rev-list", "--count", "main").strip()),
        rcu_regression=sha(regression),
        rcu_parent=sha(parent),
        build_break=commits["build_break"],
        build_fix=commits["build_fix"],
        rename=commits["rename"],
        tip=commits["tip"],
        stable_branch=STABLE_BRANCH,
        stable_branch_tip=commits["stable_branch_tip"],
        expected_backport=expected,
        expected_backport_tree=run_git(repo, "rev-parse", expected + "^{tree}").strip(),
        broken_commits=tuple(reversed(broken)),
    )
