"""What one remote source answered for a thread, and the helpers every source shares."""

from __future__ import annotations

import json
from dataclasses import field
from typing import Any
from urllib.parse import quote

from patchtool.errors import FetchError, InputError
from patchtool.fetch.http import Answer
from patchtool.jsonable import record
from patchtool.models import RawMessage
from patchtool.parse.mail import parse_mail, split_mbox
from patchtool.parse.subjects import parse_subject

_MSGID_FORBIDDEN = set(' \t\r\n<>\x00"\\')


@record
class Fetched:
    """The messages a source supplied, and how much of the series it knew."""

    source: str  # "patchew" | "lore" | "patchwork"
    location: str  # the URL of the main answer (no credentials)
    messages: tuple[RawMessage, ...]
    found: int  # patches of the newest revision present
    total: int  # patches that revision announces
    extras: dict[str, str] = field(default_factory=dict)
    msgid: str | None = None  # the series' (or patch's) message-id, when the source told us

    @property
    def complete(self) -> bool:
        return self.found >= self.total


def check_msgid(msgid: str, what: str) -> str:
    """A message-id from the user or a URL: strip <>, refuse what cannot be one."""
    msgid = msgid.strip()
    if msgid.startswith("<") and msgid.endswith(">"):
        msgid = msgid[1:-1]
    shown = what if len(what) <= 80 else f"{what[:60]}... ({len(what)} characters)"
    if len(msgid) > 998:  # RFC 5322's line limit: no real message-id is longer
        raise InputError(f"{shown}: not a message-id (longer than 998 characters)")
    bad = not msgid or "@" not in msgid or msgid.startswith("-")
    if bad or any(c in _MSGID_FORBIDDEN or ord(c) < 32 for c in msgid):
        raise InputError(f"{shown}: not a message-id (expected something like 1234.5-1-me@example.org)")
    return msgid


def quote_msgid(msgid: str) -> str:
    """A message-id as one URL path segment: `/` becomes %2F, so it can never climb the path."""
    return quote(msgid, safe="@+=$!,;:~")


def json_of(answer: Answer) -> Any:
    try:
        return json.loads(answer.body)
    except ValueError as e:
        raise FetchError(answer.url, "answer is not JSON") from e


def mbox_messages(data: bytes, origin: str) -> tuple[RawMessage, ...]:
    return tuple(RawMessage(data=m, origin=f"{origin}#{i}") for i, m in enumerate(split_mbox(data), 1))


def msgid_of(raw: RawMessage) -> str | None:
    try:
        return parse_mail(raw).msgid
    except Exception:  # a message we cannot parse is the series stage's to report
        return None


def patch_count(messages: tuple[RawMessage, ...]) -> tuple[int, int]:
    """(patches present, patches announced) for the newest revision found in the messages."""
    seen: dict[int, set[int]] = {}
    totals: dict[int, int] = {}
    for raw in messages:
        try:
            info = parse_subject(parse_mail(raw).subject)
        except Exception:
            continue
        if info.is_reply or info.index == 0:
            continue
        seen.setdefault(info.revision, set()).add(info.index or 1)
        totals[info.revision] = max(totals.get(info.revision, 1), info.total or 1)
    if not seen:
        return 0, 0
    newest = max(seen)
    total = totals[newest]
    return len({i for i in seen[newest] if 1 <= i <= total}), total
