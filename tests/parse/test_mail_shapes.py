"""Every mail shape of issue 19, in threads written here: trailers, people, covers, diffs, mboxes."""

from __future__ import annotations

import pytest

from patchtool.apply.ammbox import patch_mail
from patchtool.apply.commitmsg import patch_message
from patchtool.errors import InputError
from patchtool.models import Address, RawMessage, RawThread, Series
from patchtool.parse.mail import split_mbox
from patchtool.parse.series import build_series
from patchtool.parse.trailers import commit_trailers

DIFF = """diff --git a/hw/lamp.c b/hw/lamp.c
index 1111111..2222222 100644
--- a/hw/lamp.c
+++ b/hw/lamp.c
@@ -1,4 +1,4 @@
 int lamp_level;
-int lamp_max = 10;
+int lamp_max = 12;

 int lamp_min;
"""
AUTHOR = "Pat Author <pat@example.org>"


def _mail(msgid: str, sender: str, subject: str, body: str, parent: str | None = None) -> str:
    head = (
        f"From: {sender}\nSubject: {subject}\nMessage-Id: <{msgid}>\nDate: Tue, 3 Feb 2026 10:00:00 +0000\n"
    )
    if parent:
        head += f"In-Reply-To: <{parent}>\nReferences: <{parent}>\n"
    return f"From mboxrd@z Thu Jan  1 00:00:00 1970\n{head}\n{body}\n"


def _patch_body(message: str = "Raise the maximum.") -> str:
    return f"{message}\n\nSigned-off-by: {AUTHOR}\n---\n{DIFF}-- \n2.47.0\n"


def _series(*mails: str) -> Series:
    raw = "".join(mails).encode()
    return build_series(RawThread(tuple(RawMessage(m, f"t#{i}") for i, m in enumerate(split_mbox(raw)))))


def _reply(body: str, sender: str, msgid: str = "r1@x", parent: str = "p1@x") -> str:
    return _mail(msgid, sender, "Re: [PATCH] lamp: raise max", body, parent)


def _thread(reply_body: str, sender: str) -> Series:
    patch = _mail("p1@x", AUTHOR, "[PATCH] lamp: raise max", _patch_body())
    return _series(patch, _reply(reply_body, sender))


def _applied(series: Series) -> list[str]:
    return [f"{t.key}: {t.value}" for t in series.revision.patches[0].review_trailers]


def _mismatches(series: Series) -> list[str]:
    return [f.message for f in series.findings if f.code == "trailer-sender-mismatch"]


def test_trailer_naming_two_people_needs_both_to_send_it() -> None:
    series = _thread("Reviewed-by: Send Er <sender@x.org>, Oth Er <other@x.org>\n", "Send Er <sender@x.org>")
    assert _applied(series) == []
    (finding,) = _mismatches(series)
    assert "Oth Er <other@x.org>" in finding and "Send Er <sender" not in finding.split("not by")[1]


@pytest.mark.parametrize(
    ("value", "sender"),
    [
        ("Tester2, Followup <t2@x.org>", "Tester2 Followup <t2@x.org>"),
        ("Followup Tester1 [corporate] <t1@x.org>", "Followup Tester1 <t1@x.org>"),
        ('"Quoted, Person" <q@x.org>', "Quoted Person <q@x.org>"),
        ("t3@x.org (Tester Three)", "Tester Three <t3@x.org>"),
    ],
)
def test_display_names_with_commas_and_brackets(value: str, sender: str) -> None:
    series = _thread(f"Tested-by: {value}\n", sender)
    assert _applied(series) == [f"Tested-by: {value}"]
    assert _mismatches(series) == []


