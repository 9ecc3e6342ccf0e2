"""The missing-identifier check: what a clean backport uses that the older branch does not have.

A backport that applies cleanly can still be wrong: the upstream patch may use a struct member renamed
since, a macro added later, or a trace event the branch's `trace-events` never declared. The added
lines' identifiers and member names (read by tree-sitter, so comments and strings are ignored) are
looked up in the target tree; those absent there but present at the series' base are reported with
the upstream commit that introduced (or renamed) them (`git log -S`).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from patchtool.apply.backorigin import introduced_by
from patchtool.apply.qapinames import generated, schema_additions
from patchtool.jsonable import record
from patchtool.models import Finding
from patchtool.parse.cfragments import ends_in_comment
from patchtool.parse.cparser import parser
from patchtool.vcs.repo import GitRepo

CODE = "backport-missing-identifier"
_C_FILE = re.compile(r"\.(c|h|inc|c\.inc|h\.inc)$")
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")
_WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MIN_LENGTH = 4  # shorter names (i, s, env, ret) are everywhere; they cannot be missing
_MAX_NAMES = 400  # names asked of one git grep (more are asked in turns)


@record
class Use:
    """A name an added line uses: an identifier, a struct member or a trace event."""

    name: str
    kind: str  # "identifier" | "member" | "trace event"
    file: str
    line: int
    context: str  # the member chain (`s->regs.foo`) or the identifier itself


@record
class Missing:
    use: Use
    commit: tuple[str, str] | None  # (sha, subject): the upstream commit that introduced the name
    external: bool = False  # declared nowhere in the tree upstream: a library's name (glib, libc)


def added_lines(diff: str) -> dict[str, list[tuple[int, str]]]:
    """The added lines of each C file of a diff, with their line numbers in the new file. An added
    line a comment runs into or out of gets the `/*` or `*/` it lacks, so that, read alone, it is
    prose, not code: the comment may be opened by a context line (`/* ...` above, ` * more`
    added), or above the hunk when the hunk's first line continues one (` * ...`)."""
    found: dict[str, list[tuple[int, str]]] = {}
    for path, line, text, added in _new_rows(diff):
        if added:
            found.setdefault(path, []).append((line, text))
    return found


def _new_rows(diff: str) -> Iterator[tuple[str, int, str, bool]]:
    """(file, line in the new file, text, added?) of each added and context line of a diff's C files;
    a line a comment runs into or out of, when added, gets the `/*` or `*/` it lacks."""
    path: str | None = None
    line, in_comment, hunk_start = 0, False, False
    for text in diff.splitlines():
        if text.startswith("diff --git "):
            path = None
        elif text.startswith("+++ "):
            name = text[4:].split("\t")[0]
            path = name[2:] if name.startswith("b/") and _C_FILE.search(name) else None
        elif (m := _HUNK.match(text)) and path:
            line, hunk_start = int(m.group(1)), True
        elif path and text[:1] in ("+", " "):
            if hunk_start:
                in_comment, hunk_start = bool(_CONTINUED.match(text[1:])), False
            body = ("/*" if in_comment else "") + text[1:]
            in_comment = ends_in_comment(body)
            added = text.startswith("+")
            yield path, line, (body + ("*/" if in_comment else "")) if added else text[1:], added
            line += 1


# a comment's continuation row, ` * text` (not `*p = 0;`, a dereference)
_CONTINUED = re.compile(r"^\s*\*(?:\s|/|$)")


def _nodes(node: Any) -> Iterator[Any]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def _member_uses(node: Any, path: str, row: int) -> Iterator[Use]:
    """A member, and the link `outer.member` when the object is itself a member (`s->f.extra.arm`):
    a renamed or moved member often keeps its name but not its place."""
    field = node.child_by_field_name("field")
    inner = node.child_by_field_name("argument")
    if field is None or not field.text:
        return
    name = field.text.decode("utf-8", "surrogateescape")
    chain = "".join(node.text.decode("utf-8", "surrogateescape").split())
    yield Use(name, "member", path, row, chain)
    if inner is not None and inner.type == "identifier" and inner.text:
        # a variable's member, `tcg_ctx.gen_opc_instr_start`: kept only for a file-scope variable
        # (missing_uses), whose members are written so across the tree
        yield Use(f"{inner.text.decode()}.{name}", "global member", path, row, chain)
    if inner is not None and inner.type == "field_expression":
        outer = inner.child_by_field_name("field")
        if outer is not None and outer.text:
            yield Use(f"{outer.text.decode()}.{name}", "member link", path, row, chain)


