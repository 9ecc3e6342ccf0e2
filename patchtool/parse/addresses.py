"""People in mail: the author as `git mailinfo` reads a From:, and the people a trailer names.

Two readers because two tools are the reference. `git am` takes the author from a From: value with
its own simple rules (the e-mail is the word around the '@', the rest is the name), and the commit
must match what git records. A trailer (`Reviewed-by: Some, One <one@x>, Two <two@x>`) is written
by people, not mailers: unquoted commas and brackets in display names, comments, bare addresses,
encoded words and HTML-mail `<mailto:>` junk all occur, and every person it names matters.
"""

from __future__ import annotations

import re

from patchtool.models import Address

_MAILTO_INSIDE = re.compile(r"(?<=[^\s<])<mailto:[^<>\s]*>", re.IGNORECASE)
_MAILTO_OPEN = re.compile(r"<mailto:", re.IGNORECASE)
_MAILTO_BRACKET = re.compile(r"\s*\[mailto:[^\]\s]*\]", re.IGNORECASE)
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
_SPACES = re.compile(r"\s+")


def decode_words(text: str) -> str:
    """RFC 2047 encoded words to text; a broken one stays as written."""
    if not _ENCODED_WORD.search(text):
        return text
    from email.header import decode_header, make_header  # only for encoded words: ~4 ms to import

    try:
        return str(make_header(decode_header(text)))
    except (ValueError, LookupError, UnicodeDecodeError):
        return text


def _unquote(text: str) -> str:
    """git's unquote_quoted_pair(): drop the quotes of quoted strings, keep comments' parentheses."""
    out: list[str] = []
    i, quote, depth = 0, False, 0
    while i < len(text):
        c = text[i]
        if c == "\\" and (quote or depth) and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if c == '"' and not depth:
            quote = not quote
        else:
            depth += (c == "(") - (c == ")") if not quote else 0
            out.append(c)
        i += 1
    return "".join(out)


def mailinfo_author(value: str) -> Address:
    """The author `git mailinfo` extracts from a From: value (handle_from and get_sane_name)."""
    text = _unquote(decode_words(value))
    at = text.find("@")
    if at < 0:
        name = " ".join(text.split())
        return Address(name=name, email="")
    start = at
    while start > 0 and not text[start - 1].isspace() and text[start - 1] != "<":
        start -= 1
    end = at
    while end < len(text) and text[end] not in " \n\t\r\v\f>":
        end += 1
    email = text[start:end]
    left = text[: start - 1] if start > 0 and text[start - 1] == "<" else text[:start]
    rest = left + (" " if start > 0 and text[start - 1] == "<" else "") + text[end + 1 :]
    name = _SPACES.sub(" ", rest).strip()
    if name.startswith("(") and name.endswith(")"):
        name = name[1:-1]
    if not name or len(name) > 60 or any(c in name for c in "@<>"):
        name = email
    return Address(name=name, email=email)


def strip_mailto(value: str) -> str:
    """Remove what HTML mail clients add: `a@x<mailto:a@x>`, `<mailto:a@x>`, `[mailto:a@x]`."""
    value = _MAILTO_INSIDE.sub("", value)
    value = _MAILTO_BRACKET.sub("", value)
    return _MAILTO_OPEN.sub("<", value)


def _person(name_part: str, email: str) -> Address:
    name = _unquote(name_part).strip().strip(",").strip()
    if name.startswith("(") and name.endswith(")") and name.count("(") == 1:
        name = name[1:-1].strip()
    return Address(name=decode_words(" ".join(name.split())), email=email.strip())


def _bare(chunk: str) -> Address | None:
    """`a@x` or `a@x (Name)` or `(Name) a@x`: the word with an '@' is the address."""
    words = chunk.split()
    found = [w for w in words if "@" in w and not w.startswith("(")]
    if len(found) != 1:
        return None
    rest = chunk.replace(found[0], " ", 1)
    return _person(rest, found[0].strip("<>,"))


def _split_chunks(value: str) -> list[tuple[str, str | None]]:
    """(text, address in angle brackets or None), cut at top-level commas that end a person.

    Linear in the value's length, however many commas or brackets a hostile value holds.
    """
    chunks: list[tuple[str, str | None]] = []
    buf: list[str] = []
    quote, depth, i, has_at, closes = False, 0, 0, False, True
    while i < len(value):
        c = value[i]
        if c == '"' and not depth:
            quote = not quote
        elif not quote and c in "()":
            depth = max(0, depth + (1 if c == "(" else -1))
        elif not quote and not depth and c == "<" and closes:
            close = value.find(">", i)
            closes = close > 0
            if closes:
                chunks.append(("".join(buf), value[i + 1 : close]))
                buf, i, has_at = [], close + 1, False
                continue
        elif not quote and not depth and c == "," and has_at:
            chunks.append(("".join(buf), None))  # a bare address ends here
            buf, i, has_at = [], i + 1, False
            continue
        has_at = has_at or c == "@"
        buf.append(c)
        i += 1
    if "".join(buf).strip(" ,"):
        chunks.append(("".join(buf), None))
    return chunks


def parse_people(value: str) -> list[Address]:
    """Every person a trailer value names, as people write them.

    A comma splits people only after a complete address: in `Some, One <one@x>` the comma is part
    of the name. A text with no address at all is one person with an empty e-mail.
    """
    value = strip_mailto(value)
    people: list[Address] = []
    for text, email in _split_chunks(value):
        if email is not None:
            people.append(_person(text, email))
        elif (bare := _bare(text.strip(" ,"))) is not None:
            people.append(bare)
        elif people and text.strip(" ,").startswith("("):
            continue  # a comment after the address, e.g. `<a@x> (maintainer)`
        elif text.strip(" ,"):
            people.append(_person(text, ""))
    return people


# A list that rewrites From: for DMARC: "Name via qemu development <qemu-devel@nongnu.org>"
# (Mailman, the person in Reply-To:), "'Name' via group <group@googlegroups.com>" and
# "Name via B4 Relay <devnull+...>" (the person in X-Original-From:).
_VIA_NAME = re.compile(r"\S\s+via(\s+\S.*)?$")
_LIST_POST = re.compile(r"<mailto:([^<>?\s]+)", re.IGNORECASE)


def list_rewrite(headers: dict[str, str]) -> tuple[Address, str]:
    """The person who sent a mail, and where they were found.

    ("From", ...) unless the list rewrote From: to its own address; then the person is taken from
    X-Original-From: or Reply-To: (as patchwork and b4 do) and the second item names that header;
    "" means the list rewrote From: and the mail does not say who sent it. The rewrite is believed
    only when From: says "... via ..." and is the list's own address (its List-Post:), or when
    X-Original-From: is there: a Reply-To: alone never replaces an author.
    """
    sender = mailinfo_author(headers.get("from", ""))
    if not _VIA_NAME.search(sender.name) or sender.name == sender.email:
        return sender, "From"
    post = _LIST_POST.search(headers.get("list-post", ""))
    from_list = bool(sender.email) and post is not None and post.group(1).lower() == sender.email.lower()
    original = mailinfo_author(headers["x-original-from"]) if "x-original-from" in headers else None
    if original is not None and original.email and original.email.lower() != sender.email.lower():
        return original, "X-Original-From"
    if not from_list:
        return sender, "From"
    for person in parse_people(decode_words(headers.get("reply-to", ""))):
        if person.email and "@" in person.email and person.email.lower() != sender.email.lower():
            return (person if person.name else Address(name=person.email, email=person.email)), "Reply-To"
    return sender, ""
