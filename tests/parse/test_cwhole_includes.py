"""A patch that changes only `#include` lines (a series moving headers) is read without parsing
the whole files when no definition can hold those lines, and exactly as before when one can."""

from __future__ import annotations

from patchtool.models import FunctionChange
from patchtool.parse.cwhole import _no_code_above, _only_includes_outside_definitions, _window, refine

PATH = "hw/misc/dev.c"
HEAD = """/*
 * A device of ours.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/irq.h"
#include "hw/sysbus.h"

"""
BODY = """static int level(Dev *d)
{
    return d->level;
}

#define DEF(N) case N: return #N;
const char *name_of(int n)
{
    switch (n) {
#include "names.h.inc"
    }
    return "?";
}

DISAS_INSN(fpu)
{
#include "fpu-ops.c.inc"
}

#include "late.h"

int tail(void)
{
    return 1;
}
"""
BEFORE = (HEAD + BODY).encode()


def facts(found: tuple[FunctionChange, ...]) -> list[tuple[str, str]]:
    return [(c.name, c.kind) for c in found]


def test_includes_moved_under_the_licence_need_no_parse_and_change_no_function() -> None:
    after = BEFORE.replace(b'"hw/irq.h"', b'"hw/core/irq.h"').replace(b'"hw/sysbus.h"', b'"hw/core/sysbus.h"')
    window = _window(BEFORE, after)
    assert window is not None and _no_code_above(after, window[0])
    other = (FunctionChange("hw/other.c", "init", "body-changed"),)
    assert refine(PATH, BEFORE, after, other) == other
    assert refine(PATH, BEFORE, after, ()) == ()


def test_an_include_between_functions_is_checked_against_them_and_changes_none() -> None:
    after = BEFORE.replace(b'"late.h"', b'"core/late.h"')
    window = _window(BEFORE, after)
    assert window is not None and not _no_code_above(after, window[0])
    assert _only_includes_outside_definitions(BEFORE, after)
    assert refine(PATH, BEFORE, after, ()) == ()


def test_an_include_inside_a_function_changes_its_body() -> None:
    after = BEFORE.replace(b'"names.h.inc"', b'"gen/names.h.inc"')
    assert not _only_includes_outside_definitions(BEFORE, after)
    assert facts(refine(PATH, BEFORE, after, ())) == [("name_of", "body-changed")]


def test_an_include_inside_a_definition_a_macro_makes_changes_its_body() -> None:
    after = BEFORE.replace(b'"fpu-ops.c.inc"', b'"gen/fpu-ops.c.inc"')
    assert not _only_includes_outside_definitions(BEFORE, after)
    assert facts(refine(PATH, BEFORE, after, ())) == [("DISAS_INSN(fpu)", "body-changed")]


def test_an_include_inside_a_macro_made_definition_tree_sitter_misreads_changes_its_body() -> None:
    # an initialiser left open above: tree-sitter reads no function below it, the macro rule does
    before = b'static int a[] = {\n    1, 2,\n\nDISAS_INSN(fpu)\n{\n#include "fpu-ops.c.inc"\n}\n'
    after = before.replace(b'"fpu-ops.c.inc"', b'"gen/fpu-ops.c.inc"')
    assert not _only_includes_outside_definitions(before, after)
    assert facts(refine(PATH, before, after, ())) == [("DISAS_INSN(fpu)", "body-changed")]


def test_an_include_line_that_opens_a_comment_or_continues_is_read_whole() -> None:
    # what the rows below it mean may change: the files are parsed, as for any other change
    for tail in (b" /* no longer", b" // see below \\", b" FOO"):
        after = BEFORE.replace(b'#include "hw/irq.h"\n', b'#include "hw/irq.h"' + tail + b"\n")
        assert _window(BEFORE, after) is None, tail
    closed = BEFORE.replace(b'#include "hw/irq.h"\n', b'#include "hw/core/irq.h" /* moved */\n')
    assert _window(BEFORE, closed) is not None


def test_a_change_beside_the_includes_is_read_whole() -> None:
    after = BEFORE.replace(b'"hw/irq.h"', b'"hw/core/irq.h"').replace(b"return 1;", b"return 2;")
    assert _window(BEFORE, after) is None
    assert facts(refine(PATH, BEFORE, after, ())) == [("tail", "body-changed")]