def _uses_in(path: str, lines: Sequence[tuple[int, str]]) -> Iterator[Use]:
    source = "\n".join(text for _, text in lines).encode("utf-8", "surrogateescape")
    tree = parser().parse(source)
    for node in _nodes(tree.root_node):
        row = lines[min(node.start_point[0], len(lines) - 1)][0]
        text = node.text.decode("utf-8", "surrogateescape") if node.text else ""
        if node.type == "call_expression":
            callee = node.child_by_field_name("function")
            name = callee.text.decode() if callee is not None and callee.type == "identifier" else ""
            if name.startswith("trace_") and len(name) > 6:
                yield Use(name[6:], "trace event", path, row, name)
        elif node.type == "field_expression":
            yield from _member_uses(node, path, row)
        elif node.type in ("identifier", "type_identifier") and not text.startswith("trace_"):
            yield Use(text, "identifier", path, row, text)


# what declares a name: its field holding the declarator(s), or its "name" field
_DECLARATIONS = {
    "declaration": "declarator",
    "field_declaration": "declarator",
    "parameter_declaration": "declarator",
    "function_definition": "declarator",
    "type_definition": "declarator",
    "preproc_def": "name",
    "preproc_function_def": "name",
    "enumerator": "name",
}
_NAMES = ("identifier", "field_identifier", "type_identifier")


def declared_name(node: Any) -> str | None:
    """The name a declarator declares, through `*`, `[]`, `= init`, `(*name)(...)` and `f(...)`."""
    while node is not None and node.type not in _NAMES:
        inner = node.child_by_field_name("declarator")
        if inner is None and node.type == "parenthesized_declarator":
            inner = next(iter(node.named_children), None)
        node = inner
    return node.text.decode("utf-8", "surrogateescape") if node is not None and node.text else None


def _declares_only(node: Any) -> bool:
    """Whether a declaration defines nothing: `extern int x;`, a prototype `void f(int);`."""
    if any(c.type == "storage_class_specifier" and c.text == b"extern" for c in node.children):
        return True
    return any(d.type == "function_declarator" for d in node.children_by_field_name("declarator"))


def defined_names(diff: str) -> set[str]:
    """The names the added C lines define (functions, variables, members, types, macros, enum
    constants; not a prototype or an extern): what a patch brings itself is never missing on the
    target. Read in the added lines alone, and in the new file's lines (added and context) for
    what the added rows declare: the added lines alone may not parse. Git may align a new
    function's `{` with the `{` of the one it replaced (stable-1.1's `+static int64_t abs64(int64_t
    v)` / ` {` / `+    return ...;` reads as a prototype), and hunks of unclosed calls swallow a
    local (stable-1.2's `Cancelled *c, *next_c;`)."""
    names: set[str] = set()
    for lines in added_lines(diff).values():
        names |= _declared([(text, True) for _, text in lines])
    files: dict[str, list[tuple[str, bool]]] = {}
    for path, _, text, added in _new_rows(diff):
        files.setdefault(path, []).append((text, added))
    for rows in files.values():
        names |= _declared(rows)
    return names


# `DEF_HELPER_3(neon_qadd_u64, i64, env, i64, i64)`, `DEF_HELPER_FLAGS_2(name, TCG_CALL_NO_RWG, ...)`
_HELPER_LINE = re.compile(r"^\+\s*DEF_HELPER_(?:FLAGS_)?\d+\s*\(\s*([A-Za-z_]\w*)\s*,")


