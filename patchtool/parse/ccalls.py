"""C call sites and signature compatibility, read with tree-sitter rather than as text.

A caller is a `call_expression` whose function is the name itself: never a definition, a
prototype, a string, a comment or a mention in a non-C file. Two signatures are compatible for a
caller when every existing call still compiles without a change: the same number of parameters,
and each parameter (and the return value, where a caller uses it) of a type C converts implicitly.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from patchtool.jsonable import record
from patchtool.parse.cparser import parser, top_level

_QUALIFIERS = {"const", "volatile", "restrict", "__restrict", "struct", "union", "enum", "register"}
# Integer types convert into each other implicitly: a caller passing one needs no change.
_INTEGERS = {
    "int", "unsigned", "signed", "long", "short", "char", "bool", "_Bool", "size_t", "ssize_t",
    "off_t", "hwaddr", "vaddr", "ram_addr_t", "target_ulong", "target_long", "uintptr_t", "intptr_t",
    "ptrdiff_t", "gint", "guint", "gsize", "gssize", "gboolean", "glong", "gulong", "gint64", "guint64",
    "gint32", "guint32", "gchar", "guchar", "abi_ulong", "abi_long", "abi_ptr", "tcg_target_ulong", "MemOp",
}  # fmt: skip
_INT_N = re.compile(r"^u?int(8|16|32|64|128)_t$|^u?int_fast\d+_t$|^[us](8|16|32|64)$|^Int128$")
_BYTES = {"char", "uint8_t", "int8_t", "gchar", "guchar", "u8", "s8"}


@record
class CallSite:
    """One call of the function: rows (0-based) it spans, whether its value is used, and the
    names in each argument (`&s->reg`: `s` and the member `reg`)."""

    start: int
    end: int
    value_used: bool
    args: tuple[frozenset[str], ...] = ()
    target: str = ""  # the variable or member the value is assigned to or initialises, if any
    returned_by: str = ""  # the function whose value it is (`return f();`), if any


@record
class Shape:
    """What a caller depends on: the return type, each parameter's type, and whether `...` ends it."""

    rtype: str
    params: tuple[str, ...]
    variadic: bool


@functools.lru_cache(maxsize=4)
def _root(text: str) -> Any:
    """A file's parse tree: a caller file is read by `defines`, `own_prototype` and `call_sites`
    in turn, and parsed once."""
    return parser().parse(text.encode()).root_node


def _walk(node: Any) -> Any:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def call_sites(text: str, name: str) -> list[CallSite]:
    """Every call of `name` in a C file's text (macro bodies and comments are not parsed as calls)."""
    root = _root(text)
    found = []
    for node in _walk(root):
        if node.type != "call_expression":
            continue
        func = node.child_by_field_name("function")
        if func is None or func.type != "identifier" or func.text.decode() != name:
            continue
        parent = node.parent
        used = parent is not None and parent.type not in ("expression_statement", "comma_expression")
        arguments = node.child_by_field_name("arguments")
        args = tuple(
            frozenset(n.text.decode() for n in _walk(arg) if n.type in ("identifier", "field_identifier"))
            for arg in (arguments.named_children if arguments is not None else [])
            if arg.type != "comment"
        )
        rows = node.start_point.row, node.end_point.row
        found.append(CallSite(*rows, used, args, _target(node), _returned_by(node)))
    return found


def _returned_by(call: Any) -> str:
    """`return f();`: the name of the function whose return statement this is ("" if not one)."""
    if call.parent is None or call.parent.type != "return_statement":
        return ""
    node = call.parent
    while node is not None and node.type != "function_definition":
        node = node.parent
    return _defined_name(node) if node is not None else ""


def _defined_name(definition: Any) -> str:
    """The name a function definition defines ("" when its declarator holds no plain name)."""
    decl = definition.child_by_field_name("declarator")
    while decl is not None and decl.type != "identifier":
        decl = decl.child_by_field_name("declarator")
    return decl.text.decode() if decl is not None else ""


