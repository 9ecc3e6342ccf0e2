"""The plain-mail reader (no email package) gives exactly what the email package gives.

Every message of every fixture mailbox, plus crafted shapes at the edge of "plain", is read both
ways: `parse_mail(raw)` and `parse_mail(raw, plain=False)`, and the results must be equal field for
field. The date and address writers of the am mbox are held beside email.utils the same way.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from dataclasses import replace
from pathlib import Path

import pytest

from patchtool.apply.ammbox import _address, mail_date
from patchtool.errors import InputError
from patchtool.models import Address, RawMessage
from patchtool.parse.mail import _plain_headers, parse_date, parse_mail, split_mbox
from tests.conftest import ROOT

MAILBOXES = sorted(
    p for p in (ROOT / "fixtures").rglob("*") if p.is_file() and p.suffix in (".mbox", ".eml", ".patch")
)

HEAD = b"From: A U Thor <a@example.org>\nSubject: [PATCH] x\nMessage-Id: <m1@example.org>\n"
BODY = b"\nbody line\n---\n x | 1 +\n"
SHAPES = {
    "plain": HEAD + b"Date: Tue, 3 Mar 2026 10:00:00 +0100\n" + BODY,
    "folded subject": HEAD.replace(b"[PATCH] x\n", b"[PATCH] a very\n\tlong one\n") + BODY,
    "tab and spaces": b"Subject:\t  spaced   out \nFrom:b@example.org\nMessage-Id: <m2@x>\n" + BODY,
    "crlf": (HEAD + BODY).replace(b"\n", b"\r\n"),
    "lone cr in header": HEAD.replace(b"[PATCH] x", b"[PATCH] x\rX-Injected: yes") + BODY,
    "continuation first": b" leading: continuation\n" + HEAD + BODY,
    "no colon line": HEAD + b"this is not a header\n" + BODY,
    "empty name": HEAD + b": no name\n" + BODY,
    "envelope inside": HEAD + b"From someone Tue Mar  3 10:00:00 2026\n" + BODY,
    "no blank line": HEAD,
    "duplicate headers": HEAD + b"Subject: second\nMessage-Id: <m9@x>\n" + BODY,
    "utf8 header bytes": HEAD.replace(b"A U Thor", "Jörg Ünlüt".encode()) + BODY,
    "latin1 header bytes": HEAD.replace(b"A U Thor", "J\xf6rg".encode("latin-1")) + BODY,
    "encoded word": HEAD.replace(b"[PATCH] x", b"=?utf-8?q?=5BPATCH=5D_caf=C3=A9?=") + BODY,
    "8bit body": HEAD
    + b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n"
    + "\ncafé\n".encode(),
    "latin1 charset": HEAD + b"Content-Type: text/plain; charset=iso-8859-1\n" + b"\ncaf\xe9\n",
    "qp body": HEAD + b"Content-Transfer-Encoding: quoted-printable\n\ncaf=C3=A9 =\nsoft\n",
    "base64 body": HEAD + b"Content-Transfer-Encoding: base64\n\nYm9keQo=\n",
    "not text": HEAD + b"Content-Type: application/octet-stream\n" + BODY,
    "rfc822": HEAD + b"Content-Type: message/rfc822\n\nSubject: inner\n\ninner body\n",
    "multipart": HEAD
    + b'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\nhello\n'
    + b"--b\nContent-Type: text/x-patch\n\n--- a/x\n+++ b/x\n--b--\n",
    "multipart without boundary": HEAD + b"Content-Type: multipart/mixed\n" + BODY,
    "cte with case": HEAD + b"Content-Transfer-Encoding: 8BIT\n" + BODY,
    "no message id": b"From: a@example.org\nSubject: x\n" + BODY,
    "bad date": HEAD + b"Date: the day after tomorrow\n" + BODY,
    "header only name chars": HEAD + b"X-~weird!:  v\n" + BODY,
}


def _read(raw: RawMessage, plain: bool) -> object:
    """The mail as read, with the body as bytes wherever it sits (the email package hands back
    some 8-bit bodies decoded where the plain reader points into the source: same bytes)."""
    try:
        mail = parse_mail(raw, plain=plain)
    except InputError as e:
        return ("refused", e.message)
    return (replace(mail, body_at=-1, decoded=mail.raw_body), mail.body, mail.exact_body)


def _same(raw: RawMessage) -> None:
    assert _read(raw, True) == _read(raw, False)


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_crafted_shapes_read_alike(name: str) -> None:
    _same(RawMessage(data=SHAPES[name], origin=f"file:{name}"))


def test_the_plain_reader_takes_plain_mail_and_leaves_the_rest() -> None:
    """The equality above would hold trivially if every message went to the email package."""
    taken = {name for name, data in SHAPES.items() if _plain_headers(data) is not None}
    assert {"plain", "folded subject", "utf8 header bytes", "8bit body", "no message id"} <= taken
    refused = {"crlf", "lone cr in header", "continuation first", "no colon line", "multipart", "rfc822"}
    assert not taken & (refused | {"qp body", "base64 body", "envelope inside", "no blank line"})


@pytest.mark.parametrize("path", MAILBOXES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_fixture_message_reads_alike(path: Path) -> None:
    for i, data in enumerate(split_mbox(path.read_bytes())):
        _same(RawMessage(data=data, origin=f"file:{path.name}#{i}"))


@pytest.mark.parametrize(
    "value",
    [
        "Tue, 3 Mar 2026 10:00:00 +0100",
        "3 Mar 2026 10:00 -0730",
        "Tue, 03 Mar 2026 10:00:00 GMT",
        "Tue, 3 Mar 2026 10:00:00 -0000",
        "Tue, 3 Mar 26 10:00:00 +0000",
        "Tue, 31 Feb 2026 10:00:00 +0000",
        "Tue, 3 Mar 2026 25:00:00 +0000",
        "nonsense",
        "",
    ],
)
def test_dates_read_as_email_utils_reads_them(value: str) -> None:
    try:
        want: dt.datetime | None = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        want = None
    assert parse_date(value) == want
    if want is not None:
        assert parse_date(value).tzinfo == want.tzinfo  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "addr",
    [
        Address("A U Thor", "a@example.org"),
        Address("", "a@example.org"),
        Address("Thor, A. U.", "a@example.org"),
        Address('The "Hammer" (Thor)', "a@example.org"),
        Address("back\\slash", "a@example.org"),
        Address("[bot]", "bot@example.org"),
        Address("Jörg Ünlüt", "j@example.org"),
    ],
)
def test_addresses_written_as_formataddr_writes_them(addr: Address) -> None:
    assert _address(addr) == email.utils.formataddr((addr.name, addr.email), charset="utf-8")


@pytest.mark.parametrize("offset", [None, 0, 3600, -5 * 3600 - 1800, 13 * 3600 + 45 * 60])
def test_dates_written_as_format_datetime_writes_them(offset: int | None) -> None:
    zone = None if offset is None else dt.timezone(dt.timedelta(seconds=offset))
    for day in range(0, 400, 37):
        when = dt.datetime(2026, 1, 1, 7, 5, 9, tzinfo=zone) + dt.timedelta(days=day, hours=day)
        assert mail_date(when) == email.utils.format_datetime(when)


def test_every_shape_of_a_plain_date_reads_as_email_utils_reads_it() -> None:
    """The fast reader of git send-email's Date: against parsedate_to_datetime, on 3,000 dates."""
    import random

    rng = random.Random(7)
    days = ["", "Mon, ", "Tue, ", "Sun, "]
    months = ["Jan", "Feb", "Mar", "Jun", "Sep", "Dec", "jan", "Foo"]
    zones = ["+0000", "-0000", "+0100", "-0730", "+1345", "+0199", "-1200", "+2400"]
    for _ in range(3000):
        value = (
            f"{rng.choice(days)}{rng.randint(0, 32)} {rng.choice(months)} "
            f"{rng.choice([1999, 2026, 99, 20260])} "
            f"{rng.randint(0, 25):02d}:{rng.randint(0, 60):02d}:{rng.randint(0, 61):02d} {rng.choice(zones)}"
        )
        try:
            want: dt.datetime | None = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            want = None
        got = parse_date(value)
        assert got == want and (got is None or got.tzinfo == want.tzinfo), value  # type: ignore[union-attr]
