"""PULL requests: the cover's repository and tag, and each patch linked to its earlier posting."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from patchtool.config import load_settings
from patchtool.fetch import resolve_source
from patchtool.models import Series
from patchtool.parse.pulls import patch_id, read_cover
from patchtool.parse.series import build_series
from patchtool.report.context import build_context
from patchtool.review.checks import run_checks

ROOT = Path(__file__).resolve().parent.parent.parent


def _pull(monkeypatch: pytest.MonkeyPatch) -> Series:
    monkeypatch.chdir(ROOT)
    return build_series(resolve_source("fixtures/mail/pull-with-postings.mbox", load_settings()))


def test_pull_is_recognised_with_its_tag_and_url(monkeypatch: pytest.MonkeyPatch) -> None:
    pull = _pull(monkeypatch).pull
    assert pull is not None
    assert (pull.url, pull.tag) == ("https://gitlab.example.org/maint/qemu.git", "tags/pull-cache-20260210")
    assert (pull.base, pull.head) == ("1" * 40, "2" * 40)


def test_each_patch_is_linked_to_its_posting_and_its_reviews(monkeypatch: pytest.MonkeyPatch) -> None:
    series = _pull(monkeypatch)
    assert series.pull is not None
    links = [(x.patch, x.posting, x.how) for x in series.pull.links]
    assert links == [
        ("1/3", "20260201100000.4242-1-dana@example.org", "message-id"),
        ("2/3", "20260201100000.4242-2-dana@example.org", "patch-id"),  # same diff at other line numbers
    ]
    assert [t.value for t in series.pull.links[1].reviews] == ["Rita Viewer <rita@example.org>"]
    # the earlier posting is not mixed into the pull's patches
    assert [p.msgid for p in series.revision.patches] == [
        "pull-cache-1@example.org",
        "pull-cache-2@example.org",
    ]


def test_missing_pull_patches_are_not_an_incomplete_revision(monkeypatch: pytest.MonkeyPatch) -> None:
    series = _pull(monkeypatch)
    codes = [f.code for f in series.findings]
    assert "missing-patches" not in codes and "pull-partial" in codes
    ctx = build_context(series, run_checks(series), generated=dt.datetime(2026, 2, 10, tzinfo=dt.UTC))
    parse = next(s for s in ctx.stages if s.name == "parse")
    assert (parse.state, parse.detail) == ("ok", "pull request, 2 of 3 patches in the thread")
    shown = {(f.code, f.patch): f.message for f in ctx.findings}
    assert "tags/pull-cache-20260210" in shown[("pull-request", None)]
    assert "<20260201100000.4242-2-dana@example.org>" in shown[("pull-link", "2/3")]
    assert "Reviewed-by: Rita Viewer" in shown[("pull-link", "2/3")]


def test_cover_with_the_url_and_tag_on_one_line() -> None:
    body = (
        "The following changes since commit 0123456789abcdef0123456789abcdef01234567:\n\n  Merge\n\n"
        "are available in the Git repository at:\n\n"
        "  https://git.example.org/q/qemu/ tags/pull-x-20260101\n\n"
        "for you to fetch changes up to 89abcdef0123456789abcdef0123456789abcdef:\n"
    )
    pull = read_cover(body)
    assert pull is not None and (pull.url, pull.tag) == (
        "https://git.example.org/q/qemu/",
        "tags/pull-x-20260101",
    )
    assert read_cover("Just a cover letter.\n") is None


def test_patch_id_ignores_line_numbers_not_content() -> None:
    a = "--- a/f.c\n+++ b/f.c\n@@ -1,2 +1,2 @@ f\n-x = 1;\n+x = 2;\n"
    assert patch_id(a) == patch_id(a.replace("-1,2 +1,2", "-9,2 +9,2"))
    assert patch_id(a) != patch_id(a.replace("x = 2", "x = 3"))
