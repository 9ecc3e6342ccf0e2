"""Mail thread to Series: subjects, revisions, cover, ordering, duplicates, trailers, footers."""

from __future__ import annotations

import re

import pytest

from patchtool.errors import InputError
from patchtool.fetch.local import read_local
from patchtool.models import Address, RawMessage, RawThread, Series
from patchtool.parse.mail import split_mbox
from patchtool.parse.series import build_series
from patchtool.parse.subjects import parse_subject
from patchtool.parse.trailers import append_trailers, commit_trailers, reply_trailers, sender_matches
from tests.plugins.mail import mail_fixture


def _series(name: str, revision: int | None = None) -> Series:
    return build_series(read_local(str(mail_fixture(name)), None), revision=revision)


@pytest.mark.parametrize(
    ("subject", "title", "prefixes", "revision", "index", "total", "reply"),
    [
        ("[PATCH] x: y", "x: y", ("PATCH",), 1, None, None, False),
        ("[PATCH v2] accel/kvm: z", "accel/kvm: z", ("PATCH",), 2, None, None, False),
        ("[PATCH v4 13/13] KVM: Dirty ring support", "KVM: Dirty ring support", ("PATCH",), 4, 13, 13, False),
        ("[PATCH v6,19/24] t", "t", ("PATCH",), 6, 19, 24, False),
        ("[RFC PATCH v3 0/5] t", "t", ("RFC", "PATCH"), 3, 0, 5, False),
        ("[PULL 03/18] t", "t", ("PULL",), 1, 3, 18, False),
        ("[PATCH for-10.2 v2 1/3] t", "t", ("PATCH", "for-10.2"), 2, 1, 3, False),
        ("[PATCH 2/3 v2] t", "t", ("PATCH",), 2, 2, 3, False),
        ("[PATCHv2 1/3] t", "t", ("PATCH",), 2, 1, 3, False),
        ("Re: [PATCH v2] t", "t", ("PATCH",), 2, None, None, True),
        ("RE: [PATCH v2 2/2] t", "t", ("PATCH",), 2, 2, 2, True),
        ("Aw: Re: [PATCH v3 0/3] t", "t", ("PATCH",), 3, 0, 3, True),
        ("[Qemu-devel] [PATCH 1/2] t", "t", ("Qemu-devel", "PATCH"), 1, 1, 2, False),
        ("Kernel-side polling?", "Kernel-side polling?", (), 1, None, None, False),
    ],
)
def test_subject_forms(
    subject: str,
    title: str,
    prefixes: tuple[str, ...],
    revision: int,
    index: int | None,
    total: int | None,
    reply: bool,
) -> None:
    info = parse_subject(subject)
    assert (info.title, info.prefixes, info.revision, info.index, info.total, info.is_reply) == (
        title,
        prefixes,
        revision,
        index,
        total,
        reply,
    )


def test_subject_flags() -> None:
    assert parse_subject("[RFC PATCH v3 0/5] t").is_rfc
    assert parse_subject("[PULL 03/18] t").is_pull
    assert not parse_subject("[PATCH] t").is_pull


