"""Each review check fires on the mistake it looks for and stays quiet on a correct series."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from patchtool.models import Address, DiffstatLine, Finding, FunctionChange, Patch, Trailer
from patchtool.parse.ccalls import compatible_types
from patchtool.parse.cwhole import refine
from patchtool.parse.diffs import summarize_diff
from patchtool.review.checks import (
    check_commit_refs,
    check_diffstat,
    check_signoffs,
    check_trailer_form,
    commit_references,
    run_checks,
)
from patchtool.vcs.repo import GitRepo
from tests.plugins.gitutil import git, make_repo
from tests.plugins.reportkit import (
    DIRTYLIMIT,
    KVM_ALL,
    KVM_H,
    KVM_STUB,
    diff_after,
    make_patch,
    make_series,
)

SOB_ADA = "Signed-off-by: Ada Lovelace <ada@example.org>"
SOB_BOB = "Signed-off-by: Bob Byte <bob@example.org>"
ONE_LINE_DIFF = """diff --git a/README b/README
index 1111111..2222222 100644
--- a/README
+++ b/README
@@ -1 +1 @@
-hello
+hello, world
"""


def codes(findings: list[Finding] | tuple[Finding, ...]) -> list[str]:
    return [f.code for f in findings]


def msg(*trailers: str) -> str:
    return "Explain the change.\n\n" + "\n".join(trailers) + "\n"


# ---- DCO / trailer order ----------------------------------------------------------------------


def test_author_signoff_missing_fires() -> None:
    found = check_signoffs(
        make_patch(ONE_LINE_DIFF, message=msg(SOB_BOB), sender=Address("Bob Byte", "bob@example.org"))
    )
    assert codes(found) == ["dco-missing-author-signoff"]
    assert found[0].patch == "1/1" and "Ada Lovelace" in found[0].message


def test_author_signoff_present_is_quiet() -> None:
    assert check_signoffs(make_patch(ONE_LINE_DIFF, message=msg(SOB_ADA))) == []


def test_codeveloped_without_signoff_fires() -> None:
    m = msg("Co-developed-by: Bob Byte <bob@example.org>", SOB_ADA)
    assert codes(check_signoffs(make_patch(ONE_LINE_DIFF, message=m))) == ["codev-without-signoff"]


def test_codeveloped_followed_by_signoff_is_quiet() -> None:
    m = msg("Co-developed-by: Bob Byte <bob@example.org>", SOB_BOB, SOB_ADA)
    assert check_signoffs(make_patch(ONE_LINE_DIFF, message=m)) == []


def test_signoff_before_author_without_codev_fires() -> None:
    # Seed 003's shape: another person's sign-off precedes the author's, with no Co-developed-by.
    found = check_signoffs(make_patch(ONE_LINE_DIFF, message=msg(SOB_BOB, SOB_ADA)))
    assert codes(found) == ["signoff-without-codev"]
    assert "bob@example.org" in found[0].message


def test_handler_signoff_after_author_is_quiet() -> None:
    sender = Address("Bob Byte", "bob@example.org")
    assert check_signoffs(make_patch(ONE_LINE_DIFF, message=msg(SOB_ADA, SOB_BOB), sender=sender)) == []


def test_sender_signoff_not_last_fires() -> None:
    sender = Address("Bob Byte", "bob@example.org")
    found = check_signoffs(make_patch(ONE_LINE_DIFF, message=msg(SOB_BOB, SOB_ADA), sender=sender))
    assert "sender-signoff-not-last" in codes(found)


def test_signoff_above_a_blank_line_split_block_counts() -> None:
    # A maintainer tool appends Reviewed-by/Tested-by after a blank line under the author's sign-off.
    m = "Explain the change.\n\n" + SOB_ADA + "\n\nReviewed-by: Rita Viewer <rita@example.org>\n"
    assert check_signoffs(make_patch(ONE_LINE_DIFF, message=m)) == []


def test_signoff_above_a_notes_block_left_in_the_message_is_no_dco_error() -> None:
    # A "--" (not "---") line kept the changelog in the message; the author signed off above it.
    m = f"Explain.\n\n{SOB_ADA}\n\n--\nChanges in v2:\n- fixed\n\n{SOB_BOB}\n"
    found = check_signoffs(make_patch(ONE_LINE_DIFF, message=m))
    assert codes(found) == ["signoff-outside-trailers"] and found[0].severity == "info"


def test_a_signoff_below_the_cut_is_missing_and_says_where_it_went() -> None:
    # A real v2: a '---' line in a quoted tool's output ended the message; everything after it,
    # the author's sign-off too, went to the notes, which git am drops (the maintainer restored
    # them by hand). The commit lacks the sign-off: still the error, now with where it is.
    notes = "Signed-off-by: Bob Byte <bob@example.org>\n---\nChanges in v2:\n- more\n\n" + SOB_ADA
    found = check_signoffs(make_patch(ONE_LINE_DIFF, message="Explain.\n\n```\n$ tool\n", notes=notes))
    assert codes(found) == ["dco-missing-author-signoff"] and found[0].severity == "error"
    said = "git am ends it at its first '---' line, and theirs is among the 6 lines below, which the"
    assert said in found[0].message
    # someone else's sign-off there is no excuse: plain missing
    other = check_signoffs(make_patch(ONE_LINE_DIFF, message="Explain.\n", notes=SOB_BOB))
    assert [f.message for f in other] == ["no Signed-off-by from the author Ada Lovelace <ada@example.org>"]


def test_the_authors_misspelt_signoff_is_a_note_not_a_missing_one() -> None:
    # sample AJ: "Signed-off-by Name <addr>" with no colon, merged so (9 misspelt sign-off keys on
    # master since 2015): the certificate is given, its form is wrong (a key's case is no error).
    # Someone else's misspelt sign-off, or none, is still a missing one.
    for key in ("Signed-off-by", "Signed-of-by:", "Signed off by:"):
        m = f"Explain.\n\n{key} Ada Lovelace <ada@example.org>\n"
        found = check_signoffs(make_patch(ONE_LINE_DIFF, message=m))
        assert codes(found) == ["signoff-malformed"] and found[0].severity == "info", key
        assert repr(key) in found[0].message
    for m in ("Explain.\n\nSigned-off-by Bob Byte <bob@example.org>\n", "Explain.\n"):
        found = check_signoffs(make_patch(ONE_LINE_DIFF, message=m))
        assert codes(found) == ["dco-missing-author-signoff"] and found[0].severity == "error"


def test_list_rewritten_from_still_names_the_author() -> None:
    # A list that rewrites From: for DMARC sends "Name via <list address>".
    author = Address("Ada Lovelace via", "qemu-devel@nongnu.org")
    assert check_signoffs(make_patch(ONE_LINE_DIFF, message=msg(SOB_ADA), author=author)) == []


def test_an_author_named_by_an_address_signs_off_under_the_name_it_spells() -> None:
    # A mail client that puts the address in the name: "ada.lovelace@mail.example" <same>, and the
    # sign-off of Ada Lovelace at her employer's address. A local part that spells another name
    # still lacks the author's sign-off.
    author = Address("ada.lovelace@mail.example", "ada.lovelace@mail.example")
    assert check_signoffs(make_patch(ONE_LINE_DIFF, message=msg(SOB_ADA), author=author)) == []
    other = Address("bob.byte@mail.example", "bob.byte@mail.example")
    found = check_signoffs(make_patch(ONE_LINE_DIFF, message=msg(SOB_ADA), author=other))
    assert codes(found) == ["dco-missing-author-signoff"]


@pytest.mark.parametrize(
    ("name", "signed"),
    [
        ("ada.lovelace via", True),
        ("ada_lovelace via", True),
        ("bob.byte via", False),
        ("A.Lovelace", False),
        ("adele.leve--- via", True),  # dashes padding the local part, a name with accents
        ("adele.leves via", False),
    ],
)
def test_a_list_rewritten_from_naming_the_author_by_a_local_part(name: str, signed: bool) -> None:
    # The list rewrote From: to "ada.lovelace via <list>" (the sender's client gave no name, so the
    # list put the local part): Ada Lovelace's sign-off is the author's (real sample R). A local part
    # spelling another name, or a one-word name that is not hers, still lacks it. A local part holds
    # no accents: "frederic.petrot--- via" is Frédéric Pétrot (a real one, sample AY)
    adele = "Signed-off-by: Adèle Lévê <al@example.org>"
    sob = SOB_ADA if "lovelace" in name.casefold() or "bob" in name else adele
    author = Address(name, "qemu-devel@nongnu.org")
    found = check_signoffs(make_patch(ONE_LINE_DIFF, message=msg(sob), author=author))
    assert codes(found) == ([] if signed else ["dco-missing-author-signoff"])


def test_format_patch_input_has_no_sender_check() -> None:
    # Without send-email, From: is the author: a handler's sign-off after the author's is fine.
    m = msg(SOB_ADA, SOB_BOB)
    assert check_signoffs(make_patch(ONE_LINE_DIFF, message=m, sender=None)) == []


def test_sender_same_as_author_has_no_sender_check() -> None:
    m = msg(SOB_ADA, SOB_BOB)
    sender = Address("Ada L.", "ada@example.org")
    assert check_signoffs(make_patch(ONE_LINE_DIFF, message=m, sender=sender)) == []


# ---- trailer form -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "Reviewed by: Rita Viewer <rita@example.org>",
        "Signed-off-by:Ada Lovelace <ada@example.org>",
        "Acked-by: Rita Viewer",
        "Fixes: 43a5e377f4 kvm: make the reaper init void",
        "Fixes: the CID leak",
        "Fixes: Coverity",
        "Tested-by:",
        "Reported-by: rita@example.org",
        "Tested-by: rita at example.org",
        "Signed-off-by: rita@example.org",
    ],
)
def test_malformed_trailer_fires(line: str) -> None:
    found = check_trailer_form(make_patch(ONE_LINE_DIFF, message=msg(line, SOB_ADA)))
    assert codes(found) == ["trailer-malformed"], line
    # forms QEMU merges anyway are notes (a Fixes: without the quoted subject, a person given by
    # a bare address); other broken person trailers are warnings, a sign-off by a bare address too
    merged_anyway = line.startswith("Fixes") or line == "Reported-by: rita@example.org"
    assert found[0].severity == ("info" if merged_anyway else "warning")


ISSUE = "https://gitlab.com/qemu-project/qemu/-/issues/2981"


@pytest.mark.parametrize(
    ("lines", "severity"),
    [
        # a reporter known from the gitlab issue the patch resolves (real sample Y; upstream merges it)
        (("Reported-by: Rita Viewer", f"Resolves: {ISSUE}"), "info"),
        (("Reported-by: Rita Viewer", "Buglink: https://bugs.launchpad.net/qemu/+bug/1926277"), "info"),
        (("Reported-by: Coverity (CID 1523901)",), "info"),
        (("Reported-by: Clang Static Analyzer",), "info"),
        (("Reported-by: OSS-Fuzz (Issue 26725)",), "info"),
        (("Reported-by: GitLab CI",), "info"),
        # a person with no tracker to find them by: the address is missing (a given name that
        # spells "ci" is no CI)
        (("Reported-by: Rita Viewer",), "warning"),
        (("Reported-by: Ci Viewer",), "warning"),
        (("Reported-by: Rita Viewer", "Link: https://lore.example.org/r/1@example.org"), "warning"),
        # a tracker link excuses only a reporter, never someone who reviewed or tested
        (("Tested-by: Rita Viewer", f"Resolves: {ISSUE}"), "warning"),
        (("Reported by: Rita Viewer", f"Resolves: {ISSUE}"), "warning"),
    ],
)
def test_reporter_without_address_from_a_tracker_or_a_tool_is_a_note(
    lines: tuple[str, ...], severity: str
) -> None:
    found = check_trailer_form(make_patch(ONE_LINE_DIFF, message=msg(*lines, SOB_ADA)))
    assert [(f.code, f.severity) for f in found] == [("trailer-malformed", severity)], lines


def test_well_formed_trailers_are_quiet() -> None:
    m = msg(
        'Fixes: 43a5e377f4aa ("kvm: make the reaper init void")',
        "Link: https://lore.example.org/r/1@example.org",
        "Reviewed-by: Rita Viewer <rita@example.org>",
        "Message-ID: <1@example.org>",
        SOB_ADA,
    )
    assert check_trailer_form(make_patch(ONE_LINE_DIFF, message=m)) == []


@pytest.mark.parametrize(
    "line",
    [
        "cc: qemu-stable@nongnu.org",
        "Signed-Off-By: Bob Byte <bob@example.org>",
        "Fixes: https://gitlab.com/qemu-project/qemu/-/issues/1234",
        "Resolves: https://gitlab.com/qemu-project/qemu/-/issues/1234",
        'Fixes: 43a5e377f4 ("kvm: make the reaper init void")',
        # a static-analysis report, as QEMU writes it (187 of master's Fixes: lines)
        "Fixes: Coverity CID 1558831",
        "Fixes: CID 1593154",
        "Fixes: Coverity CID 1644186, 1644187",
        "Fixes: Coverity CID 1523901 (RESOURCE_LEAK)",
    ],
)
def test_qemu_conventions_are_quiet(line: str) -> None:
    # QEMU writes Fixes:/Resolves: with a gitlab issue URL; a case nit is nothing a reviewer asks for.
    assert check_trailer_form(make_patch(ONE_LINE_DIFF, message=msg(line, SOB_ADA))) == []


def test_prose_with_colon_is_not_a_trailer() -> None:
    m = "Explain.\n\nNote: this is prose, not a trailer.\n" + SOB_ADA + "\n"
    assert check_trailer_form(make_patch(ONE_LINE_DIFF, message=m)) == []


# ---- commit references ------------------------------------------------------------------------


def test_commit_references_are_found_across_line_breaks() -> None:
    text = 'returns int again (was made void in\ncommit 43a5e377f4) and\nFixes: 0123456789ab ("a b")\n'
    assert commit_references(text) == [("0123456789ab", "a b"), ("43a5e377f4", None)]


def test_unknown_commit_reference_fires(kvm_repo: Path) -> None:
    m = "Was made void in commit 43a5e377f4 by mistake.\n\n" + SOB_ADA + "\n"
    found = check_commit_refs(make_patch(ONE_LINE_DIFF, message=m), GitRepo(kvm_repo))
    assert codes(found) == ["commit-ref-unknown"] and "43a5e377f4" in found[0].message
    assert found[0].severity == "info"  # prose may cite another project's commit (Linux's)
    m = 'Broken since.\n\nFixes: 43a5e377f4aa ("kvm: x")\n' + SOB_ADA + "\n"
    found = check_commit_refs(make_patch(ONE_LINE_DIFF, message=m), GitRepo(kvm_repo))
    assert [(f.code, f.severity) for f in found] == [("commit-ref-unknown", "warning")]


def test_a_commit_the_message_names_as_another_projects_is_not_looked_for(kvm_repo: Path) -> None:
    # a real series cites "Linux commit b376108e1f88": not QEMU's history, nothing to say of it
    for prose in (
        "(Linux commit 43a5e377f4",
        "the kernel\ncommit 43a5e377f4",
        "edk2 upstream commit 43a5e377f4",
    ):
        m = f"Match {prose} here.\n\n" + SOB_ADA + "\n"
        assert check_commit_refs(make_patch(ONE_LINE_DIFF, message=m), GitRepo(kvm_repo)) == [], prose
    # one named so and another not: the other is still looked for
    m = "Like Linux commit 43a5e377f4 and commit 0123456789ab.\n\n" + SOB_ADA + "\n"
    found = check_commit_refs(make_patch(ONE_LINE_DIFF, message=m), GitRepo(kvm_repo))
    assert [f.message for f in found] == ["commit 0123456789ab cited in the message is not in the repository"]


@pytest.mark.parametrize(
    ("quoted", "severity"),
    [
        ("kvm: some other subject", "warning"),
        ("kvm: initial", "warning"),
        ("initial tree", "info"),  # the subsystem prefix left out: still that commit
        ("kvm : initial tree", "info"),
        ("kvm: initial tree.", "info"),
        ("kvm: Initial() tree", "info"),
        ('"kvm: initial tree', "info"),  # `(""kvm: ...")`: a quote mark typed twice
        ("accel/kvm: initial tree", "info"),  # the prefix as the directory is named now
        ("kvm: initial trees", "warning"),
        ("tree", "warning"),  # a tail that is not what follows a prefix
        ("kvm: initial tre", "warning"),  # cut short, but two words are not enough to name it
    ],
)
def test_wrong_quoted_subject_fires(kvm_repo: Path, quoted: str, severity: str) -> None:
    _quoted_subject_is(kvm_repo, quoted, severity)


@pytest.mark.parametrize(
    ("quoted", "severity"),
    [
        ("kvm: initial tree with its first", "info"),  # a long subject cut short
        ("kvm: Initial tree with its fir", "info"),
        ("kvm: initial tree with ...", "info"),
        ("kvm: initial tree with its last", "warning"),
        ("kvm: initial tree ... wires", "warning"),  # an ellipsis inside is not a cut end
    ],
)
def test_a_long_subject_cut_short_is_still_that_commit(kvm_repo: Path, quoted: str, severity: str) -> None:
    git(kvm_repo, "commit", "-q", "--amend", "-m", "kvm: initial tree with its first devices and buses")
    _quoted_subject_is(kvm_repo, quoted, severity, actual="kvm: initial tree with its first devices")


@pytest.mark.parametrize(
    ("quoted", "severity"),
    [
        ("Add KVM halt handler", "info"),  # the same words, the prefix's among them
        ("kvm: halt handler for vCPUs", "info"),
        ("kvm: initial tree ... devices", "info"),  # words left out for an ellipsis
        ("Add a halt handler for guest CPUs", "info"),  # one plain word of five changed
        ("Add a halt handler for guest vCPU2", "warning"),  # a word with a digit names a thing
        ("Add FEAT_HLT handler for guest vCPUs", "warning"),
        ("Add wait handler", "warning"),  # one word of three changed: another commit, maybe
        ("halt handler", "warning"),  # two words are not enough to tell
    ],
)
def test_a_quote_in_other_words_is_a_note(kvm_repo: Path, quoted: str, severity: str) -> None:
    subject = (
        "kvm: initial tree with its first devices"
        if "devices" in quoted
        else "kvm: add a halt handler for guest vCPUs"
    )
    git(kvm_repo, "commit", "-q", "--amend", "-m", subject)
    _quoted_subject_is(kvm_repo, quoted, severity, actual=subject)
    found = check_commit_refs(_fixes_head(kvm_repo, quoted), GitRepo(kvm_repo))
    assert ("put another way" in found[0].message) == (severity == "info")


def test_a_quote_of_another_commits_subject_names_that_commit(kvm_repo: Path) -> None:
    git(kvm_repo, "commit", "-q", "--amend", "-m", "kvm: add a halt handler for guest vCPUs")
    cited = git(kvm_repo, "rev-parse", "--short=12", "HEAD").strip()
    (kvm_repo / "halt.c").write_text("int halt;\n")
    git(kvm_repo, "add", "halt.c")
    git(kvm_repo, "commit", "-q", "-m", "kvm: Add a halt handler for guest CPUs")
    other = git(kvm_repo, "rev-parse", "HEAD").strip()
    # in words close enough to pass for the cited commit's, but another commit's subject: wrong hash
    m = f'Broken since\n\nFixes: {cited} ("kvm: add a halt handler for guest CPUs")\n{SOB_ADA}\n'
    found = check_commit_refs(make_patch(ONE_LINE_DIFF, message=m), GitRepo(kvm_repo))
    assert [(f.code, f.severity) for f in found] == [("commit-ref-subject", "warning")]
    assert found[0].message.endswith(f"that is the subject of commit {other[:12]}")
    m = f'Broken since\n\nFixes: {cited} ("Add halt handler for guest vCPUs")\n{SOB_ADA}\n'
    assert check_commit_refs(make_patch(ONE_LINE_DIFF, message=m), GitRepo(kvm_repo))[0].severity == "info"
    m = f'Broken since\n\nFixes: {other[:12]} ("kvm: Add a halt handler for guest CPUs")\n{SOB_ADA}\n'
    assert check_commit_refs(make_patch(ONE_LINE_DIFF, message=m), GitRepo(kvm_repo)) == []


def _fixes_head(kvm_repo: Path, quoted: str) -> Patch:
    sha = git(kvm_repo, "rev-parse", "--short=12", "HEAD").strip()
    return make_patch(ONE_LINE_DIFF, message=f'Broken since\n\nFixes: {sha} ("{quoted}")\n{SOB_ADA}\n')


def _quoted_subject_is(kvm_repo: Path, quoted: str, severity: str, actual: str = "kvm: initial tree") -> None:
    sha = git(kvm_repo, "rev-parse", "--short=12", "HEAD").strip()
    m = f'Broken since\n\nFixes: {sha} ("{quoted}")\n{SOB_ADA}\n'
    found = check_commit_refs(make_patch(ONE_LINE_DIFF, message=m), GitRepo(kvm_repo))
    assert codes(found) == ["commit-ref-subject"] and actual in found[0].message
    assert found[0].severity == severity


def test_existing_commit_with_matching_subject_is_quiet(kvm_repo: Path) -> None:
    sha = git(kvm_repo, "rev-parse", "--short=12", "HEAD").strip()
    m = f'As in commit {sha} ("kvm: initial tree").\n\nFixes: {sha} ("kvm: initial tree")\n{SOB_ADA}\n'
    assert check_commit_refs(make_patch(ONE_LINE_DIFF, message=m), GitRepo(kvm_repo)) == []


def test_a_subject_in_bare_parentheses_is_read() -> None:
    # QEMU's master writes a Fixes: subject without quotes, or in other quote marks, about one time
    # in twelve; prose keeps needing quotes (a parenthesis there is anything)
    text = (
        "Fixes: 0123456789ab (hw/x: Fix y() and z)\n"
        "Fixes: 123456789abc ('hw/x: single')\n"
        "Fixes: 23456789abcd (\u201chw/x: curly\u201d)\n"
        "Fixes: 3456789abcde\n"
        "as commit 456789abcdef (the second) did\n"
    )
    assert commit_references(text) == [
        ("0123456789ab", "hw/x: Fix y() and z"),
        ("123456789abc", "hw/x: single"),
        ("23456789abcd", "hw/x: curly"),
        ("3456789abcde", None),
        ("456789abcdef", None),
    ]


def test_a_bare_subject_is_checked_like_a_quoted_one(kvm_repo: Path) -> None:
    sha = git(kvm_repo, "rev-parse", "--short=12", "HEAD").strip()
    m = f"Broken since\n\nFixes: {sha} (kvm: initial tree)\n{SOB_ADA}\n"
    assert check_commit_refs(make_patch(ONE_LINE_DIFF, message=m), GitRepo(kvm_repo)) == []
    m = f"Broken since\n\nFixes: {sha} (kvm: some other subject)\n{SOB_ADA}\n"
    found = check_commit_refs(make_patch(ONE_LINE_DIFF, message=m), GitRepo(kvm_repo))
    assert [(f.code, f.severity) for f in found] == [("commit-ref-subject", "warning")]


def test_an_unknown_hash_whose_subject_is_ours_names_the_commit(kvm_repo: Path) -> None:
    # a hash from before the cited commit was rebased, merged that way (master: 20 since 2019)
    sha = git(kvm_repo, "rev-parse", "HEAD").strip()
    wrong = "43a5e377f4aa"
    for line, severity in (
        (f'Fixes: {wrong} ("kvm: initial tree")', "warning"),
        (f"Fixes: {wrong} (kvm: initial tree)", "warning"),
        (f'Since commit {wrong} ("kvm: initial tree") it fails.', "warning"),  # prose too: it is ours
    ):
        m = f"Broken since\n\n{line}\n{SOB_ADA}\n"
        found = check_commit_refs(make_patch(ONE_LINE_DIFF, message=m), GitRepo(kvm_repo))
        assert [(f.code, f.severity) for f in found] == [("commit-ref-unknown", severity)], line
        assert found[0].message == (
            f"commit {wrong} cited in the message is not in the repository; "
            f"its subject is that of commit {sha[:12]}"
        )
    # a subject that is no commit of ours says nothing more, and prose stays a note
    m = f'Broken since\n\nSince commit {wrong} ("kvm: no such thing") it fails.\n{SOB_ADA}\n'
    found = check_commit_refs(make_patch(ONE_LINE_DIFF, message=m), GitRepo(kvm_repo))
    assert [(f.severity, f.message) for f in found] == [
        ("info", f"commit {wrong} cited in the message is not in the repository")
    ]


# ---- diffstat ---------------------------------------------------------------------------------


def test_diffstat_mismatch_fires() -> None:
    found = check_diffstat(make_patch(ONE_LINE_DIFF, diffstat=[DiffstatLine("README", 7)]))
    assert codes(found) == ["diffstat-mismatch"] and found[0].file == "README"
    found = check_diffstat(make_patch(ONE_LINE_DIFF, diffstat=[DiffstatLine("OTHER", 2)]))
    assert sorted(f.file or "" for f in found) == ["OTHER", "README"]


RENAME_DIFF = """diff --git a/qapi/machine-target.json b/qapi/machine-s390x.json
similarity index 85%
rename from qapi/machine-target.json
rename to qapi/machine-s390x.json
index 1111111..2222222 100644
--- a/qapi/machine-target.json
+++ b/qapi/machine-s390x.json
@@ -1 +1 @@
-a
+b
"""


def test_diffstat_of_a_rename_with_a_cut_directory_is_quiet() -> None:
    # git shortens `qapi/{machine-target.json => machine-s390x.json}` from the left when it is long
    stated = DiffstatLine("...machine-target.json => machine-s390x.json}", 2)
    assert check_diffstat(make_patch(RENAME_DIFF, diffstat=[stated])) == []
    # `qapi/{old => new}/f` cut inside the braces keeps only the new side's tail
    moved = RENAME_DIFF.replace("qapi/machine-s390x.json", "tests/data/s390x/machine.json")
    stated = DiffstatLine(".../data/s390x}/machine.json", 2)
    assert check_diffstat(make_patch(moved, diffstat=[stated])) == []


def test_diffstat_names_cut_alike_are_matched_in_the_diffs_order() -> None:
    # two renames cut to the same name, with 2 and 4 changed lines: each line is its own file's
    riscv = RENAME_DIFF.replace("qapi/", "riscv/").replace("+1 @@\n-a\n+b\n", "+1,3 @@\n-a\n+b\n+c\n+d\n")
    cut = "...machine-target.json => machine-s390x.json}"
    stated = [DiffstatLine(cut, 2), DiffstatLine(cut, 4)]
    assert check_diffstat(make_patch(RENAME_DIFF + riscv, diffstat=stated)) == []
    found = check_diffstat(make_patch(RENAME_DIFF + riscv, diffstat=stated[::-1]))
    assert sorted(f.message for f in found) == [
        "diffstat says 2 changed lines in riscv/machine-s390x.json, the diff has 4",
        "diffstat says 4 changed lines in qapi/machine-s390x.json, the diff has 2",
    ]


def test_diffstat_match_is_quiet() -> None:
    assert check_diffstat(make_patch(ONE_LINE_DIFF, diffstat=[DiffstatLine("README", 2)])) == []
    assert check_diffstat(make_patch(ONE_LINE_DIFF, diffstat=[DiffstatLine(".../README", 2)])) == []


# ---- stubs ------------------------------------------------------------------------------------

KICK_DEF = "\nvoid kvm_reaper_kick(void)\n{\n    kvm_reaper_init(8);\n}\n"
KICK_PROTO = KVM_H.replace("#endif", "/* Wake the reaper. */\nvoid kvm_reaper_kick(void);\n\n#endif")


def _run(repo: Path, diff: str, **kw: object) -> tuple[Finding, ...]:
    r = GitRepo(repo)
    series = make_series([make_patch(diff)])
    return run_checks(series, repo=r, base=r.rev_parse("HEAD"), **kw).findings  # type: ignore[arg-type]


def test_missing_stub_fires(kvm_repo: Path, kvm_diff: Callable[[dict[str, str]], str]) -> None:
    diff = kvm_diff({"include/system/kvm.h": KICK_PROTO, "accel/kvm/kvm-all.c": KVM_ALL + KICK_DEF})
    found = [f for f in _run(kvm_repo, diff) if f.code == "missing-stub"]
    assert len(found) == 1
    assert (found[0].file, found[0].line) == ("include/system/kvm.h", 8)
    assert "kvm_reaper_kick" in found[0].message and "accel/stubs/kvm-stub.c" in found[0].message


def test_stub_added_is_quiet(kvm_repo: Path, kvm_diff: Callable[[dict[str, str]], str]) -> None:
    stub = KVM_STUB + "\nvoid kvm_reaper_kick(void)\n{\n}\n"
    diff = kvm_diff(
        {
            "include/system/kvm.h": KICK_PROTO,
            "accel/kvm/kvm-all.c": KVM_ALL + KICK_DEF,
            "accel/stubs/kvm-stub.c": stub,
        }
    )
    assert "missing-stub" not in codes(_run(kvm_repo, diff))


def test_stub_map_comes_from_configuration(kvm_repo: Path, kvm_diff: Callable[[dict[str, str]], str]) -> None:
    diff = kvm_diff({"include/system/kvm.h": KICK_PROTO, "accel/kvm/kvm-all.c": KVM_ALL + KICK_DEF})
    assert "missing-stub" not in codes(
        _run(kvm_repo, diff, stubs="include/system/hvf.h=accel/stubs/hvf-stub.c")
    )
    other = "include/system/hvf.h=accel/stubs/hvf-stub.c, include/system/kvm.h=accel/stubs/kvm-stub.c"
    assert "missing-stub" in codes(_run(kvm_repo, diff, stubs=other))


TOY_MESON = """toy_ss = ss.source_set()
toy_ss.add(files('cpu.c'))
toy_ss.add(when: 'CONFIG_SEV', if_true: files('sev.c'),
                               if_false: files('sev-stub.c'))