def helpers_added(diff: str) -> set[str]:
    """The helpers the diff's added lines declare, and the names TCG's helper macros make of them:
    the `gen_helper_X` a translator calls and the `helper_X` it defines (stable-0.14's NEON fix
    declares `DEF_HELPER_3(neon_qadd_u64, ...)` beside its first `gen_helper_neon_qadd_u64`)."""
    found: set[str] = set()
    for text in diff.splitlines():
        if (m := _HELPER_LINE.match(text)) is not None:
            found |= {m.group(1), f"gen_helper_{m.group(1)}", f"helper_{m.group(1)}"}
    return found


_EVENT_LINE = re.compile(r"^\+(?:(?:disable|vcpu|tcg)\s+)*([A-Za-z_]\w*)\(")


def _events_added(diff: str) -> set[str]:
    """The trace events the diff's added lines in a `trace-events` file declare (stable-1.2's EHCI
    fix adds `usb_ehci_guest_bug(const char *reason) "%s"` beside its first call)."""
    found: set[str] = set()
    events = False
    for text in diff.splitlines():
        if text.startswith("+++ "):
            events = text[4:].split("\t")[0].endswith("trace-events")
        elif events and (m := _EVENT_LINE.match(text)):
            found.add(m.group(1))
    return found


def _declared(rows: Sequence[tuple[str, bool]]) -> set[str]:
    """The names declared (not as a prototype or an extern) on the rows marked True."""
    source = "\n".join(text for text, _ in rows).encode("utf-8", "surrogateescape")
    names: set[str] = set()
    for node in _nodes(parser().parse(source).root_node):
        field = _DECLARATIONS.get(node.type)
        if not field or (node.type == "declaration" and _declares_only(node)):
            continue  # a prototype or an extern: the definition may still be missing
        for decl in node.children_by_field_name(field):
            row = decl.start_point[0]
            name = declared_name(decl) if field != "name" else decl.text.decode("utf-8", "replace")
            if name and row < len(rows) and rows[row][1]:
                names.add(name)
    return names


def uses(diff: str) -> list[Use]:
    """The names the added C lines of a diff use, first use of each name and kind only."""
    seen: dict[tuple[str, str], Use] = {}
    for path, lines in added_lines(diff).items():
        for use in _uses_in(path, lines):
            if len(use.name) >= _MIN_LENGTH and all(_WORD.match(w) for w in use.name.split(".")):
                seen.setdefault((use.name, use.kind), use)
    return list(seen.values())


def words_in_tree(repo: GitRepo, commit: str, names: Iterable[str], pathspec: Sequence[str] = ()) -> set[str]:
    """Which of `names` (words, or member links `outer.member`) occur in `commit`'s tree.

    `git grep -l` finds the files that hold any of them (fast: it stops at a file's first match),
    and those files are read and split into words here. `git grep -o` with hundreds of patterns
    took 16-155 s on QEMU (stable-4.1's xtensa core import: 886 names); this takes about a second.
    """
    wanted = sorted(set(names))
    if not wanted:
        return set()
    files: list[str] = []
    for start in range(0, len(wanted), _MAX_NAMES):
        # fixed strings: many times faster than a regex over a QEMU-sized tree
        chunk = wanted[start : start + _MAX_NAMES]
        patterns = [arg for name in chunk for literal in _literals(name) for arg in ("-e", literal)]
        done = repo.git(
            "grep", "-I", "-l", "-z", "-w", "-F", *patterns, commit, "--", *pathspec, check=False, timeout=300
        )
        files += [f.split(":", 1)[1] for f in done.stdout.decode("utf-8", "surrogateescape").split("\0") if f]
    return _present_in(repo, commit, sorted(set(files)), set(wanted))


_WORDS = re.compile(rb"[A-Za-z0-9_]+")  # as git grep -w sees words (a number's tail is no name)


