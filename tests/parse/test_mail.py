"""Mail input: mbox splitting as git mailsplit does it, decoding, and every local source form."""

from __future__ import annotations

import base64
import contextlib
import io
import quopri
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patchtool.errors import InputError, PatchtoolError
from patchtool.fetch.local import is_local, read_local
from patchtool.models import RawMessage
from patchtool.parse.mail import is_from_line, parse_address, parse_mail, split_mbox
from tests.plugins.gitutil import git
from tests.plugins.mail import mail_fixture


def _mail(subject: str, body: str, headers: str = "", cte: str = "8bit", charset: str = "utf-8") -> bytes:
    if cte == "quoted-printable":
        payload = quopri.encodestring(body.encode(charset)).decode("ascii")
    elif cte == "base64":
        payload = base64.encodebytes(body.encode(charset)).decode("ascii")
    else:
        payload = body
    head = (
        f"From: A U Thor <a@example.org>\nSubject: {subject}\nMessage-Id: <m1@example.org>\n{headers}"
        f"MIME-Version: 1.0\nContent-Type: text/plain; charset={charset}\n"
        f"Content-Transfer-Encoding: {cte}\n\n"
    )
    return head.encode() + payload.encode(charset if cte == "8bit" else "ascii")


def test_from_line_needs_a_time_and_year_like_git_mailsplit() -> None:
    assert is_from_line(b"From 8e41acd1cd874b184ac41f671ffd8da0f661db8a Mon Sep 17 00:00:00 2001")
    assert is_from_line(b"From mboxrd@z Thu Jan  1 00:00:00 1970")
    assert is_from_line(b"From someone@example.org Fri Jun  5 08:15:12 2026")
    assert not is_from_line(b"From here on the reaper waits on a notifier.")
    assert not is_from_line(b"From: A U Thor <a@example.org>")


def test_format_patch_body_line_starting_with_from_does_not_split() -> None:
    data = (
        b"From 1234567890123456789012345678901234567890 Mon Sep 17 00:00:00 2001\n"
        b"From: A <a@x.org>\nSubject: [PATCH] x\n\n"
        b"From the second round on we reuse it.\n>From stays as written (not mboxrd).\n"
    )
    messages = split_mbox(data)
    assert len(messages) == 1
    assert b"From the second round on" in messages[0]
    assert b">From stays as written" in messages[0]


def test_mboxrd_is_unescaped_once() -> None:
    raw = mail_fixture("lore-thread.mboxrd").read_bytes()
    messages = split_mbox(raw)
    assert len(messages) == 2
    assert b"\nFrom the second attempt on" in messages[0]
    assert b"\n>From is how an mboxrd archive" in messages[0]


def test_crlf_mbox_parses_like_lf() -> None:
    raw = mail_fixture("reaper-v2.mbox").read_bytes()
    crlf = raw.replace(b"\n", b"\r\n")
    assert split_mbox(crlf) == split_mbox(raw)


def test_crlf_inside_base64_body_is_normalised() -> None:
    body = "Line one\r\nLine two\r\n"
    mail = parse_mail(RawMessage(_mail("[PATCH] x", body, cte="base64"), "test#1"))
    assert mail.body == "Line one\nLine two\n"


@pytest.mark.parametrize("cte", ["quoted-printable", "base64", "8bit"])
@pytest.mark.parametrize("charset", ["utf-8", "iso-8859-1", "koi8-r"])
def test_bodies_decode_in_any_transfer_encoding_and_charset(cte: str, charset: str) -> None:
    text = "Größe and naïve\n" if charset != "koi8-r" else "Привет, мир\n"
    mail = parse_mail(RawMessage(_mail("[PATCH] x", text, cte=cte, charset=charset), "test#1"))
    assert mail.body.strip() == text.strip()


def test_unknown_charset_is_an_input_error_naming_file_and_message() -> None:
    raw = mail_fixture("bad/unknown-charset.mbox").read_bytes()
    with pytest.raises(InputError) as info:
        parse_mail(RawMessage(split_mbox(raw)[0], "file:fixtures/mail/bad/unknown-charset.mbox#1"))
    assert info.value.message == (
        "fixtures/mail/bad/unknown-charset.mbox: message <charset-1@example.org> "
        "has an unknown charset 'x-no-such-charset'"
    )


def test_encoded_headers_and_comma_display_names() -> None:
    headers = "Cc: x@example.org\n"
    data = _mail("=?utf-8?q?=5BPATCH=5D_Gr=C3=B6=C3=9Fe?=", "body\n", headers)
    data = data.replace(b"From: A U Thor <a@example.org>", b'From: "Doe, John" <john@example.org>')
    mail = parse_mail(RawMessage(data, "t#1"))
    assert mail.subject == "[PATCH] Größe"
    assert mail.sender.name == "Doe, John"
    assert mail.sender.email == "john@example.org"
    assert str(mail.sender) == '"Doe, John" <john@example.org>'
    assert parse_address("Ana Pérez <ana@example.es>").name == "Ana Pérez"