toy_ss.add(when: 'CONFIG_SGX', if_true: files('sgx.c'))
"""
TOY_KCONFIG = """config SEV
    bool
    depends on KVM && X86_64

config SGX
    bool
    depends on KVM || X86_64
"""
TOY_C = '#include "system/kvm.h"\n\nvoid toy_{0}_init(void)\n{{\n    toy_{0}_setup();\n}}\n'


@pytest.mark.parametrize(
    ("caller", "fires"),
    [
        ("accel/kvm/kvm-all.c", False),  # its directory builds it as `kvm_ss`
        ("target/toy/sev.c", False),  # CONFIG_SEV, whose Kconfig entry depends on KVM
        ("target/toy/sev-stub.c", True),  # built when CONFIG_SEV is off
        ("target/toy/sgx.c", True),  # CONFIG_SGX depends on KVM || X86_64: not KVM alone
        ("target/toy/cpu.c", True),  # built in every configuration
        ("system/dirtylimit.c", True),  # no meson.build lists it beside it
    ],
)
@pytest.mark.parametrize("at_base", [False, True])  # the call added by the series, or already there
def test_a_stub_is_missing_only_where_a_build_without_the_accelerator_calls_it(
    kvm_repo: Path, kvm_diff: Callable[[dict[str, str]], str], caller: str, fires: bool, at_base: bool
) -> None:
    tree = {
        "accel/kvm/meson.build": "kvm_ss = ss.source_set()\nkvm_ss.add(files(\n  'kvm-all.c',\n))\n",
        "target/toy/meson.build": TOY_MESON,
        "hw/toy/Kconfig": TOY_KCONFIG,
        **{f"target/toy/{n}.c": TOY_C.format(n.replace("-", "_")) for n in ("cpu", "sev", "sev-stub", "sgx")},
    }
    for name, text in tree.items():
        (kvm_repo / name).parent.mkdir(parents=True, exist_ok=True)
        (kvm_repo / name).write_text(text)
    git(kvm_repo, "add", "-A")
    git(kvm_repo, "commit", "-qm", "toy target")
    old = (kvm_repo / caller).read_text()
    body = "{\n" if caller != "accel/kvm/kvm-all.c" else "{\n    kvm_reaper_init(4);\n"
    called = old.replace(body, body + "    kvm_reaper_kick();\n", 1)
    assert called != old
    edits = {"include/system/kvm.h": KICK_PROTO, "accel/kvm/kvm-all.c": KVM_ALL + KICK_DEF}
    edits[caller] = (edits.get(caller, old)).replace(body, body + "    kvm_reaper_kick();\n", 1)
    if at_base:  # the function and its call exist; the series only declares it in the header
        for name, text in edits.items():
            if name != "include/system/kvm.h":
                (kvm_repo / name).write_text(text)
        git(kvm_repo, "commit", "-qam", "kick, called")
        edits = {"include/system/kvm.h": KICK_PROTO}
    found = [f for f in _run(kvm_repo, kvm_diff(edits)) if f.code == "missing-stub"]
    assert len(found) == (1 if fires else 0)


@pytest.mark.parametrize(
    ("opening", "fires"),
    [
        ("#ifdef CONFIG_KVM\n", False),
        ("#if defined(CONFIG_KVM) && defined(CONFIG_TOY)\n", False),
        ("#if CONFIG_KVM /* KVM only */\n", False),
        ("#ifndef CONFIG_KVM\n", True),
        ("#ifdef CONFIG_KVM\n    toy_other();\n#else\n", True),  # the call is in the #else
        ("#if defined(CONFIG_KVM) || defined(CONFIG_HVF)\n", True),
    ],
)
@pytest.mark.parametrize("at_base", [False, True])
def test_a_call_compiled_only_with_the_accelerator_needs_no_stub(
    kvm_repo: Path, kvm_diff: Callable[[dict[str, str]], str], opening: str, fires: bool, at_base: bool
) -> None:
    # a file built in every configuration, but its call sits inside the accelerator's #ifdef
    guarded = "void toy_init(void)\n{\n" + opening + "    kvm_reaper_kick();\n#endif\n}\n"
    edits = {
        "include/system/kvm.h": KICK_PROTO,
        "accel/kvm/kvm-all.c": KVM_ALL + KICK_DEF,
        "hw/toy/toy.c": '#include "system/kvm.h"\n\n' + guarded,
    }
    if at_base:
        for name, text in edits.items():
            if name != "include/system/kvm.h":
                (kvm_repo / name).parent.mkdir(parents=True, exist_ok=True)
                (kvm_repo / name).write_text(text)
        git(kvm_repo, "add", "-A")
        git(kvm_repo, "commit", "-qm", "kick, called")
        edits = {"include/system/kvm.h": KICK_PROTO}
    found = [f for f in _run(kvm_repo, kvm_diff(edits)) if f.code == "missing-stub"]
    assert len(found) == (1 if fires else 0)


# ---- signature changes with stale callers -----------------------------------------------------


def test_changed_arguments_with_stale_caller_fire(
    kvm_repo: Path, kvm_diff: Callable[[dict[str, str]], str]
) -> None:
    new_h = KVM_H.replace("void kvm_flush(int level);", "void kvm_flush(int level, int mask);")
    new_c = KVM_ALL.replace("void kvm_flush(int level)\n", "void kvm_flush(int level, int mask)\n")
    diff = kvm_diff({"include/system/kvm.h": new_h, "accel/kvm/kvm-all.c": new_c})
    found = [f for f in _run(kvm_repo, diff) if f.code == "stale-caller"]
    assert [(f.file, f.line, f.severity) for f in found] == [("system/dirtylimit.c", 5, "warning")]


def test_callers_updated_by_the_series_are_quiet(
    kvm_repo: Path, kvm_diff: Callable[[dict[str, str]], str]
) -> None:
    new_h = KVM_H.replace("void kvm_flush(int level);", "void kvm_flush(int level, int mask);")
    new_c = KVM_ALL.replace("void kvm_flush(int level)\n", "void kvm_flush(int level, int mask)\n")
    new_d = DIRTYLIMIT.replace("kvm_flush(1);", "kvm_flush(1, 0);")
    diff = kvm_diff(
        {"include/system/kvm.h": new_h, "accel/kvm/kvm-all.c": new_c, "system/dirtylimit.c": new_d}
    )
    assert "stale-caller" not in codes(_run(kvm_repo, diff))


def test_static_return_type_change_with_updated_caller_is_quiet(
    kvm_repo: Path, kvm_diff: Callable[[dict[str, str]], str]
) -> None:
    # Seed 000's pattern: static void f(...) -> static int f(...), its one caller updated in the patch.
    new_c = KVM_ALL.replace(
        "static void kvm_reaper_init(int ring)\n{\n    (void)ring;\n",
        "static int kvm_reaper_init(int ring)\n{\n    return ring;\n",
    )
    new_c = new_c.replace(
        "    kvm_reaper_init(4);\n", "    if (kvm_reaper_init(4) < 0) {\n        return 0;\n    }\n"
    )
    diff = kvm_diff({"accel/kvm/kvm-all.c": new_c})
    assert "stale-caller" not in codes(_run(kvm_repo, diff))


def _two_patch_run(repo: Path, first: str, second: str) -> tuple[Finding, ...]:
    r = GitRepo(repo)
    patches = [make_patch(first, index=1, total=2), make_patch(second, index=2, total=2)]
    return run_checks(make_series(patches), repo=r, base=r.rev_parse("HEAD")).findings


FLUSH_2 = ("void kvm_flush(int level)\n", "void kvm_flush(int level, int mask)\n")


@pytest.mark.parametrize(
    ("old", "new", "compatible"),
    [
        ("abi_ptr", "vaddr", True),  # QEMU's integer typedefs convert into each other
        ("unsigned", "uint32_t", True),
        ("CPUArchState *", "CPUState *", False),
        ("int *", "uint32_t *", False),
        ("void *", "NicState *", True),
    ],
)
def test_which_parameter_types_a_caller_passes_unchanged(old: str, new: str, compatible: bool) -> None:
    assert compatible_types(old, new) is compatible


def test_compatible_signature_change_is_quiet(
    kvm_repo: Path, kvm_diff: Callable[[dict[str, str]], str]
) -> None:
    # unsigned -> uint32_t converts implicitly: no caller has to change.
    new_h = KVM_H.replace("void kvm_flush(int level);", "void kvm_flush(uint32_t level);")
    new_c = KVM_ALL.replace("void kvm_flush(int level)\n", "void kvm_flush(uint32_t level)\n")
    diff = kvm_diff({"include/system/kvm.h": new_h, "accel/kvm/kvm-all.c": new_c})
    assert not {"stale-caller", "build-break"} & set(codes(_run(kvm_repo, diff)))


def test_mentions_that_are_not_calls_are_quiet(tmp_path: Path) -> None:
    # A string, a comment, a trace-events line, the prototype and the definition are no callers.
    from tests.plugins.reportkit import make_kvm_repo

    repo = make_kvm_repo(tmp_path / "q")
    quiet = DIRTYLIMIT.replace(
        "    kvm_flush(1);\n",
        '    error_report("kvm_flush(1) failed");\n    /* kvm_flush(2) is not needed */\n',
    )
    (repo / "system/dirtylimit.c").write_text(quiet)
    (repo / "accel/kvm/trace-events").write_text('kvm_flush(int level) "level %d"\n')
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "mentions only")
    new_h = KVM_H.replace("void kvm_flush(int level);", "void kvm_flush(int level, int mask);")
    diff = diff_after(repo, {"include/system/kvm.h": new_h, "accel/kvm/kvm-all.c": KVM_ALL.replace(*FLUSH_2)})
    assert "stale-caller" not in codes(_run(repo, diff))


NET_C = """struct vhdr {
    int flags;
};

