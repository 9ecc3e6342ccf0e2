"""Odd input never breaks the review parsers or the reply e-mail (property tests)."""

from __future__ import annotations

import dataclasses
import email
import email.policy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patchtool.parse.difftext import split_files
from patchtool.report.render import render
from patchtool.review.checks import check_diffstat, check_signoffs, check_trailer_form, commit_references
from patchtool.review.maintainers import parse_maintainers, subsystems_for
from tests.plugins.reportkit import fixture_context, make_patch

DIFF_LINES = ["diff --git a/x b/x", "@@ -1,2 +1,3 @@", "+a", "-b", " c", "\\ No newline"]
lines = st.lists(
    st.one_of(
        st.sampled_from(
            ["M: A <a@x.org>", "F: a/", "X: *.c", "K: (", "N: [", "", "---", "Title", "@@ -1 +1 @@"]
        ),
        st.text(max_size=40),
    ),
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(lines)
def test_maintainers_parser_takes_anything(text: list[str]) -> None:
    m = parse_maintainers("\n".join(text))
    subsystems_for(m, ["a/b.c", "x.c"], "+(\n-[\n")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(DIFF_LINES), st.text(max_size=30)), max_size=40))
def test_diff_reader_takes_anything(diff: list[str]) -> None:
    text = "\n".join(diff)
    split_files(text)
    check_diffstat(make_patch(text))


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_message_checks_take_anything(message: str) -> None:
    patch = make_patch("", message=message)
    check_signoffs(patch)
    check_trailer_form(patch)
    commit_references(message)


@pytest.mark.parametrize(
    "subject",
    ["[PATCH] kvm: réveil du moissonneur — 収穫 " + "x" * 150, '[PATCH] a\tb "quoted" <angle> (paren)'],
)
def test_reply_survives_unusual_subjects(subject: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = fixture_context(monkeypatch)
    series = dataclasses.replace(ctx.series, subject=subject, author="Zhang Wëi")  # type: ignore[attr-defined]
    text = render(dataclasses.replace(ctx, series=series), "email")  # type: ignore[arg-type]
    msg = email.message_from_string(text, policy=email.policy.default)
    assert msg["Subject"] == f"Re: {subject}"
    assert msg["To"].addresses[0].display_name == "Zhang Wëi"
    assert all(len(line) <= 998 for line in text.splitlines())
    assert not msg.defects
