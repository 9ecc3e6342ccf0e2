"""Which C functions, prototypes, structs and macros a hunk touches, and how.

A hunk gives two fragments of a file: its pre-image (context and removed lines) and its
post-image (context and added lines). tree-sitter-c parses each fragment (it tolerates the
truncated code a fragment is); git's hunk header names the function a fragment starts inside.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from patchtool.jsonable import record
from patchtool.models import FunctionChange
from patchtool.parse.cfragments import (
    close_open_scopes,
    code_of,
    is_comment_row,
    mark_macro_calls,
    open_signature,
    reopen_comment,
    section_opens_scope,
    section_scope,
)
from patchtool.parse.cparser import for_parsing, parser

C_SUFFIXES = (".c", ".h", ".inc", ".c.inc", ".h.inc")
_STORAGE = {"static", "inline", "extern", "__inline__", "__inline", "G_GNUC_UNUSED", "QEMU_ALWAYS_INLINE"}
_MEMBER = re.compile(r"^\s*[A-Za-z_][^;()=]*?\b([A-Za-z_]\w*)\s*(\[[^\]]*\])?\s*(:\s*\d+)?\s*;")
_TRIVIAL_BODY = re.compile(r"^\{\s*((return\b[^;]*|g_assert_not_reached\(\)|abort\(\));)?\s*\}$")


@record
class _Item:
    """A top-level C entity found in a fragment, with the image rows it spans."""

    kind: str  # "function" | "prototype" | "struct" | "macro"
    name: str
    start: int
    end: int
    signature: str = ""
    rtype: str = ""
    params: str = ""
    members: tuple[str, ...] = ()
    member_rows: tuple[int, ...] = ()  # the row of each member, in the same order
    member_decls: tuple[str, ...] = ()  # each member's declaration, spaced for comparison
    body: str = ""  # "empty body" | "trivial body" | ""


def _norm(text: str) -> str:
    return " ".join(text.split())


def _function_declarator(node: Any) -> Any | None:
    while node is not None and node.type != "function_declarator":
        node = node.child_by_field_name("declarator")
    return node


def _name_node(fdecl: Any) -> Any | None:
    inner = fdecl.child_by_field_name("declarator")
    while inner is not None and inner.type not in ("identifier", "field_identifier"):
        inner = inner.child_by_field_name("declarator")
    return inner


def _body_kind(body_text: str) -> str:
    if body_text.replace(" ", "") == "{}":
        return "empty body"
    return "trivial body" if _TRIVIAL_BODY.match(body_text) else ""


def _function_item(node: Any, src: bytes, kind: str) -> _Item | None:
    declarator = node.child_by_field_name("declarator")
    fdecl = _function_declarator(declarator)
    if fdecl is None:
        return None
    name = _name_node(fdecl)
    if name is None:
        return None
    body = node.child_by_field_name("body")
    sig_end = body.start_byte if body is not None else node.end_byte
    rtype = [w for w in _norm(src[node.start_byte : name.start_byte].decode()).split() if w not in _STORAGE]
    params = fdecl.child_by_field_name("parameters")
    body_text = _norm(src[body.start_byte : body.end_byte].decode()) if body is not None else ""
    inner = fdecl.child_by_field_name("declarator")
    # `void HELPER(add)(CPUState *env)`: a macro makes the name; keep `HELPER(add)`, which no
    # call expression names (callers use the expanded helper_add through generated code)
    shown = _norm(inner.text.decode()) if inner is not None and inner.type == "function_declarator" else ""
    return _Item(
        kind=kind,
        name=shown or name.text.decode(),
        start=node.start_point.row,
        end=node.end_point.row,
        signature=_norm(src[node.start_byte : sig_end].decode()).rstrip(";").strip(),
        rtype=" ".join(rtype).replace(" *", "*").strip() or "int",
        params=_norm(params.text.decode()) if params is not None else "",
        body=_body_kind(body_text),
    )


def _struct_item(node: Any) -> _Item | None:
    name = node.child_by_field_name("name")
    body = node.child_by_field_name("body")
    if name is None or body is None:
        return None
    members, rows, decls = [], [], []
    for field in body.named_children:
        if field.type == "field_declaration":
            # a function-pointer member nests its name in parentheses: `void (*reset)(Dev *d)`
            ident = _first_of_type(field.child_by_field_name("declarator"), "field_identifier")
            if ident is not None:
                members.append(ident.text.decode())
                rows.append(ident.start_point.row)
                decls.append(_norm(field.text.decode()))
    return _Item(
        "struct",
        name.text.decode(),
        node.start_point.row,
        node.end_point.row,
        members=tuple(members),
        member_rows=tuple(rows),
        member_decls=tuple(decls),
    )


def _first_of_type(node: Any | None, kind: str) -> Any | None:
    stack = [node] if node is not None else []
    while stack:
        current = stack.pop(0)
        if current.type == kind:
            return current
        stack[:0] = current.children
    return None


def _macro_item(node: Any) -> _Item | None:
    name = node.child_by_field_name("name")
    if name is None:
        return None
    params = node.child_by_field_name("parameters")
    text = _norm(params.text.decode()) if params is not None else ""
    return _Item("macro", name.text.decode(), node.start_point.row, node.start_point.row, params=text)


def _items(text: str) -> list[_Item]:
    """Top-level entities of a fragment (never descending into function bodies)."""
    text = close_open_scopes("\n".join(mark_macro_calls(reopen_comment(text.split("\n")))))
    src = text.encode()
    found: list[_Item] = []
    stack = [parser().parse(for_parsing(src)).root_node]
    while stack:
        node = stack.pop()
        item: _Item | None = None
        if node.type == "function_definition":
            item = _function_item(node, src, "function")
        elif node.type == "declaration" and _function_declarator(node.child_by_field_name("declarator")):
            item = _function_item(node, src, "prototype")
        elif node.type in ("preproc_def", "preproc_function_def"):
            item = _macro_item(node)
        elif node.type == "struct_specifier":
            item = _struct_item(node)
        if item is not None:
            found.append(item)
        if node.type not in ("function_definition", "compound_statement"):
            stack.extend(reversed(node.children))
    return found


def _define_rows(texts: list[str]) -> set[int]:
    """The rows that continue a `#define` begun in the fragment (after a row ending in `\\`):
    the indented value of a macro written over lines is not the body of the scope git named
    (`#define NIC_QUEUES(n) \\` then `    ((n) * 2)` read as such hid every macro of the hunk)."""
    rows: set[int] = set()
    continued = False
    for row, text in enumerate(texts):
        if continued:
            rows.add(row)
        continued = (continued or text.lstrip().startswith("#")) and text.rstrip().endswith("\\")
    return rows


def _leading_rows(texts: list[str]) -> int:
    """How many rows at the fragment's start still belong to the scope git named in the header."""
    if texts and texts[0].rstrip().endswith("\\"):
        # the hunk starts inside a multi-line #define: its body ends at the first row without `\`
        return next((row + 1 for row, t in enumerate(texts) if not t.rstrip().endswith("\\")), len(texts))
    depth = 0
    for row, text in enumerate(texts):
        if "{" not in text and "}" not in text:
            continue  # only braces move the depth
        for char in code_of(text):
            if char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
                if depth < 0 and text.startswith("}"):
                    return row + 1
                depth = max(depth, 0)  # an indented "}" closes an inner block of the scope, not the scope
    in_define = _define_rows(texts)
    code = [
        row
        for row, t in enumerate(texts)
        if t.strip()
        and not t.startswith("#")
        and row not in in_define
        and not t.rstrip().endswith(":")
        and not is_comment_row(t)
    ]
    if not code or texts[code[0]][:1] not in (" ", "\t"):
        return 0
    # indented rows first, and no `}` at column 0 closed them: the header's body goes on, unless
    # code starts at column 0 (a function body holds none), so they were the tail of something
    # else, such as a `#define` continued over lines
    return next((row for row in code if texts[row][:1] not in (" ", "\t", "}")), len(texts))


