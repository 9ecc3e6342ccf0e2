"""Mail as bytes to mail as text: split mbox-like input the way `git mailsplit` does, then decode.

Splitting follows git: a message starts at a strict "From " line (one carrying a time and year), so
a body line such as "From here on..." in `git format-patch` output never splits a message. Only a
file that says it is mboxrd (public-inbox's "From mboxrd@z" envelope) gets `>From ` unescaped.
"""

from __future__ import annotations

import codecs
import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from patchtool.errors import InputError
from patchtool.jsonable import record
from patchtool.models import Address, RawMessage
from patchtool.parse.addresses import list_rewrite, parse_people

if TYPE_CHECKING:
    from email.message import Message

# git mailsplit's is_from_line(): "From " ... "hh:mm:ss yyyy" somewhere after it.
_FROM_LINE = re.compile(rb"^From \S.*\d\d?:\d\d(:\d\d)?\s+(\S+\s+)?\d{4}\s*(\S+)?\s*$")
_ENCODED = ("base64", "quoted-printable", "x-uuencode", "uuencode", "x-uue")
_MBOXRD_ESCAPED = re.compile(rb"^>(>*From )", re.MULTILINE)
_HEADER_LINE = re.compile(rb"^[!-9;-~]+:[ \t]?")
_MSGID = re.compile(r"<([^<>\s]+)>")
# A header line as the email package's parser accepts one: a printable-ASCII name, then a colon.
_HEADER_NAME = re.compile(rb"[!-9;-~]+:")
_PLAIN_CTE = ("", "7bit", "8bit", "binary")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_PLAIN_DATE = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(\d{1,2}) (" + "|".join(_MONTHS) + r") (\d{4}) "
    r"(\d\d):(\d\d):(\d\d) (\+|-(?!0000))(\d\d)(\d\d)"
)
_CHARSET = re.compile(r"""charset\s*=\s*["']?([^"';\s]+)""", re.IGNORECASE)


@record
class Mail:
    """One message: the headers patchtool reads and the body as sent (transfer encoding undone).

    `raw_body` is what git gets; `body` is text for reading (decoded by the declared charset, else
    UTF-8, else Latin-1 as the declared fallback). Both are computed on demand from the message's
    bytes, so a large mbox is held once, not once per view.
    """

    msgid: str
    in_reply_to: str | None
    references: tuple[str, ...]
    subject: str
    sender: Address
    date: dt.datetime | None
    source: bytes  # the whole message as split from the mbox (shared, never copied)
    origin: str
    headers: tuple[tuple[str, str], ...] = ()
    charset: str | None = None
    body_at: int = -1  # where the body starts in `source` when it needs no decoding
    decoded: bytes = b""  # the body with its transfer encoding undone, when it had one
    # where `sender` was read: "From", or the header holding the person when the list rewrote
    # From: to its own address ("Reply-To", "X-Original-From"); "" when nothing in the mail does
    sender_header: str = "From"

    @property
    def raw_body(self) -> bytes:
        return self.source[self.body_at :] if self.body_at >= 0 else self.decoded

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


def _message(lines: list[bytes], mboxrd: bool) -> bytes | None:
    message = b"".join(lines).strip(b"\n")
    if mboxrd:
        message = _MBOXRD_ESCAPED.sub(rb"\1", message)
    return message + b"\n" if message.strip() else None


def iter_mbox(lines: Iterable[bytes]) -> Iterator[bytes]:
    """Messages of an mbox (mboxo or mboxrd) or of a single bare message, read line by line.

    CRLF line ends become LF (as `git mailsplit` does without --keep-cr); whitespace before the
    first message is skipped as git does. Input that is neither an mbox nor starts with a header
    line yields nothing (the caller names the file). Streaming: only the messages are kept, never
    the whole input beside them.
    """
    stream = iter(lines)
    first = next((line.lstrip() for line in stream if line.strip()), b"")
    first_line = first.rstrip(b"\r\n")
    if not first_line or not (is_from_line(first_line) or _HEADER_LINE.match(first_line)):
        return
    mbox = is_from_line(first_line)
    mboxrd = first_line.startswith(b"From mboxrd@z ")
    current: list[bytes] = [] if mbox else [first.replace(b"\r\n", b"\n")]
    for line in stream:
        if line.endswith(b"\r\n"):
            line = line[:-2] + b"\n"
        if mbox and line.startswith(b"From ") and is_from_line(line):
            if (message := _message(current, mboxrd)) is not None:
                yield message
            current = []
            continue
        current.append(line)
    if (message := _message(current, mboxrd)) is not None:
        yield message


