"""Author, subject, date, message and diff equal what real `git mailinfo` extracts from our mails.

Each fixture in fixtures/mail/mailinfo is written by us in the shape of a case git's own mailinfo
handles: folded in-body headers, in-body headers after a `>From <sha>` line, a bare address, an
in-body Date:, comments and quotes in From:, blank lines before in-body headers, encoded words,
lower-case in-body headers, a `[PATCH]` title line, a declared Latin-1 charset, a blank context
line whose space was stripped.
"""

from __future__ import annotations

import subprocess
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from patchtool.apply.commitmsg import stripspace
from patchtool.fetch.local import read_local
from patchtool.models import Patch
from patchtool.parse.diffs import diff_bytes
from patchtool.parse.series import build_series
from tests.conftest import FIXTURES

CASES = sorted((FIXTURES / "mail" / "mailinfo").glob("*.mbox"))


def _mailinfo(mail: Path, tmp: Path) -> tuple[dict[str, str], bytes, bytes]:
    msg, patch = tmp / "msg", tmp / "patch"
    done = subprocess.run(
        ["git", "mailinfo", str(msg), str(patch)], stdin=mail.open("rb"), capture_output=True, check=True
    )
    info = dict(line.split(": ", 1) for line in done.stdout.decode().splitlines() if ": " in line)
    return info, msg.read_bytes(), patch.read_bytes()


def _patch(mail: Path) -> Patch:
    (patch,) = build_series(read_local(str(mail), None)).revision.patches
    return patch


@pytest.mark.parametrize("mail", CASES, ids=[c.stem for c in CASES])
def test_parse_matches_git_mailinfo(mail: Path, tmp_path: Path) -> None:
    info, message, diff = _mailinfo(mail, tmp_path)
    patch = _patch(mail)
    assert (patch.author.name, patch.author.email) == (info["Author"], info["Email"])
    assert patch.title == info["Subject"]
    assert patch.date == parsedate_to_datetime(info["Date"])
    assert stripspace(patch.message) == stripspace(message.decode())
    ours = diff_bytes(patch)
    start = diff.index(b"diff --git ")
    assert diff[start:].startswith(ours)
    assert diff[start + len(ours) :].lstrip(b"\n").startswith((b"-- \n", b"")), "diff cut short"
    assert not diff[start + len(ours) :].strip(b"\n").startswith((b"+", b" ", b"@@"))


def test_cases_cover_every_shape() -> None:
    assert len(CASES) >= 14