def _target(call: Any) -> str:
    """`x = f()`, `s->x = f()`: the name `x` the call's value is assigned to ("" if none). (A
    declaration `T *x = f()` retyped rewrites the call's own line.)"""
    parent = call.parent
    if (
        parent is None
        or parent.type != "assignment_expression"
        or parent.child_by_field_name("right") != call
    ):
        return ""
    node = parent.child_by_field_name("left")
    if node is not None and node.type == "field_expression":
        node = node.child_by_field_name("field")
    return node.text.decode() if node is not None and node.type in ("identifier", "field_identifier") else ""


def own_prototype(text: str, name: str) -> str | None:
    """A file's own top-level prototype of `name` (`void f(CPUState *cs);` in a .c file), if any
    (also inside `#ifdef` blocks; none when its `#if` and `#else` prototypes differ)."""
    found = set()
    for node in top_level(_root(text)):
        if node.type != "declaration":
            continue
        decl = node.child_by_field_name("declarator")
        while decl is not None and decl.type not in ("function_declarator", "identifier"):
            decl = decl.child_by_field_name("declarator")
        inner = (
            decl.child_by_field_name("declarator")
            if decl is not None and decl.type == "function_declarator"
            else None
        )
        if inner is not None and inner.type == "identifier" and inner.text.decode() == name:
            found.add(str(node.text.decode()))
    return found.pop() if len(found) == 1 else None


def defines(text: str, name: str) -> bool:
    """Whether the file defines a function `name` of its own (a static helper sharing the name)."""
    for node in top_level(_root(text)):
        if node.type == "function_definition" and _defined_name(node) == name:
            return True
    return False


def _type_text(node: Any, src: bytes, skip: Any | None) -> str:
    """The parameter's text without its name: `const char *name` -> `const char *`."""
    text = src[node.start_byte : node.end_byte]
    if skip is not None:
        text = src[node.start_byte : skip.start_byte] + src[skip.end_byte : node.end_byte]
    words = re.sub(r"([*\[\]()])", r" \1 ", text.decode()).split()
    return " ".join(w for w in words if w not in _QUALIFIERS)


def _param_name(node: Any) -> Any | None:
    decl = node.child_by_field_name("declarator")
    while decl is not None and decl.type != "identifier":
        nxt = decl.child_by_field_name("declarator")
        if nxt is None:
            nxt = next(
                (c for c in decl.named_children if c.type.endswith("declarator") or c.type == "identifier"),
                None,
            )
        decl = nxt
    return decl


def shape(signature: str) -> Shape | None:
    """The caller-visible shape of a `FunctionChange` signature; None when it is not one function."""
    src = (signature.rstrip(";") + ";").encode()
    root = parser().parse(src).root_node
    decls = [n for n in root.children if n.type == "declaration"]
    if len(decls) != 1:
        return None
    fdecl = decls[0].child_by_field_name("declarator")
    pointer = 0
    while fdecl is not None and fdecl.type != "function_declarator":
        pointer += fdecl.type == "pointer_declarator"
        fdecl = fdecl.child_by_field_name("declarator")
    params = fdecl.child_by_field_name("parameters") if fdecl is not None else None
    if params is None:
        return None
    head = src[decls[0].start_byte : fdecl.start_byte if fdecl is not None else decls[0].end_byte].decode()
    rtype = _return_type(head) + " *" * pointer
    types, variadic = [], False
    for p in params.named_children:
        if p.type == "variadic_parameter":
            variadic = True
        elif p.type == "parameter_declaration":
            types.append(_type_text(p, src, _param_name(p)))
    if types == ["void"]:
        types = []
    return Shape(rtype, tuple(types), variadic or "..." in params.text.decode())