def test_broken_threading_headers_are_tolerated() -> None:
    data = _mail(
        "Re: [PATCH] x",
        "hi\n",
        "In-Reply-To: <parent@example.org> (Joe's message of Mon)\n"
        "References: garbage <root@example.org> <parent@ex\n",
    )
    mail = parse_mail(RawMessage(data, "t#1"))
    assert mail.in_reply_to == "parent@example.org"
    assert "root@example.org" in mail.references


def test_message_without_message_id_gets_a_stable_key() -> None:
    data = _mail("[PATCH] x", "hi\n").replace(b"Message-Id: <m1@example.org>\n", b"")
    first = parse_mail(RawMessage(data, "t#1"))
    second = parse_mail(RawMessage(data, "t#2"))
    assert first.msgid == second.msgid
    assert first.msgid.endswith("@patchtool.invalid")


def test_read_local_file_maildir_directory_and_stdin(tmp_path: Path) -> None:
    source = mail_fixture("reaper-v2.mbox")
    from_file = read_local(str(source), None)
    assert len(from_file.messages) == 2
    assert from_file.provenance[0].source == "file"

    maildir = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    for i, message in enumerate(split_mbox(source.read_bytes())):
        (maildir / ("cur" if i == 0 else "new") / f"17000000{i}.M1P1.host:2,S").write_bytes(message)
    assert len(read_local(str(maildir), None).messages) == 2

    eml_dir = tmp_path / "emls"
    eml_dir.mkdir()
    for i, message in enumerate(split_mbox(source.read_bytes())):
        (eml_dir / f"{i:02d}.eml").write_bytes(message)
    (eml_dir / "notes.pdf").write_bytes(b"%PDF")
    assert len(read_local(str(eml_dir), None).messages) == 2

    from_stdin = read_local("-", io.BytesIO(source.read_bytes()))
    assert len(from_stdin.messages) == 2
    assert from_stdin.messages[0].origin == "stdin#1"


def test_read_local_git_format_patch_directory(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    for i in range(3):
        (repo / f"f{i}.txt").write_text(f"{i}\nFrom the start of line {i}\n")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", f"add f{i}\n\nFrom here on, f{i} exists.")
    out = tmp_path / "patches"
    git(repo, "format-patch", "-q", "-3", "--cover-letter", "-o", str(out))
    thread = read_local(str(out), None)
    assert len(thread.messages) == 4
    assert all(b"From here on" in m.data for m in thread.messages[1:])


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("bad/empty.mbox", "bad/empty.mbox: empty file"),
        ("bad/not-mail.txt", "bad/not-mail.txt: not mail (no message headers found)"),
    ],
)
def test_unusable_files_are_input_errors(name: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        read_local(str(mail_fixture(name)), None)
    assert info.value.message.endswith(message)


def test_empty_stdin_and_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="empty input on stdin"):
        read_local("-", io.BytesIO(b"  \n"))
    with pytest.raises(InputError, match="no mail files"):
        read_local(str(tmp_path), None)


def test_is_local() -> None:
    assert is_local("-")
    assert is_local(str(mail_fixture("reaper-v2.mbox")))
    assert not is_local("20260605081512.4411-1-lqiao@example-cloud.com")


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_either_parse_or_raise_our_error(data: bytes) -> None:
    for message in split_mbox(data):
        with contextlib.suppress(PatchtoolError):
            parse_mail(RawMessage(message, "fuzz#1"))


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300))
def test_any_text_body_survives_a_round_trip(body: str) -> None:
    data = _mail("[PATCH] x", body.replace("\r", ""), cte="base64")
    mail = parse_mail(RawMessage(data, "fuzz#1"))
    assert mail.body == body.replace("\r", "")


def test_patch_sent_as_a_text_attachment() -> None:
    from email.message import EmailMessage

    from patchtool.models import RawThread
    from patchtool.parse.series import build_series

    msg = EmailMessage()
    msg["From"] = "Att Acher <att@example.org>"
    msg["Subject"] = "[PATCH] docs: fix a typo"
    msg["Message-Id"] = "<attach-1@example.org>"
    msg.set_content("Fix a typo.\n\nSigned-off-by: Att Acher <att@example.org>\n")
    diff = "---\ndiff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-teh\n+the\n"
    msg.add_attachment(diff.encode("latin-1"), maintype="text", subtype="x-patch", filename="0001.patch")
    mail = parse_mail(RawMessage(msg.as_bytes(), "t#1"))
    assert "Signed-off-by: Att Acher" in mail.body and "+the" in mail.body
    series = build_series(RawThread((RawMessage(msg.as_bytes(), "t#1"),)))
    patch = series.revision.patches[0]
    assert [f.path for f in patch.summary.files] == ["a.txt"]
    assert [t.key for t in patch.trailers] == ["Signed-off-by"]


def test_gzip_mbox_is_read(tmp_path: Path) -> None:
    import gzip

    packed = tmp_path / "thread.mbox.gz"
    packed.write_bytes(gzip.compress(mail_fixture("reaper-v2.mbox").read_bytes()))
    thread = read_local(str(packed), None)
    assert len(thread.messages) == 2
    assert thread.messages[0].origin == f"file:{packed}#1"
