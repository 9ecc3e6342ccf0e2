"""Write the chosen revision as an mbox that `git am` applies, with collected review trailers."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from patchtool.errors import InputError
from patchtool.models import Address, Patch, Series
from patchtool.parse.diffs import diff_bytes
from patchtool.parse.mail import is_from_line
from patchtool.parse.subjects import mailinfo_subject
from patchtool.parse.trailers import append_trailers

_UNSAFE = re.compile(r"[^a-z0-9]+")
# RFC 5322 specials: a display name holding one is quoted, its quotes and backslashes escaped.
_SPECIALS = re.compile(r'[][\\()<>@,:;".]')
_QUOTED = re.compile(r'([\\"])')
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _encode(value: str) -> str:
    if value.isascii():
        return value
    from email.header import Header  # non-ASCII only: the email package costs ~14 ms to import

    return Header(value, "utf-8").encode()


def _address(addr: Address) -> str:
    """The address as `email.utils.formataddr` writes it (tests hold the two side by side)."""
    if addr.name.isascii() and addr.email.isascii():
        if not addr.name:
            return addr.email
        quote = '"' if _SPECIALS.search(addr.name) else ""
        name = _QUOTED.sub(r"\\\1", addr.name)
        return f"{quote}{name}{quote} <{addr.email}>"
    from email.utils import formataddr

    try:
        return formataddr((addr.name, addr.email), charset="utf-8")
    except UnicodeEncodeError:  # a non-ASCII address: keep it whole, RFC 2047-encoded
        return _encode(str(addr))


def mail_date(when: dt.datetime) -> str:
    """An RFC 5322 date as `email.utils.format_datetime` writes it, in English whatever the locale."""
    zone = when.strftime("%z") if when.tzinfo is not None else "-0000"
    day, month = _DAYS[when.weekday()], _MONTHS[when.month - 1]
    return f"{day}, {when.day:02d} {month} {when.year:04d} {when:%H:%M:%S} {zone}"


def _escape_from_lines(text: str) -> str:
    # A body line git mailsplit would take for an envelope must not split the message.
    return "\n".join(">" + ln if is_from_line(ln.encode()) else ln for ln in text.split("\n"))


def _body_lines(patch: Patch) -> str:
    """In-body headers git mailinfo reads (author, title), the message and the notes."""
    in_body = [f"From: {_address(patch.author)}"] if patch.sender else []
    if patch.title != mailinfo_subject(patch.subject):
        in_body.append(f"Subject: {patch.title}")  # the title came from an in-body Subject:
    body = "\n".join(in_body) + "\n\n" if in_body else ""
    body += append_trailers(patch.message, patch.review_trailers).rstrip("\n") + "\n---\n"
    if patch.notes:
        body += patch.notes + "\n\n"
    return _escape_from_lines(body)


def patch_mail(patch: Patch) -> bytes:
    """One patch as a mail: the sender's headers, in-body From:/Subject: where the mail had them.

    The diff goes out as the bytes received (parse.diffs.diff_bytes);
    a body holding a CR is sent base64-encoded, since git mailsplit drops CRs before LFs.
    """
    sender = patch.sender or patch.author
    body = _body_lines(patch).encode() + diff_bytes(patch)
    encoding = "base64" if b"\r" in body else "8bit"
    headers = [
        "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001",
        f"From: {_address(sender)}",
        *([f"Date: {mail_date(patch.date)}"] if patch.date else []),
        f"Subject: {_encode(patch.subject)}",
        f"Message-Id: <{patch.msgid}>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        f"Content-Transfer-Encoding: {encoding}",
    ]
    if encoding == "base64":
        import base64  # rare: only a body holding a CR

        body = base64.encodebytes(body)
    return ("\n".join(headers) + "\n\n").encode() + body + b"\n"


def mbox_name(series: Series) -> str:
    """A file name built only from the revision number and the title (never from a message-id)."""
    slug = _UNSAFE.sub("-", series.title.lower()).strip("-")[:60].strip("-") or "series"
    return f"v{series.chosen}-{slug}.mbox"


def write_am_mbox(series: Series, dest_dir: Path) -> Path:
    """Write the chosen revision's patches, in order, to DEST_DIR/<name>.mbox; return the path."""
    revision = series.revision
    if not revision.patches:
        raise InputError(f"v{revision.number} has no patches to write")
    dest_dir.mkdir(parents=True, exist_ok=True)
    path = dest_dir / mbox_name(series)
    if path.resolve().parent != dest_dir.resolve():
        raise InputError(f"{path}: refusing to write outside {dest_dir}")
    path.write_bytes(b"".join(patch_mail(p) for p in revision.patches))
    return path