static void fixup(struct vhdr *hdr,
                  int *len)
{
    hdr->flags = *len;
}

static int receive(int n, struct vhdr *hdr,
                   int len)
{
    fixup(hdr, &len);
    return len + n;
}
"""


def test_a_caller_whose_own_parameter_the_patch_retypes_passes_it_unchanged(tmp_path: Path) -> None:
    # sample AR: `receive_header(..., struct virtio_net_hdr *hdr, ...)` retyped to `Header *hdr`
    # with the function it calls; `fixup`'s parameter list goes on in a context line, and the
    # next removed line was read as still inside it, so `hdr` was not seen retyped
    from tests.plugins.reportkit import make_kvm_repo

    repo = make_kvm_repo(tmp_path / "q")
    (repo / "net/virtio.c").parent.mkdir(parents=True, exist_ok=True)
    (repo / "net/virtio.c").write_text(NET_C)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "net")
    header = "typedef struct Header {\n    struct vhdr v;\n} Header;\n\n"
    new = NET_C.replace("static void fixup(struct vhdr *hdr,", header + "static void fixup(Header *hdr,")
    new = new.replace("hdr->flags = *len;", "hdr->v.flags = *len;")
    new = new.replace("static int receive(int n, struct vhdr *hdr,", "static int receive(int n, Header *hdr,")
    diff = diff_after(repo, {"net/virtio.c": new})
    assert "     fixup(hdr, &len);" in diff  # the call is context
    assert not {"stale-caller", "build-break"} & set(codes(_run(repo, diff)))
    # a caller whose argument keeps its old type is still found
    kept = new.replace("receive(int n, Header *hdr,", "receive(int n, struct vhdr *hdr,")
    found = [f for f in _run(repo, diff_after(repo, {"net/virtio.c": kept})) if f.code == "stale-caller"]
    assert [(f.file, f.line) for f in found] == [("net/virtio.c", 14)]


def test_caller_updated_only_by_a_later_patch_breaks_the_build(
    kvm_repo: Path, kvm_diff: Callable[[dict[str, str]], str]
) -> None:
    new_h = KVM_H.replace("void kvm_flush(int level);", "void kvm_flush(int level, int mask);")
    first = kvm_diff({"include/system/kvm.h": new_h, "accel/kvm/kvm-all.c": KVM_ALL.replace(*FLUSH_2)})
    second = kvm_diff({"system/dirtylimit.c": DIRTYLIMIT.replace("kvm_flush(1);", "kvm_flush(1, 0);")})
    found = [f for f in _two_patch_run(kvm_repo, first, second) if f.code in ("stale-caller", "build-break")]
    assert [(f.code, f.severity, f.patch, f.file, f.line) for f in found] == [
        ("build-break", "error", "1/2", "system/dirtylimit.c", 5)
    ]
    assert "updated only in patch 2/2" in found[0].message


@pytest.mark.parametrize("moved", [True, False])
def test_a_call_updated_in_a_file_an_earlier_patch_moved_is_updated(
    kvm_repo: Path, kvm_diff: Callable[[dict[str, str]], str], moved: bool
) -> None:
    # Patch 1 moves the caller's file (git's rename, no hunk); patch 2 changes the signature and
    # updates the call at the file's new path.
    if moved:
        git(kvm_repo, "mv", "system/dirtylimit.c", "system/limits.c")
    else:  # the same series with a patch 1 that moves nothing
        (kvm_repo / "NOTES").write_text("limits\n")
        git(kvm_repo, "add", "NOTES")
    first = git(kvm_repo, "diff", "--cached", "-M", "HEAD")
    git(kvm_repo, "commit", "-qm", "patch 1")
    caller = "system/limits.c" if moved else "system/dirtylimit.c"
    new_h = KVM_H.replace("void kvm_flush(int level);", "void kvm_flush(int level, int mask);")
    second = kvm_diff(
        {
            "include/system/kvm.h": new_h,
            "accel/kvm/kvm-all.c": KVM_ALL.replace(*FLUSH_2),
            caller: DIRTYLIMIT.replace("kvm_flush(1);", "kvm_flush(1, 0);"),
        }
    )
    git(kvm_repo, "reset", "-q", "--hard", "HEAD~1")
    found = [f for f in _two_patch_run(kvm_repo, first, second) if f.code in ("stale-caller", "build-break")]
    assert found == []


def test_renamed_function_with_a_caller_left_on_the_old_name_fires(
    kvm_repo: Path, kvm_diff: Callable[[dict[str, str]], str]
) -> None:
    new_h = KVM_H.replace("void kvm_flush(int level);", "void kvm_flush_all(int level);")
    new_c = KVM_ALL.replace("void kvm_flush(int level)\n", "void kvm_flush_all(int level)\n")
    diff = kvm_diff({"include/system/kvm.h": new_h, "accel/kvm/kvm-all.c": new_c})
    found = [f for f in _run(kvm_repo, diff) if f.code == "stale-caller"]
    assert [(f.file, f.line) for f in found] == [("system/dirtylimit.c", 5)]
    assert "renamed to kvm_flush_all" in found[0].message


def test_a_function_split_in_two_that_keeps_its_name_is_no_rename(tmp_path: Path) -> None:
    # sample AR: `test_tls_discard_cert` split into a new `test_tls_deinit_cert` (its first lines,
    # as git's diff pairs them) and itself, which calls it and keeps the rest: a second hunk
    # writes it again. Read as a rename, once the whole files had dropped the "added" of a name
    # defined on both sides, its 65 callers were said to be left on the old name.
    from tests.plugins.reportkit import make_kvm_repo

    repo = make_kvm_repo(tmp_path / "q")
    first = "".join(f"    ring[{i}] = 0;\n" for i in range(8))
    rest = "".join(f"    dirty[{i}] = 0;\n" for i in range(8))
    flush = f"void kvm_flush(int level)\n{{\n{first}{rest}}}\n"
    (repo / "accel/kvm/kvm-all.c").write_text(
        KVM_ALL.replace("void kvm_flush(int level)\n{\n    (void)level;\n}\n", flush)
    )
    git(repo, "commit", "-qam", "a longer flush")
    split = (
        f"void kvm_flush_ring(int level)\n{{\n{first}}}\n\n"
        f"void kvm_flush(int level)\n{{\n    kvm_flush_ring(level);\n{rest}}}\n"
    )
    new_c = (repo / "accel/kvm/kvm-all.c").read_text().replace(flush, split)
    new_h = KVM_H.replace(
        "void kvm_flush(int level);", "void kvm_flush_ring(int level);\nvoid kvm_flush(int level);"
    )
    diff = diff_after(repo, {"include/system/kvm.h": new_h, "accel/kvm/kvm-all.c": new_c})
    assert "-void kvm_flush(int level)\n+void kvm_flush_ring(int level)" in diff  # git's pairing
    assert diff.count("@@ -") == 3  # the header's, and two in the function
    functions = summarize_diff(diff).functions
    facts = [(c.name, c.kind) for c in functions]
    assert facts == [
        ("kvm_flush_ring", "added"),
        ("kvm_flush", "body-changed"),
        ("kvm_flush_ring", "prototype-added"),
    ]
    # once applied, the whole files agree (and do not turn the rename back into one)
    before = git(repo, "show", "HEAD:accel/kvm/kvm-all.c").encode()
    said = (
        FunctionChange("accel/kvm/kvm-all.c", "kvm_flush_ring", "renamed", detail="renamed from kvm_flush"),
        FunctionChange("accel/kvm/kvm-all.c", "kvm_flush", "added"),
    )
    refined = refine("accel/kvm/kvm-all.c", before, new_c.encode(), said)
    assert sorted((c.name, c.kind) for c in refined) == [
        ("kvm_flush", "body-changed"),
        ("kvm_flush_ring", "added"),
    ]
    assert not {"stale-caller", "build-break"} & set(codes(_run(repo, diff)))


FLUSHDEV_C = """#include "system/kvm.h"
{open}
struct flushdev {{
    int level;
}};

static void
kvm_flush(struct flushdev *d,
          int level)
{{
    d->level = level;
}}
{close}
void flushdev_reset(struct flushdev *d)
{{
    kvm_flush(d, 0);
}}
"""


@pytest.mark.parametrize(
    ("open_", "close"),
    [
        ("", ""),
        ("#ifdef CONFIG_FLUSHDEV", "#endif"),
        ("#if defined(CONFIG_A) && defined(CONFIG_B)\n#else", "#endif"),
    ],
)
def test_a_file_with_its_own_function_of_the_old_name_calls_its_own(
    kvm_repo: Path, kvm_diff: Callable[[dict[str, str]], str], open_: str, close: str
) -> None:
    # backends/flushdev.c defines a static kvm_flush of its own, also inside a file-wide #ifdef or
    # an #else (as real device backends do): the rename of the exported kvm_flush leaves its calls
    # alone; dirtylimit.c's call of the exported one is stale
    (kvm_repo / "backends").mkdir()
    (kvm_repo / "backends/flushdev.c").write_text(FLUSHDEV_C.format(open=open_, close=close))
    git(kvm_repo, "add", "-A")
    git(kvm_repo, "commit", "-qm", "flushdev")
    new_h = KVM_H.replace("void kvm_flush(int level);", "void kvm_flush_all(int level);")
    new_c = KVM_ALL.replace("void kvm_flush(int level)\n", "void kvm_flush_all(int level)\n")
    diff = kvm_diff({"include/system/kvm.h": new_h, "accel/kvm/kvm-all.c": new_c})
    found = [f for f in _run(kvm_repo, diff) if f.code == "stale-caller"]
    assert [(f.file, f.line) for f in found] == [("system/dirtylimit.c", 5)]


NIC_C = """struct nic_state {
    int a;
};

static void nic_irq(struct nic_state *s)
{
    s->a = 1;
}

static void nic_read(void *opaque)
{
    struct nic_state *s = opaque;
    nic_irq(s);
}

static void nic_write(void *opaque)
{
    struct nic_state *s = opaque;
    nic_irq(s);
}
"""


@pytest.mark.parametrize(
    ("edit", "stale"),
    [
        # the type is renamed everywhere: the callers' variables change with it
        (
            lambda t: (
                t.replace("struct nic_state {", "typedef struct NicState {")
                .replace("};", "} NicState;")
                .replace("struct nic_state", "NicState")
            ),
            0,
        ),
        # only the parameter's type changes: both calls pass the old type
        (lambda t: t.replace("nic_irq(struct nic_state *s)", "nic_irq(struct other *s)"), 2),
    ],
)
def test_type_renamed_with_its_users_is_no_stale_caller(
    tmp_path: Path, edit: Callable[[str], str], stale: int
) -> None:
    repo = make_repo(tmp_path / "q", {"hw/nic.c": NIC_C})
    diff = diff_after(repo, {"hw/nic.c": edit(NIC_C)})
    assert codes(_run(repo, diff)).count("stale-caller") == stale


REG_C = """static int reg_read(void *mon, int64_t *pval, const char *name)
{
    *pval = name[0];
    return 0;
}

static int dump_one(void *mon, const char *buf)
{
    int64_t val = 0;
    int ret;

    ret = reg_read(mon, &val, buf);
    return ret ? ret : (int)val;
}

static int dump_two(void *mon, const char *buf)
{
    int64_t other = 0;

    return reg_read(mon, &other, buf);
}
"""
REG_WIDENED = ("reg_read(void *mon, int64_t *pval,", "reg_read(void *mon, uint64_t *pval,")


@pytest.mark.parametrize(
    ("retyped", "stale"),
    [
        # both callers declare the variable they pass with the new type: their calls compile as they are
        (("val", "other"), []),
        # dump_two still passes an int64_t *
        (("val",), [20]),
        (("vals",), [12, 20]),  # a variable of another name retyped: no call is updated by it
    ],
)
def test_a_call_whose_argument_variable_is_retyped_is_updated(
    tmp_path: Path, retyped: tuple[str, ...], stale: list[int]
) -> None:
    # The parameter's type changes (int64_t * -> uint64_t *), the line of each call is unchanged.
    repo = make_repo(tmp_path / "q", {"monitor/regs.c": REG_C.replace("    int ret;", "    int ret, vals;")})
    new = REG_C.replace(*REG_WIDENED).replace("    int ret;", "    int ret, vals;")
    for name in retyped:
        new = (
            new.replace(f"int64_t {name} = 0;", f"uint64_t {name} = 0;")
            if name != "vals"
            else new.replace("    int ret, vals;", "    int ret;\n    long vals;")
        )
    found = [f for f in _run(repo, diff_after(repo, {"monitor/regs.c": new})) if f.code == "stale-caller"]
    assert [f.line for f in found] == stale


REQ_C = """struct reg_req {
    void *mon;
    int64_t val;
};

static int reg_read(void *mon, int64_t *pval, const char *name)
{
    *pval = name[0];
    return 0;
}

static void reg_bh(void *opaque)
{
    struct reg_req *req = opaque;

    reg_read(req->mon, &req->val, "pc");
}