def _present_in(repo: GitRepo, commit: str, files: Sequence[str], wanted: set[str]) -> set[str]:
    """The names of `wanted` the files hold (read a batch at a time, until every name is found)."""
    found: set[str] = set()
    links = sorted((n for n in wanted if "." in n), key=len, reverse=True)
    # a member link is written `outer.member` or `outer->member`, as its fixed strings were asked for
    # (overlapping: `d->regs.ctrl` holds `d.regs` and `regs.ctrl`)
    linked = re.compile(
        rb"(?<![A-Za-z0-9_])(?=(" + b"|".join(re.escape(lit.encode()) for n in links for lit in _literals(n))
        + rb")(?![A-Za-z0-9_]))"
    ) if links else None  # fmt: skip
    for start in range(0, len(files), 200):
        query = "".join(f"{commit}:{path}\n" for path in files[start : start + 200]).encode()
        # an empty format: only the contents, no object names or sizes to read as words
        text = repo.git("cat-file", "--batch=", input=query, check=False, timeout=300).stdout
        found |= {w.decode() for w in _WORDS.findall(text)} & wanted
        if linked is not None:
            found |= {m.decode().replace("->", ".") for m in linked.findall(text)} & wanted
        if found == wanted:
            break
    return found


def declared_events(repo: GitRepo, commit: str, names: Iterable[str]) -> set[str]:
    """Which trace events are declared in some `trace-events` file of `commit`."""
    wanted = sorted(set(names))
    if not wanted:
        return set()
    patterns = [arg for name in wanted for arg in ("-e", f"^{name}[(]")]
    done = repo.git(
        "grep", "-h", "-o", "-E", *patterns, commit, "--", "*trace-events", check=False, timeout=300
    )
    return {line.rsplit(":", 1)[-1].rstrip("(") for line in done.text().splitlines()} & set(wanted)


def _literals(name: str) -> tuple[str, ...]:
    """The fixed strings a word or a member link (`outer.member`: `outer.member`, `outer->member`) is
    written as; fixed-string grep is many times faster than a regex over a QEMU-sized tree."""
    return (name, name.replace(".", "->")) if "." in name else (name,)


def existing_files(repo: GitRepo, commit: str, paths: Iterable[str]) -> set[str]:
    wanted = sorted(set(paths))
    listing = repo.git("ls-tree", "-r", "-z", "--name-only", "--full-tree", commit, "--", *wanted).stdout
    return set(listing.decode("utf-8", "surrogateescape").split("\0")) & set(wanted)


def _files_with(repo: GitRepo, commit: str, name: str, pathspec: Sequence[str]) -> list[str]:
    patterns = [arg for literal in _literals(name) for arg in ("-e", literal)]
    done = repo.git("grep", "-l", "-w", "-F", *patterns, commit, "--", *pathspec, check=False, timeout=300)
    return [line.split(":", 1)[1] for line in done.text().splitlines() if ":" in line][:20]


def changed_files(repo: GitRepo, target: str, base: str) -> list[str]:
    """The files that differ between the target and the base: a name the target lacks can only be in
    one of them at the base, so the base is searched there alone."""
    listing = repo.git("diff", "--no-renames", "--name-only", "-z", target, base).stdout
    return [p for p in listing.decode("utf-8", "surrogateescape").split("\0") if p]


class NameOracle:
    """Which names occur in a commit's whole tree, remembered: many dry runs against one target (the
    stable candidates) then cost one tree-wide `git grep` per new batch of names, not one per run."""

    def __init__(self, repo: GitRepo) -> None:
        self.repo = repo
        self.known: dict[str, dict[str, bool]] = {}

    def present(self, commit: str, names: Iterable[str]) -> set[str]:
        seen = self.known.setdefault(commit, {})
        ask = sorted({n for n in names if n not in seen})
        if ask:
            found = words_in_tree(self.repo, commit, ask)
            seen.update({n: n in found for n in ask})
        return {n for n in names if seen[n]}


def _absent(
    repo: GitRepo, found: Sequence[Use], target: str, base: str, changed: Sequence[str], oracle: NameOracle
) -> set[str]:
    """The names (and trace events, as `event NAME`) the target lacks and the base has.

    Cheapest search first: the directories the patch touches on the target, then the base's files
    that differ from the target (a name the target lacks can only be there), and only what survives
    both is looked for in the whole target tree.
    """
    plain = {u.name for u in found if u.kind != "trace event"}
    events = {u.name for u in found if u.kind == "trace event"}
    near = sorted({posixpath.dirname(u.file) or "." for u in found})
    absent = plain - words_in_tree(repo, target, plain, [f"{d}/" if d != "." else d for d in near])
    absent_events = events - declared_events(repo, target, events)
    if absent:
        absent &= words_in_tree(repo, base, absent, changed)
    absent -= oracle.present(target, absent) if absent else set()
    absent_events &= declared_events(repo, base, absent_events) if absent_events else set()
    return absent | {f"event {e}" for e in absent_events}