@pytest.mark.parametrize(
    ("trailer", "sender", "applied"),
    [
        # a reviewer answering from a personal account with the address they review under
        ("Reviewed-by: Ada Lovelace <ada@work.example>", "Ada Lovelace <ada.l@home.example>", True),
        ("Reviewed-by: Ada Lovelace <ada@work.example>", '"Lovelace, Ada" <ada.l@home.example>', True),
        # somebody else's name, a first name alone, two people: refused as before
        ("Reviewed-by: Ada Lovelace <ada@work.example>", "Mallory Lovelace <ada@home.example>", False),
        ("Reviewed-by: Ada <ada@work.example>", "Ada <ada@home.example>", False),
        ("Reviewed-by: Ada Lovelace <a@w.example>, Bob Ray <b@w.example>", "Ada Lovelace <a@h.x>", False),
    ],
)
def test_a_trailer_from_the_same_name_at_another_address(trailer: str, sender: str, applied: bool) -> None:
    series = _thread(f"{trailer}\n", sender)
    assert _applied(series) == ([trailer] if applied else [])
    aliases = [f for f in series.findings if f.code == "trailer-sender-alias"]
    assert [f.severity for f in aliases] == (["info"] if applied else [])
    assert len(_mismatches(series)) == (0 if applied else 1)


@pytest.mark.parametrize(
    ("body", "relayed"),
    [
        # a maintainer passing on a colleague's review given on IRC (threads3: merged so)
        ("Per IRC:\nReviewed-by: Ada Lovelace <ada@x.org>\n\nThanks, queued.\n", True),
        ("Ada gave this off-list:\nReviewed-by: Ada Lovelace <ada@x.org>\n", True),
        # no such words right above it, or only in a quote: a mismatch as before
        ("Looks right to me.\nReviewed-by: Ada Lovelace <ada@x.org>\n", False),
        ("> we talked on IRC\nReviewed-by: Ada Lovelace <ada@x.org>\n", False),
        ("Per IRC:\n\nSome thoughts first.\nReviewed-by: Ada Lovelace <ada@x.org>\n", False),
    ],
)
def test_a_trailer_relayed_for_someone_else_is_said_so_and_not_applied(body: str, relayed: bool) -> None:
    series = _thread(body, "Bob Queue <bob@x.org>")
    assert _applied(series) == []
    codes = [(f.code, f.severity) for f in series.findings if f.code.startswith("trailer-")]
    assert codes == ([("trailer-relayed", "info")] if relayed else [("trailer-sender-mismatch", "warning")])
    said = [f.message for f in series.findings if f.code == "trailer-relayed"]
    assert all("by Bob Queue <bob@x.org> (" in m and "trust the relay" in m for m in said)


_KEEP = (
    "If nothing changed, please keep the previous tags so we don't have\nto review the same"
    " patch again:\n\nReviewed-by: Bob Queue <bob@x.org>\nReviewed-by: Ada Lovelace <ada@x.org>\n"
)


def test_tags_of_an_earlier_revision_passed_on_in_a_reply_are_relayed() -> None:
    # a real v2 thread: a reviewer asks the author to keep the previous tags and writes them out,
    # his own and a colleague's; his is applied, the colleague's is relayed (not applied, info)
    body = _KEEP
    series = _thread(body, "Bob Queue <bob@x.org>")
    assert _applied(series) == ["Reviewed-by: Bob Queue <bob@x.org>"]
    codes = [(f.code, f.severity) for f in series.findings if f.code.startswith("trailer-")]
    assert codes == [("trailer-relayed", "info")]
    # the same tags under prose that says nothing of where they were given: a mismatch
    series = _thread(body.replace("keep the previous tags", "look again"), "Bob Queue <bob@x.org>")
    assert [f.code for f in series.findings if f.code.startswith("trailer-")] == ["trailer-sender-mismatch"]


def test_reported_by_with_unquoted_comma_keeps_the_address() -> None:
    series = _thread("Reported-by: Some, One <some@x.org>\n", "Some One <some@x.org>")
    (trailer,) = series.revision.patches[0].review_trailers
    assert trailer.address == Address("Some, One", "some@x.org")


def test_wrapped_trailer_is_joined() -> None:
    series = _thread(
        "Looks fine.\n\nReviewed-by: A Very Long Reviewer Name\n <long@x.org>\n", "R <long@x.org>"
    )
    assert _applied(series) == ["Reviewed-by: A Very Long Reviewer Name <long@x.org>"]


def test_html_mailto_junk_is_removed() -> None:
    series = _thread("Reviewed-by: Html User <html@x.org<mailto:html@x.org>>\n", "Html User <html@x.org>")
    assert _applied(series) == ["Reviewed-by: Html User <html@x.org>"]
    assert "mailto" not in patch_message(series.revision.patches[0])


