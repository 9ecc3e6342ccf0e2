"""The C names a patch's schema additions generate are the patch's own, never missing on a branch."""

from __future__ import annotations

from pathlib import Path

from patchtool.apply.backcheck import missing_uses
from patchtool.apply.backport import NOT_BUILT
from patchtool.apply.qapinames import SchemaName, generated, schema_additions
from tests.plugins.applyrepo import backport_mail, commit_all
from tests.plugins.gitutil import git, make_repo

SCHEMA_DIFF = """diff --git a/qapi/widget.json b/qapi/widget.json
--- a/qapi/widget.json
+++ b/qapi/widget.json
@@ -1,2 +1,12 @@
 { 'struct': 'WidgetInfo', 'data': { 'id': 'str' } }
+{ 'enum': 'WidgetColour', 'data': [ 'red', 'deep-blue' ] }
+{ 'enum': 'WidgetShape', 'prefix': 'WSHAPE', 'data': [ 'round' ] }
+{ 'union': 'WidgetPart',
+  'base': { 'kind': 'WidgetColour' }, 'discriminator': 'kind', 'data': {} }
+{ 'command': 'query-widget-parts', 'returns': ['WidgetPart'] }
+{ 'event': 'WIDGET_BROKEN', 'data': { 'id': 'str' } }
+# 'struct': 'NotInAComment' is documentation
diff --git a/hw/widget.c b/hw/widget.c
--- a/hw/widget.c
+++ b/hw/widget.c
@@ -1 +1,2 @@
 int x;
+{ 'struct': 'NotASchema' }
"""


def test_schema_lines_define_types_commands_events_and_prefixes() -> None:
    found = {(s.kind, s.name) for s in schema_additions(SCHEMA_DIFF)}
    assert {("enum", "WidgetColour"), ("union", "WidgetPart"), ("command", "query-widget-parts")} <= found
    assert {("event", "WIDGET_BROKEN"), ("prefix", "WSHAPE")} <= found
    assert ("struct", "WidgetInfo") not in found  # context, not added
    assert ("struct", "NotInAComment") not in found
    assert ("struct", "NotASchema") not in found  # a C file is no schema


def test_the_generated_names_of_each_kind_are_recognised_and_others_are_not() -> None:
    defined = schema_additions(SCHEMA_DIFF)
    for name in (
        "WidgetPart", "WidgetPartList", "visit_type_WidgetPart", "qapi_free_WidgetPartList",
        "WIDGET_COLOUR_DEEP_BLUE", "WidgetColour_lookup", "WSHAPE_ROUND",
        "qmp_query_widget_parts", "qmp_marshal_query_widget_parts",
        "qapi_event_send_widget_broken", "QAPI_EVENT_WIDGET_BROKEN",
    ):  # fmt: skip
        assert generated(name, defined), name
    for name in ("WidgetPartner", "visit_type_WidgetInfo", "WIDGET_COLOURS", "qmp_query_widget", "WSHAPES"):
        assert not generated(name, defined), name
    camel = [SchemaName("enum", "X86CPURegister32"), SchemaName("enum", "QKeyCode")]
    assert generated("X86_CPU_REGISTER32_EAX", camel) and generated("Q_KEY_CODE_SHIFT", camel)


FLAT = """#include "qemu/osdep.h"

static void test_flat(void)
{
    run_flat();
}
"""
USE = """
static void test_flat_two(void)
{
    WidgetPart *tmp = NULL;
    visit_type_WidgetPart(v, &tmp, NULL, &err);
    qapi_free_WidgetPart(tmp);
}
"""


def test_a_backport_bringing_its_own_schema_type_is_not_missing_it(tmp_path: Path) -> None:
    # stable-2.1's test for unions with no discriminator: the mail adds the union to the test schema
    # and visits it in C; the stable branch holds the mail's preimages, and upstream later merged
    # that test file into another (so the names' upstream origin is the merge, not this patch).
    # The generated names come with the backport.
    other = "".join(f"static void test_other_{i}(void)\n{{\n    run_other({i});\n}}\n\n" for i in range(30))
    files = {"tests/qapi-schema/test.json": "{ 'struct': 'WidgetInfo', 'data': {} }\n", "tests/t.c": FLAT}
    files["tests/other.c"] = other
    path = make_repo(tmp_path / "r", files)
    git(path, "branch", "stable")
    schema = "{ 'union': 'WidgetPart', 'base': 'WidgetInfo', 'data': {} }\n"
    with open(path / "tests/qapi-schema/test.json", "a") as f:
        f.write(schema)
    with open(path / "tests/t.c", "a") as f:
        f.write(USE)
    fix = commit_all(path, "tests: visit a union with no discriminator")
    with open(path / "tests/other.c", "a") as f:  # the file merged into a bigger one
        f.write((path / "tests/t.c").read_text())
    git(path, "rm", "-q", "tests/t.c")
    commit_all(path, "tests: merge the visitor tests")
    repo, result = backport_mail(tmp_path, path, fix)
    assert result.head is not None and result.status == NOT_BUILT and result.findings == ()
    # the same C lines without their schema lines: the names are missing, and said so
    diff = git(path, "diff", f"{fix}^", fix, "--", "tests/t.c")
    names = {m.use.name for m in missing_uses(repo, diff, repo.rev_parse("stable"), repo.rev_parse("main"))}
    assert "visit_type_WidgetPart" in names