static int reg_get(void *mon, int64_t *out)
{
    return reg_read(mon, out, "sp");
}
"""
MEMBER = ("    int64_t val;", "    uint64_t val;")
PARAM = ("reg_get(void *mon, int64_t *out)", "reg_get(void *mon,\n                   uint64_t *out)")


@pytest.mark.parametrize(
    ("edits", "stale"),
    [
        ([MEMBER, PARAM], []),  # the member and the caller's own parameter retyped with it
        ([PARAM], [16]),
        ([MEMBER], [21]),
        # the member's line is rewritten but its type is the same: reg_bh still passes an int64_t *
        ([("    int64_t val;", "    int64_t val; /* raw */"), PARAM], [16]),
    ],
)
def test_a_call_passing_a_retyped_member_or_parameter_is_updated(
    tmp_path: Path, edits: list[tuple[str, str]], stale: list[int]
) -> None:
    repo = make_repo(tmp_path / "q", {"hw/regs.c": REQ_C})
    new = REQ_C.replace(*REG_WIDENED)
    for edit in edits:
        new = new.replace(*edit)
    found = [f for f in _run(repo, diff_after(repo, {"hw/regs.c": new})) if f.code == "stale-caller"]
    assert [f.line for f in found] == stale


HDR_H = """typedef struct RegReq {
    void *mon;
    int64_t val;
} RegReq;
"""
HDR_C = """#include "hw/regs.h"

static int reg_read(void *mon, int64_t *pval, const char *name)
{
    *pval = name[0];
    return 0;
}

static int reg_mode(void *mon, int mode)
{
    return mode;
}

static void reg_bh(RegReq *req)
{
    reg_read(req->mon, &req->val, "pc");
    reg_read(req->mon, NULL, "sp");
    reg_mode(req->mon, 3);
}
"""
HDR_MEMBER = ("    int64_t val;", "    uint64_t val;")
HDR_MODE = ("static int reg_mode(void *mon, int mode)", "static int reg_mode(void *mon, reg_mode_t mode)")


@pytest.mark.parametrize(
    ("typedef", "member", "stale"),
    [
        # the member retyped in its header, NULL for a pointer, an int for the series' integer type
        ("typedef uint8_t reg_mode_t;", True, []),
        ("typedef enum {\n    REG_MODE_A,\n    REG_MODE_B,\n} reg_mode_t;", True, []),
        ("typedef uint8_t reg_mode_t;", False, [16]),  # the member keeps its int64_t
        ("typedef struct RegMode reg_mode_t;", True, [18]),  # not an integer: 3 does not pass
    ],
)
def test_calls_that_compile_unchanged_across_files_are_no_stale_callers(
    tmp_path: Path, typedef: str, member: bool, stale: list[int]
) -> None:
    """The call passes a member the series retypes in a header, a NULL where a pointer's type
    changes, or an integer where the series' own integer type replaces `int`."""
    repo = make_repo(tmp_path / "q", {"include/hw/regs.h": HDR_H, "hw/regs.c": HDR_C})
    header = HDR_H.replace(*HDR_MEMBER) if member else HDR_H
    header += typedef + "\n"
    source = HDR_C.replace(*REG_WIDENED).replace(*HDR_MODE)
    diff = diff_after(repo, {"include/hw/regs.h": header, "hw/regs.c": source})
    found = [f for f in _run(repo, diff) if f.code == "stale-caller"]
    assert [f.line for f in found] == stale


TICK_H = """#ifndef TICK_H
#define TICK_H
static inline void nic_tick(NicState *s)
{
    s->ticks++;
}
#endif
"""
TICK_USERS = {
    "hw/net/nic.c": '#include "tick.h"\n\nvoid nic_poll(NicState *s)\n{\n    nic_tick(s);\n}\n',
    "hw/net/bus.c": '#include "tick.h"\n\nvoid bus_poll(NicState *s)\n{\n    nic_tick(s);\n}\n',
}


@pytest.mark.parametrize(
    ("moved_to", "stale"), [("void nic_tick(NicState *s, int n)", 1), ("void nic_tick(NicState *s)", 0)]
)
def test_a_function_moved_to_another_file_with_new_parameters_leaves_stale_callers(
    tmp_path: Path, moved_to: str, stale: int
) -> None:
    """A header's helper moved into a .c file taking another parameter: the call the series
    updates is no stale caller, the one it leaves is (gen_tb_start() from a header into
    translator.c, taking `uint32_t cflags` for the TranslationBlock). Moved as it was, no call
    breaks."""
    repo = make_repo(tmp_path / "q", {"include/tick.h": TICK_H, **TICK_USERS})
    header = TICK_H.replace(TICK_H[TICK_H.index("static") : TICK_H.index("#endif")], moved_to + ";\n")
    body = "\n{\n    s->ticks += n;\n}\n" if "int n" in moved_to else "\n{\n    s->ticks++;\n}\n"
    edits = {"include/tick.h": header, "hw/net/tick.c": '#include "tick.h"\n\n' + moved_to + body}
    if stale:
        edits["hw/net/nic.c"] = TICK_USERS["hw/net/nic.c"].replace("nic_tick(s)", "nic_tick(s, 1)")
    diff = diff_after(repo, edits)
    found = [f for f in _run(repo, diff) if f.code in ("stale-caller", "build-break")]
    assert [(f.code, f.file) for f in found] == [("stale-caller", "hw/net/bus.c")] * stale


STATS_H = "#ifndef STATS_H\n#define STATS_H\nint nic_rx(NicState *s);\n#endif\n"
STATS_C = '#include "stats.h"\n\nint nic_rx(NicState *s)\n{\n    return s->rx;\n}\n'
STATS_USER = '#include "stats.h"\n\nint bus_rx(NicState *s)\n{\n    return nic_rx(s);\n}\n'


@pytest.mark.parametrize(
    ("edits", "why"),
    [
        # an extern function turned static while another file still calls it
        (
            {"hw/net/stats.c": STATS_C.replace("int nic_rx", "static int nic_rx")},
            "made static in hw/net/stats.c",
        ),
        # moved into another .c file as static: the old file's callers lose it
        (
            {
                "hw/net/stats.c": '#include "stats.h"\n',
                "hw/net/rx.c": STATS_C.replace(
                    "int nic_rx(NicState *s)\n{", "static int nic_rx(NicState *s)\n{"
                ),
            },
            "moved into hw/net/rx.c as static",
        ),
        # the same, and the call goes too: nothing is left behind
        ({"hw/net/stats.c": STATS_C.replace("int nic_rx", "static int nic_rx"), "hw/net/bus.c": "\n"}, None),
        # moved into a file another includes (`.c.inc`): its includer still sees it
        (
            {
                "hw/net/stats.c": '#include "stats.h"\n',
                "hw/net/rx.c.inc": STATS_C.replace(
                    "int nic_rx(NicState *s)\n{", "static int nic_rx(NicState *s)\n{"
                ),
            },
            None,
        ),
    ],
)
@pytest.mark.parametrize("user", ["hw/net/bus.c", "hw/net/bus.c.inc"])
def test_a_function_made_static_leaves_the_calls_of_other_files(
    tmp_path: Path, edits: dict[str, str], why: str | None, user: str
) -> None:
    """A function another file calls, made static (in place or moved into another file), breaks
    that call: the linker no longer finds it there. A call in a file that is included somewhere
    (`.c.inc`, a header) may be in the function's own unit: not said."""
    repo = make_repo(tmp_path / "q", {"hw/net/stats.h": STATS_H, "hw/net/stats.c": STATS_C, user: STATS_USER})
    edits = {user if k == "hw/net/bus.c" else k: v for k, v in edits.items()}
    found = [f for f in _run(repo, diff_after(repo, edits), checkpatch=False) if f.code == "stale-caller"]
    assert [(f.file, f.line) for f in found] == ([(user, 5)] if why and user.endswith(".c") else [])
    assert all(f"nic_rx() changes ({why})" in f.message for f in found)


@pytest.mark.parametrize(("changed", "said"), [(True, 1), (False, 0)])
def test_a_function_moved_and_changed_on_the_way_is_said(tmp_path: Path, changed: bool, said: int) -> None:
    """Code motion that also edits what it moves: the diff shows the function removed in one file
    and added in another, so the edit is easy to miss; an info says so, at the new place."""
    stats = "static int nic_rx(NicState *s)\n{\n    return s->rx;\n}\n"
    repo = make_repo(tmp_path / "q", {"hw/net/nic.c": stats + "\nint nic_on;\n"})
    moved = stats.replace("s->rx", "s->stats.rx") if changed else stats
    diff = diff_after(
        repo, {"hw/net/nic.c": "int nic_on;\n", "hw/net/stats.c": "#include <nic.h>\n\n" + moved}
    )
    found = [f for f in _run(repo, diff, checkpatch=False) if f.code == "moved-and-changed"]
    assert [(f.severity, f.file, f.line) for f in found] == [("info", "hw/net/stats.c", 3)] * said
    assert all("nic_rx is moved from hw/net/nic.c and changed on the way" in f.message for f in found)


POLL_C = "void nic_poll(NicState *s)\n{\n    s->polls++;\n}\n\n"
POLL_C += "void nic_kick(NicState *s)\n{\n    nic_poll(s);\n}\n"


@pytest.mark.parametrize(("elsewhere", "broken"), [(False, True), (True, False)])
def test_a_definition_left_as_a_declaration_breaks_unless_it_moved(
    tmp_path: Path, elsewhere: bool, broken: bool
) -> None:
    """nic.c's nic_poll() turned into a prototype: its body is gone and the tree does not link,
    unless the same patch defines it in another file (moved there, the prototype kept for the
    callers below it)."""
    repo = make_repo(tmp_path / "q", {"hw/net/nic.c": POLL_C})
    declared = POLL_C.replace(POLL_C[: POLL_C.index("void nic_kick")], "void nic_poll(NicState *s);\n\n")
    edits = {"hw/net/nic.c": declared}
    if elsewhere:
        edits["hw/net/poll.c"] = POLL_C[: POLL_C.index("\nvoid nic_kick")]
    found = [f for f in _run(repo, diff_after(repo, edits)) if f.code == "build-break"]
    assert [(f.file, "nic_poll" in f.message) for f in found] == [("hw/net/nic.c", True)] * broken


WORD_H = """#ifndef WORD_H
#define WORD_H
typedef struct Narrow *Narrow;
typedef struct Wide *Wide;
#if WIDTH == 64
typedef Wide Word;
#else
typedef Narrow Word;
#endif
typedef Wide Long;
#endif
"""
WORD_C = """#include "word.h"

static Word ri2(int x)
{
    return (Word)(long)x;
}

static int use(int x)
{
    Word w = ri2(x);
    return w != 0;
}
"""


@pytest.mark.parametrize(
    ("old", "new", "severity"),
    [
        ("Word", "Wide", "info"),  # Word is Wide on some targets: the call compiles there
        ("Long", "Wide", None),  # Long is Wide everywhere: no finding
        ("Word", "Narrow *", "warning"),  # no typedef relates them
    ],
)
def test_a_type_swapped_for_its_typedef_at_the_base_is_no_stale_caller(
    tmp_path: Path, old: str, new: str, severity: str | None
) -> None:
    # QEMU's `typedef TCGv_i64 TCGv;` (or TCGv_i32, by the target's width): a series turning a
    # return type from TCGv into TCGv_i64 breaks no caller on a 64-bit target (sample P)
    source = WORD_C.replace("static Word ri2", f"static {old} ri2")
    repo = make_repo(tmp_path / "q", {"include/word.h": WORD_H, "hw/word.c": source})
    changed = source.replace(f"static {old} ri2", f"static {new} ri2")
    found = [f for f in _run(repo, diff_after(repo, {"hw/word.c": changed})) if f.code == "stale-caller"]
    assert [f.severity for f in found] == ([severity] if severity else [])
    if severity == "info":
        assert "Word is a typedef of Wide in some configurations (Narrow in others)" in found[0].message


FEAT_C = """#include <stdint.h>

static long by_features(uint64_t f)
{
    return (long)f;
}

static long set_features(long *out, uint64_t features)
{
    *out = by_features(features);
    return *out;
}
"""
FEAT_TO_POINTER = (
    "static long by_features(uint64_t f)\n{\n    return (long)f;",
    ("static long by_features(const uint64_t *f)\n{\n    return (long)f[0];"),
)


@pytest.mark.parametrize(
    ("local", "stale"), [("uint64_t features[2];", []), ("uint64_t features = 0;", [10])]
)
def test_a_call_passing_a_parameter_turned_into_a_local_of_the_new_type_is_updated(
    tmp_path: Path, local: str, stale: list[int]
) -> None:
    # real shape (virtio-net): the caller's parameter becomes `const uint64_t *in_features`, copied
    # into a local array of the old name, so `by_features(features)` compiles unchanged
    repo = make_repo(tmp_path / "q", {"hw/feat.c": FEAT_C})
    new = FEAT_C.replace(*FEAT_TO_POINTER).replace(
        "static long set_features(long *out, uint64_t features)\n{\n",
        f"static long set_features(long *out,\n                         const uint64_t *in_features)\n{{\n"
        f"    {local}\n\n    (void)in_features;\n",
    )
    found = [f for f in _run(repo, diff_after(repo, {"hw/feat.c": new})) if f.code == "stale-caller"]
    assert [f.line for f in found] == stale


CONT_C = """typedef struct Box Box;

static Box *box_new(int fd)
{
    return (Box *)(long)fd;
}

static int box_open(int fd)
{
    Box *box;
    Box *spare = box_new(fd + 1);

    box = box_new(fd);
    return box && spare;
}
"""


@pytest.mark.parametrize(
    ("edits", "stale"),
    [
        # the variables the value goes to are retyped with the return type (the declaration that
        # initialises `spare` rewrites the call's line; `box` is assigned on a line of its own)
        ([("    Box *box;", "    Crate *box;"), ("    Box *spare =", "    Crate *spare =")], []),
        ([("    Box *box;", "    Crate *box;")], [11]),
        ([], [11, 13]),
    ],
)
def test_a_call_whose_value_goes_to_a_retyped_variable_is_updated(
    tmp_path: Path, edits: list[tuple[str, str]], stale: list[int]
) -> None:
    repo = make_repo(tmp_path / "q", {"hw/box.c": CONT_C})
    new = CONT_C.replace("typedef struct Box Box;", "typedef struct Box Box;\ntypedef struct Crate Crate;")
    new = new.replace("static Box *box_new(int fd)", "static Crate *box_new(int fd)").replace(
        "return (Box *)(long)fd;", "return (Crate *)(long)fd;"
    )
    for edit in edits:
        new = new.replace(*edit)
    found = [f for f in _run(repo, diff_after(repo, {"hw/box.c": new})) if f.code == "stale-caller"]
    assert [f.line for f in found] == stale


RETURNED_C = """typedef struct Sect {
    int mr;
} Sect;

static Sect unassigned;

static Sect lookup(int addr)
{
    return addr ? unassigned : unassigned;
}

static Sect translate(int addr)
{
    if (addr < 0) {
        return lookup(-addr);
    }
    return lookup(addr);
}
"""


@pytest.mark.parametrize(
    ("wrapper", "stale"),
    [
        ("static Sect *translate(int addr)", []),  # it returns the new type too: the calls compile
        ("static Sect translate(int addr)", [15, 17]),  # it still returns a Sect
        ("static const char *translate(int addr)", [15, 17]),  # another type
    ],
)
def test_a_call_returned_by_a_function_given_the_same_new_return_type_is_updated(
    tmp_path: Path, wrapper: str, stale: list[int]
) -> None:
    # a real series made lookup() and translate() return a pointer, their `return lookup(...)`
    # lines unchanged: correct, and called stale
    repo = make_repo(tmp_path / "q", {"hw/sect.c": RETURNED_C})
    new = RETURNED_C.replace("static Sect lookup(int addr)", "static Sect *lookup(int addr)")
    new = new.replace("return addr ? unassigned : unassigned;", "return addr ? &unassigned : &unassigned;")
    new = new.replace("static Sect translate(int addr)", wrapper)
    found = [f for f in _run(repo, diff_after(repo, {"hw/sect.c": new})) if f.code == "stale-caller"]
    assert [f.line for f in found] == stale


IO_C = """#include "io.h"

void io_out(Env *env, int port)
{
    env->port = port;
}
"""
EMU_C = """#include "emu.h"

{0}

void emu_step(Cpu *cpu)
{{
    io_out(cpu_env_or_self(cpu), 1);
}}
"""


CPU_PROTO, ENV_PROTO = "void io_out(Cpu *cs, int port);", "void io_out(Env *env, int port);"


@pytest.mark.parametrize(
    ("own", "stale"),
    [
        (CPU_PROTO, 0),
        (ENV_PROTO, 1),
        (f"#ifdef CONFIG_EMU\n{CPU_PROTO}\n#endif", 0),
        (f"#if CONFIG_EMU\n{CPU_PROTO}\n#else\n{ENV_PROTO}\n#endif", 1),  # which one is built: not known
    ],
)
def test_a_file_calling_through_its_own_prototype_follows_that_prototype(
    tmp_path: Path, own: str, stale: int
) -> None:
    # emu.c declares io_out itself; io_out's definition moves from Env * to Cpu *. Where emu.c's
    # prototype already says Cpu *, its calls compile as they are; where it says Env *, they are stale.
    repo = make_repo(tmp_path / "q", {"hw/io.c": IO_C, "hw/emu.c": EMU_C.format(own)})
    new = IO_C.replace("void io_out(Env *env, int port)", "void io_out(Cpu *cs, int port)")
    new = new.replace("env->port = port;", "cs->port = port;")
    found = [f for f in _run(repo, diff_after(repo, {"hw/io.c": new})) if f.code == "stale-caller"]
    assert [(f.file, f.line) for f in found] == [("hw/emu.c", 7 + own.count("\n"))] * stale