def test_scope_line_stays_with_its_trailer() -> None:
    series = _thread(
        "Acked-by: Part Owner <po@x.org>\n[for the parts touching hw/lamp]\n", "Part Owner <po@x.org>"
    )
    message = patch_message(series.revision.patches[0])
    assert "Acked-by: Part Owner <po@x.org>\n[for the parts touching hw/lamp]\n" in message


def _two_patches(reply_body: str, sender: str, to: str = "p1@x", more: tuple[str, ...] = ()) -> Series:
    """A two-patch series and one reply, to patch 1 by default (and ``more`` mails)."""
    cover = _mail("c@x", AUTHOR, "[PATCH 0/2] lamp: limits", "Two changes.\n")
    one = _mail("p1@x", AUTHOR, "[PATCH 1/2] lamp: raise max", _patch_body(), "c@x")
    two = _mail("p2@x", AUTHOR, "[PATCH 2/2] lamp: lower min", _patch_body("Lower the minimum."), "c@x")
    return _series(cover, one, two, _reply(reply_body, sender, parent=to), *more)


def _given(series: Series) -> list[list[tuple[str, str]]]:
    return [[(f"{t.key}: {t.value}", t.origin) for t in p.review_trailers] for p in series.revision.patches]


def test_a_series_line_gives_a_patch_replys_trailers_to_every_patch() -> None:
    # real threads: "Series:" then Reviewed-by, in a reply to patch 1 of 2 (the maintainer, the
    # author himself, merged neither; reviewers' "For the series:" is as common)
    rita = "Rita Reviewer <rr@x.org>"
    rb, tb = f"Reviewed-by: {rita}", f"Tested-by: {rita}"
    for above in (
        "Series:", "For the series:", "FWIW, for the whole series", "To the patch set:",
        # the same at the end of a line of prose: its own clause, or naming the tag; with a colon
        "So for the whole series:", "So, for the series:", "Looks fine to me now; on the whole series:",
        "Once the typo is fixed, for this patch set:", "You can add my R-b tag to the full series:",
        "Agreed. The series:", "Add to whole patchset:", "Apply these to the entire series too.",
        "Otherwise the whole patchset looks good. Add to whole patchset:",
        "One more respin, then. You can also add to the whole series:",
        "so feel free to add to the entire series:",
        "They all look fine to me, so for the series:", "It boots, then the whole series:",
    ):  # fmt: skip
        wide = [(rb, "series-reply"), (tb, "series-reply")]
        for gap in ("", "\n", "\n\n"):  # blank lines between the line and its trailers
            series = _two_patches(f"> Raise the maximum.\n\nLooks right.\n\n{above}\n{gap}{rb}\n{tb}\n", rita)
            assert _given(series) == [wide, wide], (above, gap)
        assert rb + "\n" + tb in patch_message(series.revision.patches[1])
    # replying to patch 2 gives them to patch 1 as well, and so does a reply in patch 2's subthread
    series = _two_patches(f"Series:\n{rb}\n", rita, to="p2@x")
    assert _given(series) == [[(rb, "series-reply")]] * 2
    question = _reply("Why 12?\n", AUTHOR, msgid="q@x", parent="p2@x")
    answer = _reply(
        f"> Why 12?\n\nFine then.\n\nBTW, entire series:\n{rb}\n", rita, msgid="a@x", parent="q@x"
    )
    series = _two_patches("Thanks.\n", "Someone Else <se@x.org>", to="c@x", more=(question, answer))
    assert _given(series) == [[(rb, "series-reply")]] * 2


