"""What checkpatch.pl misjudges: rules of it that fire on lines they were not written for.

Each entry of ``MISREADS`` pairs one of checkpatch's messages with what, in the code it quotes
or in the patch, shows the rule misread the line; such a finding is kept as a note, not an
error. Each was found on real qemu-devel series (the sample named beside it) and judged against
what QEMU merged. ``misread`` is the one question tree_checks.parse_checkpatch asks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from itertools import takewhile

from patchtool.jsonable import record
from patchtool.models import Patch
from patchtool.parse.difftext import DiffLine, split_files


@record
class Quote:
    """One checkpatch message where it stands in checkpatch's output."""

    msg: str  # the message, without its ERROR:/WARNING: prefix
    file: str | None  # where it points (None: the patch as a whole)
    line: int | None
    output: tuple[str, ...]  # checkpatch's output, as lines
    at: int  # the index in ``output`` of the first line it quotes
    patch: Patch

    @property
    def code(self) -> str:
        """The first line it quotes ("" when it points nowhere)."""
        return self.output[self.at] if self.file and self.at < len(self.output) else ""


# `T (*name)(`, or with a calling convention (`HRESULT (WINAPI *name) (`): never a call
_FUNCTION_POINTER = re.compile(r"\w\s+\(\s*(?:[A-Z_][A-Z0-9_]*\s+)?\*\s*\w+\s*\)\s*\(")
_BRACE_INIT = re.compile(r"=\s*\{")
_MACRO_HEAD = re.compile(r"^\s*#\s*define\s+\w+(?:\([^)]*\))?")
_MACRO_NOISE = re.compile(r"/\*.*?\*/|//[^\n]*|\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'", re.DOTALL)
_ANNOTATION_AFTER_STAR = re.compile(r"\*\s+[A-Z][A-Z0-9_]*\s+\w+\s*\(|\*\s+[A-Z][A-Z0-9_]*\s*$")
_ATTRIBUTE_FIRST = re.compile(r"^\+\s*(?:[A-Z][A-Z0-9_]*|__attribute__\s*\(\(.*?\)\))\s+(?:static|extern)\b")
_LONE_BRACE = re.compile(r"^[+ ]\s*\{\s*$")
_BRACE_THEN_COMMENT = re.compile(r'^\+[^"\'/]*\{\s*//')
_ATTRIBUTE_CALL = re.compile(r"^\+[^(]*\b__attribute__\s*\(")
_STRING = re.compile(r'"((?:\\.|[^"\\])*)"')


def _only_blanks_quoted(q: Quote) -> bool:
    """Every string on the line with a blank before its `\\n` holds only blanks and `\\n`/`\\t`."""
    blanks = [s for s in _STRING.findall(q.code) if re.search(r"\s\\n", s)]
    return bool(blanks) and all(re.fullmatch(r"(?:\s|\\[nt])*", s) for s in blanks)


def _always(q: Quote) -> bool:
    return True


def _quote(q: Quote) -> list[str]:
    """The lines it quotes (added, context or removed, up to the blank line)."""
    quote = []
    for line in q.output[q.at :] if q.file else ():
        if not line.strip():
            break
        quote.append(line)
    return quote


def _quote_ends_in_brace(q: Quote) -> bool:
    """The code it quotes (added and context lines, up to the blank line) ends in a lone brace."""
    quote = _quote(q)
    return bool(quote) and bool(_LONE_BRACE.match(quote[-1]))


def _quoted_lines(q: Quote) -> list[str]:
    """The added lines it quotes (up to the blank line), without the '+'."""
    out = []
    for line in q.output[q.at :] if q.file else ():
        if not line.startswith("+"):
            break
        out.append(line[1:])
    return out


def _quotes_no_added_line(q: Quote) -> bool:
    """It points at a line and quotes only context or removed lines: its rule ran on a line the
    patch keeps as it was (the quoted-newline rule reads every line of a hunk, so a patch that
    deletes a comment above an old `printf("... \\n")` is blamed for it: sample AJ)."""
    quote = _quote(q)
    return bool(quote) and not any(line.startswith("+") for line in quote)


def _macro_body(macro: list[str]) -> str | None:
    """What a `#define` (its lines, with their continuations) expands to, or None if it is none."""
    text = "\n".join(line.rstrip().removesuffix("\\") for line in macro)
    head = _MACRO_HEAD.match(text)
    return text[head.end() :] if head is not None else None


