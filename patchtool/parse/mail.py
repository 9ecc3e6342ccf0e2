"""Mail as bytes to mail as text: split mbox-like input the way `git mailsplit` does, then decode.

Splitting follows git: a message starts at a strict "From " line (one carrying a time and year), so
a body line such as "From here on..." in `git format-patch` output never splits a message. Only a
file that says it is mboxrd (public-inbox's "From mboxrd@z" envelope) gets `>From ` unescaped.
"""

from __future__ import annotations

import codecs
import datetime as dt
import email
import email.policy
import hashlib
import re
from dataclasses import dataclass
from email.message import Message
from email.utils import parsedate_to_datetime

from patchtool.errors import InputError
from patchtool.models import Address, RawMessage
from patchtool.parse.addresses import mailinfo_author, parse_people

# git mailsplit's is_from_line(): "From " ... "hh:mm:ss yyyy" somewhere after it.
_FROM_LINE = re.compile(rb"^From \S.*\d\d?:\d\d(:\d\d)?\s+(\S+\s+)?\d{4}\s*(\S+)?\s*$")
_FROM_CANDIDATE = re.compile(rb"^From [^\n]*", re.MULTILINE)
_MBOXRD_ESCAPED = re.compile(rb"^>(>*From )", re.MULTILINE)
_HEADER_LINE = re.compile(rb"^[!-9;-~]+:[ \t]?")
_MSGID = re.compile(r"<([^<>\s]+)>")
_REPLY_POLICY = email.policy.default
_CHARSET = re.compile(r"""charset\s*=\s*["']?([^"';\s]+)""", re.IGNORECASE)


@dataclass(frozen=True)
class Mail:
    """One message: the headers patchtool reads and the body as sent (transfer encoding undone).

    `raw_body` is what git gets; `body` is text for reading (decoded by the declared charset, else
    UTF-8, else Latin-1 as the declared fallback), computed on demand so a large mbox is held once.
    """

    msgid: str
    in_reply_to: str | None
    references: tuple[str, ...]
    subject: str
    sender: Address
    date: dt.datetime | None
    raw_body: bytes
    origin: str
    headers: tuple[tuple[str, str], ...] = ()
    charset: str | None = None

    @property
    def body(self) -> str:
        return body_text(self.raw_body, self.charset).replace("\r\n", "\n")

    @property
    def exact_body(self) -> str:
        """The body with every byte kept (undecodable bytes as surrogates), for the diff."""
        return self.raw_body.decode("utf-8", "surrogateescape")


def body_text(raw: bytes, charset: str | None) -> str:
    """Body bytes as text: the declared charset, else UTF-8 when valid, else Latin-1."""
    if charset and charset.lower() not in ("us-ascii", "ascii", "utf-8", "utf8"):
        return raw.decode(charset, "replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def origin_name(origin: str) -> str:
    """The file (or "stdin") an origin such as "file:x.mbox#3" names, for messages to the user."""
    name = origin.split("#", 1)[0]
    return name[5:] if name.startswith("file:") else name


def is_from_line(line: bytes) -> bool:
    """True for an mbox envelope line as `git mailsplit` recognises it."""
    return line.startswith(b"From ") and _FROM_LINE.match(line.rstrip(b"\r\n")) is not None


def _envelope_starts(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of every envelope line, found without copying the input line by line."""
    return [(m.start(), m.end()) for m in _FROM_CANDIDATE.finditer(data) if is_from_line(m.group())]


def split_mbox(data: bytes) -> list[bytes]:
    """Split an mbox (mboxo or mboxrd) or a single bare message into message bytes.

    CRLF line ends become LF (as `git mailsplit` does without --keep-cr); whitespace before the
    first message is skipped as git does. An input that is neither an mbox nor starts with a header
    line yields [] (the caller names the file). Each message is one slice of the input, so a large
    mbox is held about twice (input and messages), never line by line.
    """
    if b"\r\n" in data:
        data = data.replace(b"\r\n", b"\n")
    offset = len(data) - len(data.lstrip())
    newline = data.find(b"\n", offset)
    first_line = data[offset : newline if newline >= 0 else len(data)]
    if not first_line:
        return []
    if not is_from_line(first_line):
        return [data[offset:].strip(b"\n") + b"\n"] if _HEADER_LINE.match(first_line) else []
    mboxrd = first_line.startswith(b"From mboxrd@z ")
    starts = _envelope_starts(data)
    messages: list[bytes] = []
    for i, (_, body_start) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(data)
        message = data[body_start + 1 : end].strip(b"\n")
        if mboxrd:
            message = _MBOXRD_ESCAPED.sub(rb"\1", message)
        if message.strip():
            messages.append(message + b"\n")
    return messages


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
    people = parse_people(value)
    if not people:
        return Address(name=value.strip(), email="")
    return people[0]


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


def _charset(raw_type: str, origin: str, msgid: str) -> str | None:
    """The declared charset (None when the mail declares none), checked to be one Python knows."""
    match = _CHARSET.search(raw_type)
    if not match:
        return None
    try:
        codecs.lookup(match.group(1))
    except LookupError as e:
        raise InputError(
            f"{origin_name(origin)}: message <{msgid}> has an unknown charset {match.group(1)!r}"
        ) from e
    return match.group(1)


def _payload(part: Message) -> bytes:
    # get_payload(decode=True) undoes base64/quoted-printable and gives 8-bit bodies back as the
    # exact bytes sent; nothing is decoded by a charset here.
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _body(msg: Message, raw_type: str, origin: str, msgid: str) -> tuple[bytes, str | None]:
    """The text/plain body as bytes and its charset; patches sent as text attachments follow it."""
    if not msg.is_multipart():
        ctype = raw_type.split(";", 1)[0].strip().lower()
        if ctype and not ctype.startswith("text/"):
            return b"", None
        return _payload(msg), _charset(raw_type, origin, msgid)
    texts: list[bytes] = []
    charsets: list[str] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        if part.get_content_type() in ("text/plain", "text/x-patch", "text/x-diff"):
            texts.append(_payload(part))
            found = _charset(str(part.get("Content-Type", "")), origin, msgid)
            charsets += [found] if found else []
    # Parts in different charsets cannot share one decoding; UTF-8 (or Latin-1) is then the reading.
    return b"\n".join(texts), charsets[0] if len(set(charsets)) == 1 else None


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
    raw_body, charset = _body(msg, raw_headers.get("content-type", ""), raw.origin, msgid)
    return Mail(
        msgid=msgid,
        in_reply_to=in_reply_to,
        references=references,
        subject=subject,
        sender=mailinfo_author(raw_headers.get("from", "")),
        date=_date(raw_headers.get("date", "")),
        raw_body=raw_body,
        origin=raw.origin,
        charset=charset,
        headers=tuple((k, raw_headers[k.lower()]) for k in ("From", "To", "Cc") if k.lower() in raw_headers),
    )


def looks_like_mail(raw: RawMessage) -> bool:
    """True when the bytes start with at least one header line (used to reject non-mail early)."""
    return _HEADER_LINE.match(raw.data.lstrip(b"\n")) is not None