def test_trailers_not_right_under_a_series_line_stay_the_patchs() -> None:
    rb = "Reviewed-by: Rita Reviewer <rr@x.org>"
    for body in (
        f"Nice series.\n{rb}\n",  # prose
        f"Thanks for the series:\n{rb}\n",
        f"A few comments on the series:\n{rb}\n",  # on it, not for it
        f"Good, so much for the series.\n{rb}\n",  # no colon after prose
        f"For the series:\nI would rather see the helper split out.\n{rb}\n",
        f"For the series:\n\nI would rather see the helper split out.\n\n{rb}\n",  # prose between
        f"Reviewed-by for the series: see below\n{rb}\n",
        f"Add a note to the series:\n{rb}\n",  # a verb with its own object: prose
        f"Could you add a note on the series:\n{rb}\n",
        f"I would not apply the whole series:\n{rb}\n",
    ):
        series = _two_patches(body, "Rita Reviewer <rr@x.org>")
        assert _given(series) == [[(rb, "reply")], []], body
    # a blank line after the series line's run ends it: a later run is the patch's again
    tb = "Tested-by: Rita Reviewer <rr@x.org>"
    series = _two_patches(f"For the series:\n{rb}\n\n{tb}\n", "Rita Reviewer <rr@x.org>")
    assert _given(series) == [[(tb, "reply"), (rb, "series-reply")], [(rb, "series-reply")]]
    # a reference under the line is still the patch's own; a reply to the cover spreads as before
    series = _two_patches('Series:\nFixes: 0123456789ab ("lamp: add")\n', "Rita Reviewer <rr@x.org>")
    assert _given(series) == [[('Fixes: 0123456789ab ("lamp: add")', "reply")], []]
    series = _two_patches(f"Series:\n{rb}\n", "Rita Reviewer <rr@x.org>", to="c@x")
    assert _given(series) == [[(rb, "cover-reply")]] * 2


def test_a_series_line_does_not_spare_a_trailer_its_sender_check() -> None:
    series = _two_patches("Series:\nReviewed-by: Rita Reviewer <rr@x.org>\n", "Someone Else <se@x.org>")
    assert _given(series) == [[], []]
    assert len(_mismatches(series)) == 1


def test_restated_trailers_are_not_flagged() -> None:
    body = (
        "> Raise the maximum.\n\nThe patch says:\n"
        f"    Signed-off-by: {AUTHOR}\n    Reviewed-by: Earlier Person <early@x.org>\n\n"
        "Reviewed-by: Real Reviewer <real@x.org>\n"
    )
    series = _thread(body, "Real Reviewer <real@x.org>")
    assert _applied(series) == ["Reviewed-by: Real Reviewer <real@x.org>"]
    assert _mismatches(series) == []


def test_link_closes_fixes_from_a_reply_follow_reported_by() -> None:
    body = "Reported-by: Bug Finder <bug@x.org>\nCloses: https://gitlab.example.org/q/-/issues/42\n"
    series = _thread(body, "Bug Finder <bug@x.org>")
    assert _applied(series) == [
        "Reported-by: Bug Finder <bug@x.org>",
        "Closes: https://gitlab.example.org/q/-/issues/42",
    ]


def test_resolves_from_a_reply_is_collected_as_fixes_is() -> None:
    # a real reply: the maintainer quotes the message and writes under it the two references he
    # wants; the merged commit kept the Resolves:
    body = '> Avoid the indirect offset.\n\nResolves: CID 1642869\nFixes: 0123456789ab ("lamp: add max")\n'
    series = _thread(body, "Main Tainer <mt@x.org>")
    assert _applied(series) == ["Resolves: CID 1642869", 'Fixes: 0123456789ab ("lamp: add max")']


def test_cover_letter_without_0_n_is_found_by_thread_shape() -> None:
    cover = _mail("c@x", AUTHOR, "[PATCH] lamp: brightness rework", "This series reworks the lamp.\n")
    p1 = _mail("p1@x", AUTHOR, "[PATCH 1/2] lamp: raise max", _patch_body(), "c@x")
    p2 = _mail("p2@x", AUTHOR, "[PATCH 2/2] lamp: raise max again", _patch_body("Again."), "c@x")
    review = _mail(
        "r@x",
        "Rev Iewer <rev@x.org>",
        "Re: [PATCH] lamp: brightness rework",
        "Reviewed-by: Rev Iewer <rev@x.org>\n",
        "c@x",
    )
    series = _series(cover, p1, p2, review)
    assert series.revision.cover is not None and series.revision.cover.msgid == "c@x"
    for patch in series.revision.patches:
        assert [t.value for t in patch.review_trailers] == ["Rev Iewer <rev@x.org>"]


def test_trailer_reader_follows_git_interpret_trailers() -> None:
    message = "Title body.\n\nsigned-off-by: A <a@x>\nREVIEWED-BY: Long\n  Name <l@x>\n\nAcked-by: C <c@x>\n"
    keys = [(t.key, t.value) for t in commit_trailers(message)]
    assert keys == [("Signed-off-by", "A <a@x>"), ("Reviewed-by", "Long Name <l@x>"), ("Acked-by", "C <c@x>")]