@dataclass
class _Image:
    """One side of a hunk: its text rows, the kind (' ', '+', '-') of the hunk line behind each row,
    and the file's line number of row 0 (the hunk header's start on that side)."""

    texts: list[str]
    kinds: list[str]
    first: int = 1

    @classmethod
    def of(cls, lines: list[tuple[str, str]], keep: str, first: int) -> _Image:
        picked = [(k, t) for k, t in lines if k in keep]
        return cls([t for _, t in picked], [k for k, _ in picked], first)

    def line(self, row: int) -> int:
        return self.first + row

    def changed(self, start: int, end: int) -> bool:
        return any(k != " " for k in self.kinds[start : end + 1])


def _lead_changes(
    path: str, scope: tuple[str, str] | None, pre: _Image, post: _Image, lp: int, lq: int
) -> list[FunctionChange]:
    if scope is None or not (pre.changed(0, lp - 1) or post.changed(0, lq - 1)):
        return []
    kind, name = scope
    if kind == "function":
        return [FunctionChange(path, name, "body-changed")]
    changes = []
    for image, verb in ((post, "added"), (pre, "removed")):
        for row in range(lq if image is post else lp):
            member = _MEMBER.match(image.texts[row])
            if image.kinds[row] != " " and member:
                detail = f"member {member.group(1)}"
                changes.append(
                    FunctionChange(path, name, f"struct-member-{verb}", detail=detail, line=image.line(row))
                )
    return _changed_members(changes)


