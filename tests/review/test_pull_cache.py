"""A PULL request's patches linked to earlier postings found in the fetch cache."""

from __future__ import annotations

from pathlib import Path

from patchtool.fetch.cache import Cache
from patchtool.models import RawMessage, RawThread
from patchtool.parse.mail import split_mbox
from patchtool.parse.series import build_series
from patchtool.review.pull_cache import link_cached_postings

FIXTURE = Path(__file__).resolve().parent.parent.parent / "fixtures/mail/pull-with-postings.mbox"


def _threads() -> tuple[RawThread, RawThread]:
    """The fixture's pull messages, and its earlier posting (cover, patches, review) apart."""
    messages = [RawMessage(m, f"test#{i}") for i, m in enumerate(split_mbox(FIXTURE.read_bytes()))]
    pull = [m for m in messages if b"[PULL" in m.data]
    posting = [m for m in messages if b"[PULL" not in m.data]
    return RawThread(tuple(pull)), RawThread(tuple(posting))


def test_posting_in_the_cache_is_linked_with_its_reviews(tmp_path: Path) -> None:
    pull, posting = _threads()
    store = tmp_path / "store.sqlite"
    with Cache(store) as cache:
        cache.save_thread("msgid:20260201100000.4242-0-dana@example.org", "lore", posting)
    alone = build_series(pull)
    assert alone.pull is not None
    assert [(x.patch, x.how) for x in alone.pull.links] == [("1/3", "named")]
    linked = link_cached_postings(alone, store)
    assert linked.pull is not None
    assert [(x.patch, x.posting, x.how) for x in linked.pull.links] == [
        ("1/3", "20260201100000.4242-1-dana@example.org", "message-id"),
        ("2/3", "20260201100000.4242-2-dana@example.org", "patch-id"),
    ]
    assert [t.value for t in linked.pull.links[1].reviews] == ["Rita Viewer <rita@example.org>"]


def test_empty_cache_leaves_the_links_as_they_are(tmp_path: Path) -> None:
    pull, _ = _threads()
    series = build_series(pull)
    store = tmp_path / "store.sqlite"
    with Cache(store) as cache:
        cache.save_thread("msgid:unrelated@example.org", "lore", pull)
    assert link_cached_postings(series, store) == series
