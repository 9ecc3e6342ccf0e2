"""Trailers: the `Key: value` block of a commit message, and review trailers given in replies.

What counts as a trailer block follows `git interpret-trailers --parse`: the last paragraph of the
message, in which trailer lines dominate (at least one known key and a quarter of the lines).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from patchtool.models import Address, Trailer
from patchtool.parse.mail import parse_address

KNOWN_KEYS = (
    "Signed-off-by",
    "Co-developed-by",
    "Reviewed-by",
    "Acked-by",
    "Tested-by",
    "Reported-by",
    "Suggested-by",
    "Nacked-by",
    "Fixes",
    "Link",
    "Message-Id",
    "Message-ID",
    "Cc",
    "Closes",
    "Based-on",
    "Supersedes",
    "Resolves",
    "Buglink",
    "Requested-by",
    "Cherry-picked-from",
)
_CANONICAL = {k.lower(): k for k in KNOWN_KEYS}
_CANONICAL["message-id"] = "Message-Id"
PERSON_KEYS = frozenset(
    {"Signed-off-by", "Co-developed-by", "Reviewed-by", "Acked-by", "Tested-by", "Reported-by"}
    | {"Suggested-by", "Nacked-by", "Requested-by", "Cc"}
)
# The trailers a reviewer gives in a reply and that `b4 am` carries into the commit.
REVIEW_KEYS = frozenset({"Reviewed-by", "Acked-by", "Tested-by", "Reported-by", "Suggested-by"})

_TRAILER = re.compile(r"^([A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]):[ \t]*(\S.*?)\s*$")


def canonical_key(key: str) -> str:
    return _CANONICAL.get(key.lower(), key)


def parse_trailer_line(line: str, origin: str = "commit") -> Trailer | None:
    """`Reviewed-by: A <a@x>` to a Trailer; URLs (`https://x`) and prose are not trailers."""
    match = _TRAILER.match(line)
    if not match or " " in match.group(1) or match.group(2).startswith("//"):
        return None
    key = canonical_key(match.group(1))
    value = match.group(2)
    address = parse_address(value) if key in PERSON_KEYS else None
    return Trailer(key=key, value=value, address=address, origin=origin)


def _last_paragraph(lines: list[str]) -> list[str]:
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    start = end
    while start and lines[start - 1].strip():
        start -= 1
    return lines[start:end]


def commit_trailers(message: str) -> tuple[Trailer, ...]:
    """The trailers of a commit message: its last paragraph, when that paragraph is a trailer block."""
    block = _last_paragraph(message.split("\n"))
    trailers: list[Trailer] = []
    other = 0
    for line in block:
        if line[:1] in (" ", "\t") and trailers:
            continue  # a folded continuation of the previous trailer
        trailer = parse_trailer_line(line)
        if trailer is None:
            other += 1
        else:
            trailers.append(trailer)
    known = any(t.key in _CANONICAL.values() for t in trailers)
    if not trailers or not known or len(trailers) * 3 < other:
        return ()
    return tuple(trailers)


def reply_trailers(body: str, sender: Address, msgid: str, origin: str = "reply") -> list[Trailer]:
    """Review trailers written (not quoted) in a reply; stops at the signature `-- ` line."""
    found: list[Trailer] = []
    for line in body.split("\n"):
        if line == "-- ":
            break
        if line.startswith(">"):
            continue
        trailer = parse_trailer_line(line.strip(), origin)
        if trailer is not None and trailer.key in REVIEW_KEYS:
            found.append(
                Trailer(trailer.key, trailer.value, trailer.address, origin, msgid=msgid, sender=sender)
            )
    return found


def sender_matches(trailer: Trailer, sender: Address | None) -> bool:
    """A review trailer is trusted when it names the reply's sender (by address, else by name)."""
    if sender is None or trailer.address is None:
        return False
    if trailer.address.email and sender.email:
        return trailer.address.email.lower() == sender.email.lower()
    return bool(trailer.address.name) and trailer.address.name.lower() == sender.name.lower()


def same_trailer(a: Trailer, b: Trailer) -> bool:
    """Two trailers say the same thing (key and person/value, case-insensitive on the address)."""
    if a.key != b.key:
        return False
    if a.address and b.address and a.address.email and b.address.email:
        return a.address.email.lower() == b.address.email.lower()
    return " ".join(a.value.split()).lower() == " ".join(b.value.split()).lower()


def dedupe(trailers: Iterable[Trailer], existing: Iterable[Trailer] = ()) -> tuple[Trailer, ...]:
    """Trailers in order, without repeats and without those already in `existing`."""
    kept: list[Trailer] = list(existing)
    start = len(kept)
    for trailer in trailers:
        if not any(same_trailer(trailer, k) for k in kept):
            kept.append(trailer)
    return tuple(kept[start:])


def append_trailers(message: str, extra: Iterable[Trailer]) -> str:
    """Place `extra` after the message's existing trailers (as `b4 am` does)."""
    lines = [f"{t.key}: {t.value}" for t in extra]
    if not lines:
        return message
    text = message.rstrip("\n")
    if commit_trailers(text):
        return text + "\n" + "\n".join(lines) + "\n"
    return text + "\n\n" + "\n".join(lines) + "\n"