def _changed_members(changes: list[FunctionChange]) -> list[FunctionChange]:
    """A member removed and added again under the same name had its declaration changed."""
    added = {c.detail: c for c in changes if c.kind == "struct-member-added"}
    gone = {c.detail for c in changes if c.kind == "struct-member-removed"}
    out = []
    for c in changes:
        if c.detail in added and c.detail in gone:
            if c.kind == "struct-member-added":
                out.append(replace(c, kind="struct-member-changed"))
        else:
            out.append(c)
    return out


def _function_changes(
    path: str, old: dict[str, _Item], new: dict[str, _Item], pre: _Image, post: _Image, off: tuple[int, int]
) -> list[FunctionChange]:
    changes: list[FunctionChange] = []
    for name, item in new.items():
        before = old.get(name)
        line = post.line(item.start + off[1])
        if before is not None and _norm(before.signature) != _norm(item.signature):
            changes.append(_signature_change(path, before, item, line))
        elif before is not None:
            if post.changed(item.start + off[1], item.end + off[1]) or pre.changed(
                before.start + off[0], before.end + off[0]
            ):
                changes.append(
                    FunctionChange(path, name, "body-changed", new_signature=item.signature, line=line)
                )
        elif post.kinds[item.start + off[1]] == "+":
            kind = "stub-added" if "stub" in path.lower() else "added"
            detail = item.body if kind == "stub-added" else ""
            changes.append(
                FunctionChange(path, name, kind, new_signature=item.signature, detail=detail, line=line)
            )
        elif post.changed(item.start + off[1], item.end + off[1]):
            changes.append(
                FunctionChange(path, name, "body-changed", new_signature=item.signature, line=line)
            )
    for name, item in old.items():
        if name not in new and pre.kinds[item.start + off[0]] == "-":
            line = pre.line(item.start + off[0])
            changes.append(FunctionChange(path, name, "removed", old_signature=item.signature, line=line))
    return changes