def test_reaper_v2_single_patch_with_review_reply() -> None:
    series = _series("reaper-v2.mbox")
    assert series.chosen == 2
    assert series.title == "accel/kvm: wake the dirty ring reaper when dirty-limit stops"
    rev = series.revision
    assert rev.complete and rev.total == 1 and rev.cover is None
    (patch,) = rev.patches
    assert patch.author == Address("Lin Qiao", "lqiao@example-cloud.com")
    assert patch.date is not None and patch.date.isoformat() == "2026-06-05T16:15:12+08:00"
    assert [t.key for t in patch.trailers] == ["Signed-off-by"]
    assert patch.notes.startswith("Changes in v2:\n- report the notifier failure")
    assert [(d.path, d.changes) for d in patch.diffstat] == [
        ("accel/kvm/kvm-all.c", 42),
        ("accel/stubs/kvm-stub.c", 4),
        ("include/system/kvm.h", 7),
        ("include/system/kvm_int.h", 3),
        ("system/dirtylimit.c", 2),
    ]
    # The reply's display name ("Zhang Wei (infra)") differs from the trailer's; the address matches.
    (review,) = patch.review_trailers
    assert (review.key, review.value, review.origin) == (
        "Reviewed-by",
        "Wei Zhang <wei.zhang@example.net>",
        "reply",
    )
    assert review.sender == Address("Zhang Wei (infra)", "wei.zhang@example.net")
    # "> Reviewed-by: Someone Quoted" is quoted and must not be collected.
    assert not any("quoted@example.org" in t.value for r in rev.replies for t in r.trailers)
    assert series.findings == ()
    assert patch.diff.startswith("diff --git a/accel/kvm/kvm-all.c")
    assert patch.diff.rstrip().endswith("trace_dirtylimit_state_finalize();\n }".rstrip())


def test_v4_series_in_two_batches_assembles_whole_with_cover_trailers() -> None:
    series = _series("kvm-dirty-ring-v4.mbox")
    rev = series.revision
    assert (rev.number, rev.total, rev.missing) == (4, 13, ())
    assert [p.index for p in rev.patches] == list(range(1, 14))
    assert rev.cover is not None and rev.cover.title == "KVM: Dirty ring support (QEMU part)"
    # patches 5..13 reply to patch 4, not to the cover
    assert rev.patches[5].in_reply_to == rev.patches[3].msgid
    acked = "Acked-by: Reviewer One <r1@example.org>"
    for patch in rev.patches:
        assert acked in [f"{t.key}: {t.value}" for t in patch.review_trailers]
        assert all(t.origin == "cover-reply" for t in patch.review_trailers if t.key == "Acked-by")
    by_index = {p.index: p for p in rev.patches}
    assert "Tested-by: John Doe <john.doe@example.org>" in [
        f"{t.key}: {t.value}" for t in by_index[7].review_trailers
    ]
    # a reply to a reply to patch 10 still attaches its trailer to patch 10
    assert any(t.msgid == "reply-10-r2b@example.org" for t in by_index[10].review_trailers)
    assert [t.key for t in by_index[13].review_trailers] == ["Reviewed-by", "Acked-by"]


def test_comma_display_name_sender_matches_and_mismatch_is_a_finding() -> None:
    series = _series("kvm-dirty-ring-v4.mbox")
    by_index = {p.index: p for p in series.revision.patches}
    # '"Doe, John" <john.doe@example.org>' gave Tested-by for John Doe: accepted
    assert any(t.key == "Tested-by" for t in by_index[7].review_trailers)
    # ... and a Reviewed-by naming somebody else: not applied, reported
    assert not any("mallory" in t.value for t in by_index[7].review_trailers)
    (finding,) = [f for f in series.findings if f.code == "trailer-sender-mismatch"]
    assert finding.patch == "7/13" and finding.msgid == "reply-7-doe@example.org"
    assert '"Doe, John" <john.doe@example.org>' in finding.message


def test_duplicate_patch_collapses_without_dropping_others() -> None:
    series = _series("kvm-dirty-ring-v4.mbox")
    rev = series.revision
    assert len(rev.patches) == 13
    assert rev.patches[2].msgid == "20260108164601.406146-4-psender@example.com"
    (dup,) = [f for f in series.findings if f.code == "duplicate-patch"]
    assert dup.severity == "info"
    assert dup.msgid == "20260108164601.406146-dup3-psender@example.com"


def test_in_body_from_overrides_the_mail_author() -> None:
    patch = _series("kvm-dirty-ring-v4.mbox").revision.patches[1]
    assert patch.author == Address("Ana Pérez", "ana.perez@example.es")
    assert patch.sender == Address("Peter Sender", "psender@example.com")
    assert not patch.message.startswith("From:")


