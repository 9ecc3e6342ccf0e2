"""The C names a patch's QAPI schema additions make the build generate.

A QEMU patch that adds a type, command or event to a schema (`qapi/*.json`, a test schema) uses in
its C the names the QAPI generator makes of it: `visit_type_Foo`, `qapi_free_FooList`, `qmp_query_foo`,
`qapi_event_send_foo_changed`, `FOO_BAR_VALUE`. No C line of the patch defines them, yet they are
the patch's own: on a branch that lacks them, they are not missing, the backport brings them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from patchtool.jsonable import record

# a definition's opening key and its name, as QEMU's schemas write them ('type' before QAPI's 2015
# rename to 'struct')
_DEFINES = re.compile(
    r"""['"](struct|union|enum|alternate|type|command|event|prefix)['"]\s*:\s*['"]([A-Za-z0-9_.-]+)['"]"""
)  # 'prefix' spells an enum's constants' own prefix
_TYPES = frozenset({"struct", "union", "enum", "alternate", "type"})


@record
class SchemaName:
    kind: str
    name: str


def _schema_file(path: str) -> bool:
    return path.endswith(".json") and "qapi" in path


def schema_additions(diff: str) -> list[SchemaName]:
    """The types, commands and events the diff's added schema lines define."""
    found: list[SchemaName] = []
    schema = False
    for text in diff.splitlines():
        if text.startswith("+++ "):
            name = text[4:].split("\t")[0]
            schema = name.startswith("b/") and _schema_file(name[2:])
        elif schema and text.startswith("+") and not text[1:].lstrip().startswith("#"):  # not a comment
            found += [SchemaName(m.group(1), m.group(2)) for m in _DEFINES.finditer(text)]
    return found


def _c_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def _upper(name: str) -> str:
    """A CamelCase type name as its enum constants spell their prefix (QKeyCode -> Q_KEY_CODE,
    X86CPURegister32 -> X86_CPU_REGISTER32), unless the schema gives one: a word starts at a
    capital after a small letter or a digit, or at a capital that a small letter follows after
    capitals."""
    c = _c_name(name)
    if c.isupper() or "_" in c:
        return c.upper()
    out = []
    for i, ch in enumerate(c):
        if i and ch.isupper():
            before, after = c[i - 1], c[i + 1 : i + 2]
            if before.islower() or before.isdigit() or (before.isupper() and after.islower()):
                out.append("_")
        out.append(ch)
    return "".join(out).upper()


def generated(use: str, defined: Iterable[SchemaName]) -> bool:
    """Whether `use` is a name the generator makes of one of the `defined` schema names."""
    for item in defined:
        c = _c_name(item.name)
        if item.kind in _TYPES:
            if re.search(rf"(^|_){re.escape(c)}(List|Kind)?(_|$)", use):
                return True
            if item.kind == "enum" and use.startswith(_upper(item.name) + "_"):
                return True
        elif item.kind == "prefix":
            if use.startswith(item.name + "_"):
                return True
        elif item.kind == "command":
            if re.fullmatch(rf"(qmp_|qmp_marshal_|q_obj_){re.escape(c)}(_arg)?", use):
                return True
        elif use in (f"qapi_event_send_{c.lower()}", f"QAPI_EVENT_{c.upper()}"):
            return True
    return False