def defines_statics(macro: list[str]) -> bool:
    """Whether a `#define` (its lines, with their continuations) expands to file-scope definitions:
    its body starts with `static` (a table, a function: `static gen_helper_gvec_4_ptr * const
    name##_fns[4] = {...}; TRANS_FEAT(...)`). checkpatch exempts declarations from its do-while
    rule but reads only the types it knows, not a typedef of QEMU's or a pasted name; no do-while
    can hold a file-scope definition (209 such macros in master)."""
    body = _macro_body(macro)
    return body is not None and re.match(r"\s*static\b", body) is not None


_MACRO_NAME = re.compile(r"^\s*#\s*define\s+(\w+)")


def _macro_parts(macro: list[str]) -> tuple[str, str] | None:
    """(name, body with blanks squeezed) of a `#define` given as its lines with continuations."""
    text = "\n".join(line.rstrip().removesuffix("\\") for line in macro)
    head, name = _MACRO_HEAD.match(text), _MACRO_NAME.match(text)
    if head is None or name is None:
        return None
    return name.group(1), " ".join(text[head.end() :].split())


@lru_cache(maxsize=8)
def _removed_macros(diff: str) -> frozenset[tuple[str, str]]:
    """(name, body) of every `#define` the diff's removed lines hold."""
    found: set[tuple[str, str]] = set()
    macro: list[str] = []
    for line in diff.split("\n"):
        text = line[1:] if line.startswith("-") and not line.startswith("---") else None
        if macro and text is not None:
            macro.append(text)
        elif text is not None and _MACRO_NAME.match(text):
            macro = [text]
        else:
            macro = []
            continue
        if not text.rstrip().endswith("\\"):
            if (parts := _macro_parts(macro)) is not None:
                found.add(parts)
            macro = []
    return frozenset(found)


def _macro_body_kept(q: Quote) -> bool:
    """The macro it quotes has the body of one of the same name the patch removes: only its
    parameters changed (`vdso_image_info()` -> `vdso_image_info(flags)`, sample AK), and the value
    checkpatch objects to is the old one."""
    parts = _macro_parts(_quoted_lines(q))
    return parts is not None and parts in _removed_macros(q.patch.diff)


def _macro_cut_by_hunk(q: Quote) -> bool:
    """The macro it quotes goes on past the hunk: its last quoted line is context and ends in a
    backslash. checkpatch sees the value only as far as the hunk shows it and misses the parenthesis
    that closes it below; what lies there the patch kept as it was (a real series reordering and
    dropping ENCODE_AA64_CP_REG's parameters, its value in parentheses: two errors). A macro the
    patch adds whole ends inside the hunk, and is judged as checkpatch judges it."""
    quote = list(takewhile(lambda line: line[:1] in ("+", " "), _quote(q)))  # not the next diff header
    return (
        len(quote) > 1
        and bool(_MACRO_HEAD.match(quote[0][1:]))
        and quote[-1].startswith(" ")
        and quote[-1].rstrip().endswith("\\")
    )


def expands_to_list(macro: list[str]) -> bool:
    """Whether a `#define` (its lines, with their continuations) expands to entries of a list: its
    body, comments and literals aside, has a comma outside every bracket. (A comma operator in an
    expression macro reads so too; checkpatch's advice is style there either way.)"""
    body = _macro_body(macro)
    if body is None:
        return False
    depth = 0
    for ch in _MACRO_NOISE.sub(" ", body):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(depth - 1, 0)
        elif ch == "," and depth == 0:
            return True
    return False


_CASE_LABEL = re.compile(r"\bcase\b[^;]*?[^:]:(?!:)|\bdefault\s*:(?!:)")


def expands_to_cases(macro: list[str]) -> bool:
    """Whether a `#define` (its lines, with their continuations) expands to labels of a switch: its
    body, comments and literals aside, has a `case ...:` or `default:` outside every brace (a
    register file's `CASE_GET_REG24(name, addr)`, three `case addr + i: ret = ...; break;`). No
    do-while can hold it: the labels must stand in the switch's own body, and a `break` in the
    loop would end the loop, not the switch. (A switch the macro holds whole, in braces, still
    can be wrapped.)"""
    body = _macro_body(macro)
    if body is None:
        return False
    depth, outside = 0, []
    for ch in _MACRO_NOISE.sub(" ", body):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(depth - 1, 0)
        elif depth == 0:
            outside.append(ch)
    return _CASE_LABEL.search("".join(outside)) is not None


def _edits_line_comment(q: Quote) -> bool:
    """The added line it points at is in a run of changed lines that replaces `//` comment lines
    with `//` comment lines: the patch edits a comment the file has."""
    return bool(q.file) and (q.file, q.line) in _comment_edits(q.patch.diff)