def _signature_change(path: str, before: _Item, after: _Item, line: int) -> FunctionChange:
    details = []
    if before.rtype != after.rtype:
        details.append(f"return type {before.rtype} -> {after.rtype}")
    if _norm(before.params) != _norm(after.params):
        details.append(f"parameters {before.params} -> {after.params}")
    return FunctionChange(
        path,
        after.name,
        "signature-changed",
        before.signature,
        after.signature,
        detail="; ".join(details) or "qualifiers changed",
        line=line,
    )


def _simple_changes(
    path: str,
    kind: str,
    old: dict[str, _Item],
    new: dict[str, _Item],
    pre: _Image,
    post: _Image,
    off: tuple[int, int],
) -> list[FunctionChange]:
    """Prototypes, macros and structs: added, removed, or (structs) members added/removed."""
    changes = []
    for name, item in new.items():
        line = post.line(item.start + off[1])
        if name not in old and post.kinds[item.start + off[1]] == "+":
            sig = item.signature or None
            changes.append(FunctionChange(path, name, f"{kind}-added", new_signature=sig, line=line))
        elif kind == "struct" and name in old:
            changes += _member_changes(path, old[name], item, pre, post, off)
        elif kind == "prototype" and name in old and _norm(old[name].signature) != _norm(item.signature):
            changes.append(_signature_change(path, old[name], item, line))
        elif kind == "macro" and name in old and old[name].params != item.params:
            detail = f"parameters {old[name].params or '(none)'} -> {item.params or '(none)'}"
            changes.append(FunctionChange(path, name, "macro-params-changed", detail=detail, line=line))
    for name, item in old.items():
        if name not in new and pre.kinds[item.start + off[0]] == "-":
            sig, line = item.signature or None, pre.line(item.start + off[0])
            changes.append(FunctionChange(path, name, f"{kind}-removed", old_signature=sig, line=line))
    return changes


def _member_changes(
    path: str, before: _Item, after: _Item, pre: _Image, post: _Image, off: tuple[int, int]
) -> list[FunctionChange]:
    """Members a struct gains or loses, each with its own line (new side if added, old if removed)."""
    changes = []
    for struct, other, image, verb, shift in (
        (after, before, post, "added", off[1]),
        (before, after, pre, "removed", off[0]),
    ):
        for member, row in zip(struct.members, struct.member_rows, strict=True):
            if member not in other.members:
                line = image.line(row + shift)
                changes.append(
                    FunctionChange(
                        path, after.name, f"struct-member-{verb}", detail=f"member {member}", line=line
                    )
                )
    old_decls = dict(zip(before.members, before.member_decls, strict=True))
    for member, row, decl in zip(after.members, after.member_rows, after.member_decls, strict=True):
        if member in old_decls and old_decls[member] != decl and post.changed(row + off[1], row + off[1]):
            line = post.line(row + off[1])
            changes.append(
                FunctionChange(
                    path, after.name, "struct-member-changed", detail=f"member {member}", line=line
                )
            )
    return changes


def _by_kind(items: list[_Item], kind: str) -> dict[str, _Item]:
    return {i.name: i for i in items if i.kind == kind}