SEL_C = """typedef struct x68_sel {
    int v;
} x68_sel;

static x68_sel read_sel(int n)
{
    x68_sel s = { n };
    return s;
}

static int show_sel(x68_sel s)
{
    x68_sel copy = s;
    return copy.v;
}

int sel_demo(void)
{
    return show_sel(read_sel(1));
}
"""


@pytest.mark.parametrize(("everywhere", "stale"), [(True, 0), (False, 1)])
def test_a_return_type_renamed_with_its_users_is_no_stale_caller(
    tmp_path: Path, everywhere: bool, stale: int
) -> None:
    # x68_sel -> x86_sel, a typo fixed everywhere: show_sel(read_sel(1)) compiles unchanged. With
    # only read_sel's return type changed (to a struct of another name), the call passes the wrong type.
    repo = make_repo(tmp_path / "q", {"hw/sel.c": SEL_C})
    if everywhere:
        new = SEL_C.replace("x68_sel", "x86_sel")
    else:
        new = SEL_C.replace("static x68_sel read_sel(int n)", "static struct other read_sel(int n)")
    found = [f for f in _run(repo, diff_after(repo, {"hw/sel.c": new})) if f.code == "stale-caller"]
    assert [f.line for f in found] == [19] * stale


GEN_C = """typedef int Reg;
typedef int Reg32;

static void gen_a(Reg r, int e)
{
    (void)r;
    (void)e;
}

static void gen_b(Reg r, int e)
{
    (void)r;
    (void)e;
}

static void do_cmp(int x, void (*gen)(Reg, int))
{
    Reg r = x;
    gen(r, x);
}

void trans(void)
{
    do_cmp(1, gen_a);
    do_cmp(2, gen_b);
}
"""


@pytest.mark.parametrize(("everywhere", "stale"), [(True, []), (False, [24, 25])])
def test_a_function_pointer_parameter_retyped_with_its_users_is_no_stale_caller(
    tmp_path: Path, everywhere: bool, stale: list[int]
) -> None:
    # Reg -> Reg32 inside the callback's type, and in the helpers passed as callbacks: the calls
    # pass helpers of the new type. With only do_cmp's parameter changed, they pass the old one.
    repo = make_repo(tmp_path / "q", {"tcg/gen.c": GEN_C})
    new = GEN_C.replace("void (*gen)(Reg, int)", "void (*gen)(Reg32, int)")
    if everywhere:
        new = new.replace("(Reg r, int e)", "(Reg32 r, int e)").replace("    Reg r = x;", "    Reg32 r = x;")
    found = [f for f in _run(repo, diff_after(repo, {"tcg/gen.c": new})) if f.code == "stale-caller"]
    assert [f.line for f in found] == stale


LOCAL_TREE = {
    "target/toy/internals.h": "int get_addr(int a);\n",
    "target/toy/helper.c": '#include "internals.h"\n\nint get_addr(int a)\n{\n    return a;\n}\n\n'
    "int toy_probe(void)\n{\n    return get_addr(1);\n}\n",
    "target/toy/sys/walk.c": '#include "../internals.h"\n\n'
    "int toy_walk(void)\n{\n    return get_addr(2);\n}\n",
    # another target's function of the same name, declared in its own local header
    "target/other/internals.h": "int get_addr(int a, int b);\n",
    "target/other/helper.c": '#include "internals.h"\n\n'
    "int other_probe(void)\n{\n    return get_addr(1, 2);\n}\n",
}


def test_a_function_of_a_local_header_is_called_only_where_that_header_is_seen(tmp_path: Path) -> None:
    # get_addr() is declared in target/toy/internals.h: target/other's calls are of its own
    # get_addr, and only target/toy's (its subdirectories too) can be stale.
    repo = make_repo(tmp_path / "q", LOCAL_TREE)
    edits = {
        "target/toy/internals.h": "int get_addr(int a, int debug);\n",
        "target/toy/helper.c": LOCAL_TREE["target/toy/helper.c"]
        .replace("int get_addr(int a)", "int get_addr(int a, int debug)")
        .replace("get_addr(1);", "get_addr(1, 0);"),
    }
    found = [f for f in _run(repo, diff_after(repo, edits)) if f.code == "stale-caller"]
    assert [(f.file, f.line) for f in found] == [("target/toy/sys/walk.c", 5)]


def test_an_argument_variable_retyped_only_by_a_later_patch_breaks_the_build(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "q", {"monitor/regs.c": REG_C})
    mid = REG_C.replace(*REG_WIDENED).replace("int64_t other = 0;", "uint64_t other = 0;")
    first = diff_after(repo, {"monitor/regs.c": mid})
    (repo / "monitor/regs.c").write_text(mid)
    git(repo, "commit", "-qam", "first")
    second = diff_after(repo, {"monitor/regs.c": mid.replace("int64_t val", "uint64_t val")})
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    found = [f for f in _two_patch_run(repo, first, second) if f.code in ("stale-caller", "build-break")]
    assert [(f.code, f.patch, f.line) for f in found] == [("build-break", "1/2", 12)]


def test_renamed_function_whose_old_name_is_defined_again_is_quiet(
    kvm_repo: Path, kvm_diff: Callable[[dict[str, str]], str]
) -> None:
    # kvm_flush becomes kvm_flush_one, and a new kvm_flush wraps it: the old callers still link.
    filler = "".join(f"\nint kvm_slot_{i}(void)\n{{\n    return {i};\n}}\n" for i in range(3))
    old_c = KVM_ALL + filler
    (kvm_repo / "accel/kvm/kvm-all.c").write_text(old_c)
    git(kvm_repo, "commit", "-qam", "kvm: more slots")  # the wrapper lands in a hunk of its own
    new_c = old_c.replace("void kvm_flush(int level)\n", "static void kvm_flush_one(int level)\n")
    new_c += "\nvoid kvm_flush(int level)\n{\n    kvm_flush_one(level);\n}\n"
    diff = kvm_diff({"accel/kvm/kvm-all.c": new_c})
    assert "stale-caller" not in codes(_run(kvm_repo, diff))


@pytest.mark.parametrize("macro", [True, False])
def test_renamed_function_whose_old_name_becomes_a_macro_is_quiet(
    kvm_repo: Path, kvm_diff: Callable[[dict[str, str]], str], macro: bool
) -> None:
    # kvm_flush becomes kvm_flush_impl, and the header defines kvm_flush(level) as a macro over
    # it: the old callers still compile. Without the macro they do not.
    proto = "void kvm_flush_impl(int level);\n"
    if macro:
        proto += "#define kvm_flush(level) kvm_flush_impl((level) & 0xff)\n"
    new_h = KVM_H.replace("void kvm_flush(int level);\n", proto)
    new_c = KVM_ALL.replace("void kvm_flush(int level)\n", "void kvm_flush_impl(int level)\n")
    diff = kvm_diff({"include/system/kvm.h": new_h, "accel/kvm/kvm-all.c": new_c})
    assert codes(_run(kvm_repo, diff)).count("stale-caller") == (0 if macro else 1)


def test_definition_turned_into_declaration_breaks_the_build(
    kvm_repo: Path, kvm_diff: Callable[[dict[str, str]], str]
) -> None:
    broken = KVM_ALL.replace("void kvm_flush(int level)\n{", "void kvm_flush(int level);\n{")
    found = [f for f in _run(kvm_repo, kvm_diff({"accel/kvm/kvm-all.c": broken})) if f.code == "build-break"]
    assert [(f.file, f.line) for f in found] == [("accel/kvm/kvm-all.c", 14)]
    assert "kvm_flush" in found[0].message


# ---- checkpatch -------------------------------------------------------------------------------


def test_checkpatch_output_becomes_findings(
    kvm_repo: Path, kvm_diff: Callable[[dict[str, str]], str]
) -> None:
    new_d = DIRTYLIMIT.replace("    kvm_flush(1);\n", "    kvm_flush(1);   \n    sleep(1);\n")
    diff = kvm_diff({"system/dirtylimit.c": new_d})
    found = [f for f in _run(kvm_repo, diff) if f.code == "checkpatch"]
    assert [(f.severity, f.file, f.line) for f in found] == [
        ("error", "system/dirtylimit.c", 5),
        ("info", "system/dirtylimit.c", 6),
    ]
    assert found[0].message == "checkpatch: trailing whitespace"


def test_identical_checkpatch_messages_collapse(
    kvm_repo: Path, kvm_diff: Callable[[dict[str, str]], str]
) -> None:
    lines = "".join(f"    kvm_flush({i});   \n" for i in range(5))
    diff = kvm_diff({"system/dirtylimit.c": DIRTYLIMIT.replace("    kvm_flush(1);\n", lines)})
    found = [f for f in _run(kvm_repo, diff) if f.code == "checkpatch"]
    assert len(found) == 1 and (found[0].file, found[0].line) == ("system/dirtylimit.c", 5)
    assert found[0].message == (
        "checkpatch: trailing whitespace (5 times: system/dirtylimit.c:5, system/dirtylimit.c:6, "
        "system/dirtylimit.c:7, system/dirtylimit.c:8, system/dirtylimit.c:9)"
    )


def test_clean_patch_gives_no_checkpatch_findings(
    kvm_repo: Path, kvm_diff: Callable[[dict[str, str]], str]
) -> None:
    diff = kvm_diff({"system/dirtylimit.c": DIRTYLIMIT.replace("kvm_flush(1);", "kvm_flush(2);")})
    r = GitRepo(kvm_repo)
    result = run_checks(make_series([make_patch(diff)]), repo=r, base=r.rev_parse("HEAD"))
    assert result.checkpatch_ran and "checkpatch" not in codes(result.findings)


def test_tree_without_checkpatch_is_not_run(tmp_path: Path) -> None:
    from tests.plugins.reportkit import make_kvm_repo

    repo = make_kvm_repo(tmp_path / "q", checkpatch=False)
    r = GitRepo(repo)
    result = run_checks(make_series([make_patch(ONE_LINE_DIFF)]), repo=r, base=r.rev_parse("HEAD"))
    assert not result.checkpatch_ran


# ---- maintainers and reviews ------------------------------------------------------------------


def test_missing_maintainer_review_fires(kvm_repo: Path, kvm_diff: Callable[[dict[str, str]], str]) -> None:
    diff = kvm_diff({"system/dirtylimit.c": DIRTYLIMIT.replace("kvm_flush(1);", "kvm_flush(2);")})
    r = GitRepo(kvm_repo)
    result = run_checks(make_series([make_patch(diff)]), repo=r, base=r.rev_parse("HEAD"))
    assert [s.section.name for s in result.subsystems] == ["Dirty limit"]
    assert "no-maintainer-review" in codes(result.findings)


def test_maintainer_review_is_quiet(kvm_repo: Path, kvm_diff: Callable[[dict[str, str]], str]) -> None:
    diff = kvm_diff({"system/dirtylimit.c": DIRTYLIMIT.replace("kvm_flush(1);", "kvm_flush(2);")})
    review = Trailer("Reviewed-by", "Hy Mann <hy@example.org>", Address("Hy Mann", "hy@example.org"), "reply")
    r = GitRepo(kvm_repo)
    result = run_checks(make_series([make_patch(diff, review=[review])]), repo=r, base=r.rev_parse("HEAD"))
    assert "no-maintainer-review" not in codes(result.findings)
    assert [a.email for a in result.subsystems[0].approved_by] == ["hy@example.org"]


def test_checks_without_repository_skip_tree_checks() -> None:
    result = run_checks(make_series([make_patch(ONE_LINE_DIFF)]))
    assert result.findings == () and not result.checkpatch_ran and not result.maintainers_found


def test_checkpatch_spacing_guesses_are_info_real_errors_stay() -> None:
    from patchtool.review.tree_checks import parse_checkpatch

    output = (
        "ERROR: spaces required around that '*' (ctx:WxV)\n#20: FILE: hw/a.c:7:\n+    fn_t *cb;\n\n"
        "ERROR: trailing whitespace\n#21: FILE: hw/a.c:8:\n+    x = 1; $\n\n"
        "WARNING: line over 80 characters\n#22: FILE: hw/a.c:9:\n"
        "ERROR: line over 90 characters\n#23: FILE: hw/a.c:10:\n"
        "ERROR: Error messages should not contain newlines\n#24: FILE: hw/a.c:11:\n"
        "ERROR: patch seems to be corrupt (line wrapped?)\n#64: FILE: hw/a.c:12:\n"
        "ERROR: space prohibited between function name and open parenthesis '('\n"
        "#70: FILE: hw/a.h:13:\n+    qemu_irq (*get_irq)(void *ctx, int n);\n"
        "ERROR: space prohibited between function name and open parenthesis '('\n"
        "#71: FILE: hw/a.c:14:\n+    get_irq (ctx, 1);\n"
        "ERROR: initializer for struct USBDescIface should normally be const\n"
        "#80: FILE: hw/a.c:15:\n+    USBDescIface *d = g_new0(USBDescIface, n);\n"
        "ERROR: initializer for struct TypeInfo should normally be const\n"
        "#81: FILE: hw/a.c:16:\n+static TypeInfo a_info = {\n"
        "ERROR: storage class should be at the beginning of the declaration\n"
        "#82: FILE: hw/a.c:17:\n+UNUSED static const struct flags open_flags[] = {\n"
        "ERROR: storage class should be at the beginning of the declaration\n"
        "#83: FILE: hw/a.c:18:\n+const static int limit = 4;\n"
        "ERROR: space prohibited between function name and open parenthesis '('\n"
        "#84: FILE: hw/a.c:19:\n+typedef HRESULT (WINAPI *get_desc_fn) (HANDLE h);\n"
        'ERROR: "foo * bar" should be "foo *bar"\n'
        "#85: FILE: hw/a.h:20:\n+BdrvChild * GRAPH_RDLOCK\n"
        'ERROR: "foo * bar" should be "foo *bar"\n'
        "#86: FILE: hw/a.h:21:\n+Dev * GRAPH_RDLOCK dev_find(const char *id);\n"
        'ERROR: "foo * bar" should be "foo *bar"\n'
        "#87: FILE: hw/a.c:22:\n+    int * p = q;\n"
    )
    found = parse_checkpatch(output, make_patch(ONE_LINE_DIFF))
    assert [(f.severity, f.line) for f in found] == [
        ("info", 7),
        ("error", 8),
        ("info", 9),
        ("info", 10),
        ("info", 11),
        ("info", 12),
        ("info", 13),  # a function pointer's declarator
        ("error", 14),  # a call
        ("info", 15),  # an allocation filled at run time
        ("error", 16),  # a static initialiser
        ("info", 17),  # an attribute macro before `static`
        ("error", 18),  # a qualifier before it
        ("info", 19),  # a function pointer's declarator with a calling convention
        ("info", 20),  # an annotation macro after the `*` of a return type
        ("info", 21),
        ("error", 22),  # a variable
    ]


def test_an_if_whose_brace_follows_an_endif_is_no_indent_error() -> None:
    # checkpatch.pl's output for `#ifdef X` / `if (a > 1 &&` / `a < 5)` / `#endif` / `{` (its
    # quote ends in the lone brace, added or context), against `if (a)` / `b = 2;` at one indent
    from patchtool.review.tree_checks import parse_checkpatch

    indent = "ERROR: suspect code indent for conditional statements"
    output = (
        f"{indent} (4, 4)\n#21: FILE: hw/x.c:5:\n+    if (a > 1 &&\n[...]\n+    {{\n\n"
        f"{indent} (8, 8)\n#22: FILE: hw/x.c:30:\n+        if (!use_pixman ||\n[...]\n         {{\n\n"
        f"{indent} (4, 4)\n#27: FILE: hw/x.c:11:\n+    if (a)\n+    b = 2;\n\n"
        f"{indent} (4, 8)\n#28: FILE: hw/x.c:12:\n+    if (a)\n[...]\n+        {{\n\n"
    )
    found = parse_checkpatch(output, make_patch(ONE_LINE_DIFF))
    assert [(f.severity, f.line) for f in found] == [("info", 5), ("info", 30), ("error", 11), ("error", 12)]


def test_a_comment_after_a_brace_and_a_tests_expected_output_are_no_checkpatch_errors() -> None:
    # sample S: `} else if (a) { // b` gets "trailing statements" for its C99 comment (which has an
    # error of its own); a space before "\n" in tests/ is the output a test expects. A statement
    # after the brace, and the space in a message outside tests/, stay errors.
    from patchtool.review.tree_checks import parse_checkpatch

    trailing, space = (
        "ERROR: trailing statements should be on next line",
        ("ERROR: unnecessary whitespace before a quoted newline"),
    )
    output = (
        f"{trailing}\n#20: FILE: migration/m.c:5:\n+    }} else if (a) {{ // && b()\n\n"
        f"{trailing}\n#21: FILE: migration/m.c:6:\n+    }} else if (a) {{ b(); // c\n\n"
        f'{trailing}\n#22: FILE: migration/m.c:7:\n+    if (a) {{ s = "//"; }}\n\n'
        f'{space}\n#23: FILE: tests/unit/test-cutils.c:8:\n+        "0010: 73 20   s is \\n";\n\n'
        f'{space}\n#24: FILE: hw/a.c:9:\n+    error_report("failed \\n");\n\n'
    )
    found = parse_checkpatch(output, make_patch(ONE_LINE_DIFF))
    expected = [("info", 5), ("error", 6), ("error", 7), ("info", 8), ("error", 9)]
    assert [(f.severity, f.line) for f in found] == expected


