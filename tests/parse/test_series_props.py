"""Property tests: subjects and threads built from random parts parse back to what was put in."""

from __future__ import annotations

import random
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from patchtool.errors import PatchtoolError
from patchtool.models import RawMessage, RawThread
from patchtool.parse.mail import split_mbox
from patchtool.parse.series import build_series
from patchtool.parse.subjects import parse_subject

_TITLE = st.text(alphabet="abcdefghijklmnopqrstuvwxyz:/ -_.", min_size=1, max_size=40).filter(
    lambda t: t.strip() and not t.strip().lower().startswith(("re:", "aw:", "sv:", "fw:", "fwd:"))
)


@settings(max_examples=200, deadline=None)
@given(
    title=_TITLE,
    revision=st.integers(1, 30),
    total=st.integers(1, 60),
    extra=st.sampled_from(["", "RFC ", "for-10.2 ", "RESEND "]),
    comma=st.booleans(),
    replies=st.integers(0, 3),
)
def test_subject_round_trip(
    title: str, revision: int, total: int, extra: str, comma: bool, replies: int
) -> None:
    index = (revision * 7) % total + 1
    version = f" v{revision}" if revision > 1 else ""
    sep = "," if comma else " "
    subject = "Re: " * replies + f"[{extra}PATCH{version}{sep}{index}/{total}] {title}"
    info = parse_subject(subject)
    assert info.title == " ".join(title.split())
    assert (info.revision, info.index, info.total) == (revision, index, total)
    assert info.is_reply == (replies > 0)
    assert "PATCH" in info.prefixes


def _patch_mail(index: int, total: int, msgid: str, parent: str | None) -> str:
    name = f"f{index}.c"
    headers = (
        f"From: A <a@example.org>\nSubject: [PATCH v2 {index}/{total}] add {name}\nMessage-Id: <{msgid}>\n"
    )
    if parent:
        headers += f"In-Reply-To: <{parent}>\n"
    diff = (
        f"diff --git a/{name} b/{name}\nnew file mode 100644\nindex 0000000..1111111\n--- /dev/null\n"
        f"+++ b/{name}\n@@ -0,0 +1,3 @@\n+int f{index}(void)\n+{{\n+}}\n"
    )
    envelope = "From x@example.org Mon Mar  2 10:00:00 2026\n"
    return f"{envelope}{headers}\nAdd {name}.\n\nSigned-off-by: A <a@example.org>\n---\n{diff}\n"


@settings(max_examples=40, deadline=None)
@given(total=st.integers(1, 12), seed=st.integers(0, 10_000), drop=st.integers(0, 12))
def test_shuffled_threads_assemble_in_order(total: int, seed: int, drop: int) -> None:
    rng = random.Random(seed)
    cover = "From x@example.org Mon Mar  2 10:00:00 2026\nFrom: A <a@example.org>\n"
    cover += f"Subject: [PATCH v2 0/{total}] things\nMessage-Id: <c@example.org>\n\nCover.\n\n"
    # later patches reply to a random earlier message (any batching), order shuffled
    parts = [_patch_mail(i, total, f"p{i}@example.org", rng.choice(["c@example.org"] + [
        f"p{j}@example.org" for j in range(1, i)])) for i in range(1, total + 1)]  # fmt: skip
    missing = drop if 1 <= drop <= total and total > 1 else None
    kept = [p for i, p in enumerate(parts, 1) if i != missing]
    rng.shuffle(kept)
    data = (cover + "".join(kept)).encode()
    messages = tuple(RawMessage(m, f"t#{i}") for i, m in enumerate(split_mbox(data)))
    series = build_series(RawThread(messages))
    rev = series.revision
    expected = [i for i in range(1, total + 1) if i != missing]
    assert [p.index for p in rev.patches] == expected
    assert rev.missing == ((missing,) if missing else ())
    assert all(p.summary.functions[0].name == f"f{p.index}" for p in rev.patches)


_FIXTURE = (Path(__file__).resolve().parents[2] / "fixtures" / "mail" / "kvm-dirty-ring-v4.mbox").read_bytes()
_NASTY = [
    b"@@ -1,3 +1,4 @@", b"diff --git a/x b/x", b"---", b"-- ", b"From: \xff\xfe", b"Subject: =?utf-8?q?=ZZ?=",
    b"Subject: [PATCH 0/0]", b"Subject: [PATCH 5/2] x", b"Content-Type: multipart/mixed; boundary=x",
    b"Content-Transfer-Encoding: base64", b"From x Mon Sep 17 00:00:00 2001", b"Message-Id: <>",
    b"In-Reply-To: <<>>", b"Date: Mon, 99 Foo 2026 99:99:99 +9999", b"GIT binary patch", b"+++ /dev/null",
]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 4), st.integers(0, 10**6), st.integers(0, len(_NASTY) - 1)), max_size=8)
)
def test_damaged_mail_gives_a_series_or_our_error(edits: list[tuple[int, int, int]]) -> None:
    """Lines deleted, repeated, cut, indented or replaced: a Series or a PatchtoolError, never a crash."""
    lines = _FIXTURE.split(b"\n")
    for op, where, nasty in edits:
        i = where % len(lines)
        if op == 0:
            del lines[i]
        elif op == 1:
            lines.insert(i, lines[(where // 7) % len(lines)])
        elif op == 2:
            lines[i] = lines[i][: where % (len(lines[i]) + 1)]
        elif op == 3:
            lines[i] = b" " + lines[i]
        else:
            lines[i] = _NASTY[nasty]
    messages = tuple(RawMessage(m, f"t#{i}") for i, m in enumerate(split_mbox(b"\n".join(lines))))
    try:
        series = build_series(RawThread(messages))
    except PatchtoolError:
        return
    assert series.revision.patches or series.revision.cover