def _changed_runs(diff: str) -> Iterator[tuple[str, list[tuple[DiffLine, int]]]]:
    """Each run of changed lines between context lines: (file, [(line, its new line number)])."""
    for f in split_files(diff):
        for h in f.hunk_texts:
            at = h.new_start
            block: list[tuple[DiffLine, int]] = []
            for x in (*h.lines, None):
                if x is None or x.kind == " ":
                    if block:
                        yield f.path, block
                    block, at = [], at + (x is not None)
                    continue
                block.append((x, at))
                at += x.kind == "+"


@lru_cache(maxsize=8)
def _comment_edits(diff: str) -> frozenset[tuple[str, int]]:
    """(file, new line) of every added line in a run of changed lines (between context lines) that
    removes some line and holds only `//` comment lines. Read once per diff, not once per finding:
    a file of imported code draws one C99 error per line."""
    found: set[tuple[str, int]] = set()
    for path, block in _changed_runs(diff):
        if any(b.kind == "-" for b, _ in block) and all(b.text.strip().startswith("//") for b, _ in block):
            found.update((path, n) for b, n in block if b.kind == "+")
    return frozenset(found)


_TOKEN = re.compile(r"[A-Za-z_]\w*|\s+|.")
_NAME = re.compile(r"[A-Za-z_]\w*")
_KEYWORDS = frozenset(
    {
        "if", "else", "for", "while", "do", "switch", "case", "return", "sizeof", "static", "const",
        "volatile", "struct", "union", "enum", "typedef", "goto", "break", "continue", "default", "extern",
    }
)  # fmt: skip
# rules about the spacing, braces and indentation of a line: a rename leaves all of them as they were
_LAYOUT = re.compile(
    r"^(?:space(?:s)? (?:required|prohibited)|need consistent spacing|that open brace|else should"
    r" follow|trailing whitespace|code indent|suspect code indent|braces \{\} are necessary)"
)