def test_quoted_printable_and_base64_patches_parse() -> None:
    rev = _series("kvm-dirty-ring-v4.mbox").revision
    for index in (6, 8):  # sent as quoted-printable and base64
        patch = rev.patches[index - 1]
        assert patch.summary.added == 7 and patch.summary.removed == 1
        assert f"ring_step_{index}" in patch.diff


def test_revisions_newest_by_default_and_selectable() -> None:
    series = _series("revisions-v1-v3.mbox")
    assert [r.number for r in series.revisions] == [1, 2, 3]
    assert series.chosen == 3
    v3 = series.revision
    assert v3.total == 3 and v3.complete
    assert v3.based_on == ("20260101120000.1000-1-other@example.org",)
    assert v3.supersedes == ("rev2-0@example.org",)
    assert all(t.origin == "cover-reply" for p in v3.patches for t in p.review_trailers)
    v1 = next(r for r in series.revisions if r.number == 1)
    assert v1.subject_prefixes == ("RFC", "PATCH")
    assert [t.key for t in v1.patches[0].review_trailers] == ["Reviewed-by"]
    v2 = _series("revisions-v1-v3.mbox", revision=2)
    assert v2.chosen == 2
    assert [t.key for t in v2.revision.patches[1].review_trailers] == ["Acked-by"]
    assert v2.revision.patches[0].review_trailers == ()
    with pytest.raises(InputError, match=r"revision 7 not found \(the thread has v1, v2, v3\)"):
        _series("revisions-v1-v3.mbox", revision=7)


def test_missing_patches_are_reported_not_raised() -> None:
    raw = read_local(str(mail_fixture("kvm-dirty-ring-v4.mbox")), None)
    kept = tuple(
        m for m in raw.messages if b"[PATCH v4 05/13]" not in m.data and b"[PATCH v4 09/13]" not in m.data
    )
    series = build_series(RawThread(kept, raw.provenance))
    assert series.revision.missing == (5, 9)
    assert not series.revision.complete
    (finding,) = [f for f in series.findings if f.code == "missing-patches"]
    assert finding.message == "v4 is incomplete: 5/13, 9/13 not found"


def test_b4_footers_and_base_commit() -> None:
    series = _series("b4-single.mbox")
    patch = series.revision.patches[0]
    base = mail_fixture("b4-single.base").read_text().strip()
    assert patch.footers == {"base-commit": base, "change-id": "20260110-led-state-3f9a1c2b7d4e"}
    assert series.revision.base_commit == base
    assert "Best regards" not in patch.diff and "base-commit" not in patch.diff
    assert "base-commit" not in patch.notes


def test_pull_request() -> None:
    series = _series("pull-request.mbox")
    rev = series.revision
    assert rev.subject_prefixes == ("PULL",)
    assert rev.cover is not None and "The following changes since commit" in rev.cover.body
    assert [p.author.email for p in rev.patches] == [
        "dev1@example.org",
        "dev2@example.org",
        "dev3@example.org",
    ]
    keys = [t.key for t in rev.patches[0].trailers]
    assert keys == ["Signed-off-by", "Reviewed-by", "Message-Id", "Signed-off-by"]