def split_mbox(data: bytes) -> list[bytes]:
    """Split mbox bytes into message bytes (see iter_mbox)."""
    return list(iter_mbox(io.BytesIO(data)))


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


def _plain_headers(data: bytes) -> tuple[dict[str, str], int] | None:
    """The headers and body offset of a plain message, read without the email package.

    "Plain": LF line ends, every line before the first blank one a header or its continuation,
    a single part that is not transfer-encoded: what git send-email writes, nearly every patch.
    The values are those `_raw_headers` gives (tests hold the two readers side by side); anything
    else returns None and goes to the email package (importing it costs ~14 ms a run).
    """
    end = data.find(b"\n\n")
    if end < 0 or b"\r" in data[:end]:
        return None
    found: dict[str, str] = {}
    name, parts = b"", [b""]
    for line in data[:end].split(b"\n"):
        if line[:1] in (b" ", b"\t") and name:
            parts.append(line)
            continue
        match = _HEADER_NAME.match(line)
        if match is None:
            return None  # a continuation first, or a line the parser would not take as a header
        _keep_first(found, name, parts)
        name, parts = line[: match.end() - 1], [line[match.end() :]]
    _keep_first(found, name, parts)
    kind = found.get("content-type", "").split(";", 1)[0].strip().lower()
    if (
        kind.startswith(("multipart", "message"))
        or found.get("content-transfer-encoding", "").lower() not in _PLAIN_CTE
    ):
        return None
    return found, end + 2


def _keep_first(found: dict[str, str], name: bytes, parts: list[bytes]) -> None:
    if name:
        found.setdefault(
            name.decode("ascii").lower(), " ".join(b"\n".join(parts).decode("utf-8", "replace").split())
        )


def _decoded(raw: dict[str, str], name: str) -> str:
    """A header as text: the raw value when plain ASCII, else decoded by the default email policy."""
    value = raw.get(name.lower(), "")
    if value.isascii() and "=?" not in value:
        return value
    import email.policy  # only for encoded or non-ASCII headers

    try:
        parsed = email.policy.default.header_fetch_parse(name, value)
    except (ValueError, IndexError, TypeError, AttributeError):
        return value  # broken encodings degrade to the raw value instead of failing
    return " ".join(str(parsed).split())


def parse_date(value: str) -> dt.datetime | None:
    """A Date: value as `email.utils.parsedate_to_datetime` reads it; None when it does not parse."""
    plain = _PLAIN_DATE.fullmatch(value)
    if plain:  # what git send-email writes; other shapes (and "-0000", no zone) by email's reader
        day, month, year, hour, minute, second, sign, zone_h, zone_m = plain.groups()
        offset = (int(zone_h) * 3600 + int(zone_m) * 60) * (-1 if sign == "-" else 1)
        fields = [int(year), _MONTHS.index(month) + 1, int(day), int(hour), int(minute), int(second)]
        return _datetime(fields, offset)
    # The reader parsedate_to_datetime itself uses, without email.utils' imports (socket...).
    from email._parseaddr import _parsedate_tz  # type: ignore[import-not-found,unused-ignore]

    try:
        parsed: list[int | None] | None = _parsedate_tz(value) if value else None
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    return _datetime([int(x or 0) for x in parsed[:6]], parsed[9])


def _datetime(fields: list[int], offset: int | None) -> dt.datetime | None:
    try:
        zone = None if offset is None else dt.timezone(dt.timedelta(seconds=offset))
        year, month, day, hour, minute, second = fields
        return dt.datetime(year, month, day, hour, minute, second, tzinfo=zone)
    except (TypeError, ValueError, IndexError, OverflowError):
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