def analyze_hunk(
    path: str, section: str, lines: list[tuple[str, str]], starts: tuple[int, int]
) -> list[FunctionChange]:
    """The C-level changes one hunk makes; `lines` are (kind, text) with kind ' ', '+' or '-'.

    `starts` are the hunk header's old and new start lines, for FunctionChange.line.
    """
    # git's header line comes from the old file: whether the hunk continues it is read off the
    # pre-image alone (a removed and an added closing row would close its parenthesis twice)
    if section_opens_scope(section, [t for kind, t in lines if kind != "+"]):
        # the header line is the signature the hunk continues: read it as a context row
        lines, starts, section = [(" ", section.strip()), *lines], (starts[0] - 1, starts[1] - 1), ""
    pre, post = _Image.of(lines, " -", starts[0]), _Image.of(lines, " +", starts[1])
    lp, lq = _leading_rows(pre.texts), _leading_rows(post.texts)
    changes = _lead_changes(path, section_scope(section), pre, post, lp, lq)
    try:
        old_items = _items("\n".join(pre.texts[lp:]))
        new_items = _items("\n".join(post.texts[lq:]))
    except ImportError:  # no tree-sitter: git's hunk header is all we know
        scope = section_scope(section)
        if not changes and scope and scope[0] == "function":
            changes.append(FunctionChange(path, scope[1], "body-changed"))
        return changes
    off = (lp, lq)
    changes += _open_signature(path, pre, post)
    new_funcs = _by_kind(new_items, "function")
    old_funcs = _by_kind(old_items, "function")
    changes += _function_changes(path, old_funcs, new_funcs, pre, post, off)
    for kind in ("prototype", "macro", "struct"):
        old = {n: i for n, i in _by_kind(old_items, kind).items() if n not in old_funcs}
        new = {n: i for n, i in _by_kind(new_items, kind).items() if n not in new_funcs}
        changes += _simple_changes(path, kind, old, new, pre, post, off)
    return _renames(changes)


def _open_signature(path: str, pre: _Image, post: _Image) -> list[FunctionChange]:
    """A signature whose parameter list the hunk changes and leaves open at its end (the list
    goes on past the hunk, so no fragment parses it): a signature change with no signatures."""
    found = []
    for image in (pre, post):
        opened = open_signature(image.texts)
        if opened is not None and image.changed(opened[0], len(image.texts) - 1):
            found.append(opened[1])
    return [
        FunctionChange(
            path, name, "signature-changed", detail="parameters changed (the list goes on past the hunk)"
        )
        for name in dict.fromkeys(found)
    ]


def _renames(changes: list[FunctionChange]) -> list[FunctionChange]:
    """One function removed and one added with the same parameters is a rename ("renamed"); so is
    one prototype removed and one added ("prototype-renamed": a declaration, as a header's
    `int qemu_savevm_state_setup(...)` -> `..._do_setup(...)`, sample AN, not a definition)."""
    for removed_kind, added_kind, kind in (
        ("removed", "added", "renamed"),
        ("prototype-removed", "prototype-added", "prototype-renamed"),
    ):
        gone = [c for c in changes if c.kind == removed_kind and c.old_signature]
        new = [c for c in changes if c.kind == added_kind and c.new_signature]
        if len(gone) != 1 or len(new) != 1:
            continue
        old_params, new_params = (
            parameters(gone[0].old_signature or ""),
            parameters(new[0].new_signature or ""),
        )
        if old_params is None or old_params != new_params:
            continue
        renamed = FunctionChange(
            new[0].file,
            new[0].name,
            kind,
            gone[0].old_signature,
            new[0].new_signature,
            detail=f"renamed from {gone[0].name}",
            line=new[0].line,
        )
        changes = [renamed if c is new[0] else c for c in changes if c is not gone[0]]
    return changes


def signature_change(path: str, old: str, new: str, line: int | None) -> FunctionChange | None:
    """The signature change from one function signature to another (None when either does not
    parse as one function, or they are the same but for spacing)."""
    before, after = _signature_items(old + ";"), _signature_items(new + ";")
    if len(before) != 1 or len(after) != 1 or _norm(old) == _norm(new):
        return None
    change = _signature_change(path, before[0], after[0], 0)
    return replace(change, old_signature=old, new_signature=new, line=line)


def _signature_items(text: str) -> list[_Item]:
    try:
        return [i for i in _items(text) if i.kind in ("function", "prototype")]
    except ImportError:  # no tree-sitter: no signature-changed entries to compare either
        return []


def parameters(signature: str) -> str | None:
    """The parameter list of a FunctionChange signature, spaced for comparison: `(int a,int*b)`.

    None when the signature does not parse as one function.
    """
    found = _signature_items(signature.rstrip(";") + ";")
    return re.sub(r"\s*([(),*\[\]])\s*", r"\1", found[0].params) if len(found) == 1 else None
