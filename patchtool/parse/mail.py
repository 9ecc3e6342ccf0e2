"""Mail as bytes to mail as text: split mbox-like input the way `git mailsplit` does, then decode.

Splitting follows git: a message starts at a strict "From " line (one carrying a time and year), so
a body line such as "From here on..." in `git format-patch` output never splits a message. Only a
file that says it is mboxrd (public-inbox's "From mboxrd@z" envelope) gets `>From ` unescaped.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import re
from dataclasses import dataclass
from email.message import EmailMessage, Message
from email.utils import getaddresses, parsedate_to_datetime

from patchtool.errors import InputError
from patchtool.models import Address, RawMessage

# git mailsplit's is_from_line(): "From " ... "hh:mm:ss yyyy" somewhere after it.
_FROM_LINE = re.compile(rb"^From \S.*\d\d?:\d\d(:\d\d)?\s+(\S+\s+)?\d{4}\s*(\S+)?\s*$")
_MBOXRD_ESCAPED = re.compile(rb"^>(>*From )", re.MULTILINE)
_HEADER_LINE = re.compile(rb"^[!-9;-~]+:[ \t]?")
_MSGID = re.compile(r"<([^<>\s]+)>")
_REPLY_POLICY = email.policy.default
_CHARSET = re.compile(r"""charset\s*=\s*["']?([^"';\s]+)""", re.IGNORECASE)


@dataclass(frozen=True)
class Mail:
    """One decoded message: the headers patchtool reads and the text body."""

    msgid: str
    in_reply_to: str | None
    references: tuple[str, ...]
    subject: str
    sender: Address
    date: dt.datetime | None
    body: str
    origin: str
    headers: tuple[tuple[str, str], ...] = ()


def origin_name(origin: str) -> str:
    """The file (or "stdin") an origin such as "file:x.mbox#3" names, for messages to the user."""
    name = origin.split("#", 1)[0]
    return name[5:] if name.startswith("file:") else name


def is_from_line(line: bytes) -> bool:
    """True for an mbox envelope line as `git mailsplit` recognises it."""
    return line.startswith(b"From ") and _FROM_LINE.match(line.rstrip(b"\r\n")) is not None


def split_mbox(data: bytes) -> list[bytes]:
    """Split an mbox (mboxo or mboxrd) or a single bare message into message bytes.

    CRLF line ends become LF (as `git mailsplit` does without --keep-cr). An input that is neither
    an mbox nor starts with a header line yields [] (the caller names the file).
    """
    data = data.replace(b"\r\n", b"\n")
    stripped = data.lstrip(b"\n")
    if not stripped:
        return []
    first_line = stripped.split(b"\n", 1)[0]
    if not is_from_line(first_line):
        return [stripped] if _HEADER_LINE.match(first_line) else []
    mboxrd = first_line.startswith(b"From mboxrd@z ")
    messages: list[bytes] = []
    current: list[bytes] = []
    for line in stripped.split(b"\n"):
        if line.startswith(b"From ") and is_from_line(line):
            if current:
                messages.append(b"\n".join(current))
            current = []
            continue
        current.append(line)
    if current:
        messages.append(b"\n".join(current))
    if mboxrd:
        messages = [_MBOXRD_ESCAPED.sub(rb"\1", m) for m in messages]
    return [m.strip(b"\n") + b"\n" for m in messages if m.strip()]


def msgids_in(value: str | None) -> list[str]:
    """Every <message-id> in a header value; a bare id without brackets is accepted too."""
    if not value:
        return []
    found = _MSGID.findall(value)
    if found:
        return found
    bare = value.strip().split()
    return [bare[0]] if bare and "@" in bare[0] else []


def parse_address(value: str) -> Address:
    """A From:-style value to an Address; `"Doe, John" <j@x>` stays one person."""
    pairs = getaddresses([value])
    if not pairs or not pairs[0][1]:
        return Address(name=value.strip(), email="")
    name, addr = pairs[0]
    return Address(name=name.strip(), email=addr.strip())


def _raw_headers(msg: Message) -> dict[str, str]:
    """First value of every header, unfolded, without running the header registry (it is slow)."""
    found: dict[str, str] = {}
    for name, value in msg.raw_items():
        key = name.lower()
        if key not in found:
            text = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            found[key] = " ".join(text.split())
    return found


def _decoded(raw: dict[str, str], name: str) -> str:
    """A header as text: the raw value when plain ASCII, else decoded by the default email policy."""
    value = raw.get(name.lower(), "")
    if value.isascii() and "=?" not in value:
        return value
    try:
        parsed = _REPLY_POLICY.header_fetch_parse(name, value)
    except (ValueError, IndexError, TypeError, AttributeError):
        return value  # broken encodings degrade to the raw value instead of failing
    return " ".join(str(parsed).split())


def _date(value: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None


def _text_of(part: EmailMessage, origin: str, msgid: str) -> str:
    try:
        content = part.get_content()
    except LookupError as e:
        charset = part.get_content_charset() or "?"
        raise InputError(
            f"{origin_name(origin)}: message <{msgid}> has an unknown charset {charset!r}"
        ) from e
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    return str(content).replace("\r\n", "\n")


def _single_part_text(msg: Message, raw_type: str, origin: str, msgid: str) -> str:
    """The common case, decoded without re-parsing Content-Type for every question asked of it."""
    match = _CHARSET.search(raw_type)
    charset = match.group(1) if match else "us-ascii"
    payload = msg.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    try:
        text = payload.decode(charset, "replace")
    except LookupError as e:
        raise InputError(
            f"{origin_name(origin)}: message <{msgid}> has an unknown charset {charset!r}"
        ) from e
    return text.replace("\r\n", "\n")


def _body(msg: Message, raw_type: str, origin: str, msgid: str) -> str:
    """The text/plain body; patches sent as text attachments are appended after it."""
    if not msg.is_multipart():
        ctype = raw_type.split(";", 1)[0].strip().lower()
        if ctype and not ctype.startswith("text/"):
            return ""
        return _single_part_text(msg, raw_type, origin, msgid)
    texts: list[str] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        if ctype in ("text/plain", "text/x-patch", "text/x-diff"):
            assert isinstance(part, EmailMessage)  # multipart mail is parsed with the default policy
            texts.append(_text_of(part, origin, msgid))
    return "\n".join(texts)


def parse_mail(raw: RawMessage) -> Mail:
    """Decode one message (QP, base64, charsets) with the stdlib email package."""
    # compat32 parses fast (the default policy re-parses Content-Type each time the parser asks);
    # headers that need decoding and multipart bodies still go through the default policy.
    msg = email.message_from_bytes(raw.data, policy=email.policy.compat32)
    if msg.is_multipart():
        msg = email.message_from_bytes(raw.data, policy=_REPLY_POLICY)
    raw_headers = _raw_headers(msg)
    ids = msgids_in(raw_headers.get("message-id"))
    # A message without a Message-Id still needs a stable key for threading.
    msgid = ids[0] if ids else f"no-msgid-{hashlib.sha1(raw.data).hexdigest()[:16]}@patchtool.invalid"
    if ".." in msgid:
        raise InputError(
            f"{origin_name(raw.origin)}: message <{msgid}> has an invalid message-id (contains '..')"
        )
    references = tuple(msgids_in(raw_headers.get("references")))
    parents = msgids_in(raw_headers.get("in-reply-to"))
    in_reply_to = parents[-1] if parents else (references[-1] if references else None)
    subject = _decoded(raw_headers, "Subject")
    return Mail(
        msgid=msgid,
        in_reply_to=in_reply_to,
        references=references,
        subject=subject,
        sender=parse_address(_decoded(raw_headers, "From")),
        date=_date(raw_headers.get("date", "")),
        body=_body(msg, raw_headers.get("content-type", ""), raw.origin, msgid),
        origin=raw.origin,
        headers=tuple((k, raw_headers[k.lower()]) for k in ("From", "To", "Cc") if k.lower() in raw_headers),
    )


def looks_like_mail(raw: RawMessage) -> bool:
    """True when the bytes start with at least one header line (used to reject non-mail early)."""
    return _HEADER_LINE.match(raw.data.lstrip(b"\n")) is not None
