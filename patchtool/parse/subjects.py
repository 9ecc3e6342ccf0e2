"""What a subject line says: reply markers, `[RFC PATCH v3 2/5]` prefixes, revision and position."""

from __future__ import annotations

import re

from patchtool.models import SubjectInfo

# Reply markers in the languages seen on the lists: Re (en), Aw (de), Sv (nordic), Antw (nl).
_REPLY = re.compile(r"^\s*(re|aw|sv|antw|fwd?)\s*(\[\d+\])?\s*:\s*", re.IGNORECASE)
_BRACKET = re.compile(r"^\s*\[([^\]]*)\]\s*")
_REVISION = re.compile(r"^(?:patch)?v(\d+)$", re.IGNORECASE)
_COUNTER = re.compile(r"^(\d+)/(\d+)$")


def strip_reply(subject: str, *, after_prefix: bool = False) -> tuple[str, bool]:
    """Remove every leading `Re:`/`RE:`/`Aw:` marker; say whether there was one.

    `Fw:`/`Fwd:` count only before a `[...]` prefix, and after a prefix (`[list] Re: [PATCH]`) any
    marker does: `[PATCH] fw: add blobs` is a patch to the firmware, not a forwarded mail.
    """
    is_reply = False
    while match := _REPLY.match(subject):
        rest = subject[match.end() :]
        forward = match.group(1).lower().startswith("fw")
        if (forward or after_prefix) and not rest.startswith("["):
            break
        subject, is_reply = rest, True
    return subject, is_reply


def _tokens(group: str) -> list[str]:
    # `[PATCH v6,19/24]` separates with a comma; `[PATCHv2 1/3]` glues the revision on.
    return [t for t in re.split(r"[\s,]+", group) if t]


def parse_subject(subject: str) -> SubjectInfo:
    """Parse every bracket group at the start of a subject, in any order of its tokens."""
    rest, is_reply = strip_reply(" ".join(subject.split()))
    prefixes: list[str] = []
    revision, index, total = 1, None, None
    while match := _BRACKET.match(rest):
        rest = rest[match.end() :]
        again, replied = strip_reply(rest, after_prefix=True)
        if replied:  # "[list] Re: [PATCH]"
            rest, is_reply = again, True
        for token in _tokens(match.group(1)):
            if rev := _REVISION.match(token):
                revision = int(rev.group(1))
                if token.lower().startswith("patch"):
                    prefixes.append("PATCH")
            elif counter := _COUNTER.match(token):
                index, total = int(counter.group(1)), int(counter.group(2))
            else:
                prefixes.append(token)
    upper = [p.upper() for p in prefixes]
    return SubjectInfo(
        title=rest.strip(),
        prefixes=tuple(prefixes),
        revision=revision,
        index=index,
        total=total,
        is_reply=is_reply,
        is_rfc="RFC" in upper,
        is_pull="PULL" in upper or "GIT PULL" in " ".join(upper),
    )


def mailinfo_subject(subject: str) -> str:
    """The commit title `git am` takes from a subject (git mailinfo's cleanup_subject, no -k/-b).

    Leading `Re:`, blanks, colons and `[...]` groups go; the rest is kept as written, with runs of
    whitespace made one space.
    """
    text = subject
    while text:
        head = text[0]
        if head in " \t:":
            text = text[1:]
        elif head in "rR" and text[1:3].lower() == "e:" and len(text) > 3:
            text = text[3:]
        elif head == "[" and "]" in text:
            text = text[text.index("]") + 1 :]
        else:
            break
    return " ".join(text.split())