def _body_offset(data: bytes, msg: Message) -> int:
    """Where an 8-bit/7-bit single-part body starts in `data`, or -1 when it must be decoded."""
    if msg.is_multipart() or str(msg.get("Content-Transfer-Encoding", "")).strip().lower() in _ENCODED:
        return -1
    sep = data.find(b"\n\n")
    payload = msg.get_payload()
    # The parser keeps the body verbatim (non-ASCII bytes as one surrogate each), so equal lengths
    # mean the body is exactly the bytes after the blank line.
    if sep < 0 or not isinstance(payload, str) or len(payload) != len(data) - sep - 2:
        return -1
    return sep + 2


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


def _with_email(raw: RawMessage) -> tuple[dict[str, str], Message]:
    import email
    import email.policy

    # compat32 parses fast (the default policy re-parses Content-Type each time the parser asks);
    # headers that need decoding and multipart bodies still go through the default policy.
    msg = email.message_from_bytes(raw.data, policy=email.policy.compat32)
    if msg.is_multipart():
        msg = email.message_from_bytes(raw.data, policy=email.policy.default)
    return _raw_headers(msg), msg


def _read_body(
    raw: RawMessage, headers: dict[str, str], msg: Message | None, plain_at: int, msgid: str
) -> tuple[int, bytes, str | None]:
    """Where the body starts in the source (or its decoded bytes), and its charset."""
    ctype = headers.get("content-type", "")
    multipart = msg is not None and msg.is_multipart()
    if ctype and not multipart and not ctype.split(";", 1)[0].strip().lower().startswith("text/"):
        return -1, b"", None
    body_at = plain_at if msg is None else _body_offset(raw.data, msg)
    if body_at >= 0:
        return body_at, b"", _charset(ctype, raw.origin, msgid)
    assert msg is not None  # a plain message always has its body in place
    decoded, charset = _body(msg, ctype, raw.origin, msgid)
    return -1, decoded, charset


def parse_mail(raw: RawMessage, *, plain: bool = True) -> Mail:
    """Decode one message (QP, base64, charsets); plain mail without the email package.

    `plain=False` reads every message with the email package: the reference the plain reader is
    checked against (tests/parse/test_mail_plain.py, bench/mail_reader.py).
    """
    found = _plain_headers(raw.data) if plain else None
    msg: Message | None = None
    if found is None:
        raw_headers, msg = _with_email(raw)
        plain_at = -1
    else:
        raw_headers, plain_at = found
    ids = msgids_in(raw_headers.get("message-id"))
    if not ids:  # a message without a Message-Id still needs a stable key for threading
        try:  # the interpreter's own sha1: hashlib would load OpenSSL first (~3 ms)
            from _sha1 import sha1  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            from hashlib import sha1
        ids = [f"no-msgid-{sha1(raw.data).hexdigest()[:16]}@patchtool.invalid"]
    msgid = ids[0]
    if ".." in msgid:
        raise InputError(
            f"{origin_name(raw.origin)}: message <{msgid}> has an invalid message-id (contains '..')"
        )
    references = tuple(msgids_in(raw_headers.get("references")))
    parents = msgids_in(raw_headers.get("in-reply-to"))
    body_at, decoded, charset = _read_body(raw, raw_headers, msg, plain_at, msgid)
    sender, sender_header = list_rewrite(raw_headers)
    return Mail(
        msgid=msgid,
        in_reply_to=parents[-1] if parents else (references[-1] if references else None),
        references=references,
        subject=_decoded(raw_headers, "Subject"),
        sender=sender,
        sender_header=sender_header,
        date=parse_date(raw_headers.get("date", "")),
        source=raw.data,
        origin=raw.origin,
        charset=charset,
        body_at=body_at,
        decoded=decoded,
        headers=tuple((k, raw_headers[k.lower()]) for k in ("From", "To", "Cc") if k.lower() in raw_headers),
    )


def looks_like_mail(raw: RawMessage) -> bool:
    """True when the bytes start with at least one header line (used to reject non-mail early)."""
    return _HEADER_LINE.match(raw.data.lstrip(b"\n")) is not None
