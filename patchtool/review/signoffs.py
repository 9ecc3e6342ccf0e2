"""Sign-off and trailer checks on a commit message, read as `git interpret-trailers` reads it.

The trailer block is the message's last paragraph when trailer lines dominate it. Maintainer tools
append their trailers after a blank line, so a trailer paragraph directly above it (and the one
above that) belongs to the block too: `Signed-off-by` / blank / `Reviewed-by` hides no sign-off.
"""

from __future__ import annotations

import re
import unicodedata

from patchtool.models import Address, Finding, Patch, Trailer
from patchtool.parse.mail import parse_address
from patchtool.parse.trailers import KNOWN_KEYS, PERSON_KEYS, parse_trailer_line

# A Cc: trailer may name a bare list address, so it is not held to the <address> form.
PERSON_TRAILERS = {k.lower() for k in PERSON_KEYS - {"Cc"}}
_TRAILER_LINE = re.compile(
    r"^(?P<key>[A-Za-z][A-Za-z0-9-]*(?: [A-Za-z][A-Za-z0-9-]*)?)(?P<sp>\s*):(?P<rest>.*)$"
)
# QEMU does not hold Fixes: to the kernel's 12 digits and quoted subject: a hash and a subject do.
_FIXES_SHA = re.compile(r"^[0-9a-f]{7,40}\b( \(.+\))?$")
# A list that rewrites From: for DMARC sends "Name via <list>": the name is still the person's.
_VIA = re.compile(r"\s+via(\s+.*)?$")
# A name written as an address's local part: words joined by dots or underscores (a word holds
# neither, so a name is split one way only: no backtracking on a hostile `a_a_a_..._a!`).
_LOCAL_PART = re.compile(r"^(?:[^\W_]|-)+(?:[._](?:[^\W_]|-)+)+$")
# QEMU also writes `Fixes:`/`Resolves:` with the URL of a gitlab issue (or any bug tracker link).
_ISSUE_URL = re.compile(r"^<?https?://\S+>?$")
# QEMU's own form for a static-analysis report: `Fixes: Coverity CID 1558831` (93 in master),
# `Fixes: CID 1593154` (53), a list of them, a note in parentheses (187 of master's Fixes: lines)
_COVERITY_CID = re.compile(r"^(?:Coverity\s+)?CIDs?\s*:?\s*\d{4,}\b", re.IGNORECASE)
_GIT_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9-]*:")


def _paragraphs(message: str) -> list[list[str]]:
    paragraphs: list[list[str]] = [[]]
    for line in message.split("\n"):
        if line.strip():
            paragraphs[-1].append(line)
        elif paragraphs[-1]:
            paragraphs.append([])
    return [p for p in paragraphs if p]


def _is_trailer_paragraph(lines: list[str]) -> bool:
    """git's rule: at least one known trailer and trailers are at least 25% of the lines."""
    keyed = [ln for ln in lines if _GIT_KEY.match(ln) and not ln[:1].isspace()]
    known = {k.lower() for k in KNOWN_KEYS}
    has_known = any(ln.split(":", 1)[0].strip().lower() in known for ln in keyed)
    return has_known and 4 * len(keyed) >= len(lines)


def trailer_lines(message: str) -> list[str]:
    """The lines of the trailer block: the last trailer paragraph and those directly above it."""
    paragraphs = _paragraphs(message.strip())
    block: list[str] = []
    # the first paragraph is the body's opening text, never trailers
    while len(paragraphs) > 1 and _is_trailer_paragraph(paragraphs[-1]):
        block = paragraphs.pop() + block
    return block


def message_trailers(message: str) -> list[Trailer]:
    """Every trailer of the block, in order (continuation lines folded away)."""
    return [t for ln in trailer_lines(message) if not ln[:1].isspace() and (t := parse_trailer_line(ln))]


def _addr(t: Trailer) -> Address:
    return t.address or parse_address(t.value)


def _email(t: Trailer) -> str:
    return _addr(t).email.lower()


def _name(a: Address) -> str:
    return _VIA.sub("", a.name).casefold().strip()


def _plain(name: str) -> str:
    """A name without its accents: an address's local part cannot hold them ("frederic.petrot" for
    Frédéric Pétrot, a real list rewrite)."""
    return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))


def _spoken_name(a: Address) -> str:
    """The name an address gives, or, where a mail client put the address itself, its local part
    (or nothing) in the name, the name the local part spells: "first.last@gmail.com" -> "first
    last"."""
    name = _name(a)
    if name and "@" not in name and not _LOCAL_PART.match(name):
        return name
    # the address, or its local part alone ("edmund.raile via <list>", rewritten for DMARC)
    local = name.split("@", 1)[0] if name else a.email.split("@", 1)[0]
    if not re.search(r"[._]", local):
        return ""
    # "frederic.petrot--- via <list>": the rewrite may pad the local part with dashes
    return " ".join(w.strip("-") for w in re.split(r"[._]+", local)).casefold().strip()