def test_blanks_that_are_a_strings_whole_text_are_no_quoted_newline_error() -> None:
    # sample AB: a script replaces "\n" with " \n " to split text into words; the blanks are the
    # data. A message with text before its blank and newline stays an error, in a script too.
    from patchtool.review.tree_checks import parse_checkpatch

    rule = "ERROR: unnecessary whitespace before a quoted newline"
    lines = [
        (10, 'text = text.replace("\\n", " \\n ")', "info"),
        (11, 'sep = "\\t \\n"', "info"),
        (12, 'print("wrapped \\n")', "error"),
        (13, 'out = " \\n" + "done \\n"', "error"),  # one of its strings has text
    ]
    output = "".join(f"{rule}\n#{n}: FILE: scripts/wrap.py:{n}:\n+{code}\n\n" for n, code, _ in lines)
    found = parse_checkpatch(output, make_patch(ONE_LINE_DIFF))
    assert [(f.severity, f.line) for f in found] == [(sev, n) for n, _, sev in lines]


def test_the_quoted_newline_rule_on_a_line_the_patch_does_not_add_is_no_error() -> None:
    # sample AJ: a patch deleting a dead comment above an old `printf("... \n")` got the
    # quoted-newline error for that context line (checkpatch reads every line of a hunk there).
    # The same line added stays an error, and so does a rule about the patch as a whole that
    # quotes the context line it stands on (Linux headers mixed with other changes, samples AC, AF).
    from patchtool.review.tree_checks import parse_checkpatch

    space = "ERROR: unnecessary whitespace before a quoted newline"
    mixed = "ERROR: headers imported from Linux should be self-contained in a patch with no other changes"
    output = (
        f'{space}\n#29: FILE: target/x/emu.c:1244:\n         printf("unhandled %d \\n", op);\n\n'
        f'{space}\n#30: FILE: target/x/emu.c:1250:\n+        printf("unhandled %d \\n", op);\n\n'
        f"{mixed}\n#31: FILE: include/standard-headers/linux/ids.h:68:\n #define ID_GPU 16\n\n"
    )
    found = parse_checkpatch(output, make_patch(ONE_LINE_DIFF))
    assert [(f.severity, f.line) for f in found] == [("info", 1244), ("error", 1250), ("error", 68)]


def test_a_local_declared_with_an_attribute_is_no_extern() -> None:
    # sample U: `int unused __attribute__ ((unused));` in a function body reads as a prototype
    # named __attribute__; a prototype in a .c file stays an error
    from patchtool.review.tree_checks import parse_checkpatch

    rule = "ERROR: externs should be avoided in .c files"
    output = (
        f"{rule}\n#30: FILE: trace/f.c:44:\n+    int unused __attribute__ ((unused));\n\n"
        f"{rule}\n#31: FILE: trace/f.c:45:\n+int helper(int a) __attribute__((pure));\n\n"
    )
    found = parse_checkpatch(output, make_patch(ONE_LINE_DIFF))
    assert [(f.severity, f.line) for f in found] == [("info", 44), ("error", 45)]


C99_DIFF = """diff --git a/target/x/emu.c b/target/x/emu.c
index 1111111..2222222 100644
--- a/target/x/emu.c
+++ b/target/x/emu.c
@@ -31,5 +31,5 @@
 //  Lesser General Public License for more details.
 //
-//  License along with this library; if not, write to the Free Software
-//  Foundation, Inc., 51 Franklin Street
+//  License along with this library; if not, see
+//  <https://www.gnu.org/licenses/>.
 ////////////////////////////////
@@ -60,2 +60,3 @@ int f(void)
 {
+    return 1; // done
 }
@@ -70,2 +71,3 @@ int g(void)
     a = 1;
+    // a new comment
     b = 2;
"""


def test_an_edit_inside_a_line_comment_the_file_has_is_no_c99_error() -> None:
    # sample V: a licence header written with `//`, whose FSF address the patch replaces with the
    # URL (merged so); a `//` comment the patch adds, at a line's end or alone, stays an error
    from patchtool.review.tree_checks import parse_checkpatch

    rule = "ERROR: do not use C99 // comments"
    output = "".join(f"{rule}\n#{40 + n}: FILE: target/x/emu.c:{n}:\n+// x\n\n" for n in (33, 34, 61, 72))
    found = parse_checkpatch(output, make_patch(C99_DIFF))
    assert [(f.severity, f.line) for f in found] == [("info", 33), ("info", 34), ("error", 61), ("error", 72)]


def test_the_c99_comment_check_reads_a_patch_once_not_once_per_finding() -> None:
    # a file of imported code draws one C99 error per line: reading the diff again for each made
    # the check quadratic (2,000 errors took 3 s)
    from patchtool.review.misreads import _comment_edits
    from patchtool.review.tree_checks import parse_checkpatch

    n = 300
    diff = f"diff --git a/x.c b/x.c\n--- a/x.c\n+++ b/x.c\n@@ -0,0 +1,{n} @@\n"
    diff += "".join(f"+int v{i}; // c{i}\n" for i in range(n))
    output = "".join(
        f"ERROR: do not use C99 // comments\n#{i + 9}: FILE: x.c:{i + 1}:\n+int v{i}; // c{i}\n\n"
        for i in range(n)
    )
    before = _comment_edits.cache_info().misses
    found = parse_checkpatch(output, make_patch(diff))
    assert [f.severity for f in found] == ["error"] * n
    assert _comment_edits.cache_info().misses == before + 1


def _macro_severities(cases: list[tuple[str, list[str]]]) -> list[str]:
    """The severity of each checkpatch error quoting a macro's added lines: (message, lines)."""
    from patchtool.review.tree_checks import parse_checkpatch

    output = "".join(
        f"ERROR: {msg}\n#{30 + i}: FILE: hw/t.c:{i + 1}:\n" + "".join(f"+{line}\n" for line in lines) + "\n"
        for i, (msg, lines) in enumerate(cases)
    )
    return [f.severity for f in parse_checkpatch(output, make_patch(ONE_LINE_DIFF))]


def test_a_macro_expanding_to_list_entries_is_no_macro_error() -> None:
    # an X-macro's `NAME##_IDX,`, a table's entries and comma-separated words cannot be put in
    # parentheses or do-while; an operator expression, statements, or a comma inside a call's
    # arguments, a string or a comment still can

    complex_, multiple = (
        "Macros with complex values should be enclosed in parenthesis",
        ("Macros with multiple statements should be enclosed in a do - while loop"),
    )
    cases = [
        (complex_, ["#define ENTRY(name, n) name##_IDX,"]),
        (multiple, ["# define ROW(rate) \\", "    { 1, rate }, \\", "    { 2, rate << 4 },"]),
        (complex_, ["#define WORDS(a, v) \\", "    0xe3001000 + (v), /* movw */ \\", "    0xe5801000 + (a)"]),
        (complex_, ["#define OR(a, b) a | b"]),
        (multiple, ["#define TWO(a) f(a, 1); g(a)"]),
        (complex_, ['#define SAY(a) "x, y" a /* a, b */']),
    ]
    assert _macro_severities(cases) == ["info", "info", "info", "error", "error", "error"]


TYPO_RENAME_DIFF = """diff --git a/target/x/task.c b/target/x/task.c
index 1111111..2222222 100644
--- a/target/x/task.c
+++ b/target/x/task.c
@@ -10,4 +10,5 @@ static void load_segments(CPUState *cpu, tss_t *tss)
 {
-    write_selector(cpu, (x68_segment_selector){{tss->ldt}}, R_LDTR);
-    write_selector(cpu, (x68_segment_selector){{tss->es}}, R_ES);
+    write_selector(cpu, (x86_segment_selector){{tss->ldt}}, R_LDTR);
+    write_selector(cpu, (x86_segment_selector){{tss->es}},R_ES);
+    write_selector(cpu, (x86_segment_selector){{tss->cs}}, R_CS);
 }
"""


def test_a_layout_rule_on_a_line_that_only_renames_names_is_no_error() -> None:
    # sample AJ: a type-name typo fixed across lines whose compound literals read `{{tss->ldt}}`
    # (merged as written): the brace spacing is the old line's. A line the patch adds new, and a
    # renamed line whose spacing the patch changed, stay errors.
    from patchtool.review.tree_checks import parse_checkpatch

    brace, comma = "ERROR: space required after that close brace '}'", "ERROR: space required after that ','"
    added = {n: line[1:] for n, line in enumerate(TYPO_RENAME_DIFF.splitlines()[-4:-1], 11)}
    output = "".join(
        f"{rule}\n#{n - 2}: FILE: target/x/task.c:{n}:\n+{added[n]}\n\n"
        for rule, n in ((brace, 11), (brace, 12), (comma, 12), (brace, 13))
    )
    found = parse_checkpatch(output, make_patch(TYPO_RENAME_DIFF))
    expected = [("info", 11), ("error", 12), ("error", 12), ("error", 13)]
    assert [(f.severity, f.line) for f in found] == expected


VDSO_DIFF = """diff --git a/linux-user/elfload.c b/linux-user/elfload.c
index 1111111..2222222 100644
--- a/linux-user/elfload.c
+++ b/linux-user/elfload.c
@@ -3545,4 +3545,6 @@
 #ifdef VDSO_HEADER
-#define  vdso_image_info()  &vdso_image_info
+#define  vdso_image_info(flags)  &vdso_image_info
+#define  vdso_other(flags)  &vdso_other_info
+#define  vdso_third(flags)  (flags) | VDSO_X
 #else
-#define  vdso_third()  VDSO_X
"""


def test_a_macro_whose_body_the_patch_keeps_is_no_macro_error() -> None:
    # sample AK: a parameter added to `#define vdso_image_info() &vdso_image_info` (merged as
    # written): the value checkpatch objects to is the old one. A new macro, and one whose body
    # the patch changes, stay errors.
    from patchtool.review.tree_checks import parse_checkpatch

    rule = "ERROR: Macros with complex values should be enclosed in parenthesis"
    added = [line for line in VDSO_DIFF.splitlines() if line.startswith("+#")]
    where = "FILE: linux-user/elfload.c"
    output = "".join(f"{rule}\n#{9 + i}: {where}:{3546 + i}:\n{a}\n\n" for i, a in enumerate(added))
    found = parse_checkpatch(output, make_patch(VDSO_DIFF))
    assert [f.severity for f in found] == ["info", "error", "error"]


def new_file_diff(path: str, lines: str) -> str:
    """A diff that creates `path` holding `lines` (each added)."""
    added = lines.splitlines()
    head = f"diff --git a/{path} b/{path}\nnew file mode 100644\nindex 0000000..2222222\n"
    head += f"--- /dev/null\n+++ b/{path}\n@@ -0,0 +1,{len(added)} @@\n"
    return head + "".join(f"+{x}\n" for x in added)


OPERATOR_MACRO_DIFF = new_file_diff(
    "target/x/sat.c",
    """\
#define WIDEN(x, y, op) do { \\
    long r_; \\
    r_ = (long)(short)(x) op (long)(short)(y); \\
    keep(r_); \\
    } while (0)
#define NARROW(x, y, op) ((int)(x) op (y))
#define TWICE(x, fn) (fn (x) + (x) fn (x))
#define CAST(x, y) (short)(x) z (0)
static int pick(int x)
{
    return (x) clamp (x);
}
""",
)


def test_an_operator_handed_to_a_macro_is_no_function_name() -> None:
    # samples AL and AN: `#define SARITH16(a, b, n, op)` ... `(int32_t)(int16_t)(a) op
    # (int32_t)(int16_t)(b)` (moved unchanged, merged so): `op` is the macro's operator, not a
    # function. A spaced call beside it, a name that is no parameter of the macro, and code
    # outside any macro stay errors.
    from patchtool.review.tree_checks import parse_checkpatch

    rule = "ERROR: space prohibited between function name and open parenthesis '('"
    added = {n: line[1:] for n, line in enumerate(OPERATOR_MACRO_DIFF.splitlines()[6:], 1)}
    where = "FILE: target/x/sat.c"
    output = "".join(f"{rule}\n#{n + 5}: {where}:{n}:\n+{added[n]}\n\n" for n in (3, 6, 7, 8, 11))
    found = parse_checkpatch(output, make_patch(OPERATOR_MACRO_DIFF))
    assert [(f.severity, f.line) for f in found] == [
        ("info", 3),
        ("info", 6),
        ("error", 7),  # `fn (x)` is also a call
        ("error", 8),  # `z` is no parameter of the macro
        ("error", 11),  # no macro
    ]


FILLED_DIFF = new_file_diff(
    "hw/x/reg.c",
    """\
static TypeInfo base_info = {
    .name = "base",
};
static void reg_types(void)
{
    TypeInfo each = {
        .parent = "base",
    };
    TypeInfo once = {
        .parent = "base",
    };
    int i;

    type_register(&once);
    for (i = 0; i < 4; i++) {
        each.name = names[i];
        if (each.class_data == NULL) {
            type_register(&each);
        }
    }
    base_info.parent = NULL;
}
""",
)


def test_a_brace_initialiser_filled_in_later_is_no_const_error() -> None:
    # sample AO: a registration loop's `TypeInfo type_info = {...}` whose name the loop sets
    # (moved into a new file): it cannot be const. One never written again, and a file-scope
    # one (assigned in a function below it), stay errors.
    from patchtool.review.tree_checks import parse_checkpatch

    rule = "ERROR: initializer for struct TypeInfo should normally be const"
    added = {n: line[1:] for n, line in enumerate(FILLED_DIFF.splitlines()[6:], 1)}
    output = "".join(f"{rule}\n#{n + 5}: FILE: hw/x/reg.c:{n}:\n+{added[n]}\n\n" for n in (1, 6, 9))
    found = parse_checkpatch(output, make_patch(FILLED_DIFF))
    assert [(f.severity, f.line) for f in found] == [("error", 1), ("info", 6), ("error", 9)]


def test_a_macro_defining_file_scope_tables_is_no_do_while_error() -> None:
    # sample AJ: a translator macro making two static helper tables and a TRANS_FEAT function
    # (checkpatch exempts declarations, but not of a type it does not know); statements, and a
    # name that merely starts with "static", stay errors

    multiple = "Macros with multiple statements should be enclosed in a do - while loop"
    cases = [
        ["#define DO_FNS(NAME, name) \\", "    static fn_ptr * const name##_fns[2] = { \\",
         "        gen_##name##_h, gen_##name##_s \\", "    }; \\",
         "    TRANS(NAME, do_op, name##_fns[a->esz])"],
        ["#define BUMP(s) \\", "    statics_seen++; \\", "    s->n++"],
        ["#define SET(s) \\", "    s->a = 1; \\", "    static int once"],
    ]  # fmt: skip
    assert _macro_severities([(multiple, lines) for lines in cases]) == ["info", "error", "error"]


def test_a_macro_of_case_labels_is_no_do_while_error() -> None:
    # sample s55-P: a new controller's register reads, `case addr: ...; break;` three times in a
    # macro used inside a switch (as master's SCSI register files have them), merged as written:
    # no do-while can hold labels of the switch around it. A macro holding a whole switch in
    # braces, a label only in a string or a comment, a ternary, and a name with "case" in it
    # stay errors.

    multiple = "Macros with multiple statements should be enclosed in a do - while loop"
    cases = [
        ["#define GET_REG16(name, addr) \\", "    case addr: \\", "        ret = s->name & 0xff; \\",
         "        break; \\", "    case addr + 1: \\", "        ret = s->name >> 8; \\", "        break;"],
        ["#define OTHERS(r) \\", "    default: \\", "        r = 0; \\", "        break;"],
        ["#define PICK(v, r) \\", "    switch (v) { case 1: r = 2; break; default: r = 0; } \\", "    r++"],
        ["#define SAY(s) \\", '    puts("case 1: no"); /* case 2: */ \\', "    s->n++"],
        ["#define TERN(s, a) \\", "    s->x = a ? 1 : 2; \\", "    s->n++"],
        ["#define LOWER(s) \\", "    lowercase(s); \\", "    s->n = base::x"],
    ]  # fmt: skip
    severities = _macro_severities([(multiple, lines) for lines in cases])
    assert severities == ["info", "info", "error", "error", "error", "error"]


ALWAYS = (
    "print \"ERROR: New file 'hw/new.json' requires 'SPDX-License-Identifier'\\n\";\n"
    'print "ERROR: always\\n";\n'
)
MODE_ONLY = "diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n"


def _always_repo(tmp_path: Path) -> Path:
    files = {"scripts/checkpatch.pl": ALWAYS, "MAINTAINERS": "", "run.sh": "true\n", "README": "hello\n"}
    return make_repo(tmp_path / "q", files)


def _checkpatch_findings(repo: Path, *diffs: str) -> list[tuple[str, str, str | None]]:
    r = GitRepo(repo)
    patches = [make_patch(d, index=i + 1, total=len(diffs)) for i, d in enumerate(diffs)]
    found = run_checks(make_series(patches), repo=r, base=r.rev_parse("HEAD")).findings
    return [(f.severity, f.message, f.patch) for f in found if f.code == "checkpatch"]