def test_mboxrd_thread_with_latin1_quoted_printable_reply() -> None:
    series = _series("lore-thread.mboxrd")
    patch = series.revision.patches[0]
    assert "\nFrom the second attempt on" in patch.message
    assert [t.value for t in patch.review_trailers] == ["Hugo Tester <hugo@example.org>"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("bad/no-patches.mbox", "bad/no-patches.mbox: no patches found in 2 message(s)"),
        (
            "bad/mangled-whitespace.mbox",
            "mangled-whitespace.mbox: message <mangled-ws-1@example.org>: mangled diff at line 13: "
            "'memcpy(new_bus, bus, size);' inside hunk '-10,6 +10,7' is not a diff line",
        ),
        (
            "bad/mangled-wrapped.mbox",
            "message <mangled-wrap-1@example.org>: mangled diff at line",
        ),
        ("bad/msgid-dotdot.mbox", "has an invalid message-id (contains '..')"),
        (
            "bad/unknown-charset.mbox",
            "message <charset-1@example.org> has an unknown charset 'x-no-such-charset'",
        ),
    ],
)
def test_bad_threads_are_input_errors(name: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        _series(name)
    assert message in info.value.message


def test_thread_without_threading_headers_still_attaches_replies_by_subject() -> None:
    raw = read_local(str(mail_fixture("reaper-v2.mbox")), None)
    stripped = []
    for m in raw.messages:
        lines = [ln for ln in m.data.split(b"\n") if not ln.startswith((b"In-Reply-To:", b"References:"))]
        stripped.append(RawMessage(b"\n".join(lines), m.origin))
    series = build_series(RawThread(tuple(stripped), raw.provenance))
    assert [t.key for t in series.revision.patches[0].review_trailers] == ["Reviewed-by"]


def test_commit_trailer_block_rules() -> None:
    message = (
        "Title body.\n\nSee https://example.org: details.\n\n"
        'Signed-off-by: A <a@x>\nCc: b@x\nFixes: 0123456789ab ("x")'
    )
    assert [t.key for t in commit_trailers(message)] == ["Signed-off-by", "Cc", "Fixes"]
    assert commit_trailers("Just prose.\n\nNote: this is not a trailer block at all\nreally not") == ()
    assert [t.key for t in commit_trailers("x\n\nsigned-off-by: A <a@x>")] == ["Signed-off-by"]


def test_reply_trailers_ignore_quotes_and_signature() -> None:
    sender = Address("Doe, John", "john@x.org")
    body = "> Reviewed-by: Q <q@x>\nReviewed-by: John Doe <john@x.org>\n-- \nAcked-by: Sig <s@x>\n"
    (trailer,) = reply_trailers(body, sender, "m@x")
    assert sender_matches(trailer, sender)
    assert not sender_matches(reply_trailers("Acked-by: Other <o@x>", sender, "m@x")[0], sender)


def test_append_trailers_after_existing_ones() -> None:
    (trailer,) = reply_trailers("Reviewed-by: R <r@x>", Address("R", "r@x"), "m@x")
    assert append_trailers("Body.\n\nSigned-off-by: A <a@x>\n", [trailer]) == (
        "Body.\n\nSigned-off-by: A <a@x>\nReviewed-by: R <r@x>\n"
    )
    assert append_trailers("Body only.", [trailer]) == "Body only.\n\nReviewed-by: R <r@x>\n"


def test_patches_without_version_inherit_it_from_their_cover() -> None:
    raw = mail_fixture("revisions-v1-v3.mbox").read_bytes()
    # the v3 patches forget their "v3" (and one uses the comma form): they still belong to v3
    raw = raw.replace(b"Subject: [PATCH 1/3 v3]", b"Subject: [PATCH 1/3]").replace(
        b"[PATCH v3,3/3]", b"[PATCH 3/3]"
    )
    raw = raw.replace(b"Subject: [PATCH 2/3 v3]", b"Subject: [PATCH 2/3]")
    thread = RawThread(tuple(RawMessage(m, f"t#{i}") for i, m in enumerate(split_mbox(raw))))
    series = build_series(thread)
    assert series.chosen == 3
    assert [p.msgid for p in series.revision.patches] == [
        "rev3-1@example.org",
        "rev3-2@example.org",
        "rev3-3@example.org",
    ]
    v1 = next(r for r in series.revisions if r.number == 1)
    assert [p.msgid for p in v1.patches] == ["rev1-1@example.org", "rev1-2@example.org"]


def test_every_trailer_kind_of_the_issue_is_parsed() -> None:
    message = (
        "Body.\n\n"
        'Fixes: 0123456789ab ("kvm: x")\nReported-by: R <r@x>\n'
        "Closes: https://gitlab.com/qemu-project/qemu/-/issues/1\nLink: https://lore.kernel.org/r/abc@x\n"
        "Suggested-by: S <s@x>\nCo-developed-by: C <c@x>\nSigned-off-by: C <c@x>\nTested-by: T <t@x>\n"
        "Acked-by: A <a@x>\nreviewed-by: V <v@x>\nMessage-ID: <abc@x>\nCc: qemu-stable@nongnu.org\n"
        "Signed-off-by: M <m@x>"
    )
    trailers = commit_trailers(message)
    assert [t.key for t in trailers] == [
        "Fixes", "Reported-by", "Closes", "Link", "Suggested-by", "Co-developed-by", "Signed-off-by",
        "Tested-by", "Acked-by", "Reviewed-by", "Message-Id", "Cc", "Signed-off-by",
    ]  # fmt: skip
    assert trailers[3].value == "https://lore.kernel.org/r/abc@x"
    assert trailers[9].address == Address("V", "v@x")
    assert trailers[2].address is None


def test_unrelated_reply_without_headers_is_not_attached() -> None:
    raw = read_local(str(mail_fixture("b4-single.mbox")), None)  # a lone v1 patch
    stray = (
        b"From: Someone <someone@example.org>\nSubject: Re: unrelated question\n"
        b"Message-Id: <stray@example.org>\n\nReviewed-by: Someone <someone@example.org>\n"
    )
    series = build_series(RawThread((*raw.messages, RawMessage(stray, "t#9")), raw.provenance))
    assert series.revision.patches[0].review_trailers == ()


def test_an_unreadable_other_revision_does_not_hide_the_chosen_one() -> None:
    raw = mail_fixture("revisions-v1-v3.mbox").read_bytes()
    # mangle v1 patch 2 (whitespace stripped from its context lines)
    start = raw.index(b"Subject: [RFC PATCH 2/2]")
    hunk = raw.index(b"@@", start)
    mangled = raw[:hunk] + raw[hunk:].replace(b"\n+", b"\nX", 1)
    thread = RawThread(tuple(RawMessage(m, f"t#{i}") for i, m in enumerate(split_mbox(mangled))))
    series = build_series(thread)
    assert series.chosen == 3 and [r.number for r in series.revisions] == [2, 3]
    (finding,) = [f for f in series.findings if f.code == "revision-unreadable"]
    assert finding.message.startswith("v1 skipped: ") and "mangled diff" in finding.message
    with pytest.raises(InputError, match="mangled diff"):
        build_series(thread, revision=1)


def test_newer_revision_with_only_a_cover_is_reported() -> None:
    raw = mail_fixture("revisions-v1-v3.mbox").read_bytes()
    kept = [m for m in split_mbox(raw) if not re.search(rb"Subject: \[PATCH (v3,)?\d/3( v3)?\]", m)]
    series = build_series(RawThread(tuple(RawMessage(m, f"t#{i}") for i, m in enumerate(kept))))
    assert series.chosen == 2
    assert [f.code for f in series.findings] == ["revision-without-patches"]


def test_a_series_read_without_functions_differs_only_in_them() -> None:
    """apply builds the series with functions=False; everything else must be what fetch shows."""
    from dataclasses import replace

    from tests.conftest import ROOT

    raw = read_local(str(ROOT / "fixtures" / "mail" / "kvm-dirty-ring-v4.mbox"), None)
    full, lean = build_series(raw), build_series(raw, functions=False)
    patches = [p for rev in full.revisions for p in rev.patches]
    assert any(p.summary.functions for p in patches)  # the fixture has C changes to lose
    assert all(not p.summary.functions for rev in lean.revisions for p in rev.patches)

    def without(series: object) -> object:
        revs = [
            replace(r, patches=tuple(replace(p, summary=replace(p.summary, functions=())) for p in r.patches))
            for r in series.revisions  # type: ignore[attr-defined]
        ]
        return replace(series, revisions=tuple(revs))  # type: ignore[type-var]

    assert without(full) == without(lean)
