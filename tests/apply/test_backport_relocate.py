"""Conflicts git leaves that a backport resolves: hunks placed by their removed lines, by renames
undone, or inside their enclosing function; each placement is a warning, an unsure one a conflict."""

from __future__ import annotations

import subprocess
from pathlib import Path

from patchtool.apply.backport import (
    NOT_BUILT,
    backport_series,
    backport_with_prerequisites,
    commit_range,
    series_from_commits,
)
from patchtool.apply.backreview import RELOCATED_CODE
from patchtool.apply.relocate import Hunk, parse_hunks, relocate_file, renames_between
from patchtool.config import load_settings
from patchtool.vcs.repo import GitRepo
from tests.plugins.applyrepo import commit_all, edit, numbered
from tests.plugins.gitutil import git, make_repo

SOURCE = (
    "#include <stdio.h>\n\n"
    + numbered(5, "/* top", " */")
    + "int m_init(void)\n{\n    int r = setup_old(1);\n    report(r);\n    return r;\n}\n"
    + numbered(5, "/* end", " */")
)


def hunk(*lines: str, start: int = 1, section: str = "") -> Hunk:
    return Hunk(start, section, tuple(lines))


def test_a_hunk_is_placed_at_its_removed_lines_when_its_context_changed() -> None:
    target = ["a", "b2", "c", "d", "e"]
    placed = relocate_file([hunk(" a", " b", "-c", "+C", " d")], target, None)
    assert placed is not None and placed[0] == ["a", "b2", "C", "d", "e"]
    assert placed[1] == ["hunk 1 placed at its removed lines"]


def test_an_ambiguous_place_is_left_a_conflict() -> None:
    target = ["x", "c", "y", "c"]
    assert relocate_file([hunk(" a", "-c", "+C", " d")], target, None) is None


def test_renames_between_base_and_target_are_undone_in_the_patch() -> None:
    base = ["res = vm.cmd('a')", "other", "x = vm.cmd('b')"]
    target = ["res = vm.command('a')", "other", "x = vm.command('b')"]
    assert renames_between(base, target) == {"cmd": "command"}
    placed = relocate_file([hunk(" other", "-x = vm.cmd('b')", "+y = vm.cmd('b')")], target, base)
    assert placed is not None and placed[0][-1] == "y = vm.command('b')"
    assert "renamed on the target: cmd -> command" in placed[1]


def test_an_insertion_goes_into_its_enclosing_function_on_the_target() -> None:
    """The anchor line occurs in two functions; the hunk header names the right one."""
    target = (
        "int first(void)\n{\n    int r = 0;\n    return r;\n}\n"
        "int second(void)\n{\n    int r = 0;\n    return r;\n}\n"
    ).splitlines()
    added = hunk("     int r = 0;", "+    r = probe();", "     return r;", section="int second(void)")
    placed = relocate_file([added], target, None)
    assert placed is not None and placed[0][7:9] == ["    int r = 0;", "    r = probe();"]
    assert placed[1] == ["hunk 1 placed inserted in second()"]
    assert relocate_file([hunk("     int r = 0;", "+    r = probe();")], target, None) is None


def test_an_enclosing_function_inside_an_ifdef_is_found_and_one_defined_twice_is_not_guessed() -> None:
    """`second` inside `#ifdef CONFIG_X` is still the file's function; `second` in both arms of an
    `#if`/`#else` is two functions, and the anchor is in both: left a conflict."""
    first = "int first(void)\n{\n    int r = 0;\n    return r;\n}\n"
    second = "int second(void)\n{\n    int r = 0;\n    return r;\n}\n"
    added = hunk("     int r = 0;", "+    r = probe();", "     return r;", section="int second(void)")
    target = (first + "#ifdef CONFIG_X\n" + second + "#endif\n").splitlines()
    placed = relocate_file([added], target, None)
    assert placed is not None and placed[0][8:10] == ["    int r = 0;", "    r = probe();"]
    assert placed[1] == ["hunk 1 placed inserted in second()"]
    twice = (first + "#if CONFIG_X\n" + second + "#else\n" + second + "#endif\n").splitlines()
    assert relocate_file([added], twice, None) is None


def test_parse_hunks_leaves_files_without_a_final_newline_to_git() -> None:
    section = "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@ f\n a\n-b\n+c\n"
    assert parse_hunks(section) == [Hunk(1, "f", (" a", "-b", "+c"))]
    assert parse_hunks(section + "\\ No newline at end of file\n") is None


def test_backport_resolves_a_conflict_cherry_pick_leaves(tmp_path: Path) -> None:
    path = make_repo(tmp_path / "r", {"hw/m.c": SOURCE})
    git(path, "branch", "stable")
    edit(path / "hw/m.c", "setup_old(1)", "setup_new(1)")
    commit_all(path, "m: rename setup_old to setup_new")
    edit(path / "hw/m.c", "    report(r);\n", "    report(r, 0);\n")
    fix = commit_all(path, "m: report with flags")
    git(path, "checkout", "-q", "stable")
    picked = subprocess.run(
        ["git", "cherry-pick", "--no-commit", fix], cwd=path, capture_output=True, check=False
    )
    assert picked.returncode != 0  # git's own merge cannot do it
    git(path, "reset", "-q", "--hard")
    repo = GitRepo(path)
    settings = load_settings({"data_dir": str(tmp_path / "data"), "cache_dir": str(tmp_path / "cache")})
    commits = commit_range(repo, fix)
    assert commits == [fix]
    result = backport_series(
        repo, series_from_commits(repo, commits), settings, onto="stable", source_commits=commits
    )
    assert result.status == NOT_BUILT and result.head is not None
    assert repo.out("show", f"{result.head}:hw/m.c") + "\n" == SOURCE.replace("report(r);", "report(r, 0);")
    [finding] = result.findings
    assert finding.code == RELOCATED_CODE and "hw/m.c: hunk 1 placed at its removed lines" in finding.message


def test_a_conflict_offers_the_upstream_commit_behind_its_lines(tmp_path: Path) -> None:
    path = make_repo(tmp_path / "r", {"hw/m.c": SOURCE})
    git(path, "branch", "stable")
    edit(path / "hw/m.c", "    report(r);\n", '    report(r, "init");\n')
    changed = commit_all(path, "m: name the report")
    edit(path / "hw/m.c", '    report(r, "init");\n', '    report(r, "init", 0);\n')
    fix = commit_all(path, "m: report with flags")
    repo = GitRepo(path)
    settings = load_settings({"data_dir": str(tmp_path / "data"), "cache_dir": str(tmp_path / "cache")})
    series = series_from_commits(repo, [fix])
    result = backport_series(repo, series, settings, onto="stable", source_commits=[fix])
    assert result.status == "conflict" and result.prerequisites == (changed,)
    both = backport_with_prerequisites(repo, series, settings, onto="stable", source_commits=[fix])
    assert both.status == NOT_BUILT and both.head is not None
    assert [p.source_commit for p in both.dependencies[0].patches] == [changed]
    assert 'report(r, "init", 0);' in repo.out("show", f"{both.head}:hw/m.c")