def test_stripped_blank_context_line_parses() -> None:
    series = _series(_mail("p1@x", AUTHOR, "[PATCH] lamp: raise max", _patch_body()))
    (change,) = series.revision.patches[0].summary.files
    assert (change.added, change.removed) == (1, 1)


def test_unrecognised_hunk_header_is_an_error_naming_the_line() -> None:
    broken = DIFF + "@@ -20,3 +20,3 @ int lamp_off(void)\n int x;\n-int y;\n+int z;\n"
    body = f"Raise the maximum.\n\nSigned-off-by: {AUTHOR}\n---\n{broken}-- \n2.47.0\n"
    with pytest.raises(InputError, match=r"mangled diff at line 15: '@@ -20,3 \+20,3 @ int lamp_off"):
        _series(_mail("p1@x", AUTHOR, "[PATCH] lamp: raise max", body))


def _binary(name: str) -> str:
    return (
        f"diff --git a/{name} b/{name}\nnew file mode 100644\nindex 0000000..e69de29\n"
        "GIT binary patch\nliteral 4\nLcmZ?wbNL1T0Qmp|\n\nliteral 0\nHcmV?d00001\n\n"
    )


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_binary_patch_anywhere_in_the_diff(where: str) -> None:
    other = DIFF.replace("lamp", "bulb")
    parts = {"first": _binary("fw.bin") + DIFF, "middle": DIFF + _binary("fw.bin") + other,
             "last": DIFF + _binary("fw.bin")}[where]  # fmt: skip
    body = f"Firmware update.\n\nSigned-off-by: {AUTHOR}\n---\n{parts}-- \n2.47.0\n"
    patch = _series(_mail("p1@x", AUTHOR, "[PATCH] roms: update", body)).revision.patches[0]
    files = {f.path: f.binary for f in patch.summary.files}
    assert files["fw.bin"] is True and files["hw/lamp.c"] is False
    assert patch.diff.rstrip("\n") == parts.rstrip("\n")


def test_whitespace_before_the_first_mail_is_skipped() -> None:
    raw = b"  \n\t\n\n" + _mail("p1@x", AUTHOR, "[PATCH] lamp: raise max", _patch_body()).encode()
    assert len(split_mbox(raw)) == 1


def test_in_body_subject_reaches_the_written_mbox() -> None:
    body = "Subject: [PATCH] lamp: the real title\n\n" + _patch_body()
    patch = _series(_mail("p1@x", AUTHOR, "[PATCH] lamp: placeholder", body)).revision.patches[0]
    assert patch.title == "lamp: the real title"
    assert b"\nSubject: lamp: the real title\n" in patch_mail(patch)


def test_commit_message_is_cleaned_as_git_am_does() -> None:
    body = (
        "Trailing spaces.   \n\n\n\nA lone\rcarriage return stays.\n\nSigned-off-by: "
        + AUTHOR
        + "\n---\n"
        + DIFF
    )
    patch = _series(_mail("p1@x", AUTHOR, "[PATCH] lamp: tidy", body)).revision.patches[0]
    assert patch_message(patch) == (
        "lamp: tidy\n\nTrailing spaces.\n\nA lone\rcarriage return stays.\n\nSigned-off-by: " + AUTHOR + "\n"
    )


def test_stripped_blank_context_line_at_the_end_of_a_hunk() -> None:
    diff = DIFF.replace("@@ -1,4 +1,4 @@", "@@ -1,3 +1,3 @@").replace("\n int lamp_min;\n", "\n")
    body = f"Raise the maximum.\n\nSigned-off-by: {AUTHOR}\n---\n{diff}\n-- \n2.47.0\n"
    patch = _series(_mail("p1@x", AUTHOR, "[PATCH] lamp: raise max", body)).revision.patches[0]
    (change,) = patch.summary.files
    assert (change.added, change.removed, change.hunks[0].old_lines) == (1, 1, 3)
    assert patch.diff.endswith("+int lamp_max = 12;\n\n")  # git apply gets the whole hunk


