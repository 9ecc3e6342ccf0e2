"""Turn `git format-patch` output into list mail: threading headers, recipients, replies, mbox files."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

from patchtool.demo.minitree._importer import Person

_FROM_LINE = re.compile(rb"^From [0-9a-f]{40} Mon Sep 17 00:00:00 2001\n", re.MULTILINE)
MBOX_FROM = "From mboxrd@z Thu Jan  1 00:00:00 1970\n"


def mail_date(ts: int, person: Person) -> str:
    sign = -1 if person.tz.startswith("-") else 1
    offset = timedelta(hours=int(person.tz[1:3]), minutes=int(person.tz[3:5])) * sign
    return format_datetime(datetime.fromtimestamp(ts, timezone(offset)))


def msgid_for(ts: int, pid: int, n: int, person: Person) -> str:
    stamp = datetime.fromtimestamp(ts, UTC).strftime("%Y%m%d%H%M%S")
    return f"<{stamp}.{pid}-{n}-{person.email}>"


@dataclass
class Message:
    """One mail: the mbox separator line, ordered header lines (folded as given) and the body."""

    separator: str
    headers: list[tuple[str, str]]
    body: str

    def get(self, name: str) -> str:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        raise KeyError(name)

    def set(self, name: str, value: str) -> None:
        for i, (key, _) in enumerate(self.headers):
            if key.lower() == name.lower():
                self.headers[i] = (key, value)
                return
        self.headers.append((name, value))

    @property
    def subject(self) -> str:
        return " ".join(self.get("Subject").split())

    def render(self) -> str:
        head = "".join(f"{key}: {value}\n" for key, value in self.headers)
        body = self.body if self.body.endswith("\n") else self.body + "\n"
        return self.separator + head + "\n" + body


def split_format_patch(raw: bytes) -> list[Message]:
    """Split `git format-patch --stdout` output into messages (as `git mailsplit` would)."""
    starts = [m.start() for m in _FROM_LINE.finditer(raw)]
    messages = []
    for begin, end in zip(starts, [*starts[1:], len(raw)], strict=True):
        text = raw[begin:end].decode("utf-8")
        separator, _, rest = text.partition("\n")
        head, _, body = rest.partition("\n\n")
        headers: list[tuple[str, str]] = []
        for line in head.split("\n"):
            if line[:1] in (" ", "\t") and headers:
                key, value = headers[-1]
                headers[-1] = (key, value + "\n" + line)
            else:
                key, _, value = line.partition(": ")
                headers.append((key, value))
        messages.append(Message(separator + "\n", headers, body))
    return messages


def address_list(people: list[Person] | list[str]) -> str:
    items = [p.ident if isinstance(p, Person) else p for p in people]
    return ",\n ".join(items)


def thread(msg: Message, msgid: str, parents: list[str]) -> None:
    """Give `msg` its Message-Id and place it under `parents` (root first, direct parent last)."""
    msg.set("Message-Id", msgid)
    if parents:
        msg.set("In-Reply-To", parents[-1])
        msg.set("References", " ".join(parents))


def add_notes(msg: Message, notes: str) -> None:
    """Put version notes right after the '---' line, where `git am` drops them."""
    lines = msg.body.split("\n")
    index = lines.index("---")
    lines[index + 1 : index + 1] = [*notes.rstrip("\n").split("\n"), ""]
    msg.body = "\n".join(lines)


def quote(body: str, limit: int | None = None) -> str:
    """Quote a message body the way mail clients do ('> ' per line)."""
    lines = body.rstrip("\n").split("\n")
    if limit is not None:
        lines = lines[:limit]
    return "\n".join(">" if not line else f"> {line}" for line in lines) + "\n"


def reply(
    parent: Message,
    parents: list[str],
    sender: Person,
    ts: int,
    msgid: str,
    text: str,
    quote_lines: int | None,
) -> Message:
    """A reply to `parent`: `text`, then the attribution line and the quoted message (as in seed 000)."""
    subject = parent.subject
    if not subject.lower().startswith("re:"):
        subject = "Re: " + subject
    attribution = f"On {parent.get('Date')}, {parent.get('From')} wrote:\n"
    body = text.rstrip("\n") + "\n\n" + attribution + quote(parent.body, quote_lines)
    recipients = [parent.get("From")]
    msg = Message(
        MBOX_FROM,
        [
            ("From", sender.ident),
            ("Date", mail_date(ts, sender)),
            ("Subject", subject),
            ("To", address_list(recipients)),
            ("Cc", parent.get("To")),
            ("MIME-Version", "1.0"),
            ("Content-Type", "text/plain; charset=UTF-8"),
        ],
        body,
    )
    thread(msg, msgid, parents)
    return msg