def missing_uses(
    repo: GitRepo, diff: str, target: str, base: str, title: str = "", oracle: NameOracle | None = None
) -> list[Missing]:
    """The names the diff's added lines use that the target lacks and the base has: one warning per
    member chain (its outermost missing link), each with the upstream commit behind it. A name the
    patch declares or defines in its added lines, or introduced upstream (a guessed base may already
    hold the patch), is not missing; nor is a name the QAPI generator makes of a type, command or
    event the patch adds to a schema (`visit_type_Foo` of `'union': 'Foo'`), or one TCG's helper
    macros make of a helper it declares (`gen_helper_X` of `DEF_HELPER_3(X, ...)`)."""
    own = defined_names(diff) | helpers_added(diff)  # and what TCG's macros make of its helpers
    schema = schema_additions(diff)  # names the QAPI generator makes of the patch's schema lines
    found = [u for u in uses(diff) if u.name.rpartition(".")[2] not in own and not generated(u.name, schema)]
    events = _events_added(diff)  # declared by the patch's own trace-events lines
    found = [u for u in found if u.kind != "trace event" or u.name not in events]
    if not found or target == base:
        return []
    changed = changed_files(repo, target, base)
    absent = _absent(repo, found, target, base, changed, oracle or NameOracle(repo)) if changed else set()
    # a variable's member is looked for as such only when the variable is a file-scope one: a
    # global moved into a struct (stable-1.3's gen_opc_instr_start, upstream tcg_ctx's member) is
    # a word the target still has, but never as `tcg_ctx.gen_opc_instr_start`
    links = {u.name for u in found if u.kind == "global member" and u.name in absent}
    if links:
        scoped = file_scope_names(repo, base, {n.partition(".")[0] for n in links})
        absent -= {n for n in links if n.partition(".")[0] not in scoped}
    if not absent:
        return []
    fork = repo.out("merge-base", target, base)
    added = sorted(added_lines(diff))
    missing: list[Missing] = []
    for use in found:
        key = f"event {use.name}" if use.kind == "trace event" else use.name
        covered = any(m.use.name == use.name or m.use.context.startswith(use.context) for m in missing)
        if key in absent and not covered:
            spec = (
                [p for p in changed if p.endswith("trace-events")] if use.kind == "trace event" else changed
            )
            where = _files_with(repo, base, use.name, spec)
            if use.kind != "trace event":
                # and the patch's own files: upstream, the commit it is may be the name's first user
                # there, which later moved or dropped it (stable-0.13's ivshmem fix brings libc's
                # S_IRWXU to hw/ivshmem.c; upstream keeps it only in qga, where a 2013 commit
                # "introduced" it). An event is its trace-events line's, not its callers'.
                where += [path for path in added if path not in where]
            origin = introduced_by(repo, fork, base, use.name, where)
            if not (origin and title and origin[1] == title):
                external = (
                    use.kind == "identifier"
                    and use.name.startswith(_LIBRARY_PREFIXES)
                    and not declared_in_tree(repo, base, use.name)
                )
                missing.append(Missing(use, origin, external))
    return missing