_SAYS = 'print "ERROR: %s\\n#%d: FILE: %s\\n+%s\\n\\n";\n'
IMPORTED = (
    "print \"ERROR: New file 'scripts/lib/doc/__init__.py' requires 'SPDX-License-Identifier'\\n\";\n"
    + _SAYS % ("code indent should never use tabs", 14, "scripts/lib/doc/parse.py:2:", "\\tx = 1")
    + _SAYS % ("trailing whitespace", 20, "scripts/doc.py:2:", "y = 2 ")
    + _SAYS % ("space required after that ','", 28, "linux-headers/doc.h:1:", "int x,y;")
    + "print \"ERROR: Saw unacceptable licenses 'GPL-2.0', valid choices for QEMU are: GPL-2.0+\\n\";\n"
)
IMPORTED_DIFF = """diff --git a/scripts/lib/doc/__init__.py b/scripts/lib/doc/__init__.py
new file mode 100644
index 0000000..e69de29
diff --git a/scripts/lib/doc/parse.py b/scripts/lib/doc/parse.py
new file mode 100644
index 0000000..1111111
--- /dev/null
+++ b/scripts/lib/doc/parse.py
@@ -0,0 +1,3 @@
+# SPDX-License-Identifier: GPL-2.0
+def parse():
+\tx = 1
diff --git a/scripts/doc.py b/scripts/doc.py
index 3333333..4444444 100644
--- a/scripts/doc.py
+++ b/scripts/doc.py
@@ -1 +1,2 @@
 x = 1
+y = 2\x20
diff --git a/linux-headers/doc.h b/linux-headers/doc.h
new file mode 100644
index 0000000..2222222
--- /dev/null
+++ b/linux-headers/doc.h
@@ -0,0 +1 @@
+int x,y;
"""


@pytest.mark.parametrize(
    ("title", "body", "notes"),
    [
        # the subject says so: every file of the patch
        (
            "scripts: Import the doc parser from Linux kernel",
            "",
            {"scripts/lib/doc/__init__.py", "scripts/lib/doc/parse.py", "scripts/doc.py"},
        ),
        # the body alone: the files the patch adds
        (
            "scripts: update the doc parser",
            "Sync it with the latest upstream version from linux-next.\n",
            {"scripts/lib/doc/__init__.py", "scripts/lib/doc/parse.py"},
        ),
        ("scripts: port the doc parser fix from Linux", "", set()),  # QEMU's own code, fixed
        ("scripts: add a doc parser", "It follows the approach Linux takes.\n", set()),
        ("scripts: add a doc parser", "The loop is copied from linux-user/main.c.\n", set()),
        # both ways is QEMU's state kept in step with KVM's (a real 2010 patch adding kvm-stub.c)
        ("kvm: add a doc parser", "It syncs the state to and from the kernel.\n", set()),
        ("kvm: add a doc parser", "Registers are synced to/from the kernel.\n", set()),
    ],
)
def test_code_imported_from_linux_keeps_its_style_as_a_note(
    tmp_path: Path, title: str, body: str, notes: set[str]
) -> None:
    """A patch that says it imports code from Linux keeps upstream's tabs and licence lines, as
    QEMU merges them (a real series imported kernel-doc's Python so): checkpatch's errors on those
    files are notes. linux-headers/ keeps its own rules; a port of a fix is QEMU's code."""
    repo = make_repo(
        tmp_path / "q", {"scripts/checkpatch.pl": IMPORTED, "MAINTAINERS": "", "scripts/doc.py": "x = 1\n"}
    )
    r = GitRepo(repo)
    message = body + "\nSigned-off-by: Ada Lovelace <ada@example.org>\n"
    patch = make_patch(IMPORTED_DIFF, title=title, message=message)
    found = run_checks(make_series([patch]), repo=r, base=r.rev_parse("HEAD")).findings
    said = {f"{f.file} {f.message}": f.severity for f in found if f.code == "checkpatch"}
    assert len(said) == 5
    paths = (
        "scripts/lib/doc/__init__.py",
        "scripts/lib/doc/parse.py",
        "scripts/doc.py",
        "linux-headers/doc.h",
    )
    for path in paths:
        severity = next(sev for text, sev in said.items() if path in text)
        assert severity == ("info" if path in notes else "error"), path
    # the licence checkpatch refuses names no file: parse.py's added SPDX line declares it
    severity = next(sev for text, sev in said.items() if "unacceptable licenses" in text)
    assert severity == ("info" if "scripts/lib/doc/parse.py" in notes else "error")


def test_checkpatch_skips_a_mode_change_and_weighs_what_it_misjudges(tmp_path: Path) -> None:
    repo = _always_repo(tmp_path)
    assert _checkpatch_findings(repo, MODE_ONLY) == []
    found = _checkpatch_findings(repo, ONE_LINE_DIFF)
    # hw/new.json is not added by the patch (and JSON holds no comment): a note
    assert [(sev, msg.split(": ", 1)[1][:8]) for sev, msg, _ in found] == [
        ("info", "New file"),
        ("error", "always"),
    ]


NO_NEWLINE = (
    'print "ERROR: adding a line without newline at end of file\\n#9: FILE: qapi/link.h:1:\\n\\n";\n'
    'print "ERROR: adding a line without newline at end of file\\n#20: FILE: README:1:\\n\\n";\n'
)
LINK_DIFF = """diff --git a/qapi/link.h b/qapi/link.h
new file mode 120000
index 0000000..1111111
--- /dev/null
+++ b/qapi/link.h
@@ -0,0 +1 @@
+../include/link.h
\\ No newline at end of file
"""


def test_what_checkpatch_says_of_a_symbolic_link_is_a_note(tmp_path: Path) -> None:
    # a link's content is its target's path, without a final newline: not a line of code
    repo = make_repo(
        tmp_path / "q", {"scripts/checkpatch.pl": NO_NEWLINE, "MAINTAINERS": "", "README": "hello\n"}
    )
    found = _checkpatch_findings(repo, LINK_DIFF + ONE_LINE_DIFF)
    assert [(sev, msg.split(": ", 1)[1][:6]) for sev, msg, _ in found] == [
        ("info", "adding"),
        ("error", "adding"),
    ]


def _errors_script(errors: list[tuple[str, str]], first_line: int) -> str:
    """A checkpatch.pl that prints these (message, path) errors, on lines from ``first_line`` on."""
    return "".join(
        f'print "ERROR: {msg}\\n#{9 + i}: FILE: {path}:{first_line + i}:\\n\\n";\n'
        for i, (msg, path) in enumerate(errors)
    )


BLANKS = _errors_script(
    [
        ("trailing whitespace", "subprojects/packagefiles/lib-include.patch"),
        ("trailing whitespace", "tests/data/fix.diff"),
        ("trailing whitespace", "hw/a.c"),
        ("trailing whitespace", "docs/lib.patch.rst"),
        ("code indent should never use tabs", "subprojects/packagefiles/lib-include.patch"),
    ],
    6,
)


def test_trailing_blanks_in_a_file_that_is_a_diff_are_a_note(tmp_path: Path) -> None:
    # a diff's context line of a blank line is a single space: a patch file cannot lose it
    files = {"scripts/checkpatch.pl": BLANKS, "MAINTAINERS": "", "README": "hello\n"}
    found = _checkpatch_findings(make_repo(tmp_path / "q", files), ONE_LINE_DIFF)
    said = {msg: sev for sev, msg, _ in found}
    assert said == {
        "checkpatch: trailing whitespace (in a file that is a diff: kept as it applies) (2 times: "
        "subprojects/packagefiles/lib-include.patch:6, tests/data/fix.diff:7)": "info",
        "checkpatch: trailing whitespace (2 times: hw/a.c:8, docs/lib.patch.rst:9)": "error",
        "checkpatch: code indent should never use tabs": "error",  # only blanks are the diff's
    }


GUEST = _errors_script(
    [
        ("Use of volatile is usually wrong, please add a comment", "tests/tcg/arm/t.c"),
        ("use g_assert_not_reached() instead of assert(false)", "tests/tcg/arm/t.c"),
        ("code indent should never use tabs", "tests/tcg/arm/t.c"),
        ("use g_assert_not_reached() instead of assert(false)", "tests/tcg/plugins/p.c"),
        ("use qemu_real_host_page_size() instead of sysconf(_SC_PAGESIZE)", "hw/a.c"),
    ],
    4,
)


def test_host_advice_on_a_guest_test_program_is_a_note(tmp_path: Path) -> None:
    # tests/tcg/ programs are built for the guest without QEMU's headers or glib; its plugins are not
    repo = make_repo(tmp_path / "q", {"scripts/checkpatch.pl": GUEST, "MAINTAINERS": "", "README": "hello\n"})
    found = _checkpatch_findings(repo, ONE_LINE_DIFF)
    assert [sev for sev, _, _ in found] == ["info", "info", "error", "error", "error"]


PLUGIN_STRTO = "".join(
    f'print "ERROR: consider using qemu_{fn} in preference to {fn}'
    f'\\n#{9 + i}: FILE: {path}:{4 + i}:\\n\\n";\n'
    for i, (fn, path) in enumerate(
        [("strtoull", "contrib/plugins/p.c"), ("strtol", "tests/tcg/plugins/q.c"), ("strtoull", "hw/a.c")]
    )
)


def test_qemu_strto_advice_on_a_plugin_names_what_plugins_can_call(tmp_path: Path) -> None:
    # a TCG plugin links glib and the plugin API only: qemu_strtoull is not there to call (real
    # sample Y); every plugin on master parses numbers with g_ascii_strtoull. Still an error.
    files = {"scripts/checkpatch.pl": PLUGIN_STRTO, "MAINTAINERS": "", "README": "hi\n"}
    repo = make_repo(tmp_path / "q", files)
    found = _checkpatch_findings(repo, ONE_LINE_DIFF)
    assert [(sev, msg.split(": ", 1)[1]) for sev, msg, _ in found] == [
        ("error", "use g_ascii_strtoull in preference to strtoull (a plugin cannot call qemu_strtoull)"),
        ("error", "use g_ascii_strtoll in preference to strtol (a plugin cannot call qemu_strtol)"),
        ("error", "consider using qemu_strtoull in preference to strtoull"),
    ]


BANNED = (
    'print "ERROR: DEVICE_NATIVE_ENDIAN is not allowed, use DEVICE_LITTLE_ENDIAN or DEVICE_BIG_ENDIAN'
    ' instead\\n#9: FILE: system/ld.c.inc:4:\\n\\n";\n'
    'print "ERROR: use qemu_real_host_page_size() instead of getpagesize()'
    '\\n#10: FILE: system/ld.c.inc:5:\\n\\n";\n'
)


def _endian_diff(removed: int, added: int, extra: str = "") -> str:
    minus = "".join(f"-    ld_{i}(as, DEVICE_NATIVE_ENDIAN);\n" for i in range(removed))
    plus = "".join(f"+    ld_any(as, {i}, DEVICE_NATIVE_ENDIAN);\n" for i in range(added)) + extra
    return (
        "diff --git a/system/ld.c.inc b/system/ld.c.inc\n--- a/system/ld.c.inc\n+++ b/system/ld.c.inc\n"
        f"@@ -1,{removed + 1} +1,{added + 1 + extra.count(chr(10))} @@\n {{\n{minus}{plus}"
    )


def test_a_banned_name_the_series_only_moves_is_a_note(tmp_path: Path) -> None:
    # real sample AC: a series that restricts DEVICE_NATIVE_ENDIAN factors its remaining uses into
    # a template (10 lines removed, 3 added over the series; merged so): those are no new uses.
    # One new getpagesize() in the same series stays an error, and so does a series that adds more.
    repo = make_repo(tmp_path / "q", {"scripts/checkpatch.pl": BANNED, "MAINTAINERS": "", "README": "hi\n"})
    moved = _checkpatch_findings(repo, _endian_diff(3, 1), _endian_diff(0, 2, "+    n = getpagesize();\n"))
    assert [(sev, msg.split(": ", 1)[1][:21], patch) for sev, msg, patch in moved] == [
        ("info", "DEVICE_NATIVE_ENDIAN ", "1/2"),
        ("error", "use qemu_real_host_pa", "1/2"),
        ("info", "DEVICE_NATIVE_ENDIAN ", "2/2"),
        ("error", "use qemu_real_host_pa", "2/2"),
    ]
    assert moved[0][1].endswith(
        "the series removes 3 lines using DEVICE_NATIVE_ENDIAN and adds 3: it moves existing uses"
    )
    new = _checkpatch_findings(repo, _endian_diff(3, 1), _endian_diff(0, 3))
    assert [sev for sev, msg, _ in new if "NATIVE" in msg] == ["error", "error"]


LICENCES = "".join(
    f"print \"ERROR: Saw unacceptable licenses '{name}', valid choices for QEMU are:\nGPL-2.0-or-later\n\";\n"
    for name in ("tag]", "GPL-9", "GPL-9,MIT", '*/\\"', "GPL-9',")
)
SPDX_DIFF = """diff --git a/hw/b.c b/hw/b.c
new file mode 100644
index 0000000..1111111
--- /dev/null
+++ b/hw/b.c
@@ -0,0 +1,2 @@
+/* SPDX-License-Identifier: GPL-9 OR MIT */
+int b;
diff --git a/scripts/gen-b.awk b/scripts/gen-b.awk
new file mode 100644
index 0000000..2222222
--- /dev/null
+++ b/scripts/gen-b.awk
@@ -0,0 +1,3 @@
+BEGIN {
+    print "/* SPDX-License-Identifier: GPL-9 */"
+}
"""


LINK_SPDX = (
    "print \"ERROR: New file 'qapi/link.h' requires 'SPDX-License-Identifier'\\n\";\n"
    "print \"ERROR: New file 'qapi/real.h' requires 'SPDX-License-Identifier'\\n\";\n"
)
# the same new file, a regular one holding code
REAL_FILE_DIFF = (
    LINK_DIFF.replace("link.h", "real.h")
    .replace("mode 120000", "mode 100644")
    .replace("+../include/real.h\n\\ No newline at end of file\n", "+int real;\n")
)


def test_a_symbolic_link_asked_for_an_spdx_line_is_a_note(tmp_path: Path) -> None:
    # a new link (QEMU's rust/bindings/*-sys/build.rs) holds a path; the file it names has the line
    files = {"scripts/checkpatch.pl": LINK_SPDX, "MAINTAINERS": "", "README": "hello\n"}
    found = _checkpatch_findings(make_repo(tmp_path / "q", files), LINK_DIFF + REAL_FILE_DIFF)
    named = [(sev, msg.split("'")[1]) for sev, msg, _ in found]
    assert named == [("info", "qapi/link.h"), ("error", "qapi/real.h")]


HELPER = (
    'print "ERROR: use host_page_size() instead of getpagesize()\\n#9: FILE: util/page.c:4:\\n\\n";\n'
    'print "ERROR: use host_page_size() instead of getpagesize()\\n#19: FILE: hw/dev.c:2:\\n\\n";\n'
)
PAGE_C = "#include <unistd.h>\n\nlong host_page_size(void)\n{\n    return 4096;\n}\n"
DEV_C = "long dev_pages(long n)\n{\n    return n / 4096;\n}\n"


def test_helper_advice_inside_the_helper_itself_is_a_note(tmp_path: Path) -> None:
    # "use host_page_size() instead of getpagesize()" where host_page_size() is built on it
    files = {"scripts/checkpatch.pl": HELPER, "MAINTAINERS": "", "util/page.c": PAGE_C, "hw/dev.c": DEV_C}
    repo = make_repo(tmp_path / "q", files)
    diff = diff_after(
        repo,
        {
            "util/page.c": PAGE_C.replace("return 4096;", "return getpagesize();"),
            "hw/dev.c": DEV_C.replace("n / 4096", "n / getpagesize()"),
        },
    )
    assert [sev for sev, _, _ in _checkpatch_findings(repo, diff)] == ["info", "error"]


def test_a_licence_read_off_the_commit_message_is_a_note(tmp_path: Path) -> None:
    # checkpatch names no file for its licence rule; a maintainer's note "[X: Add
    # SPDX-License-Identifier: GPL-2.0-or-later tag]" yields "tag]", which no line of the diff declares
    files = {"scripts/checkpatch.pl": LICENCES, "MAINTAINERS": "", "README": "hello\n"}
    found = _checkpatch_findings(make_repo(tmp_path / "q", files), SPDX_DIFF)
    assert [(sev, msg.split("'")[1]) for sev, msg, _ in found] == [
        ("info", "tag]"),
        ("error", "GPL-9"),
        ("error", "GPL-9,MIT"),
        ("info", '*/"'),  # the end of `print "/* SPDX-License-Identifier: ... */"` in a script
        ("info", "GPL-9"),  # "GPL-9',": a script's `out('// SPDX-License-Identifier: GPL-9',`
    ]


BOILERPLATE = "".join(
    f"print \"ERROR: New file '{path}' must not have license boilerplate header text, only the "
    "SPDX-License-Identifier, unless this file was copied from existing code already having such "
    'text.\\n";\n'
    for path in ("hw/split.c", "hw/fresh.c")
)
_BODY = [f"    s->reg[{i}] = read_reg(s, {i});" for i in range(12)]
LICENCE_TEXT = ["/*", " * This work is licensed under the terms of the GNU GPL, version 2 or later.", " */"]


def _new_file(path: str, lines: list[str]) -> str:
    added = "".join(f"+{t}\n" for t in lines)
    return (
        f"diff --git a/{path} b/{path}\nnew file mode 100644\nindex 0000000..1111111\n"
        f"--- /dev/null\n+++ b/{path}\n@@ -0,0 +1,{len(lines)} @@\n{added}"
    )


