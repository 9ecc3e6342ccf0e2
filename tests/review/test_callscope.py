"""callscope.files_naming: one git grep for several names gives each the files its own grep lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchtool.review.callscope import C_PATHSPECS, files_naming
from patchtool.review.checks import run_checks
from patchtool.vcs.repo import GitRepo
from tests.plugins.gitutil import make_repo
from tests.plugins.reportkit import diff_after, make_patch, make_series

FILES = {
    "a.c": "void go(void)\n{\n    flush(1); flush_all(); kick(2);\n}\n",
    "dir with space/b.h": "void flush(int level);\nvoid kick(int n);\n",
    "c.c": "int flush_allx;\n/* flushes, kicks */\n",
    "d.c.inc": "    kick(3);\n    kick(4);\n",
    "notes.txt": "flush kick\n",
    "e.c": "int x = flush\n(2);\n",
}


def test_one_grep_for_several_names_lists_each_names_files_as_its_own_grep_does(tmp_path: Path) -> None:
    repo = GitRepo(make_repo(tmp_path / "r", FILES))
    head = repo.rev_parse("HEAD")
    names = ["flush", "flush_all", "kick", "nowhere", "a.b"]
    found = files_naming(repo, head, names, C_PATHSPECS)
    assert set(found) == {"flush", "flush_all", "kick", "nowhere"}  # "a.b" is no identifier: left out
    for name in found:
        alone = repo.git("grep", "-l", "-w", "-e", name, head, "--", *C_PATHSPECS, check=False).text()
        assert found[name] == [row.split(":", 1)[1] for row in alone.splitlines()], name
    assert found["flush"] == ["a.c", "dir with space/b.h", "e.c"] and found["nowhere"] == []


HEADER = "#ifndef T_H\n#define T_H\nvoid t_flush(int level);\nvoid t_kick(int n);\n#endif\n"
SOURCE = (
    '#include "t.h"\n\nvoid t_flush(int level)\n{\n    (void)level;\n}\n\n'
    "void t_kick(int n)\n{\n    (void)n;\n}\n"
)
USER = '#include "t.h"\n\nvoid user(void)\n{\n    t_flush(1);\n    t_kick(2);\n}\n'


def test_two_signatures_changed_in_one_series_each_find_their_stale_callers(tmp_path: Path) -> None:
    # both names are looked for in every C file: one grep serves the two
    root = make_repo(tmp_path / "r", {"include/t.h": HEADER, "hw/t.c": SOURCE, "hw/user.c": USER})
    edits = {
        "include/t.h": HEADER.replace("int level)", "int level, int mask)").replace(
            "int n)", "long n, int m)"
        ),
        "hw/t.c": SOURCE.replace("int level)", "int level, int mask)").replace("int n)", "long n, int m)"),
    }
    r = GitRepo(root)
    series = make_series([make_patch(diff_after(root, edits))])
    found = [
        f for f in run_checks(series, repo=r, base=r.rev_parse("HEAD")).findings if f.code == "stale-caller"
    ]
    assert sorted((f.file, f.line, f.message.split("(")[0]) for f in found) == [
        ("hw/user.c", 5, "t_flush"),
        ("hw/user.c", 6, "t_kick"),
    ]


PROGRAM = "int main(void)\n{\n    return 0;\n}\n"
CRT = "void _start(void)\n{\n    exit(main());\n}\n"


@pytest.mark.parametrize(
    ("program", "stale"), [("tests/b/main.c", ["tests/b/crt.c.inc"]), ("tools/a/main.c", [])]
)
def test_a_programs_main_is_looked_for_in_its_own_directory(
    tmp_path: Path, program: str, stale: list[str]
) -> None:
    # every tool and test has a main; only start-up code beside it calls it (a crt's exit(main())):
    # tests/b's crt is no caller of tools/a's main
    files = {"tools/a/main.c": PROGRAM, "tests/b/main.c": PROGRAM, "tests/b/crt.c.inc": CRT}
    root = make_repo(tmp_path / "r", files)
    edits = {program: PROGRAM.replace("main(void)", "main(int argc, char **argv)")}
    r = GitRepo(root)
    series = make_series([make_patch(diff_after(root, edits))])
    found = run_checks(series, repo=r, base=r.rev_parse("HEAD")).findings
    assert [f.file for f in found if f.code == "stale-caller"] == stale