_ADA = "Ada Lovelace <ada@x.org>"
_RAISE = "lamp: raise max"
_MIN_DIFF = DIFF.replace("-int lamp_max = 10;\n+int lamp_max = 12;", " int lamp_max = 10;").replace(
    "\n int lamp_min;\n", "\n-int lamp_min;\n+int lamp_min = 1;\n"
)


@pytest.mark.parametrize(
    ("v1_body", "v1_sender", "v1_parent", "v2_title", "v2_max", "applied"),
    [
        # Ada's own Reviewed-by on v1 of the same patch: the relay is true, and applied
        (f"Reviewed-by: {_ADA}\n", _ADA, "p1@x", _RAISE, "12", True),
        # ... or on v1's cover letter, for the whole series
        (f"Reviewed-by: {_ADA}\n", _ADA, "c1@x", _RAISE, "12", True),
        # ... or on v1 of the same patch, retitled in v2 (the same change: patch-id), or
        # retitled and changed (most of its changed lines shared)
        (f"Reviewed-by: {_ADA}\n", _ADA, "p1@x", "lamp: allow a brighter maximum", "12", True),
        (f"Reviewed-by: {_ADA}\n", _ADA, "p1@x", "lamp: allow a brighter maximum", "14", True),
        # on v1's other patch (another change, another title), or a different tag, or none
        (f"Reviewed-by: {_ADA}\n", _ADA, "p1b@x", _RAISE, "12", False),
        (f"Reviewed-by: {_ADA}\n", _ADA, "p1b@x", "lamp: allow a brighter maximum", "12", False),
        (f"Acked-by: {_ADA}\n", _ADA, "p1@x", _RAISE, "12", False),
        ("Looks right.\n", _ADA, "p1@x", _RAISE, "12", False),
        # on v1 too it came from someone else: nobody has it from Ada herself
        (f"Per IRC:\nReviewed-by: {_ADA}\n", "Carl Relay <carl@x.org>", "p1@x", _RAISE, "12", False),
    ],
)
def test_a_relayed_tag_is_applied_when_the_thread_has_it_from_its_person_on_an_earlier_revision(
    v1_body: str, v1_sender: str, v1_parent: str, v2_title: str, v2_max: str, applied: bool
) -> None:
    # the real v2 thread behind the test above: v1 is in the thread (patchew gives every
    # revision), and the colleague's Reviewed-by is there in her own reply to v1's same patch;
    # v1 had a second patch, which v2 dropped
    min_body = f"Lower the minimum.\n\nSigned-off-by: {AUTHOR}\n---\n{_MIN_DIFF}-- \n2.47.0\n"
    v1 = [
        _mail("c1@x", AUTHOR, "[PATCH 0/2] lamp", "A lamp fix.\n"),
        _mail("p1@x", AUTHOR, "[PATCH 1/2] lamp: raise max", _patch_body(), "c1@x"),
        _mail("p1b@x", AUTHOR, "[PATCH 2/2] lamp: lower min", min_body, "c1@x"),
        _mail("r1@x", v1_sender, "Re: [PATCH 1/2] lamp: raise max", v1_body, v1_parent),
    ]
    v2_body = _patch_body().replace("lamp_max = 12;", f"lamp_max = {v2_max};")
    v2 = [
        _mail("c2@x", AUTHOR, "[PATCH v2 0/1] lamp", "A lamp fix, v2.\n"),
        _mail("p2@x", AUTHOR, f"[PATCH v2 1/1] {v2_title}", v2_body, "c2@x"),
        _mail("r2@x", "Bob Queue <bob@x.org>", f"Re: [PATCH v2 1/1] {v2_title}", _KEEP, "p2@x"),
    ]
    series = _series(*v1, *v2)
    assert series.revision.number == 2
    assert f"lamp_max = {v2_max};" in series.revision.patches[0].diff
    bob, ada = "Reviewed-by: Bob Queue <bob@x.org>", "Reviewed-by: Ada Lovelace <ada@x.org>"
    assert _applied(series) == ([bob, ada] if applied else [bob])
    relayed = [f for f in series.findings if f.code.startswith("trailer-")]
    assert [(f.code, f.severity) for f in relayed] == [("trailer-relayed", "info")]
    said = "applied: Ada Lovelace <ada@x.org> gave it on v1 (<r1@x>)" if applied else "not applied"
    assert said in relayed[0].message
