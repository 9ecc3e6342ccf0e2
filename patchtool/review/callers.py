"""Callers a series leaves behind: stale call sites, and patches after which the tree cannot build.

QEMU bisects through series, so each patch must build. A patch that changes a function's
signature incompatibly must update every call at the same time: a call left for a later patch
breaks the build at this one (`build-break`), a call left for good is a `stale-caller`. Calls are
found with tree-sitter in the base tree's C files; a call the series rewrites counts as updated,
and so does one whose arguments at the retyped parameters name variables, parameters or members
the series declares with a new type (in the call's file or a header), or functions whose signature
it changes (passed where a function pointer's type changes: `test_add("/a", test_a)` with both
given new parameters), or whose value (for a new return type) is assigned to one: the call's line
is unchanged, its types changed with it. A null pointer passes to any pointer, and a parameter
retyped to an integer type the series defines (`typedef uint8_t privilege_mode_t;`,
`typedef enum {...} Mode;`) takes the same integers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from patchtool.jsonable import record
from patchtool.models import Finding, FunctionChange, Patch, Revision
from patchtool.parse import ccalls
from patchtool.parse.cmoves import moved_from
from patchtool.parse.difftext import FileDiff, split_files
from patchtool.review.callscope import files_naming_each, local_scope, pathspecs, program_scope
from patchtool.review.definitions import made_static
from patchtool.vcs.repo import GitRepo

# the kinds after which the old name is callable again
_DEFINES = (
    "added",
    "stub-added",
    "prototype-added",
    "macro-added",
    "moved",
    "prototype-moved",
    "macro-moved",
)
_MAX_FILES = 400  # a name in more files than this is too common to check call by call


@record
class _Call:
    path: str
    line: int  # 1-based, in the base tree
    texts: frozenset[str]  # the stripped lines the call spans
    value_used: bool
    args: tuple[frozenset[str], ...] = ()  # the identifiers each argument names
    target: str = ""  # the variable or member the call's value is assigned to
    returned_by: str = ""  # the function that returns the call's value (`return f();`)


def _label(patch: Patch) -> str:
    return f"{patch.index}/{patch.total}"


def _f(severity: str, code: str, message: str, patch: Patch, path: str, line: int) -> Finding:
    return Finding(severity, code, message, _label(patch), file=path, line=line, msgid=patch.msgid)


@dataclass
class _Touched:
    """What one patch changes in a file: the lines it removes, the (line before, line after)
    of each run of lines it inserts (an argument line added inside a call updates that call), and
    the names whose declared type it changes (a variable, a parameter or a struct member:
    `int64_t reg = 0;` -> `uint64_t reg = 0;`, and a call passing `&reg` compiles unchanged)."""

    removed: set[str]
    inserted_between: set[tuple[str, str]]
    retyped: set[tuple[str, str]] = field(default_factory=set)  # (function or "", name)
    resigned: set[str] = field(default_factory=set)  # functions whose signature it changes here
    returns: dict[str, str] = field(default_factory=dict)  # their new return types


# One declarator: type words, stars, the name, an array size (`const Foo *name =`, `u64 v[N]`).
_DECLARATION = re.compile(
    r"^(?!(?:return|case|goto|else|sizeof|typedef)\b)((?:[A-Za-z_]\w*\s+)+\**\s*)([A-Za-z_]\w*)"
    r"\s*(\[[^\]]*\])?\s*(?:=|;|,)"
)


_OPENS_LIST = re.compile(r"([A-Za-z_]\w*)\s*\(")


def _runs(f: FileDiff, kind: str) -> list[list[str]]:
    """The lines of `kind` ("-" or "+") of a file's diff, in runs of lines adjacent on that side
    (a context line or a new hunk ends a run; the other side's lines do not)."""
    runs: list[list[str]] = []
    for hunk in f.hunk_texts:
        run: list[str] = []
        for line in hunk.lines:
            if line.kind == kind:
                run.append(line.text)
            elif line.kind == " " and run:
                runs.append(run)
                run = []
        if run:
            runs.append(run)
    return runs


def _declarations(runs: list[list[str]]) -> dict[tuple[str, str], set[str]]:
    """The types these lines declare each name with, keyed by (the function whose parameter list
    it is in, or "", name): a statement's first declarator, and each parameter of a (possibly
    split) parameter list. A parameter list is followed within a run of adjacent lines only
    (sample AR: a list whose continuation is context named the next hunk's `receive_header`
    parameters as its own)."""
    out: dict[tuple[str, str], set[str]] = {}
    for texts in runs:
        _declare(texts, out)
    return out


def _declare(texts: list[str], out: dict[tuple[str, str], set[str]]) -> None:
    depth, owner = 0, ""
    for text in texts:
        code = text.strip()
        inside = depth > 0  # a parameter list's continuation: its first piece is a parameter too
        if not inside:
            opens = _OPENS_LIST.search(code)
            owner = opens.group(1) if opens else ""
        depth = max(depth + code.count("(") - code.count(")"), 0)
        for i, piece in enumerate([code, *re.split(r"[(,]", code)[1:]]):
            m = _DECLARATION.match(piece.strip().rstrip("{;) \t") + ";")
            if m:
                kind = " ".join(m.group(1).replace("*", " * ").split()) + ("[]" if m.group(3) else "")
                out.setdefault((owner if i or inside else "", m.group(2)), set()).add(kind)


def _retyped(removed: list[list[str]], added: list[list[str]]) -> set[tuple[str, str]]:
    """(function or "", name) of each declaration whose type the change rewrites."""
    before, after = _declarations(removed), _declarations(added)
    found = {key for key in before.keys() & after.keys() if before[key] != after[key]}
    # a parameter handed over to a local of the same name and another type (`uint64_t features`
    # becomes `const uint64_t *in_features`, copied into `uint64_t features[2];`)
    for (owner, name), kinds in before.items():
        local = after.get(("", name))
        if owner and (owner, name) not in after and local is not None and local != kinds:
            found.add((owner, name))
    return found


def _touched_by_patch(rev: Revision) -> list[dict[str, _Touched]]:
    """For each patch, what it changes per path at the base (stripped line texts): a file the
    series moves is followed to where a later patch edits it."""
    out = []
    base_path: dict[str, str] = {}  # a path the series moved a file to -> the file's path at the base
    for p in rev.patches:
        per_path: dict[str, _Touched] = {}
        for f in split_files(p.diff):
            old = f.old_path or f.path
            home = base_path.get(old, old)
            if f.new_path and f.new_path != old:
                base_path[f.new_path] = home
            touched = per_path.setdefault(home, _Touched(set(), set()))
            touched.removed.update(x.text.strip() for x in f.removed)
            touched.retyped |= _retyped(_runs(f, "-"), _runs(f, "+"))
            for c in p.summary.functions:
                if c.kind == "signature-changed" and c.file == f.path:
                    touched.resigned.add(c.name)
                    shape = ccalls.shape(c.new_signature) if c.new_signature else None
                    if shape is not None:
                        touched.returns[c.name] = shape.rtype
            old_side = [(x.kind, x.text.strip()) for x in f.lines]
            for i, (kind, _) in enumerate(old_side):
                if kind == "+" and (i == 0 or old_side[i - 1][0] != "+"):
                    before = next((t for k, t in reversed(old_side[:i]) if k != "+"), None)
                    after = next((t for k, t in old_side[i:] if k != "+"), None)
                    if before is not None and after is not None:
                        touched.inserted_between.add((before, after))
        out.append(per_path)
    return out


def _calls(
    repo: GitRepo,
    base: str,
    name: str,
    only: str | list[str] | None,
    home: str | None,
    new_sig: str | None = None,
    rows_of: dict[str, list[str]] | None = None,
    named_in: list[str] | None = None,
) -> list[_Call]:
    """Calls of `name` at the base, in `only` (a static function's file, or pathspecs) or every C
    file; not in a file with a prototype of its own that already agrees with the new signature (its
    calls compile against that). With `home` (the function's file), another .c file defining a
    function of that name calls its own. ``rows_of`` receives the rows of each file with a call;
    ``named_in``, the files that name it where they are known already (callscope.files_naming)."""
    if named_in is None:
        done = repo.git("grep", "-l", "-w", "-e", name, base, "--", *pathspecs(only), check=False)
        named_in = [row.split(":", 1)[1] for row in done.text().splitlines() if ":" in row]
    paths = named_in[:_MAX_FILES]
    found = []
    for path in paths:
        shown = repo.git("show", f"{base}:{path}", check=False)
        if not shown.ok:
            continue
        text = shown.text()
        if home is not None and path != home and not path.endswith(".h") and ccalls.defines(text, name):
            continue  # a static function of the same name in another file
        own = ccalls.own_prototype(text, name) if path != home and new_sig else None
        if own is not None and new_sig and ccalls.incompatibility(own, new_sig) is None:
            continue
        rows = text.split("\n")
        if rows_of is not None:
            rows_of[path] = rows
        for site in ccalls.call_sites(text, name):
            texts = frozenset(r.strip() for r in rows[site.start : site.end + 1])
            found.append(
                _Call(path, site.start + 1, texts, site.value_used, site.args, site.target, site.returned_by)
            )
    return found


def call_rows(
    repo: GitRepo, base: str, name: str, specs: list[str]
) -> dict[str, tuple[list[str], list[int]]]:
    """The files (of those `specs` match) that call `name` at the base, as `_calls` reads them:
    each file's rows and the rows (0-based) its calls start on."""
    rows_of: dict[str, list[str]] = {}
    found: dict[str, tuple[list[str], list[int]]] = {}
    for call in _calls(repo, base, name, specs, home=None, rows_of=rows_of):
        found.setdefault(call.path, (rows_of[call.path], []))[1].append(call.line - 1)
    return found


def _updated_in(call: _Call, touched: list[dict[str, _Touched]], b: _Break | None = None) -> int | None:
    """The index (0-based) of the first patch that rewrites one of the call's lines or inserts
    a line inside it, or that retypes with the change what the call passes or receives: every
    argument at the parameters whose type changed names a variable (parameter, member) whose
    declaration has been retyped in the call's file or in a header (a struct's member), or is a
    null pointer where the parameter is a pointer before and after (updated "at patch 0": it
    never needed to be), or, for a new return type, the variable the value is assigned to has
    been (the changed function's own parameters are not the caller's)."""
    params = b.params if b is not None else ()
    receives = b is not None and b.value_only and bool(call.target)
    rtype = _new_rtype(b) if b is not None and b.value_only and call.returned_by else None
    retyped: set[str] = set()  # by the patches up to i, in the call's file or a header (a member)
    for i, per_path in enumerate(touched):
        t = per_path.get(call.path)
        if t is not None and (
            call.texts & t.removed or any(x in call.texts and y in call.texts for x, y in t.inserted_between)
        ):
            return i
        if rtype is not None and t is not None and t.returns.get(call.returned_by) == rtype:
            return i  # `return f();` in a function given f's new return type too
        if b is None or not (receives or (params and len(call.args) > max(params))):
            continue
        for path, seen in per_path.items():
            if path == call.path or path.endswith(".h"):
                retyped.update(n for o, n in seen.retyped if o != b.name)
                retyped.update(seen.resigned - {b.name})  # a function passed as the retyped pointer
        if (
            (call.target in retyped)
            if receives
            else all(call.args[k] & retyped or (k in b.null_ok and call.args[k] == _NULL) for k in params)
        ):
            return i
    return None


def _new_rtype(b: _Break) -> str | None:
    shape = ccalls.shape(b.change.new_signature) if b.change.new_signature else None
    return shape.rtype if shape is not None else None


_NULL: frozenset[str] = frozenset()  # an argument naming nothing: `NULL` or `0` (tree-sitter's null)


@record
class _Break:
    """A change that breaks the callers of `name` (its name at the base)."""

    index: int  # of the patch, 0-based
    change: FunctionChange
    name: str
    why: str
    value_only: bool  # only calls that use the return value break
    params: tuple[int, ...] = ()  # the parameters (0-based) whose type callers cannot pass unchanged
    null_ok: frozenset[int] = frozenset()  # those of them that are pointers before and after


def _why(
    c: FunctionChange, patch: Patch, integers: dict[str, str] | None = None
) -> tuple[str, str, bool] | None:
    """(name at the base, why callers break, only value users) for one change; None if they do not."""
    if c.kind in ("renamed", "prototype-renamed") and c.detail.startswith("renamed from "):
        old = c.detail.removeprefix("renamed from ")
        if any(f.name == old and f.kind in _DEFINES for f in patch.summary.functions):
            return None  # the old name is defined again (a wrapper, or a macro, around the renamed one)
        return old, f"renamed to {c.name}", False
    if c.kind == "macro-params-changed":
        before, _, after = c.detail.removeprefix("parameters ").partition(" -> ")
        count = [len([p for p in x.strip("()").split(",") if p.strip()]) for x in (before, after)]
        variadic = "..." in before or "..." in after
        return (c.name, f"macro {c.detail}", False) if count[0] != count[1] and not variadic else None
    if c.kind == "moved":
        made = made_static(c)
        return (c.name, made, False) if made else None
    if c.kind != "signature-changed" or not c.old_signature or not c.new_signature:
        return None
    if (
        integers
        and ccalls.incompatibility(*(_as_integers(x, integers) for x in (c.old_signature, c.new_signature)))
        is None
    ):
        return None  # every call compiles once the series' integer type names are read as integers
    why = ccalls.incompatibility(c.old_signature, c.new_signature)
    if why is None:
        made = made_static(c)
        return (c.name, made, False) if made else None
    pairs = ccalls.changed_types(c.old_signature, c.new_signature)
    if why[1]:  # the return type: `x68_selector f()` -> `x86_selector f()` with the typedef renamed
        old_shape, new_shape = ccalls.shape(c.old_signature), ccalls.shape(c.new_signature)
        pairs = [(old_shape.rtype, new_shape.rtype)] if old_shape and new_shape else []
    if _types_renamed(patch, c.name, pairs):
        return None
    return (c.name, *why)


_WORD = re.compile(r"[A-Za-z_]\w*")


def _types_renamed(patch: Patch, name: str, pairs: list[tuple[str, str]]) -> bool:
    """Whether the patch renames each changed parameter type everywhere (`struct a` -> `A`).

    Then the callers' variables were renamed with it, and their calls compile unchanged.
    """
    if not pairs:
        return False
    files = split_files(patch.diff)
    # lines naming the function are its own signature and prototype, not other uses of the type
    removed = [x.text for f in files for x in f.removed if name not in x.text]
    added = [x.text for f in files for x in f.added if name not in x.text]
    for old, new in pairs:
        # the words the two types differ in: `SGXList *` -> `SgxList *`, or inside a function
        # pointer's type, `void (*)(TCGv, TCGv_i64)` -> `void (*)(TCGv_i32, TCGv_i64)`
        words_old, words_new = set(_WORD.findall(old)), set(_WORD.findall(new))
        gone, came = words_old - words_new, words_new - words_old
        if not gone or not came:
            return False
        for word, lines in [(w, removed) for w in gone] + [(w, added) for w in came]:
            if sum(1 for t in lines if re.search(rf"\b{re.escape(word)}\b", t)) < 3:
                return False
    return True


def _signature_changes(rev: Revision) -> list[_Break]:
    """Each change that breaks callers, once per patch and name."""
    seen: set[tuple[int, str]] = set()
    out = []
    integers = _integer_typedefs(rev)
    for i, p in enumerate(rev.patches):
        for c in p.summary.functions:
            found = _why(c, p, integers)
            if found is not None and (i, found[0]) not in seen:
                seen.add((i, found[0]))
                old_sig, new_sig = (
                    _as_integers(x or "", integers) for x in (c.old_signature, c.new_signature)
                )
                params = (
                    ccalls.incompatible_parameters(old_sig, new_sig) if c.kind == "signature-changed" else ()
                )
                shapes = ccalls.shape(old_sig), ccalls.shape(new_sig)
                null_ok = frozenset(
                    k for k in params
                    if shapes[0] and shapes[1] and "*" in shapes[0].params[k] and "*" in shapes[1].params[k]
                    and not ccalls.points_to_bytes(shapes[0].params[k])
                )  # fmt: skip
                out.append(_Break(i, c, *found, params=params, null_ok=null_ok))
    return out


_TYPEDEF = re.compile(r"^\s*typedef\s+([A-Za-z_][\w\s]*?)\s+([A-Za-z_]\w*)\s*;")
_ENUM_END = re.compile(r"^\s*}\s*([A-Za-z_]\w*)\s*;")


def _integer_typedefs(rev: Revision) -> dict[str, str]:
    """Type names the series defines as integers (`typedef uint8_t privilege_mode_t;`, or a
    `typedef enum { ... } Name;`), with a type they stand for: a parameter retyped from
    `target_long` to one takes the same arguments."""
    out: dict[str, str] = {}
    for p in rev.patches:
        for f in split_files(p.diff):
            in_enum = False
            for x in f.added:
                text = x.text
                m = _TYPEDEF.match(text)
                if m and ccalls.is_integer(m.group(1)):
                    out[m.group(2)] = m.group(1)
                if re.match(r"^\s*typedef\s+enum\b", text) and ";" not in text:
                    in_enum = True
                end = _ENUM_END.match(text)
                if in_enum and end:
                    out[end.group(1)], in_enum = "int", False
    return out


def _as_integers(signature: str, integers: dict[str, str]) -> str:
    """The signature with the series' integer type names replaced by what they stand for."""
    for name, stands in integers.items():
        signature = re.sub(rf"\b{re.escape(name)}\b", stands, signature)
    return signature


def _scope(rev: Revision, b: _Break) -> tuple[str, str | list[str] | None]:
    """(the function's file at the base, where its calls are looked for: that file alone for a
    static function, else pathspecs, or None for every C file)."""
    files = rev.patches[b.index].summary.files
    old_path = moved_from(b.change) or next(
        (f.old_path or f.path for f in files if f.path == b.change.file), b.change.file
    )
    # a static function is its file's alone; a header's (static inline) is every includer's
    static = "static" in (b.change.old_signature or "").split("(", 1)[0].split()
    if static and not old_path.endswith(".h"):
        return old_path, old_path
    return old_path, program_scope(old_path) if b.name == "main" else local_scope(rev, b.name)


def check_callers(rev: Revision, repo: GitRepo, base: str) -> list[Finding]:
    """stale-caller and build-break findings for the changes of a revision that break callers."""
    removed = _touched_by_patch(rev)
    found: list[Finding] = []
    breaks = _signature_changes(rev)
    scopes = [_scope(rev, b) for b in breaks]
    wanted = [(b.name, scope) for b, (_, scope) in zip(breaks, scopes, strict=True)]
    named_in = files_naming_each(repo, base, wanted)
    for b, (old_path, scope) in zip(breaks, scopes, strict=True):
        stale: list[Finding] = []
        new_sig = b.change.new_signature if b.change.kind == "signature-changed" else None
        made = made_static(b.change)
        named = named_in.get((b.name, pathspecs(scope)))
        for call in _calls(repo, base, b.name, scope, old_path, new_sig, named_in=named):
            if b.value_only and not call.value_used:
                continue
            if made and (call.path == b.change.file or call.path.endswith((".inc", ".h"))):
                # its own file still calls it; a header or an included file belongs to units not
                # known here (real: trans_rva.c.inc, included by the translate.c gen_amo() moved to)
                continue
            j = _updated_in(call, removed, b)
            if j is not None and j <= b.index:
                continue
            stale.append(_caller_finding(rev, j, b, call))
        # the base's typedefs are read only for a change that leaves calls behind
        alias = _alias_at_base(repo, base, b.change) if stale else None
        if alias is None:
            found += stale
        elif not alias[1]:  # the typedef depends on the configuration: the calls compile in some
            note = f"; but {alias[0]}: the call compiles where it is"
            found += [replace(f, severity="info", message=f.message + note) for f in stale]
    return found


def _alias_at_base(repo: GitRepo, base: str, c: FunctionChange) -> tuple[str, bool] | None:
    """Whether a type the change swaps is a typedef of the other at the base (`typedef TCGv_i64
    TCGv;`): (what says so, whether the typedef is the only one of that name). QEMU defines
    TCGv as TCGv_i32 or TCGv_i64 by the target's width, so a return type going from TCGv to
    TCGv_i64 breaks no call on a 64-bit target (sample P: six false findings on s390x)."""
    if c.kind != "signature-changed" or not c.old_signature or not c.new_signature:
        return None
    old_words, new_words = set(_WORD.findall(c.old_signature)), set(_WORD.findall(c.new_signature))
    swapped = sorted((old_words - new_words) | (new_words - old_words))
    if not swapped or len(swapped) > 8:
        return None
    pattern = r"^\s*typedef\s+[A-Za-z_]\w*\s+(" + "|".join(swapped) + r")\s*;"
    done = repo.git("grep", "-h", "-E", "-e", pattern, base, "--", "*.h", check=False)
    targets: dict[str, set[str]] = {}
    for line in done.text().splitlines() if done.ok else ():
        m = _TYPEDEF.match(line)
        if m:
            targets.setdefault(m.group(2), set()).add(m.group(1).strip())
    for name, stands in sorted(targets.items()):
        for target in sorted(stands):
            if target not in swapped or target == name:
                continue
            old, new = (re.sub(rf"\b{name}\b", target, s) for s in (c.old_signature, c.new_signature))
            if ccalls.incompatibility(old, new) is None:
                others = ", ".join(sorted(stands - {target}))
                where = f" in some configurations ({others} in others)" if others else ""
                return f"{name} is a typedef of {target}{where} at the base", not others
    return None


def _caller_finding(rev: Revision, j: int | None, b: _Break, call: _Call) -> Finding:
    patch = rev.patches[b.index]
    if j is None:
        message = f"{b.name}() changes ({b.why}) but this call is not updated by the series"
        return _f("warning", "stale-caller", message, patch, call.path, call.line)
    message = (
        f"{b.name}() changes ({b.why}) in patch {_label(patch)} but this call is updated only in "
        f"patch {_label(rev.patches[j])}: the tree does not build in between"
    )
    return _f("error", "build-break", message, patch, call.path, call.line)
