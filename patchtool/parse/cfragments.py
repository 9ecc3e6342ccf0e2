"""Make a hunk's C fragment parse as what it is, keeping one text row per hunk row.

A hunk cuts C code anywhere: it may start at a function's `{` (the signature is in the hunk
header), inside a signature split over lines, inside a doc comment, or leave a struct open. These
helpers add what the cut took away (as context rows that change nothing) and mark a QEMU macro
invocation without `;` (`type_init(x)`, `OBJECT_DECLARE_TYPE(...)`) so that tree-sitter does not
read it as the return type of the function that follows.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable

from patchtool.parse.cparser import for_parsing

_STRINGS_COMMENTS = re.compile(r'"(\\.|[^"\\])*"|\'(\\.|[^\'\\])*\'|//.*|/\*.*?\*/')
_MACRO_CALL = re.compile(r"^[A-Z_a-z]\w*\s*\(.*\)\s*$")
_COMMENT_ROW = re.compile(r"^\s*(\*|/\*|\*/|//)")
_SECTION_FUNC = re.compile(r"([A-Za-z_]\w*)\s*\([^;]*$")
# A name a macro makes: `void HELPER(diag)(CPUS390XState *env, ...)` (the parameters follow the
# macro's parentheses) or, with no return type before it, `DISAS_INSN(fpu)` (the macro expands to
# the whole signature; m68k's translator has 200 of them). Named as written, `HELPER(diag)`, as
# cfuncs._function_item names the first: the macro's name alone would call every such function the same.
_SECTION_MACRO_NAME = re.compile(r"\b([A-Za-z_]\w*\s*\([^()]*\))\s*\(")
_SECTION_MACRO_SIGNATURE = re.compile(r"^([A-Z_][A-Z0-9_]*\s*\([^()]*\))\s*\{?$")
# an argument that is a number: `REG32(CR0, 0x20)`, `FIELD(CR0, SMMUEN, 0, 1)` declare registers
_NUMBER_ARGUMENT = re.compile(r"[(,]\s*(?:0[xX][0-9A-Fa-f]+|\d+)\s*[,)]")
_SECTION_STRUCT = re.compile(r"^(?:typedef\s+)?(struct|union|enum)\s+([A-Za-z_]\w*)\s*\{?\s*$")
# `__attribute__((__packed__))` in a header line is no function call: `typedef enum
# __attribute__((__packed__)) {` (softfloat-types.h) named a function "__attribute__"
_ATTRIBUTE = re.compile(r"\b__attribute__\s*\(\((?:[^()]|\([^()]*\))*\)\)")


def code_of(text: str) -> str:
    """A row without strings and one-line comments, for counting braces and parentheses."""
    return _STRINGS_COMMENTS.sub("", text)


def is_comment_row(text: str) -> bool:
    """A row that is (the continuation of) a comment: ` * @d: the device`, `/*`, ` */`."""
    return bool(_COMMENT_ROW.match(text))


def section_opens_scope(section: str, texts: list[str]) -> bool:
    """The hunk header's line is the start of what the hunk continues: an open parameter list,
    or a function whose `{` is the hunk's first code row.

    ``texts`` are one image's rows (the pre-image: git takes the header from the old file)."""
    code = code_of(section)
    first = next((t for t in texts if t.strip()), "")
    if code.count("(") <= code.count(")"):
        return first.startswith("{") and "(" in code and not code.rstrip().endswith(";")
    # an open parameter list: the hunk continues it only if its rows close it before any other
    # statement or block starts (a call in a body opens and closes its own parentheses)
    depth = code.count("(") - code.count(")")
    for text in texts:
        row = code_of(text)
        if not _parameters_only(row, depth) or _holds_literal(text):
            # `ram_end - x,`, `as);`, `"could not open");`: the tail of a call in the body, not
            # parameters (no parameter list holds a string or a character)
            return False
        depth += row.count("(") - row.count(")")
        if depth <= 0:
            return True  # closed: the signature (or a prototype ending in `);`) is complete
        if ";" in row or "{" in row:
            return False
    # every row a parameter and the list still open: the hunk is inside it (a parameter added to a
    # long prototype, the list going on past the hunk)
    return any(code_of(t).strip() for t in texts)


# A parameter: `...`, type words and stars then a name (and array sizes), a type alone with a
# star (`void *` in a prototype), or one of C's own type words alone. Words are always apart
# (`\s+` or stars between them), so no row backtracks (a row is untrusted mail text).
_PARAMETER = re.compile(
    r"^(?:\.\.\.|(?:[A-Za-z_]\w*[\s*]+)+[A-Za-z_]\w*\s*(?:\[[^\]]*\]\s*)*|(?:[A-Za-z_]\w*\s+)*[A-Za-z_]\w*\s*\*[\s*]*"
    r"|void|bool|_Bool|char|short|int|long|unsigned|signed|float|double|\w+_t)$"
)


def _holds_literal(text: str) -> bool:
    """Whether a row holds a string or character literal outside its comments."""
    return any(m.group(0)[0] in "\"'" for m in _STRINGS_COMMENTS.finditer(text))


def _parameters_only(row: str, depth: int) -> bool:
    """Whether what a row holds inside a parameter list open ``depth`` deep reads as parameters."""
    inside = row
    for i, ch in enumerate(row):
        depth += (ch == "(") - (ch == ")")
        if depth <= 0:
            inside = row[:i]
            break
    if "(*" in inside.replace(" ", ""):
        return True  # a function pointer's own parameter list: `uint64_t (*fn)(void *, bool),`
    pieces = (p.strip().strip("()").strip() for p in inside.split(","))
    return all(_PARAMETER.match(p) for p in pieces if p)