def test_licence_boilerplate_of_a_file_split_out_of_another_is_a_note(tmp_path: Path) -> None:
    # sample W: checkpatch's own rule exempts a file copied from existing code with such text; a
    # new file whose code the patch takes out of hw/old.c is one, a file written anew is not
    old = ["void old_fn(S *s)", "{", *_BODY, "}"]
    files = {"scripts/checkpatch.pl": BOILERPLATE, "MAINTAINERS": "", "hw/old.c": "\n".join(old) + "\n"}
    repo = make_repo(tmp_path / "q", files)
    gone = "".join(f"-{t}\n" for t in old)
    diff = (
        f"diff --git a/hw/old.c b/hw/old.c\nindex 1111111..2222222 100644\n--- a/hw/old.c\n+++ b/hw/old.c\n"
        f"@@ -1,{len(old)} +0,0 @@\n{gone}"
        + _new_file("hw/split.c", [*LICENCE_TEXT, "void split_fn(S *s)", "{", *_BODY, "}"])
        + _new_file("hw/fresh.c", [*LICENCE_TEXT, "void fresh_fn(S *s)", "{", *_BODY[:2], "}"])
    )
    found = _checkpatch_findings(repo, diff)
    expected = [("info", "hw/split.c"), ("error", "hw/fresh.c")]
    assert [(sev, msg.split("'")[1]) for sev, msg, _ in found] == expected


@pytest.mark.parametrize(
    ("message", "notes"),
    [
        # the author claims the rule's exception for one file: that file's error is a note
        (
            "Add it.\n\nThe MIT license of split.c preserved as in original\nfile from a vendor tree.\n",
            {"split.c"},
        ),
        ("Add it.\n\nBoth keep the copyright and licence text of the vendor's fresh.c and split.c.\n", None),
        # a licence kept, but no file named; a file named, but nothing kept; nor a longer name
        ("Add it.\n\nThe original licence is preserved.\n", set()),
        ("Add it.\n\nThe license of split.c is MIT.\n", set()),
        ("Add it.\n\nThe license of old_split.c is preserved.\n", set()),
        ("Add it.\n\nsplit.c is a copy. The licence is preserved.\n", set()),  # two sentences
    ],
)
def test_licence_boilerplate_the_message_says_is_kept_from_the_copied_file_is_a_note(
    tmp_path: Path, message: str, notes: set[str] | None
) -> None:
    files = {"scripts/checkpatch.pl": BOILERPLATE, "MAINTAINERS": "", "README": "hello\n"}
    repo = make_repo(tmp_path / "q", files)
    diff = _new_file("hw/split.c", [*LICENCE_TEXT, "int a;"])
    diff += _new_file("hw/fresh.c", [*LICENCE_TEXT, "int b;"])
    r = GitRepo(repo)
    series = make_series([make_patch(diff, message=message)])
    checked = run_checks(series, repo=r, base=r.rev_parse("HEAD"))
    found = [f for f in checked.findings if f.code == "checkpatch"]
    said = {f.message.split("'")[1].removeprefix("hw/"): f.severity for f in found}
    notes = {"split.c", "fresh.c"} if notes is None else notes
    assert said == {name: ("info" if name in notes else "error") for name in ("split.c", "fresh.c")}


NO_SIGNOFF = 'print "ERROR: Missing Signed-off-by: line(s)\\n";\n'
SOB_NO_SPACE = 'print "ERROR: space required after Signed-off-by:\\n";\n'


@pytest.mark.parametrize(
    ("script", "message", "ours", "severity"),
    [
        # without a Signed-off-by, dco-missing-author-signoff says so (and whose is missing)
        (NO_SIGNOFF, "Fix it.\n", "dco-missing-author-signoff", "info"),
        (NO_SIGNOFF, f"Fix it.\n\n{SOB_ADA}\n", "dco-missing-author-signoff", "error"),
        # `Signed-off-by:Name`: trailer-malformed names the trailer (sample AD); one finding, not two
        (
            SOB_NO_SPACE,
            "Fix it.\n\nSigned-off-by:Ada Lovelace <ada@example.org>\n",
            "trailer-malformed",
            "info",
        ),
        (SOB_NO_SPACE, f"Fix it.\n\n{SOB_ADA}\n", "trailer-malformed", "error"),  # ours sees nothing
    ],
)
def test_checkpatch_saying_again_what_our_check_said_is_a_note(
    tmp_path: Path, script: str, message: str, ours: str, severity: str
) -> None:
    files = {"scripts/checkpatch.pl": script, "MAINTAINERS": "", "README": "hello\n"}
    r = GitRepo(make_repo(tmp_path / "q", files))
    patch = make_patch(ONE_LINE_DIFF, message=message)
    found = run_checks(make_series([patch]), repo=r, base=r.rev_parse("HEAD")).findings
    assert [f.severity for f in found if f.code == "checkpatch"] == [severity]
    assert (ours in codes(found)) == (severity == "info")


def test_a_patch_checkpatch_does_not_finish_is_named_not_checked(tmp_path: Path) -> None:
    # checkpatch ran five minutes on a real 5,400-line patch: past the limit the patch is named
    # as not checked (with the limit and the way out), and the next patch is still checked
    slow = 'sleep 30 if grep { /slow/ } <>;\nprint "ERROR: always\\n";\n'
    files = {"scripts/checkpatch.pl": slow, "MAINTAINERS": "", "README": "hello\n"}
    r = GitRepo(make_repo(tmp_path / "q", files))
    slow_diff = ONE_LINE_DIFF.replace("+hello", "+slow")
    patches = [make_patch(slow_diff, index=1, total=2), make_patch(ONE_LINE_DIFF, index=2, total=2)]
    found = run_checks(make_series(patches), repo=r, base=r.rev_parse("HEAD"), checkpatch_timeout=2).findings
    by_patch = [(f.patch, f.severity, f.message) for f in found if f.code == "checkpatch"]
    assert [(label, sev) for label, sev, _ in by_patch] == [("1/2", "info"), ("2/2", "error")]
    assert "not checked" in by_patch[0][2] and "after 2 s" in by_patch[0][2]
    assert "patchtool.checkpatch.timeout" in by_patch[0][2]


@pytest.mark.parametrize("jobs", [2, 3])
def test_checkpatch_checks_patches_at_once_and_reports_them_in_the_series_order(
    tmp_path: Path, jobs: int
) -> None:
    # each patch's check waits (up to 5 s) for the other's to start: both meet only when they run
    # at the same time; the first, which waits longer, is still reported first
    flags = tmp_path / "flags"
    flags.mkdir()
    meet = (
        "my $mail = do { local $/; <> };\n"
        "my ($me) = $mail =~ /\\+meet-(\\w+)/;\n"
        'my $other = $me eq "a" ? "b" : "a";\n'
        f'my $dir = "{flags}";\n'
        'open(my $fh, ">", "$dir/$me") or die; close $fh;\n'
        'for (1 .. 250) { last if -e "$dir/$other"; select(undef, undef, undef, 0.02); }\n'
        'select(undef, undef, undef, 0.5) if $me eq "a";\n'
        'print(-e "$dir/$other" ? "ERROR: $me met $other\\n" : "ERROR: $me alone\\n");\n'
    )
    files = {"scripts/checkpatch.pl": meet, "MAINTAINERS": "", "README": "hello\n"}
    r = GitRepo(make_repo(tmp_path / "q", files))
    patches = [
        make_patch(ONE_LINE_DIFF.replace("+hello, world", f"+meet-{me}"), index=i, total=2)
        for i, me in enumerate("ab", 1)
    ]
    found = run_checks(make_series(patches), repo=r, base=r.rev_parse("HEAD"), checkpatch_jobs=jobs).findings
    said = [(f.patch, f.message) for f in found if f.code == "checkpatch"]
    assert said == [("1/2", "checkpatch: a met b"), ("2/2", "checkpatch: b met a")]


def test_series_that_changes_checkpatch_gets_notes_from_the_base_script(tmp_path: Path) -> None:
    repo = _always_repo(tmp_path)
    script = diff_after(repo, {"scripts/checkpatch.pl": ALWAYS + "# newer rules\n"})
    assert {sev for sev, _, _ in _checkpatch_findings(repo, script, ONE_LINE_DIFF)} == {"info"}


def test_attribute_macro_before_the_return_type_is_no_signature_change(tmp_path: Path) -> None:
    # `QEMU_PLUGIN_API int f(void)`: an export macro added before the return type changes no caller.
    nic_h = "int nic_count(void);\n"
    nic_c = '#include "nic.h"\n\nint nic_total(void)\n{\n    return nic_count() + 1;\n}\n'
    repo = make_repo(tmp_path / "q", {"hw/nic.h": nic_h, "hw/nic.c": nic_c})
    diff = diff_after(repo, {"hw/nic.h": "QEMU_EXPORT\n" + nic_h})
    assert "stale-caller" not in codes(_run(repo, diff))


def test_argument_line_inserted_inside_a_call_updates_it(tmp_path: Path) -> None:
    # The patch adds a parameter and inserts the new argument's line between the call's own lines.
    nic_h = "void nic_send(int a, int b);\n"
    nic_c = '#include "nic.h"\n\nvoid nic_go(void)\n{\n    nic_send(1,\n             2);\n}\n'
    repo = make_repo(tmp_path / "q", {"hw/nic.h": nic_h, "hw/nic.c": nic_c})
    new_h = "void nic_send(int a, int c, int b);\n"
    updated = nic_c.replace("    nic_send(1,\n", "    nic_send(1,\n             9,\n")
    assert "stale-caller" not in codes(_run(repo, diff_after(repo, {"hw/nic.h": new_h, "hw/nic.c": updated})))
    assert "stale-caller" in codes(_run(repo, diff_after(repo, {"hw/nic.h": new_h})))


REGISTRY_H = "typedef struct Common Common;\n\nvoid test_add(const char *path, void (*fn)(void));\n"
REGISTRY_C = (
    '#include "registry.h"\n\n'
    "void test_add(const char *path, void (*fn)(void))\n{\n    (void)path;\n    fn();\n}\n"
)
REGISTRY_NEW = "(const char *path, void (*fn)(char *name, Common *args))"
TLS_C = """#include "registry.h"

static void run(int n)
{
    (void)n;
}

#ifdef CONFIG_TLS
static void test_one(void)
{
    run(1);
}

static void test_two(void)
{
    /*
     * The second test behaves differently from the first one: its
     * peer gives up before the handshake ends, so the run stops
     * without an error of its own.
     *
     * Nothing else differs.
     */
    run(2);
}
#endif /* CONFIG_TLS */

void add_tests(void)
{
#ifdef CONFIG_TLS
    test_add("/one", test_one);
    test_add("/two", test_two);
#endif
}
"""


@pytest.mark.parametrize(("retyped", "stale"), [(("one", "two"), []), (("one",), [31])])
def test_a_call_passing_a_function_the_series_retypes_is_updated(
    tmp_path: Path, retyped: tuple[str, ...], stale: list[int]
) -> None:
    # test_add()'s callback gets parameters, and the functions passed to it get them in the same
    # patch: the calls' lines are unchanged and compile (real sample R: 85 such calls). test_two's
    # new signature is in a hunk that ends inside its first comment under an #ifdef closed past
    # the hunk, which the hunk's parse must still read as a signature change.
    tree = {"tests/registry.h": REGISTRY_H, "tests/registry.c": REGISTRY_C, "tests/tls.c": TLS_C}
    repo = make_repo(tmp_path / "q", tree)
    new = TLS_C
    for name in retyped:
        split = f"static void test_{name}(char *name,\n" + " " * 26 + "Common *args)"
        new = new.replace(f"static void test_{name}(void)", split)
    new = new.replace("run(2);", "run(2 + (args != 0));" if "two" in retyped else "run(3);")
    old_params = "(const char *path, void (*fn)(void))"
    edits = {
        "tests/registry.h": REGISTRY_H.replace(old_params, REGISTRY_NEW),
        "tests/registry.c": REGISTRY_C.replace(old_params, REGISTRY_NEW).replace("fn();", "fn(0, 0);"),
        "tests/tls.c": new,
    }
    found = [f for f in _run(repo, diff_after(repo, edits)) if f.code in ("stale-caller", "build-break")]
    assert [(f.file, f.line) for f in found] == [("tests/tls.c", line) for line in stale]


@pytest.mark.parametrize(
    "head",
    ["bool coroutine_fn", "bool __attribute__((warn_unused_result))", "bool co_wrapper_mixed_bdrv_rdlock"],
)
def test_an_annotation_added_to_the_return_type_is_no_stale_caller(tmp_path: Path, head: str) -> None:
    # `bool f()` -> `bool coroutine_fn f()`: the function still returns a bool (real sample R); so
    # does a block-layer function marked for its generated coroutine wrapper (master, 0508d0be4b)
    base = (
        "static bool find_buf(int n)\n{\n    return n > 0;\n}\n\n"
        "int use(void)\n{\n    return find_buf(1) ? 1 : 0;\n}\n"
    )
    repo = make_repo(tmp_path / "q", {"block/curl.c": base})
    diff = diff_after(repo, {"block/curl.c": base.replace("static bool find_buf", f"static {head} find_buf")})
    assert not {"stale-caller", "build-break"} & set(codes(_run(repo, diff)))


def test_a_checkpatch_message_that_goes_on_below_its_colon_keeps_its_lines() -> None:
    # QEMU's checkpatch on a patch adding a header: the files and the question follow the colon
    # (the finding said only "added, moved or deleted file(s):" before)
    from patchtool.review.tree_checks import parse_checkpatch

    head = "WARNING: added, moved or deleted file(s):\n\n"
    added = head + "  include/hw/lamp.h\n\nDoes MAINTAINERS need updating?\n\n"
    many = head + "".join(f"  f{i}.c\n" for i in range(8)) + "\n"
    other = "ERROR: code indent should never use tabs\n#20: FILE: hw/lamp.c:5:\n+\tx = 1;\n\n"
    output = added + other + many + "total: 1 errors, 2 warnings, 30 lines checked\n"
    found = parse_checkpatch(output, make_patch(ONE_LINE_DIFF))
    assert [f.message for f in found] == [
        "checkpatch: added, moved or deleted file(s): include/hw/lamp.h; Does MAINTAINERS need updating?",
        "checkpatch: code indent should never use tabs",
        "checkpatch: added, moved or deleted file(s): f0.c; f1.c; f2.c; f3.c; f4.c; f5.c; and 2 more lines",
    ]
    assert [(f.file, f.line) for f in found] == [(None, None), ("hw/lamp.c", 5), (None, None)]


MOVE_DIFF = """diff --git a/hw/a.c b/hw/a.c
--- a/hw/a.c
+++ b/hw/a.c
@@ -1,5 +1,1 @@
 int a;
-int lamp_level(int x)
-{
-    return clamp(x, 0, LIMIT );
-}
diff --git a/hw/b.c b/hw/b.c
--- a/hw/b.c
+++ b/hw/b.c
@@ -1,1 +1,9 @@
 int b;
+int lamp_level(int x)
+{
+    return clamp(x, 0, LIMIT );
+}
+int lamp_max(int x)
+{
+    return clamp(x, 1, LIMIT );
+}
"""


def test_a_layout_error_on_code_the_patch_moves_unchanged_is_the_old_codes() -> None:
    # a real series moved target/arm's VFP helpers into tcg/: six "space prohibited before that
    # close parenthesis" errors on lines it removed, unchanged, from the old file. The same error
    # on a line the patch writes stays an error, and so does a rule that is not about layout.
    from patchtool.review.tree_checks import parse_checkpatch

    space = "ERROR: space prohibited before that close parenthesis ')'"
    output = (
        f"{space}\n#20: FILE: hw/b.c:4:\n+    return clamp(x, 0, LIMIT );\n\n"
        f"{space}\n#24: FILE: hw/b.c:8:\n+    return clamp(x, 1, LIMIT );\n\n"
        "ERROR: Use g_assert or g_assert_not_reached\n"
        "#20: FILE: hw/b.c:4:\n+    return clamp(x, 0, LIMIT );\n\n"
    )
    found = parse_checkpatch(output, make_patch(MOVE_DIFF))
    assert [(f.severity, f.line) for f in found] == [("info", 4), ("error", 8), ("error", 4)]


def test_a_macro_that_goes_on_past_the_hunk_is_no_complex_value_error() -> None:
    # a real series reordered, then dropped, a macro's parameters: its value (in parentheses,
    # closed below what the hunk shows) goes on as context past the hunk, and checkpatch objected
    # to it twice. A macro added whole, ending inside the hunk, stays an error.
    from patchtool.review.tree_checks import parse_checkpatch

    rule = "ERROR: Macros with complex values should be enclosed in parenthesis"
    head_only = (
        f"{rule}\n#30: FILE: hw/lamp.h:190:\n+#define LAMP_REG(op0, op1, crn) \\\n"
        "     (LAMP_MASK |           \\\n      ((op0) << LAMP_OP0_SHIFT) |         \\\n"
        "diff --git a/hw/lamp.c b/hw/lamp.c\n"
    )
    head_and_value = (
        f"{rule}\n#31: FILE: hw/lamp.h:195:\n+#define LAMP_REG2(op0, crn) \\\n"
        "+    (LAMP_MASK | LAMP_SYS |           \\\n      ((op0) << LAMP_OP0_SHIFT) |         \\\n\n"
    )
    whole = f"{rule}\n#40: FILE: hw/lamp.h:200:\n+#define LAMP_OTHER(a) \\\n+    LAMP_MASK | (a)\n\n"
    found = parse_checkpatch(head_only + head_and_value + whole, make_patch(ONE_LINE_DIFF))
    assert [(f.severity, f.line) for f in found] == [("info", 190), ("info", 195), ("error", 200)]
