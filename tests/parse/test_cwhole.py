"""The C functions of an applied patch completed from its whole files (parse.cwhole), and a report
on a repository that lists them (fixtures written for these tests)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from patchtool.models import FunctionChange
from patchtool.parse.cwhole import _without_inner_directives, entities, refine
from tests.conftest import run_patchtool
from tests.plugins.applyrepo import commit_all, edit
from tests.plugins.gitutil import git, make_repo

TAP_C = """#include "tap.h"

int tap_open(Tap *t, const char *name,
             int flags)
{
    int fd = open_dev(name, flags);

    if (fd < 0) {
        goto fail;
    }
    t->fd = fd;
    return 0;

fail:
    t->fd = -1;
    t->errors++;
    t->state = TAP_BROKEN;
    t->retries = 0;
    report(t, "cannot open");
    return -1;
}

int tap_close(Tap *t)
{
    return close_dev(t->fd);
}
"""


def change(name: str, kind: str, path: str = "net/tap.c", **kw: object) -> FunctionChange:
    return FunctionChange(path, name, kind, **kw)  # type: ignore[arg-type]


def facts(found: tuple[FunctionChange, ...]) -> list[tuple[str, str, str]]:
    return [(c.file, c.name, c.kind) for c in found]


def test_a_body_the_hunks_did_not_name_is_added_with_its_line() -> None:
    after = TAP_C.replace("    t->errors++;\n", "    t->errors += 2;\n").encode()
    found = refine("net/tap.c", TAP_C.encode(), after, ())
    assert facts(found) == [("net/tap.c", "tap_open", "body-changed")]
    assert found[0].line == 3


def test_a_body_change_the_files_contradict_is_dropped_and_other_files_are_kept() -> None:
    after = TAP_C.replace("close_dev(t->fd)", "close_dev(t->fd) + 0").encode()
    said = (change("tap_open", "body-changed"), change("hw_init", "body-changed", "hw/hw.c"))
    assert facts(refine("net/tap.c", TAP_C.encode(), after, said)) == [
        ("hw/hw.c", "hw_init", "body-changed"),
        ("net/tap.c", "tap_close", "body-changed"),
    ]


def test_a_signature_change_the_hunks_missed_replaces_their_body_change() -> None:
    after = TAP_C.replace("             int flags)", "             int flags, bool retry)").encode()
    found = refine("net/tap.c", TAP_C.encode(), after, (change("tap_open", "body-changed"),))
    assert facts(found) == [("net/tap.c", "tap_open", "signature-changed")]
    assert "bool retry" in (found[0].new_signature or "") and found[0].line == 3


def test_what_the_hunks_said_of_a_name_is_kept_and_names_defined_twice_are_left_to_them() -> None:
    poll = "int tap_poll(void)\n{{\n    return {};\n}}\n"
    twice = "#ifdef CONFIG_TAP\n" + poll.format(1) + "#else\n" + poll.format(0) + "#endif\n"
    before = (TAP_C + twice).encode()
    after = (TAP_C.replace("close_dev(t->fd)", "close_dev(t->fd, 0)") + twice.replace("1;", "2;")).encode()
    said = (change("tap_close", "renamed", detail="renamed from tap_shut"),)
    assert facts(refine("net/tap.c", before, after, said)) == [("net/tap.c", "tap_close", "renamed")]


def test_a_name_the_hunks_paired_wrongly_is_read_off_the_files() -> None:
    # sample AQ: git's diff turned `tap_close` into a new `tap_close_all` line by line and wrote
    # `tap_close` again below it; the hunks read "tap_close_all body-changed, tap_close added"
    after = TAP_C.replace(
        "int tap_close(Tap *t)\n{\n    return close_dev(t->fd);\n}\n",
        "int tap_close_all(Tap **t)\n{\n    return close_dev(t[0]->fd);\n}\n\n"
        "int tap_close(Tap *t)\n{\n    return close_dev(t->fd) + 1;\n}\n",
    )
    said = (change("tap_close_all", "body-changed"), change("tap_close", "added"))
    found = refine("net/tap.c", TAP_C.encode(), after.encode(), said)
    assert facts(found) == [
        ("net/tap.c", "tap_close_all", "added"),
        ("net/tap.c", "tap_close", "body-changed"),
    ]
    assert found[0].line == 23 and found[0].new_signature == "int tap_close_all(Tap **t)"


def test_report_on_an_applied_series_names_the_function_a_label_headed_hunk_changes(tmp_path: Path) -> None:
    # git heads the hunk with `fail:` (a label at column 0): the mail names no function, the
    # applied files do
    repo = make_repo(tmp_path / "r", {"net/tap.c": TAP_C})
    base = git(repo, "rev-parse", "HEAD").strip()
    edit(repo / "net/tap.c", '    report(t, "cannot open");\n', '    report(t, "cannot open %s", name);\n')
    commit_all(repo, "net/tap: name the device that did not open\n\nSigned-off-by: Ann <ann@example.org>")
    mail = subprocess.run(
        ["git", "format-patch", "-1", "--stdout", "HEAD"], cwd=repo, capture_output=True, check=True
    ).stdout
    assert b"@@ fail:" in mail
    (tmp_path / "fix.mbox").write_bytes(mail)
    git(repo, "reset", "-q", "--hard", base)
    done = run_patchtool(
        "report", tmp_path / "fix.mbox", "--repo", repo, "--base", base, "--no-checkpatch", "-f", "json"
    )
    assert done.code in (0, 1), done.stderr
    report = json.loads(done.stdout)
    [patch] = report["patches"]
    assert [(f["name"], f["kind"]) for f in patch["functions"]] == [("tap_open", "body-changed")]
    without = run_patchtool("report", tmp_path / "fix.mbox", "--no-checkpatch", "-f", "json")
    assert json.loads(without.stdout)["patches"][0]["functions"] == []


def test_a_registration_macro_above_a_function_is_not_its_return_type() -> None:
    # sample AT: a QOM conversion turned `type_init(pflash_cfi01_register_types)` into
    # `DEFINE_TYPES(types)`; the function below it was read as returning
    # "type_init pflash_cfi01_register_types PFlashCFI01 *", then "types PFlashCFI01 *"
    tail = "\nTap *tap_new(int flags)\n{\n    return tap_alloc(flags);\n}\n"
    before = TAP_C + "\nstatic void tap_register_types(void)\n{\n    type_register_static(&tap_info);\n}\n"
    before += "\ntype_init(tap_register_types)\n" + tail
    after = TAP_C + "\nDEFINE_TYPES(tap_types)\n" + tail.replace("(flags)", "(flags, 0)")
    found = refine("net/tap.c", before.encode(), after.encode(), ())
    assert facts(found) == [
        ("net/tap.c", "tap_new", "body-changed"),
        ("net/tap.c", "tap_register_types", "removed"),
    ]
    assert found[0].line == 30  # its own first line, not the macro above it


def test_a_definition_only_one_side_has_is_added_or_removed_when_the_hunks_missed_it() -> None:
    # sample AU: a macro whose body is JavaScript (`EM_JS_PRE(...)`, tcg/wasm.c) left tree-sitter
    # unable to read the hunk past it, and three new functions below it went unnamed
    js = "EM_JS(void, tap_js, (void *p),\n{\n    Module.t = new Map([[1, () => {}]]);\n});\n"
    gone = "\nstatic void tap_reset(Tap *t)\n{\n    t->fd = -1;\n}\n"
    before = TAP_C + gone
    after = TAP_C + "\n" + js + "\nstatic int tap_count(void)\n{\n    return 1;\n}\n"
    found = refine("net/tap.c", before.encode(), after.encode(), ())
    listed = [(c.name, c.kind, c.line) for c in found]
    assert listed == [("tap_count", "added", 33), ("tap_reset", "removed", 28)]
    assert found[0].new_signature == "static int tap_count(void)"
    # a name the hunks spoke of is theirs, and one defined twice after is left to them
    count = "static int tap_count(void)\n{{\n    return {};\n}}\n"
    twice = "#ifdef A\n" + count.format(1) + "#else\n" + count.format(0) + "#endif\n"
    said = (change("tap_reset", "renamed", detail="renamed from tap_clear"),)
    assert facts(refine("net/tap.c", before.encode(), (TAP_C + twice).encode(), said)) == [
        ("net/tap.c", "tap_reset", "renamed")
    ]


def test_macro_rows_above_a_struct_of_macros_are_left_to_the_parser() -> None:
    # sample AR (whpx-internal.h): typedefs and struct members made by list macros, one of them put
    # under `#ifdef`; with the macro above the struct blanked, the rest of the file read as one error
    rows = "LIST_A(MAKE_TYPE)\n#ifdef X\nLIST_B(MAKE_TYPE)\n#endif\nLIST_C(MAKE_TYPE)\n\n"
    rows += "struct Dispatch {\n    LIST_A(MEMBER)\n#ifdef X\n    LIST_B(MEMBER)\n#endif\n"
    rows += "    LIST_C(MEMBER)\n};\n"
    rows += "\nextern struct Dispatch dispatch;\n\nbool init_dispatch(void);\n"
    assert entities(rows.encode())[1]["init_dispatch"] == "bool init_dispatch(void);"


def test_a_macro_row_above_a_typedef_does_not_make_a_function_of_it() -> None:
    # sample AU (util/rcu.c): `QEMU_DEFINE_CO_TLS(...)` above `typedef QLIST_HEAD(...) ThreadList;`
    # read, with the macro in place, as a function named QLIST_HEAD
    rows = "QEMU_DEFINE_CO_TLS(struct reader, reader)\n\ntypedef QLIST_HEAD(, reader) List;\n"
    rows += "static List registry = QLIST_HEAD_INITIALIZER(registry);\n\n"
    rows += "static void wait_for(void)\n{\n    registry.first = 0;\n}\n"
    defs = entities(rows.encode())[0]
    assert sorted(defs) == ["wait_for"] and defs["wait_for"][0] == "static void wait_for(void)"


def test_directives_inside_parentheses_are_blanked_for_the_parse_and_no_others() -> None:
    # sample AV (dbus-display-test.c): `#ifndef WIN32` among a call's arguments made tree-sitter read
    # 180 lines of the file as one error, and no function in them was seen; the reading without
    # such lines is kept when it has fewer bytes in error
    rows = [
        "#define TAP_ARGS(t) (t)->fd, \\",
        "    (t)->flags",
        "#ifdef CONFIG_TAP",
        "static void tap_call(Tap *t)",
        "{",
        '    tap_log("(", t); /* ( */',
        "    tap_register(t,",
        "#ifndef WIN32",
        "        NULL,",
        "#endif",
        "        0);",
        "}",
        "#endif",
    ]
    src = "\n".join(rows).encode()
    out = _without_inner_directives(src)
    assert len(out) == len(src) and out.count(b"\n") == src.count(b"\n")
    blanked = [i for i, row in enumerate(out.decode().split("\n")) if not row.strip()]
    assert blanked == [7, 9]  # the two inside tap_register( ... ); not the #define, #ifdef, #endif


def test_an_error_deep_in_a_long_else_if_chain_is_measured_without_recursion() -> None:
    # the reading with fewer bytes in error is chosen by walking the errors: an error in the last
    # branch of an 800-branch `else if` chain lies deeper than Python's recursion limit
    chain = "".join(f"    }} else if (x == {i}) {{\n        y = {i};\n" for i in range(1, 800))
    body = "    if (x == 0) {\n        y = 0;\n" + chain + "        y = y +;\n    }\n"
    src = "type_init(tap_types)\n\nint tap_f(int x)\n{\n    int y;\n" + body + "    return y;\n}\n"
    src += "\nint tap_g(void)\n{\n    return 1;\n}\n"
    assert sorted(entities(src.encode())[0]) == ["tap_f", "tap_g"]


def test_the_files_of_an_applied_patch_are_read_through_one_cat_file(tmp_path: Path) -> None:
    from patchtool.pipeline import _file_at
    from patchtool.vcs.repo import GitRepo
    from patchtool.vcs.trees import ObjectStore

    repo = make_repo(tmp_path / "r", {"net/tap.c": TAP_C, "net/odd\nname.c": "int odd;\n"})
    head = git(repo, "rev-parse", "HEAD").strip()
    with ObjectStore(GitRepo(repo)) as store:
        assert _file_at(store, head, "net/tap.c") == TAP_C.encode()
        assert _file_at(store, head, "net/odd\nname.c") == b"int odd;\n"  # one name per line: shown apart
        assert _file_at(store, head, "net/gone.c") is None
        assert _file_at(store, head, "net") is None  # a directory is no file
        assert _file_at(store, head, "net/tap.c") == TAP_C.encode()  # the reader still in step


def test_a_file_changed_patch_after_patch_is_read_once_per_content() -> None:
    # two patches in a row on one file: the first one's file after is the second one's before
    from patchtool.parse.cwhole import _read_definitions, definitions

    first = TAP_C.replace("    t->errors++;\n", "    t->errors += 2;\n").encode()
    second = first.replace(b"return close_dev(t->fd);", b"return close_dev(t->fd) ? -1 : 0;")
    _read_definitions.cache_clear()
    one = refine("net/tap.c", TAP_C.encode(), first, ())
    two = refine("net/tap.c", bytes(first), second, ())  # an equal content, not the same object
    assert facts(one) == [("net/tap.c", "tap_open", "body-changed")]
    assert facts(two) == [("net/tap.c", "tap_close", "body-changed")]
    assert (_read_definitions.cache_info().misses, _read_definitions.cache_info().hits) == (3, 1)
    # each caller has its own dicts and lists: what one changes, the next reading does not see
    defs, protos = definitions(second)
    defs["tap_open"].clear()
    defs.pop("tap_close")
    protos["made_up"] = ["int made_up(void);"]
    again, protos_again = definitions(second)
    assert len(again["tap_open"]) == 1 and "tap_close" in again and "made_up" not in protos_again
