"""A list that rewrites From: to its own address (DMARC): the author is read where the list put the
person (Reply-To:, X-Original-From:), a Reply-To: alone never replaces an author, and a rewrite the
mail cannot undo is a warning. The mails are ours, in the header shapes Mailman, Google Groups and
the b4 relay write."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from patchtool.apply.ammbox import patch_mail
from patchtool.models import Address, RawMessage, RawThread, Series
from patchtool.parse.mail import split_mbox
from patchtool.parse.series import build_series
from tests.parse.test_mail_shapes import DIFF

LIST = "lamp-devel@lists.example.org"
POST = f"List-Post: <mailto:{LIST}>\n"
BODY = f"Raise the maximum.\n\nSigned-off-by: Ann Example <ann@example.org>\n---\n{DIFF}-- \n2.47.0\n"


def _series(headers: str, body: str = BODY) -> Series:
    mail = (
        "From mboxrd@z Thu Jan  1 00:00:00 1970\n"
        f"{headers}Subject: [PATCH] lamp: raise max\nMessage-Id: <p1@x>\n"
        f"Date: Tue, 3 Feb 2026 10:00:00 +0000\n\n{body}\n"
    )
    raw = mail.encode()
    return build_series(RawThread(tuple(RawMessage(m, f"t#{i}") for i, m in enumerate(split_mbox(raw)))))


def _codes(series: Series) -> list[tuple[str, str]]:
    return [(f.severity, f.code) for f in series.findings if "author" in f.code]


ANN = Address(name="Ann Example", email="ann@example.org")


@pytest.mark.parametrize(
    "headers",
    [
        # Mailman: the person in Reply-To:, the list's address in From: and List-Post:
        f"From: Ann Example via Lamp Devel <{LIST}>\nReply-To: Ann Example <ann@example.org>\n{POST}",
        # Mailman with no list name after "via", and header values after two spaces
        f"Reply-to:  Ann Example <ann@example.org>\nFrom:  Ann Example via <{LIST}>\n{POST}",
        # the same, the person's name encoded and the header spelled as Mailman 2 spells it
        f"From: Ann Example via Lamp Devel <{LIST}>\n"
        f"Reply-to: =?utf-8?q?Ann_Example?= <ann@example.org>\n{POST}",
        # Google Groups: a quoted name, the person in X-Original-From: (no List-Post: needed)
        "From: 'Ann Example' via lamp <lamp@groups.example.com>\n"
        "X-Original-From: Ann Example <ann@example.org>\nReply-To: Ann Example <ann@example.org>\n",
    ],
)
def test_the_author_is_the_person_the_list_rewrote_from(headers: str, tmp_path: Path) -> None:
    series = _series(headers)
    patch = series.revision.patches[0]
    assert patch.author == ANN
    assert _codes(series) == [("info", "author-from-list-rewrite")]
    # what `apply` hands to git: real git mailinfo reads the person as the author
    mail = tmp_path / "p.mbox"
    mail.write_bytes(patch_mail(patch))
    info = subprocess.run(
        ["git", "mailinfo", str(tmp_path / "msg"), str(tmp_path / "diff")],
        stdin=mail.open("rb"), capture_output=True, check=True,
    ).stdout.decode()  # fmt: skip
    assert "Author: Ann Example\nEmail: ann@example.org\n" in info


@pytest.mark.parametrize(
    "headers",
    [
        # "via" in a person's own name, from their own address: a Reply-To: does not replace them
        "From: Bo Via <bo@example.org>\nReply-To: Someone Else <else@example.org>\n",
        f"From: Bo via phone <bo@example.org>\nReply-To: Someone Else <else@example.org>\n{POST}",
        # a list's address that is not this list's List-Post:
        "From: Ann Example via Lamp Devel <other-list@lists.example.org>\n"
        f"Reply-To: Someone Else <else@example.org>\n{POST}",
    ],
)
def test_a_reply_to_alone_never_replaces_the_author(headers: str) -> None:
    series = _series(headers)
    assert series.revision.patches[0].author.email != "else@example.org"
    assert _codes(series) == []


def test_a_rewrite_the_mail_cannot_undo_is_a_warning_unless_an_in_body_from_names_the_author() -> None:
    mangled = f"From: Ann Example via Lamp Devel <{LIST}>\n{POST}"
    series = _series(mangled)
    assert series.revision.patches[0].author.email == LIST
    assert _codes(series) == [("warning", "author-mangled")]
    in_body = _series(mangled, "From: Ann Example <ann@example.org>\n\n" + BODY)
    assert in_body.revision.patches[0].author == ANN
    assert _codes(in_body) == []


def test_a_review_from_a_rewritten_reply_is_the_person_s() -> None:
    # Mailman names a sender without a display name by the address's local part: only the
    # Reply-To: shows that the reviewer sent the Reviewed-by
    reply = (
        f"From: rev.iewer--- via Lamp Devel <{LIST}>\nReply-To: Rev Iewer <rev@example.org>\n{POST}"
        "Subject: Re: [PATCH] lamp: raise max\nMessage-Id: <r1@x>\nIn-Reply-To: <p1@x>\nReferences: <p1@x>\n"
        "Date: Tue, 3 Feb 2026 11:00:00 +0000\n\nReviewed-by: Rev Iewer <rev@example.org>\n"
    )
    series = _series(
        "From: Ann Example <ann@example.org>\n", BODY + "\nFrom mboxrd@z Thu Jan  1 00:00:00 1970\n" + reply
    )
    patch = series.revision.patches[0]
    assert [f"{t.key}: {t.value}" for t in patch.review_trailers] == [
        "Reviewed-by: Rev Iewer <rev@example.org>"
    ]
    assert [f.code for f in series.findings if f.code == "trailer-sender-mismatch"] == []