_SOURCES = ("*.c", "*.h", "*.inc")
# The libraries QEMU links whose names a fix may start using. Only such a name, declared nowhere in
# the tree, is called a library's: a name the build generates (QAPI's qapi_*, visit_type_*, its
# enum constants and types; gen_helper_*) is declared nowhere either, and its schema or helper
# definition upstream is a real prerequisite. QEMU's own shims (glib-compat.h) are declared.
_LIBRARY_PREFIXES = (
    "g_", "G_", "GLIB_", "gtk_", "GTK_", "gdk_", "GDK_", "gnutls_", "GNUTLS_", "seccomp_", "SCMP_",
    "SECCOMP_", "pixman_", "PIXMAN_", "SDL_", "spice_", "SPICE_", "curl_", "CURL", "ssh_", "rbd_",
    "glfs_", "nfs_", "iscsi_", "io_uring_", "xkb_", "epoxy_", "virgl_", "usbredir", "libusb_",
)  # fmt: skip
_AFTER = "([^A-Za-z0-9_]|$)"


def declared_in_tree(repo: GitRepo, commit: str, name: str) -> bool:
    """Whether the tree declares or defines `name` anywhere (`git grep -E` over C sources): a
    `#define`, a declaration or definition starting at column 0 (`int name(`, `name(` under its
    return type, a global `name =`), the end of a typedef (`} name;`), a struct, union or enum
    tag, or an enum constant on its own line. A library's name (_LIBRARY_PREFIXES) used but
    declared nowhere is the library's: glib's `g_queue_foreach` is "introduced" upstream by its
    first caller, which no branch needs."""
    if not _WORD.match(name):
        return True
    patterns = [
        rf"^#[[:space:]]*define[[:space:]]+{name}{_AFTER}",
        rf"^([A-Za-z_].*[^A-Za-z0-9_])?{name}[[:space:]]*(\(|=|;|\[)",
        rf"}}[[:space:]]*{name}[[:space:]]*;",
        rf"(struct|union|enum)[[:space:]]+{name}[[:space:]]*(\{{|$)",
        rf"^[[:space:]]+{name}[[:space:]]*(=.*)?,?[[:space:]]*$",
    ]
    args = [arg for pattern in patterns for arg in ("-e", pattern)]
    done = repo.git("grep", "-q", "-I", "-E", *args, commit, "--", *_SOURCES, check=False, timeout=300)
    return done.returncode != 1  # 0 found; an error (not 1) is no reason to call it a library's


def file_scope_names(repo: GitRepo, commit: str, names: Iterable[str]) -> set[str]:
    """Which of `names` a C source of `commit` declares at file scope: at column 0, before `;`,
    `[` or `=` (`extern TCGContext tcg_ctx;`, `static QemuMutex lock;`, `CPUState *first = NULL;`).
    A local or a parameter is indented or followed by `)`."""
    wanted = sorted(n for n in names if _WORD.match(n))
    if not wanted:
        return set()
    patterns = [
        arg for name in wanted for arg in ("-e", rf"^[A-Za-z_][^;(]*[^A-Za-z0-9_]{name}[[:space:]]*(;|\[|=)")
    ]
    done = repo.git("grep", "-h", "-o", "-E", *patterns, commit, "--", *_SOURCES, check=False, timeout=300)
    ends = (re.search(r"([A-Za-z_]\w*)\s*[;\[=]$", line) for line in done.text().splitlines())
    return {m.group(1) for m in ends if m} & set(wanted)


def finding(missing: Missing, onto: str, patch: str | None) -> Finding:
    """The `backport-missing-identifier` warning for one missing name."""
    use = missing.use
    what = {
        "member": f"member {use.name} ({use.context})",
        "member link": f"member {use.name} ({use.context})",
        "global member": f"member {use.name} ({use.context})",
        "trace event": f"trace event {use.name}",
    }.get(use.kind, f"identifier {use.name}")
    where = "declared in no trace-events file" if use.kind == "trace event" else "does not exist"
    origin = "its upstream origin not found"
    if missing.commit:
        origin = f"introduced upstream by {missing.commit[0][:12]} '{missing.commit[1]}'"
    if missing.external:
        first = f"; first used upstream by {missing.commit[0][:12]}" if missing.commit else ""
        origin = f"declared nowhere in the tree upstream either: a library's? check {onto}'s"
        origin += f" minimum version{first}"
    return Finding(
        severity="warning",
        code=CODE,
        message=f"{what} {where} on {onto} ({origin})",
        patch=patch,
        file=use.file,
        line=use.line,
    )
