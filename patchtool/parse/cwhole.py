"""The C functions a patch changes, read off the whole files before and after it (once applied).

A hunk alone does not always say which function it is in: git's header line may be a label
(`free_fail:` at column 0 in net/tap.c), a struct, or nothing at all, and a hunk that starts deep in
a body has no signature to read. Once the series is applied, each patch's commit has the files
before and after it, and tree-sitter reads every definition there. ``refine`` completes what the
hunks said with what the files say: a definition whose body or signature differs, or that only one
side has, and that the hunks did not name is added; a body change the files contradict (the same
definition on both sides) is dropped. A name defined twice in a file (an `#ifdef` / `#else` pair)
is left to the hunks.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

from patchtool.models import FunctionChange
from patchtool.parse.cfragments import macro_statement
from patchtool.parse.cmoves import moved_from
from patchtool.parse.cparser import for_parsing, parser

# a definition whose whole signature a macro makes, `DISAS_INSN(fpu)` at column 0 with its body's
# braces at column 0 too: tree-sitter reads no function there
_MACRO_DEFINITION = re.compile(
    rb"^([A-Z_][A-Z0-9_]*\([^()\n]*\))[ \t]*\n(\{\n.*?^\})", re.MULTILINE | re.DOTALL
)
# a name only a macro's invocation has: `REG32(CR0, 0x20)`, `INITIALIZE_MIGRATE_CAPS_SET`
_INVOCATION = re.compile(r"[A-Z_][A-Z0-9_]*(?:\s*\(.*\))?", re.DOTALL)
# a row at column 0 that names something and closes a parenthesis: maybe a macro invocation
_CANDIDATE = re.compile(rb"^[A-Za-z_][^\n]*\)[^\n]*$", re.MULTILINE)
# what the scan for preprocessor lines inside parentheses reads: comments, strings and character
# constants (skipped whole), a directive with its continuation lines, and parentheses
_TOKENS = re.compile(
    rb"/\*.*?\*/|//[^\n]*|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'|^[ \t]*#(?:[^\n]*\\\n)*[^\n]*|[()]",
    re.MULTILINE | re.DOTALL,
)
# the kinds that already say what happened to a definition of that name
_NAMED = ("added", "removed", "renamed", "signature-changed", "stub-added", "moved")


def _declarator_name(node: Any) -> str | None:
    """The name of a definition's or declaration's function declarator (a macro-made name, as
    `HELPER(conv_d2df)`, as the hunks name it)."""
    decl = node.child_by_field_name("declarator")
    while decl is not None and decl.type != "function_declarator":
        decl = decl.child_by_field_name("declarator")
    if decl is None:
        return None
    inner = decl.child_by_field_name("declarator")
    if inner is not None and inner.type in ("function_declarator", "call_expression"):
        return " ".join(inner.text.decode(errors="replace").split())
    while inner is not None and inner.type not in ("identifier", "field_identifier"):
        inner = inner.child_by_field_name("declarator")
    return inner.text.decode(errors="replace") if inner is not None else None


def entities(src: bytes) -> tuple[dict[str, tuple[str, bytes, int]], dict[str, str]]:
    """Top-level function definitions (name -> (signature, body, first line)) and prototypes
    (name -> declaration), each defined once in the file (a name defined twice is left out)."""
    defs, protos = definitions(src)
    return {k: v[0] for k, v in defs.items() if len(v) == 1}, {
        k: v[0] for k, v in protos.items() if len(v) == 1
    }


def _without_macro_statements(src: bytes) -> bytes:
    """`src` with each statement-like macro invocation (`type_init(x)`, `DEFINE_TYPES(types)` alone
    at column 0 without `;`: cfragments.macro_statement) blanked byte for byte, so that
    tree-sitter does not read it as the return type of the function below it (sample AT:
    `type_init(...)` became `DEFINE_TYPES(types)` above `PFlashCFI01 *pflash_cfi01_register(...)`,
    read as a changed return type)."""
    out = None
    for m in _CANDIDATE.finditer(src):
        text = m.group(0).decode("utf-8", errors="replace")
        if macro_statement(text, _rows_after(src, m.end())):
            out = out if out is not None else bytearray(src)
            out[m.start() : m.end()] = b" " * (m.end() - m.start())
    return bytes(out) if out is not None else src


def _rows_after(src: bytes, end: int) -> Iterator[str]:
    while end < len(src):
        stop = src.find(b"\n", end + 1)
        stop = len(src) if stop < 0 else stop
        yield src[end + 1 : stop].decode("utf-8", errors="replace")
        end = stop


def _without_inner_directives(src: bytes) -> bytes:
    """`src` with each preprocessor line inside parentheses blanked byte for byte (its newlines
    kept): `#ifndef WIN32` between a call's arguments made tree-sitter read the rest of a file as
    one error (sample AV, dbus-display-test.c). Both branches' lines stay, which reads as a call
    with one argument too many: an error of a few bytes, inside one function."""
    out = None
    depth = 0
    for m in _TOKENS.finditer(src):
        token = m.group(0)
        if token == b"(":
            depth += 1
        elif token == b")":
            depth = max(depth - 1, 0)
        elif depth and token.lstrip(b" \t").startswith(b"#"):
            out = out if out is not None else bytearray(src)
            out[m.start() : m.end()] = re.sub(rb"[^\n]", b" ", token)
    return bytes(out) if out is not None else src


def _root(src: bytes) -> Any:
    """The syntax tree of `src` with its statement-like macros blanked, or as written when that
    reads with fewer bytes in error: above a struct whose members are macros too, under `#ifdef`,
    tree-sitter reads the macro better than a hole (sample AR, whpx-internal.h: with the hole the
    rest of the header was one error; sample AU, util/rcu.c: without it a typedef below
    `QEMU_DEFINE_CO_TLS(...)` was read as a function). A reading still in error is tried once
    more without the preprocessor lines inside parentheses, and kept if that has fewer."""
    chosen = _without_macro_statements(src)
    root = parser().parse(for_parsing(chosen)).root_node
    if chosen is not src and root.has_error:
        plain = parser().parse(for_parsing(src)).root_node
        if _error_bytes(plain) < _error_bytes(root):
            root, chosen = plain, src
    if root.has_error and (inner := _without_inner_directives(chosen)) is not chosen:
        other = parser().parse(for_parsing(inner)).root_node
        if _error_bytes(other) < _error_bytes(root):
            root = other
    return root


def _error_bytes(root: Any) -> int:
    """How many bytes of the tree lie in ERROR nodes (only subtrees holding an error are walked,
    with a stack: a long `else if` chain nests deeper than Python's recursion limit)."""
    total, stack = 0, [root]
    while stack:
        node = stack.pop()
        if node.type == "ERROR":
            total += node.end_byte - node.start_byte
        else:
            stack.extend(c for c in node.children if c.has_error)
    return int(total)


_Definitions = tuple[dict[str, list[tuple[str, bytes, int]]], dict[str, list[str]]]


def definitions(src: bytes) -> _Definitions:
    """Every top-level function definition and prototype of the file, by name.

    A file a series changes patch after patch is read once per content: one patch's file after is
    the next one's before (a real 32-patch series asked for 112 readings of 98 contents). The
    caller gets its own dicts and lists."""
    defs, protos = _read_definitions(src)
    return {k: list(v) for k, v in defs.items()}, {k: list(v) for k, v in protos.items()}


@functools.lru_cache(maxsize=16)
def _read_definitions(src: bytes) -> _Definitions:
    root = _root(src)
    defs: dict[str, list[tuple[str, bytes, int]]] = {}
    protos: dict[str, list[str]] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "function_definition":
            name, body = _declarator_name(node), node.child_by_field_name("body")
            if name and body is not None:
                sig = " ".join(src[node.start_byte : body.start_byte].decode(errors="replace").split())
                defs.setdefault(name, []).append(
                    (sig, src[body.start_byte : body.end_byte], node.start_point[0] + 1)
                )
            continue
        if node.type == "declaration":
            name = _declarator_name(node)
            if name:
                text = src[node.start_byte : node.end_byte].decode(errors="replace")
                protos.setdefault(name, []).append(" ".join(text.split()))
            continue
        stack.extend(node.children)
    for m in _MACRO_DEFINITION.finditer(src):
        name = " ".join(m.group(1).decode(errors="replace").split())
        defs.setdefault(name, []).append((name, m.group(2), src.count(b"\n", 0, m.start()) + 1))
    return defs, protos


def _reread(
    path: str,
    said: tuple[FunctionChange, ...],
    every_old: dict[str, list[tuple[str, bytes, int]]],
    old: dict[str, tuple[str, bytes, int]],
    new: dict[str, tuple[str, bytes, int]],
    defined_after: set[str],
) -> tuple[FunctionChange, ...]:
    """The hunks' reading of `path` where git's diff paired one definition's lines with another's
    (seen on samples AQ and AR), set right by the whole files:

    * "added" or "removed" of a name defined on both sides: left to the comparison of the two
      (`..._files_free` turned line by line into a new `..._ident_files_free`, and written again
      below it);
    * a body or signature change of a name the old file does not define: "added", unless it
      was moved from another file (parse.cmoves.pair_across_files);
    * a rename whose old name is still defined after (`test_tls_discard_cert` split into a new
      `test_tls_deinit_cert` and itself): the new name is added, the old one compared;
    * a body change of a macro's invocation that neither file defines a function by
      (`INITIALIZE_MIGRATE_CAPS_SET(...)` heading a hunk, sample AS): dropped."""

    def added(name: str) -> FunctionChange:
        return FunctionChange(path, name, "added", new_signature=new[name][0], line=new[name][2])

    out: list[FunctionChange] = []
    for c in said:
        if c.file != path:
            out.append(c)
        elif c.kind == "renamed" and c.detail.removeprefix("renamed from ") in new and c.name in new:
            if c.name not in every_old:
                out.append(added(c.name))
        elif c.kind in ("added", "removed") and c.name in old and c.name in new:
            continue
        elif (
            c.kind in ("body-changed", "signature-changed")
            and c.name not in every_old
            and c.name in new
            and moved_from(c) is None  # a signature changed by a move from another file
        ):
            out.append(added(c.name))
        elif c.kind == "body-changed" and _INVOCATION.fullmatch(c.name) and not (
            c.name in every_old or c.name in defined_after
        ):
            continue
        else:
            out.append(c)
    return tuple(out)


# a line a series that moves headers changes: an #include (a comment after it closed on the
# line, no backslash at its end), or nothing
_INCLUDE_OR_BLANK = re.compile(
    rb"[ \t]*(?:#[ \t]*include[ \t]*(?:\"[^\"\n]*\"|<[^>\n]*>)[ \t]*"
    rb"(?:/\*(?:(?!\*/)[^\n])*\*/[ \t]*|//[^\n]*(?<!\\))?)?[ \t\r]*"
)


def _window(before: bytes, after: bytes) -> tuple[int, int] | None:
    """The rows of ``after`` (first, end) between the lines the two files share at their start
    and at their end, when every row that differs, on either side, is an `#include` or blank;
    else None."""
    old, new = before.split(b"\n"), after.split(b"\n")
    start, most = 0, min(len(old), len(new))
    while start < most and old[start] == new[start]:
        start += 1
    tail = 0
    while tail < most - start and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    changed = old[start : len(old) - tail] + new[start : len(new) - tail]
    if not all(_INCLUDE_OR_BLANK.fullmatch(row) for row in changed):
        return None
    return start, len(new) - tail


def _no_code_above(after: bytes, first: int) -> bool:
    """Whether the rows of ``after`` above ``first`` hold only comments, blanks and preprocessor
    lines: then no definition can enclose what lies below them."""
    rows = after.split(b"\n", first)[:first]
    in_comment = continued = False
    for row in rows:
        text = row.strip()
        if continued:  # a directive continued with a backslash
            continued = text.endswith(b"\\")
            continue
        if in_comment:
            if b"*/" not in text:
                continue
            in_comment, text = False, text.split(b"*/", 1)[1].strip()
        while text.startswith(b"/*"):
            if b"*/" not in text[2:]:
                in_comment, text = True, b""
                break
            text = text[2:].split(b"*/", 1)[1].strip()
        if not text or text.startswith(b"//"):
            continue
        if not text.startswith(b"#"):
            return False
        continued = text.endswith(b"\\")
    return True


def _only_includes_outside_definitions(before: bytes, after: bytes) -> bool:
    """Whether the patch changes nothing in this file but `#include` lines outside every
    function: the definitions before and after are then the same, and parsing both files would
    find nothing. A series that moves headers changes such lines in thousands of files: a real
    28-patch one has 2,900 C file changes, whose parses took 80 % of its report's 65 s.

    A row that differs lies inside a definition only if that definition spans the rows around
    it (an `#include` holds no brace), so the rows from the one above the first that differs to
    the one below the last are checked against the definitions ``after`` has: tree-sitter's, and
    those a macro makes (`DISAS_INSN(fpu)`). Above them only comments and directives: no parse.
    """
    window = _window(before, after)
    if window is None:
        return False
    first, end = window
    if _no_code_above(after, first):
        return True
    low, high = first - 1, end
    stack = [_root(after)]
    while stack:
        node = stack.pop()
        if node.type == "function_definition":
            if node.start_point[0] <= high and node.end_point[0] >= low:
                return False
            continue
        stack.extend(node.children)
    for m in _MACRO_DEFINITION.finditer(after):
        top = after.count(b"\n", 0, m.start())
        if top <= high and top + m.group(0).count(b"\n") >= low:
            return False
    return True


def refine(
    path: str, before: bytes, after: bytes, said: tuple[FunctionChange, ...]
) -> tuple[FunctionChange, ...]:
    """``said`` (the hunks' reading of every file of a patch) with this file's definitions
    completed from the whole files ``before`` and ``after`` the patch."""
    from patchtool.parse.cfuncs import signature_change

    if not any(c.file == path for c in said) and _only_includes_outside_definitions(before, after):
        return said
    every_old, protos_old = definitions(before)
    every_new, protos_new = definitions(after)
    old = {k: v[0] for k, v in every_old.items() if len(v) == 1}
    new = {k: v[0] for k, v in every_new.items() if len(v) == 1}
    said = _reread(path, said, every_old, old, new, set(every_new))
    # a prototype moved within the file, word for word (sample AS: qemu-plugin.h grouping its
    # register functions), is neither added nor removed
    kept_protos = {k for k, v in protos_old.items() if len(v) == 1 and protos_new.get(k) == v}
    moved = ("prototype-added", "prototype-removed")
    said = tuple(c for c in said if not (c.file == path and c.kind in moved and c.name in kept_protos))
    mine = [c for c in said if c.file == path]
    named = {c.name for c in mine if c.kind in _NAMED} | {
        c.detail.removeprefix("renamed from ") for c in mine if c.kind == "renamed"
    }
    bodies = {c.name for c in mine if c.kind == "body-changed"}
    kept = [
        c
        for c in said
        if not (
            c.file == path
            and c.kind == "body-changed"
            and c.name in old
            and c.name in new
            and old[c.name][:2] == new[c.name][:2]
        )
    ]
    for name in sorted(old.keys() & new.keys(), key=lambda n: new[n][2]):
        (sig_old, body_old, _), (sig_new, body_new, line) = old[name], new[name]
        if name in named:
            continue
        if " ".join(sig_old.split()) != " ".join(sig_new.split()):
            change = signature_change(path, sig_old, sig_new, line)
            if change is not None:  # it says more than the body change the hunks may have read
                kept = [
                    c for c in kept if not (c.file == path and c.name == name and c.kind == "body-changed")
                ]
                kept.append(change)
                continue
        if body_old != body_new and name not in bodies:
            kept.append(FunctionChange(path, name, "body-changed", line=line))
    # a definition only one side has that the hunks did not name: a hunk tree-sitter could not read
    # past (sample AU: a macro with a JavaScript body, `EM_JS_PRE(...)`, hid three new functions)
    seen = {c.name for c in mine} | named
    for name in sorted(new.keys() - every_old.keys() - seen, key=lambda n: new[n][2]):
        kept.append(FunctionChange(path, name, "added", new_signature=new[name][0], line=new[name][2]))
    for name in sorted(old.keys() - every_new.keys() - seen, key=lambda n: old[n][2]):
        kept.append(FunctionChange(path, name, "removed", old_signature=old[name][0], line=old[name][2]))
    return tuple(kept)