def reopen_comment(texts: list[str]) -> list[str]:
    """A fragment that starts inside a block comment (a hunk whose first rows are the end of a
    function's doc comment, ` * 63 - not supported` then ` */`) gets the `/*` the cut took away, on
    its first row: unopened, tree-sitter reads the comment's words as code and loses the
    function that follows."""
    for text in texts:
        opens, closes = text.find("/*"), text.find("*/")
        if closes >= 0 and (opens < 0 or closes < opens):
            return ["/*" + texts[0], *texts[1:]]
        if opens >= 0:
            return texts
    return texts


def macro_statement(text: str, rows: Iterable[str]) -> bool:
    """Whether `text` is `NAME(args)` alone at column 0 (a comment may follow it), not followed (in
    `rows`, the rows after it) by `{`, an indented row or `)`: a statement-like macro."""
    code = code_of(text)
    if not _MACRO_CALL.match(code) or code.rstrip().endswith(";"):
        return False
    following = next((t for t in rows if t.strip() and not is_comment_row(t)), "")
    # else a function's own signature line (its body or parameters follow)
    return not (following.startswith(("{", ")")) or following[:1] in (" ", "\t"))


def mark_macro_calls(texts: list[str]) -> list[str]:
    """Each statement-like macro (`macro_statement`) gets its `;`."""
    return [
        text.rstrip() + ";" if macro_statement(text, itertools.islice(texts, i + 1, None)) else text
        for i, text in enumerate(texts)
    ]


def ends_in_comment(text: str) -> bool:
    """Whether the text ends inside a block comment, read left to right past strings and line
    comments (`/* see https://...` is a block comment; `"/*"` is a string). Linear in the text."""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if text.startswith("/*", i):
            close = text.find("*/", i + 2)
            if close < 0:
                return True
            i = close + 2
        elif text.startswith("//", i):
            i = n if (eol := text.find("\n", i)) < 0 else eol + 1
        elif ch in "\"'":
            i = _past_quote(text, i)
        else:
            i += 1
    return False


def _past_quote(text: str, start: int) -> int:
    """Where a string or character literal opened at ``start`` ends (one past its closing quote);
    a quote with no partner on its row is stepped over alone."""
    quote, i = text[start], start + 1
    while i < len(text) and text[i] != "\n":
        if text[i] == "\\":
            i += 2
        elif text[i] == quote:
            return i + 1
        else:
            i += 1
    return start + 1


def close_open_scopes(text: str) -> str:
    """Close what a fragment leaves open, so it parses: a block comment the hunk ends inside (the
    first comment of a function whose signature the hunk changes: left open, the braces added
    after it are comment, and the function is lost), then the braces (a struct or a body opening
    in the hunk)."""
    depth = 0
    for row in text.split("\n"):
        code = code_of(row)
        depth = max(depth + code.count("{") - code.count("}"), 0)
    in_comment = ends_in_comment(text)
    return text + "\n*/" * in_comment + "\n};" * depth


def open_signature(texts: list[str]) -> tuple[int, str] | None:
    """(row, name) of a signature that starts at column 0 and whose parameter list is still open
    after the last row (the list goes on past the hunk); None if there is none."""
    start, depth = None, 0
    for row, text in enumerate(texts):
        code = code_of(text)
        if depth == 0:
            named = _signature_name(code) if not text[:1].isspace() else None
            if named is None or code.count("(") <= code.count(")") or named.isupper():
                continue  # no open signature here (an upper-case name is a macro's invocation)
            start = (row, named)
        depth = max(depth + code.count("(") - code.count(")"), 0)
    return start if depth > 0 else None


def _signature_name(code: str) -> str | None:
    """`static int foo(` -> `foo`: the name before a row's first `(` when only type words and
    stars come before it (read without a regex that could backtrack on a long row)."""
    head = code.split("(", 1)[0].rstrip()
    if head == code or not head or not all(ch.isalnum() or ch in "_ \t*" for ch in head):
        return None
    name = head.rsplit(None, 1)[-1].rsplit("*", 1)[-1]
    return name if name and (name[0].isalpha() or name[0] == "_") else None


def section_scope(section: str) -> tuple[str, str] | None:
    """What git's hunk header names: ("struct", name), ("function", name) or None."""
    section = for_parsing(section.encode("utf-8", "surrogateescape")).decode("utf-8", "surrogateescape")
    section = " ".join(_ATTRIBUTE.sub(" ", section).split())  # `G_GNUC_PRINTF(1, 2) f(` names f
    if match := _SECTION_STRUCT.match(section):
        return ("struct", match.group(2))
    if section.endswith(";") or section.endswith("\\"):
        return None  # a declaration, or a line of a #define's body (`void helper_##op(...) \\`)
    if match := _SECTION_MACRO_SIGNATURE.match(section):
        if _NUMBER_ARGUMENT.search(match.group(1)) and not section.endswith("{"):
            return None  # a table row a macro makes, `REG32(CR0, 0x20)`: no function's name
        return ("function", " ".join(match.group(1).split()))
    func = _SECTION_FUNC.search(section)
    if func is None:
        return None
    macro = _SECTION_MACRO_NAME.match(section, func.start())
    return ("function", " ".join(macro.group(1).split()) if macro else func.group(1))