def same_person(a: Address, t: Trailer) -> bool:
    other = _addr(t)
    if a.email.lower() == other.email.lower():
        return True
    name = _name(a)
    names = {_spoken_name(a), name if "@" not in name else ""} - {""}
    return _name(other) in names or _plain(_name(other)) in {_plain(n) for n in names}


def _finding(severity: str, code: str, message: str, patch: Patch) -> Finding:
    return Finding(severity, code, message, f"{patch.index}/{patch.total}", msgid=patch.msgid)


def check_signoffs(patch: Patch) -> list[Finding]:
    """DCO: the author signs off; each Co-developed-by is followed by a SoB; a distinct sender signs last."""
    trailers = message_trailers(patch.message) or list(patch.trailers)
    author_sob = next(
        (i for i, t in enumerate(trailers) if t.key == "Signed-off-by" and same_person(patch.author, t)),
        None,
    )
    found: list[Finding] = []
    if author_sob is None and _author_signs_in(patch, patch.message):
        message = f"the author's Signed-off-by stands above the trailer block, not in it ({patch.author})"
        found.append(_finding("info", "signoff-outside-trailers", message, patch))
    elif author_sob is None and (key := _misspelt_signoff(patch)):
        message = (
            f"the author's sign-off is written {key!r} ({patch.author}): the certificate is given, but"
            " tools that read trailers (git interpret-trailers, b4) miss it"
        )
        found.append(_finding("info", "signoff-malformed", message, patch))
    elif author_sob is None:
        message = f"no Signed-off-by from the author {patch.author}"
        if _author_signs_in(patch, patch.notes):
            # A '---' line the author meant as text (a quoted tool's output) cuts the message as
            # surely as the real one: a real v2 lost its whole second half and its sign-off so,
            # and the maintainer restored them by hand.
            message += (
                " in the commit message: git am ends it at its first '---' line, and theirs is among"
                f" the {len(patch.notes.split(chr(10)))} lines below, which the commit would not have"
            )
        found.append(_finding("error", "dco-missing-author-signoff", message, patch))
    found += _codev_signoffs(patch, trailers)
    if author_sob is not None:
        found += _signoffs_before_author(patch, trailers, trailers[:author_sob])
    found += _sender_last(patch, trailers)
    return found


def _author_signs_in(patch: Patch, text: str) -> bool:
    """The author's Signed-off-by is a line of ``text``: of the message above its last trailer
    block (a notes block kept in the message by mistake split it: the certificate is given, only
    its place is wrong), or of the notes below the '---' that ended it (git am drops it there)."""
    for line in text.split("\n"):
        trailer = parse_trailer_line(line) if line.startswith("Signed-off-by:") else None
        if trailer is not None and same_person(patch.author, trailer):
            return True
    return False


_MISSPELT_SIGNOFF = re.compile(r"^(signed[- ]?of+[- ]?by)\s*(:?)\s*(\S.*)$", re.IGNORECASE)


def _misspelt_signoff(patch: Patch) -> str | None:
    """The author's sign-off with its key misspelt (`Signed-off-by Name <addr>` with no colon,
    `Signed-of-by:`, `Signed-Off-By:`; 9 such lines on QEMU's master since 2015, merged so), as
    the key was written; None when there is none."""
    for line in patch.message.split("\n"):
        m = _MISSPELT_SIGNOFF.match(line.strip())
        if m is None or (m.group(1) == "Signed-off-by" and m.group(2)):
            continue
        trailer = parse_trailer_line(f"Signed-off-by: {m.group(3)}")
        if trailer is not None and same_person(patch.author, trailer):
            return f"{m.group(1)}{m.group(2)}"
    return None


def _sender_last(patch: Patch, trailers: list[Trailer]) -> list[Finding]:
    """Only a sender known to differ from the author (send-email with an in-body From:) must sign last."""
    sender = patch.sender
    if sender is None or sender.email.lower() == patch.author.email.lower():
        return []
    sobs = [t for t in trailers if t.key == "Signed-off-by"]
    if not sobs or same_person(sender, sobs[-1]):
        return []
    message = f"the last Signed-off-by should be the sender's ({sender}), not {sobs[-1].value}"
    return [_finding("warning", "sender-signoff-not-last", message, patch)]


def _codev_signoffs(patch: Patch, trailers: list[Trailer]) -> list[Finding]:
    """Each Co-developed-by must be immediately followed by the same person's Signed-off-by."""
    found = []
    for i, t in enumerate(trailers):
        if t.key != "Co-developed-by":
            continue
        nxt = trailers[i + 1] if i + 1 < len(trailers) else None
        if nxt is None or nxt.key != "Signed-off-by" or _email(nxt) != _email(t):
            message = f"Co-developed-by: {t.value} is not followed by that person's Signed-off-by"
            # the kernel's rule; QEMU maintainers merge it (3 of 29 Co-developed-by in 4,000 upstream
            # commits have no sign-off after them), so it is a note, not a defect
            found.append(_finding("info", "codev-without-signoff", message, patch))
    return found