_STORAGE = {"static", "inline", "extern", "__inline__", "__inline"}
_MACRO_WORD = re.compile(r"^[A-Z][A-Z0-9_]+$")
# QEMU's lowercase annotation macros: they mark the function for static analysis, or for the
# script that generates the block layer's coroutine wrappers (`int co_wrapper f()`), expand to
# nothing, and no call changes with them (`bool coroutine_fn f()` returns a bool as `bool f()` does)
_ANNOTATIONS = {
    "coroutine_fn",
    "coroutine_mixed_fn",
    "no_coroutine_fn",
    "co_wrapper",
    "co_wrapper_mixed",
    "co_wrapper_bdrv_rdlock",
    "co_wrapper_mixed_bdrv_rdlock",
}
_ATTRIBUTE = re.compile(r"__attribute__\s*\(\((?:[^()]|\([^()]*\))*\)\)")


def _return_type(head: str) -> str:
    """The return type written before a function's name, without storage words and attribute
    macros (`QEMU_PLUGIN_API int` -> `int`, `bool coroutine_fn` -> `bool`)."""
    words = re.sub(r"([*()])", r" \1 ", _ATTRIBUTE.sub(" ", head)).split()
    kept = [w for w in words if w not in _QUALIFIERS | _STORAGE | _ANNOTATIONS and w not in "*()"]
    typed = [w for w in kept if not _MACRO_WORD.match(w)] or kept
    return " ".join(typed) or "int"


def is_integer(t: str) -> bool:
    words = t.split()
    return bool(words) and "*" not in words and all(w in _INTEGERS or _INT_N.match(w) for w in words)


def points_to_bytes(t: str) -> bool:
    """`const char *`, `uint8_t *`: a type a string literal is passed as."""
    return t.count("*") == 1 and t.replace("*", "").replace("const", "").strip() in _BYTES


def compatible_types(old: str, new: str) -> bool:
    """Whether a value of type `old` passes as `new` without a change at the call (no new warning)."""
    if old == new or (is_integer(old) and is_integer(new)):
        return True
    old_base, new_base = old.replace("*", "").strip(), new.replace("*", "").strip()
    if old.count("*") != new.count("*"):
        return False
    if old.count("*") == 1 and "void" in (old_base, new_base):
        return True  # void * converts to and from any object pointer
    return old.count("*") == 1 and old_base in _BYTES and new_base in _BYTES


def incompatible_parameters(old_sig: str, new_sig: str) -> tuple[int, ...]:
    """The positions (0-based) of the parameters a caller cannot pass unchanged, for signatures
    with the same number of parameters (empty otherwise)."""
    old, new = shape(old_sig), shape(new_sig)
    if old is None or new is None or len(old.params) != len(new.params):
        return ()
    pairs = zip(old.params, new.params, strict=True)
    return tuple(i for i, (a, b) in enumerate(pairs) if not compatible_types(a, b))


def changed_types(old_sig: str, new_sig: str) -> list[tuple[str, str]]:
    """The (old, new) parameter types a caller cannot pass unchanged, for same-count signatures."""
    old, new = shape(old_sig), shape(new_sig)
    if old is None or new is None or len(old.params) != len(new.params):
        return []
    return [(a, b) for a, b in zip(old.params, new.params, strict=True) if not compatible_types(a, b)]


def incompatibility(old_sig: str, new_sig: str) -> tuple[str, bool] | None:
    """Why callers of `old_sig` break with `new_sig`, and whether only callers using the value break.

    None when every existing call still compiles (or a signature does not parse: say nothing).
    """
    old, new = shape(old_sig), shape(new_sig)
    if old is None or new is None:
        return None
    if len(old.params) != len(new.params) and not (old.variadic and new.variadic):
        return f"{len(old.params)} -> {len(new.params)} parameters", False
    for i, (a, b) in enumerate(zip(old.params, new.params, strict=False)):
        if not compatible_types(a, b):
            return f"parameter {i + 1} {a} -> {b}", False
    if old.rtype != "void" and not compatible_types(new.rtype, old.rtype):
        return f"return type {old.rtype} -> {new.rtype}", True
    return None
