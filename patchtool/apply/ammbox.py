"""Write the chosen revision as an mbox that `git am` applies, with collected review trailers."""

from __future__ import annotations

import re
from email.header import Header
from email.utils import format_datetime, formataddr
from pathlib import Path

from patchtool.errors import InputError
from patchtool.models import Address, Patch, Series
from patchtool.parse.mail import is_from_line
from patchtool.parse.trailers import append_trailers

_UNSAFE = re.compile(r"[^a-z0-9]+")


def _encode(value: str) -> str:
    return value if value.isascii() else Header(value, "utf-8").encode()


def _address(addr: Address) -> str:
    try:
        return formataddr((addr.name, addr.email), charset="utf-8")
    except UnicodeEncodeError:  # a non-ASCII address: keep it whole, RFC 2047-encoded
        return _encode(str(addr))


def _escape_from_lines(text: str) -> str:
    # A body line git mailsplit would take for an envelope must not split the message.
    return "\n".join(">" + ln if is_from_line(ln.encode()) else ln for ln in text.split("\n"))


def patch_mail(patch: Patch) -> str:
    """One patch as a mail: the sender's headers, the in-body From: when the author differs."""
    sender = patch.sender or patch.author
    headers = [
        "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001",
        f"From: {_address(sender)}",
        *([f"Date: {format_datetime(patch.date)}"] if patch.date else []),
        f"Subject: {_encode(patch.subject)}",
        f"Message-Id: <{patch.msgid}>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
    ]
    body = f"From: {patch.author}\n\n" if patch.sender else ""
    body += append_trailers(patch.message, patch.review_trailers).rstrip("\n") + "\n---\n"
    if patch.notes:
        body += patch.notes + "\n\n"
    body += patch.diff.rstrip("\n") + "\n"
    return "\n".join(headers) + "\n\n" + _escape_from_lines(body) + "\n"


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
    path.write_text("".join(patch_mail(p) for p in revision.patches), encoding="utf-8")
    return path