def _signoffs_before_author(patch: Patch, trailers: list[Trailer], before: list[Trailer]) -> list[Finding]:
    """A sign-off before the author's is a co-author's: it needs a Co-developed-by (seed 003)."""
    codevs = {_email(t) for t in trailers if t.key == "Co-developed-by"}
    # QEMU keeps such chains as they are (55 of 4,000 upstream commits): a note, not a defect
    return [
        _finding(
            "info",
            "signoff-without-codev",
            f"Signed-off-by: {t.value} comes before the author's but has no Co-developed-by "
            "(add one, or fix the author)",
            patch,
        )
        for t in before
        if t.key == "Signed-off-by" and _email(t) not in codevs
    ]


_CERTIFY = ("Signed-off-by", "Co-developed-by")
_BARE_ADDRESS = re.compile(r"[^<>@\s]+@[^<>@\s]+\.[^<>@\s]+")
# A reporter known only from an issue tracker, or a tool, has no address to give. Of the 161
# Reported-by lines without one on master (to 2026), 127 name a tool or service (Coverity, Clang
# Static Analyzer, OSS-Fuzz, AddressSanitizer, a CI), 22 a person whose message links the
# tracker's issue and 12 a person with no link (still a warning); since 2024 all 3 that name a
# person link it (Resolves:, Buglink:).
_TRACKER_LINK = re.compile(
    r"(?im)^(?:Resolves|Buglink|Bug|Closes):\s*<?https?://"
    r"|https?://gitlab\.com/[^\s/]+/[^\s/]+/-/issues/\d+|https?://bugs\.launchpad\.net/"
)
_TOOL_REPORTER = re.compile(
    r"(?i)coverity|\bCID\b|analy[sz]er|sanitizer|fuzz|syzbot|syzkaller|(?-i:\bCI\b)|\blgtm\b|zero day"
)


def _form_problem(line: str, key: str, sp: str, rest: str, fixed: str) -> str | None:
    """What is wrong with one `Key: value` line whose key is known; case alone is no problem."""
    value = rest.strip()
    if " " in key or sp:
        return f"malformed trailer {line.strip()!r}: write `{fixed}: ...`"
    if not rest.startswith(" ") or not value:
        return f"malformed trailer {line.strip()!r}: `{fixed}: value` needs one space and a value"
    if fixed.lower() in PERSON_TRAILERS and not re.search(r"<[^<>@\s]+@[^<>\s]+>", rest):
        return f"trailer {line.strip()!r} has no <e-mail address>"
    if fixed == "Fixes" and not (
        _FIXES_SHA.match(value) or _ISSUE_URL.match(value) or _COVERITY_CID.match(value)
    ):
        return (
            f'Fixes: should read `Fixes: <commit hash> ("subject")`, an issue URL or a Coverity CID,'
            f" not {value!r}"
        )
    return None


def _reporter_without_address(fixed: str, value: str, message: str) -> bool:
    """A Reported-by that names a tool, or a person the message's issue-tracker link names."""
    if fixed != "Reported-by" or "@" in value:
        return False
    return bool(_TOOL_REPORTER.search(value) or _TRACKER_LINK.search(message))


def check_trailer_form(patch: Patch) -> list[Finding]:
    """Trailers are `Key: value` with a known key, people with <address>, Fixes: a commit or an issue."""
    found: list[Finding] = []
    canon = {k.lower(): k for k in KNOWN_KEYS}
    for line in trailer_lines(patch.message):
        m = _TRAILER_LINE.match(line)
        if not m or line[:1].isspace():
            continue
        key = m.group("key")
        fixed = canon.get(key.replace(" ", "-").lower())
        if fixed is None:
            continue  # not a trailer we know ("Note: ..."); git would keep it as text
        problem = _form_problem(line, key, m.group("sp"), m.group("rest"), fixed)
        if problem:
            # QEMU merges Fixes: in several forms (a hash and a bare quoted subject), and a person
            # given by a bare address (`Reported-by: someone@example.org`): notes; a sign-off
            # certifies the DCO under a real name, so there a bare address stays a warning
            bare = _BARE_ADDRESS.fullmatch(m.group("rest").strip()) is not None and fixed not in _CERTIFY
            # a reporter from the issue tracker, or a tool: what upstream merges (_TRACKER_LINK)
            tracked = problem.endswith("has no <e-mail address>") and _reporter_without_address(
                fixed, m.group("rest").strip(), patch.message
            )
            severity = "info" if fixed == "Fixes" or bare or tracked else "warning"
            found.append(_finding(severity, "trailer-malformed", problem, patch))
    return found
