"""Trailers: the `Key: value` block of a commit message, and review trailers given in replies.

One reader for both, following `git interpret-trailers --parse`: a trailer line is a token of
letters, digits and dashes, optional blanks, then `:`; a line starting with a blank continues the
previous trailer (folded); the block is the last paragraph when trailers dominate it (a known key
and three times the other lines, or nothing but trailers). As maintainer tools append trailers
after a blank line, a paragraph of nothing but trailers right above the block joins it. Keys are
matched in any case and written in their canonical spelling.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from patchtool.models import Address, Finding, Reply, Revision, Trailer
from patchtool.parse.addresses import parse_people, strip_mailto
from patchtool.parse.mail import Mail, parse_address

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
# Trailers that name no person, collected from a reply to the patch itself (QEMU's defaults):
# a Closes: belongs right after the Reported-by it completes. QEMU writes Resolves: as Closes:
# (a gitlab issue, a Coverity CID): a maintainer's "Resolves: CID 1642869" in a reply was merged
# (real thread, session 30), and it was the one reference trailer of that reply not collected.
REFERENCE_KEYS = frozenset({"Link", "Closes", "Fixes", "Resolves"})
REPLY_KEYS = REVIEW_KEYS | REFERENCE_KEYS

_TRAILER = re.compile(r"^([A-Za-z0-9][A-Za-z0-9-]*)[ \t]*:[ \t]*(.*?)\s*$")
_GIT_PREFIXES = ("Signed-off-by: ", "(cherry picked from commit ")
_SCOPE = re.compile(r"^\s*\[[^\]]+\]\s*$")
# A line that gives the trailers right under it to the whole series, as reviewers write in a reply
# to one patch ("Series:", "For the series:", "Entire series:", "BTW, whole series:", "So for the
# series:", "Add to whole patchset:"). The line says nothing else: "Nice series." above a
# Reviewed-by is prose, and the trailer stays the patch's.
# Real qemu-devel replies to one patch with such a line: 9 of 11 read so; the other two end a line
# of prose (_FOR_SERIES_AFTER_PROSE).
_SERIES = r"(?:series|patch\s?set|patch\s+series)"
_WHOLE = r"(?:the|this|whole|entire|complete|full)\s+"
_ADD = r"(?:(?:add|apply|applies)(?:\s+(?:it|this|these|them|those))?\s+)"  # "Add to whole patchset:"
_THEN = r"so|and|also|then"  # "So for the series:"; after prose, "..., so for the series:"
_FOR_SERIES = re.compile(
    rf"^\s*(?:(?:fwiw|btw|anyway|hence|thus|{_THEN}),?\s*)?(?:{_ADD}?(?:for|to|on)\s+)?(?:{_WHOLE})*"
    rf"{_SERIES}(?:\s+as\s+well|\s+too)?\s*[:.]?\s*$",
    re.IGNORECASE,
)
# The same at the end of a line of prose, as its own clause ("So, for the series:", "With that
# fixed, on the full series:", "..., so for the series:"), naming the tag ("add my R-b tag on the
# whole series:") or asking for it to be added ("You can also add to the whole series:"), always
# with its colon. "Thanks for the series:" thanks, and gives nothing to the other patches.
_FOR_SERIES_AFTER_PROSE = re.compile(
    rf"(?:[,.;!?]\s*(?:(?:{_THEN})\s+)?|\b(?:tags?|rb|r-b|reviewed-by|acked-by|tested-by|ack|a-b|t-b)\s+"
    r"|\b(?=add\s|appl))"
    rf"(?:{_ADD}?(?:for|to|on)\s+)?(?:{_WHOLE})+{_SERIES}\s*:\s*$",
    re.IGNORECASE,
)


def canonical_key(key: str) -> str:
    return _CANONICAL.get(key.lower(), key)


def parse_trailer_line(line: str, origin: str = "commit") -> Trailer | None:
    """`Reviewed-by: A <a@x>` to a Trailer; URLs (`https://x`) and prose are not trailers."""
    match = _TRAILER.match(line)
    if not match or not match.group(2) or match.group(2).startswith("//"):
        return None
    key = canonical_key(match.group(1))
    value = match.group(2)
    if key in PERSON_KEYS:
        value = strip_mailto(value)
        return Trailer(key=key, value=value, address=parse_address(value), origin=origin)
    return Trailer(key=key, value=value, origin=origin)


def _is_trailer_line(line: str) -> bool:
    return _TRAILER.match(line) is not None and not line[:1].isspace()


def _block_start(lines: list[str], end: int) -> int | None:
    """Where the trailer paragraph ending at `end` starts (git's find_trailer_block_start)."""
    start = end
    while start and lines[start - 1].strip():
        start -= 1
    trailers = others = continuations = 0
    recognised = False
    for line in lines[start:end]:
        if line.startswith(_GIT_PREFIXES) or (
            _is_trailer_line(line) and line.split(":", 1)[0].strip().lower() in _CANONICAL
        ):
            recognised = True
        if _is_trailer_line(line) or line.startswith(_GIT_PREFIXES):
            trailers, others, continuations = trailers + 1, others + continuations, 0
        elif line[:1].isspace():
            continuations += 1
        else:
            others += 1
    others += 0 if trailers else continuations
    if trailers and ((recognised and trailers * 3 >= others) or not others):
        return start
    return None


def _unfold(block: list[str]) -> list[str]:
    """Join continuation lines (a leading blank) onto the line they continue."""
    joined: list[str] = []
    for line in block:
        if line[:1].isspace() and joined:
            joined[-1] = f"{joined[-1].rstrip()} {line.strip()}"
        else:
            joined.append(line)
    return joined


def trailer_block(message: str) -> tuple[int, list[str]]:
    """(index of the block's first line, its unfolded lines); (len, []) when there is no block."""
    lines = message.split("\n")
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    start = _block_start(lines, end)
    if start is None:
        return len(lines), []
    while start > 1 and not lines[start - 1].strip():  # a block split by a blank line
        above = start - 1
        while above and not lines[above - 1].strip():
            above -= 1
        earlier = _block_start(lines, above)
        if earlier is None or not all(_is_trailer_line(x) or x[:1].isspace() for x in lines[earlier:above]):
            break
        start = earlier
    return start, _unfold([x for x in lines[start:end] if x.strip()])


def commit_trailers(message: str) -> tuple[Trailer, ...]:
    """The trailers of a commit message, read as `git interpret-trailers --parse` reads them."""
    _, block = trailer_block(message)
    found = (parse_trailer_line(line) for line in block)
    return tuple(t for t in found if t is not None)


def _reply_lines(body: str) -> list[str]:
    """The reply's own lines: quotes dropped, nothing after the signature `-- ` line."""
    lines = body.split("\n")
    own = lines[: lines.index("-- ")] if "-- " in lines else lines
    return [line for line in own if not line.startswith(">")]


def _continues(value: str, line: str) -> bool:
    """A wrapped trailer: an indented line after a value that is not a complete address yet."""
    if not line[:1].isspace() or not line.strip() or _TRAILER.match(line.strip()):
        return False
    return "@" not in value or value.rstrip().endswith((",", "<"))


def reply_trailers(
    body: str, sender: Address, msgid: str, origin: str = "reply", keys: frozenset[str] = REPLY_KEYS
) -> list[Trailer]:
    """Trailers written (not quoted, not indented) in a reply, with wrapped lines joined and a
    `[scope]` line right under a trailer kept with it; stops at the signature `-- ` line. A
    reply's trailers right under a "Series:" line (_FOR_SERIES), or under it after blank lines,
    have origin "series-reply": the reviewer gives them to every patch of the series, though
    the reply answers one."""
    lines = _reply_lines(body)
    found: list[Trailer] = []
    i, for_series, in_run = 0, False, False
    while i < len(lines):
        line = lines[i]
        trailer = parse_trailer_line(line, origin) if not line[:1].isspace() else None
        i += 1
        if trailer is None:
            # A blank or prose line ends the run; blank lines between a series line and the run
            # under it do not ("For the series:", an empty line, "Reviewed-by: ...").
            gap = for_series and not in_run and not line.strip()
            if not gap:
                for_series = bool(_FOR_SERIES.match(line) or _FOR_SERIES_AFTER_PROSE.search(line))
            in_run = False
            continue
        in_run = True
        if trailer.key not in keys:
            continue
        value = trailer.value
        while i < len(lines) and _continues(value, lines[i]):
            value, i = f"{value.rstrip()} {lines[i].strip()}", i + 1
        scope = ""
        if i < len(lines) and _SCOPE.match(lines[i]):
            scope, i = lines[i].strip(), i + 1
        wide = for_series and origin == "reply"
        again = parse_trailer_line(f"{trailer.key}: {value}", "series-reply" if wide else origin)
        assert again is not None
        found.append(replace(again, msgid=msgid, sender=sender, scope=scope))
    return found


def trailer_people(trailer: Trailer) -> list[Address]:
    """Every person a person trailer names (`A <a@x>, B <b@x>` names two)."""
    return parse_people(trailer.value) if trailer.key in PERSON_KEYS else []


def _same_person(person: Address, sender: Address) -> bool:
    if person.email and sender.email:
        return person.email.lower() == sender.email.lower()
    return bool(person.name) and person.name.lower() == sender.name.lower()


def missing_people(trailer: Trailer, sender: Address | None) -> list[Address]:
    """The people a trailer names who are not the reply's sender (all of them when unknown)."""
    people = trailer_people(trailer)
    if sender is None:
        return people
    return [p for p in people if not _same_person(p, sender)]


def sender_matches(trailer: Trailer, sender: Address | None) -> bool:
    """A person trailer is trusted only when every person it names is the reply's sender."""
    return bool(trailer_people(trailer)) and not missing_people(trailer, sender)


def _full_name(name: str) -> str:
    """A display name compared as a person's: case, quotes, commas and spacing aside; "" unless it
    has at least two words (a lone first name or a nick is nobody's in particular)."""
    words = re.sub(r"[\"',]", " ", name).casefold().split()
    return " ".join(sorted(words)) if len(words) >= 2 else ""


def sent_by_namesake(trailer: Trailer, sender: Address | None) -> bool:
    """The one person a person trailer names has the sender's full name at another address: a
    reviewer answering from a personal account with the work address they review under (QEMU's
    RISC-V maintainer replies from gmail with `Reviewed-by: ... <...@wdc.com>`; the maintainers
    merge those trailers). From: is no proof of the address either, so the name is as good a
    witness; a trailer for somebody else (another name) is still refused."""
    people = trailer_people(trailer)
    if sender is None or len(people) != 1 or not sender.name:
        return False
    name = _full_name(people[0].name)
    return bool(name) and name == _full_name(sender.name)


# Words saying a trailer was given elsewhere and is passed on: "Per IRC:", "(given off-list)".
_RELAY = re.compile(
    r"\b(?:irc|off-?list|offline|in person|on behalf of|privately|by chat"
    # given on an earlier revision and passed on ("please keep the previous tags": a real thread,
    # v2 of a MinGW fix; the maintainer merged the colleague's Reviewed-by the reply carried)
    r"|(?:previous|earlier|older) (?:tags|version|revision|iteration|round|posting|series)"
    r"|keep (?:\w+ )?tags|(?:from|in|on) v\d+)\b",
    re.IGNORECASE,
)


def relay_note(body: str, trailer: Trailer) -> str | None:
    """What a reply says right above its trailer when that says the trailer was given elsewhere
    and is relayed (QEMU maintainers write "Per IRC:" above a colleague's Reviewed-by: sample
    threads3; "please keep the previous tags" above the tags of an earlier revision): still not
    the named person's own word, but said openly. "Above" is the line right above it, or the
    paragraph above the run of trailers it stands in."""
    prose: list[str] = []  # the last paragraph of prose above
    above, ended = "", False  # the line above; whether a blank or a trailer came after that prose
    for line in body.splitlines():
        text = line.strip()
        if text.startswith(">"):
            continue
        if text.startswith(f"{trailer.key}:") and " ".join(trailer.value.split()) in " ".join(text.split()):
            said = " ".join(prose)
            if above and _RELAY.search(above):
                return above
            return said if said and _RELAY.search(said) else None
        if text and not _TRAILER.match(text):
            prose, ended = ([text] if ended else [*prose, text]), False
        else:  # a blank line, or another trailer of the run
            ended = True
        above = text
    return None


Vouch = tuple[int, Reply]  # an earlier revision's number and the reply in which a trailer was given
Counterpart = Callable[[Revision], "str | None"]  # the label ("2/5") of a patch's own in a revision


def given_before(
    trailer: Trailer, counterpart: Counterpart | None, earlier: Sequence[Revision]
) -> Vouch | None:
    """The earlier revision and reply in which the people a relayed trailer names gave it
    themselves: the same trailer, sent by them, on that revision's patch that is the one relayed
    to (`counterpart`: paired as a reviewer pairs them, parse/pairing.py, so a patch retitled or
    renumbered since still vouches), on the cover letter or for the whole series (`counterpart`
    None: the relay was for the whole series, so only the latter two vouch). The newest such
    revision; None when the thread holds none."""
    for revision in sorted(earlier, key=lambda r: -r.number):
        same_as = counterpart(revision) if counterpart is not None else None
        for reply in revision.replies:
            whole = reply.answers == "cover"
            same = same_as is not None and reply.answers == same_as
            for given in reply.trailers:
                if not (whole or same or given.origin == "series-reply") or not same_trailer(given, trailer):
                    continue
                if sender_matches(given, reply.sender) or sent_by_namesake(given, reply.sender):
                    return revision.number, reply
    return None


def refusal(
    trailer: Trailer,
    reply: Mail,
    label: str | None,
    *,
    alias: bool = False,
    note: str | None = None,
    vouched: Vouch | None = None,
) -> Finding:
    """The finding on a reply trailer that is not the reply's sender's own: applied from a
    namesake's address (``alias``), relayed openly (``note``, what relay_note read above it;
    applied when ``vouched``: the thread shows the named person giving it on an earlier
    revision), or refused."""
    said = f'"{trailer.key}: {trailer.value}"'
    if alias:
        severity, code = "info", "trailer-sender-alias"
        text = f"{said} was sent by {reply.sender}: the same name at another address; applied"
    elif note is not None:
        severity, code = "info", "trailer-relayed"
        shown = note if len(note) <= 40 else note[:37] + "..."
        text = f'{said} was relayed by {reply.sender} ("{shown}"); '
        if vouched is not None:
            number, given = vouched
            text += f"applied: {given.sender} gave it on v{number} (<{given.msgid}>)"
        else:
            text += "not applied: add it yourself if you trust the relay"
    else:
        severity, code = "warning", "trailer-sender-mismatch"
        missing = ", ".join(str(p) for p in missing_people(trailer, reply.sender)) or trailer.value
        text = f"{said} was sent by {reply.sender}, not by {missing} whom it names; not applied"
    return Finding(severity, code, text, patch=label, msgid=reply.msgid)


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


def trailer_text(trailer: Trailer) -> str:
    """The trailer as written into a commit: `Key: value`, then its scope line when it has one."""
    line = f"{trailer.key}: {trailer.value.strip()}"
    return f"{line}\n{trailer.scope}" if trailer.scope else line


def append_trailers(message: str, extra: Iterable[Trailer]) -> str:
    """Place `extra` after the message's existing trailers (as `b4 am` does)."""
    lines = [trailer_text(t) for t in extra]
    if not lines:
        return message
    text = message.rstrip("\n")
    if commit_trailers(text):
        return text + "\n" + "\n".join(lines) + "\n"
    return text + "\n\n" + "\n".join(lines) + "\n"