def _renamed(old: str, new: str) -> bool:
    """The two lines differ, and only in names (not keywords): the same layout, other identifiers."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    if old == new or len(a) != len(b):
        return False
    return all(
        x == y or (_NAME.fullmatch(x) and _NAME.fullmatch(y) and not {x, y} & _KEYWORDS)
        for x, y in zip(a, b, strict=True)
    )


@lru_cache(maxsize=8)
def _renames(diff: str) -> frozenset[tuple[str, int]]:
    """(file, new line) of every added line that only renames identifiers of the line it replaces
    (the removed line at its place in the same run of changed lines): its layout is the old line's,
    which the patch did not write."""
    found: set[tuple[str, int]] = set()
    for path, block in _changed_runs(diff):
        removed = [b.text for b, _ in block if b.kind == "-"]
        added = [(b.text, n) for b, n in block if b.kind == "+"]
        found.update((path, n) for old, (new, n) in zip(removed, added, strict=False) if _renamed(old, new))
    return frozenset(found)


@lru_cache(maxsize=8)
def _removed_texts(diff: str) -> frozenset[str]:
    """The text of every line the diff removes, in any file."""
    return frozenset(
        x.text for f in split_files(diff) for h in f.hunk_texts for x in h.lines if x.kind == "-"
    )


def _moved_verbatim(q: Quote) -> bool:
    """The line it quotes is added, and the same patch removes that very line elsewhere: code moved
    as it was (a file split, functions moved to tcg/), whose layout is the old code's. A line with
    under 8 characters of its own (a brace, `break;`) says nothing of where it came from."""
    code = q.code
    return code.startswith("+") and len(code[1:].strip()) >= 8 and code[1:] in _removed_texts(q.patch.diff)


@lru_cache(maxsize=8)
def _new_lines(diff: str) -> dict[tuple[str, int], str]:
    """(file, new line) -> text of every line the diff shows on its new side (added or context)."""
    found: dict[tuple[str, int], str] = {}
    for f in split_files(diff):
        for h in f.hunk_texts:
            at = h.new_start
            for x in h.lines:
                if x.kind != "-":
                    found[f.path, at] = x.text
                    at += 1
    return found


_PARAMETERS = re.compile(r"^\s*#\s*define\s+\w+\(([^)]*)\)")
# `name (`; between two operands (after a close bracket) it is an operator, not a function
_SPACED_CALL = re.compile(r"\b([A-Za-z_]\w*)\s+\(")


def _infix_parameter(q: Quote) -> bool:
    """Every `name (` on the line it points at is a parameter of the `#define` the line belongs
    to, standing between two operands: the macro is handed an operator (`#define SARITH16(a, b,
    n, op)` ... `(int32_t)(int16_t)(a) op (int32_t)(int16_t)(b)`, target/arm's helpers, moved
    unchanged and merged so: samples AL and AN). No function is called there."""
    if not q.file or q.line is None:
        return False
    lines = _new_lines(q.patch.diff)
    code = lines.get((q.file, q.line))
    if code is None:
        return False
    spaced = [m for m in _SPACED_CALL.finditer(code) if m.group(1) not in _KEYWORDS]
    if not spaced or any(not re.search(r"[)\]]\s*$", code[: m.start()]) for m in spaced):
        return False
    between = {m.group(1) for m in spaced}
    at = q.line
    while (text := lines.get((q.file, at))) is not None and (at == q.line or text.rstrip().endswith("\\")):
        if (head := _PARAMETERS.match(text)) is not None:
            return between <= {p.strip() for p in head.group(1).split(",")}
        at -= 1
    return False


_INITIALISED = re.compile(r"(\w+)\s*=\s*\{")


def _filled_later(q: Quote) -> bool:
    """The variable whose brace initialiser it points at has a member assigned further down the
    file as the patch leaves it: filled at run time, it cannot be const (`TypeInfo type_info = {
    .parent = ... }` and `type_info.name = info[i].name` in a registration loop, moved with its
    loop into a new file: sample AO)."""
    if not q.file or q.line is None or (m := _INITIALISED.search(q.code)) is None:
        return False
    lines = _new_lines(q.patch.diff)
    assigned = re.compile(rf"\b{m.group(1)}\s*(?:\.|->)\s*\w+(?:\[[^]]*\])?\s*=(?!=)")
    at = q.line + 1
    while (text := lines.get((q.file, at))) is not None and not text.startswith("}"):
        if assigned.search(text):
            return True
        at += 1
    return False


MISREADS: tuple[tuple[re.Pattern[str], Callable[[Quote], bool]], ...] = (
    # a layout rule on a line the patch moves unchanged from elsewhere: the layout is the old
    # code's, and a move is reviewed as a move (a real series: target/arm's VFP helpers moved to
    # tcg/, "space prohibited before that close parenthesis" six times on `sign, )` macro calls)
    (re.compile(_LAYOUT.pattern + r'|^open brace|^"foo\s?\* bar"|^line over \d+'), _moved_verbatim),
    # its quoted-newline rule, on a line the patch does not add (only that rule: a rule about the
    # patch as a whole, such as Linux headers mixed with other changes, quotes whatever line it
    # stands on, a context line too, and is right; samples AC, AF)
    (re.compile(r"^unnecessary whitespace before a quoted newline"), _quotes_no_added_line),
    # a layout rule on a line that only renames names of a line the patch removes: the layout is
    # the old line's (a type rename across lines whose compound literals read `{{tss->ldt}}`, merged
    # as written: sample AJ)
    (_LAYOUT, lambda q: bool(q.file) and (q.file, q.line) in _renames(q.patch.diff)),
    # its operator-spacing rules guess at types (`fn_t *p` reads as a product)
    (re.compile(r"\(ctx:\w+\)"), _always),
    # maintainers waive these: long lines in macro tables, test data and asset URLs, and newlines
    # in test skip messages (both merged so upstream, on the tuning and the judged samples);
    # "patch seems to be corrupt": checkpatch reads diff-like lines in a commit message (the ACPI
    # table diff of a bios-tables-test blob update) as a broken hunk; the diff itself was read by
    # our parser, which refuses what `git apply` would refuse
    (
        re.compile(
            r"^line over \d+ characters|^Error messages should not contain newlines"
            r"|^patch seems to be corrupt"
        ),
        _always,
    ),
    # its macro rules want a value in parentheses and statements in do-while: a macro that expands
    # to entries of a list (an X-macro's `NAME##_IDX,`, a table's `{ a, b }, { c, d },`,
    # instruction words separated by commas) can take neither, and maintainers merge such tables
    # (sample N)
    (
        re.compile(r"^Macros with (?:complex values|multiple statements)"),
        lambda q: expands_to_list(_quoted_lines(q)),
    ),
    # either rule on a macro whose body the patch keeps (it changed the parameters only; sample AK)
    (re.compile(r"^Macros with (?:complex values|multiple statements)"), _macro_body_kept),
    # ... or that goes on past the hunk, where checkpatch cannot see its value close
    (re.compile(r"^Macros with (?:complex values|multiple statements)"), _macro_cut_by_hunk),
    # its do-while rule on a macro that defines file-scope tables or functions (sample AJ)
    (
        re.compile(r"^Macros with multiple statements"),
        lambda q: defines_statics(_quoted_lines(q)),
    ),
    # ... or that expands to a switch's case labels (a new SCSI controller's register reads and
    # writes, merged as written, as master's lsi53c895a.c has them: sample s55-P)
    (
        re.compile(r"^Macros with multiple statements"),
        lambda q: expands_to_cases(_quoted_lines(q)),
    ),
    # it takes a function pointer's declarator for a call (`qemu_irq (*get_irq)(void *)`)
    (
        re.compile(r"^space prohibited between function name and open parenthesis"),
        lambda q: bool(_FUNCTION_POINTER.search(q.code)),
    ),
    # it takes a macro's operator parameter between two operands for a function name (samples AL, AN)
    (re.compile(r"^space prohibited between function name and open parenthesis"), _infix_parameter),
    # its const rule fires on any line naming an ops or description type with a `=` after it; what
    # it means is a static brace initialiser, not `USBDescIface *d = g_new0(USBDescIface, n)`,
    # filled at run time
    (
        re.compile(r"^initializer for struct \w+ should normally be const"),
        lambda q: bool(q.code) and not _BRACE_INIT.search(q.code),
    ),
    # ... nor a brace initialiser the function then fills in (sample AO)
    (re.compile(r"^initializer for struct \w+ should normally be const"), _filled_later),
    # its storage-class rule takes an attribute macro before `static` (`UNUSED static const ...`,
    # as linux-user/strace.c declares its tables; `G_GNUC_UNUSED static`) for a type: C allows
    # both orders
    (
        re.compile(r"^storage class should be at the beginning of the declaration"),
        lambda q: bool(_ATTRIBUTE_FIRST.search(q.code)),
    ),
    # its pointer-spacing rule reads an annotation macro after the `*` (`BdrvChild * GRAPH_RDLOCK
    # bdrv_f(...)`, the form of 30 lines of include/block in master) as a variable's name
    (
        re.compile(r'^"foo \* bar" should be "foo \*bar"'),
        lambda q: bool(_ANNOTATION_AFTER_STAR.search(q.code)),
    ),
    # its indent rule takes the block of an `if` whose brace stands on its own line after an
    # `#endif` (`#ifdef CONFIG_PIXMAN` / `if (!use_pixman ||` ... / `#endif` / `{`, the form of
    # hw/display/ati_2d.c at the base) for a statement indented like the `if` (sample Q). Without
    # the `#endif`, such a brace gets "that open brace { should be on the previous line" instead.
    (
        re.compile(r"^suspect code indent for conditional statements \((\d+), \1\)"),
        _quote_ends_in_brace,
    ),
    # its trailing-statement rule takes a C99 comment after an opening brace (`} else if (x) {
    # // y`) for a statement; the comment gets its own error ("do not use C99 // comments")
    # (sample S)
    (
        re.compile(r"^trailing statements should be on next line"),
        lambda q: bool(_BRACE_THEN_COMMENT.search(q.code)),
    ),
    # a space before a quoted newline in a test's expected output is the output (a hex dump's last
    # column, `"s is \n"`, in tests/unit at master) (sample S)
    (
        re.compile(r"^unnecessary whitespace before a quoted newline"),
        lambda q: bool(q.file and q.file.startswith("tests/")),
    ),
    # a string that is nothing but blanks around the newline has no text to trail: the blanks are
    # the data, `text.replace("\n", " \n ")` in a script that wraps comments (sample AB)
    (re.compile(r"^unnecessary whitespace before a quoted newline"), _only_blanks_quoted),
    # its extern rule takes `type name(` for a prototype: a local declared with an attribute,
    # `int unused __attribute__ ((unused));`, has `__attribute__` as that name (sample U)
    (
        re.compile(r"^externs should be avoided in \.c files"),
        lambda q: bool(_ATTRIBUTE_CALL.search(q.code)),
    ),
    # its C99-comment rule on lines that only edit a `//` comment the file has (a licence header
    # written with `//`, whose FSF address a patch replaces with the URL: merged so, sample V)
    (re.compile(r"^do not use C99 // comments"), _edits_line_comment),
)


def misread(q: Quote) -> bool:
    """Whether checkpatch's message misjudges what it points at (see ``MISREADS``)."""
    return any(rule.search(q.msg) and test(q) for rule, test in MISREADS)
