"""lore.kernel.org (public-inbox): a whole thread as `t.mbox.gz`, or one message as `raw`."""

from __future__ import annotations

from patchtool.errors import FetchError
from patchtool.fetch.fetched import Fetched, mbox_messages, patch_count, quote_msgid
from patchtool.fetch.http import Answer, Http, gunzip_capped

_GZIP_MAGIC = b"\x1f\x8b"


def thread_urls(base: str, inbox: str, msgid: str) -> list[str]:
    """Where public-inbox serves a thread: the list's inbox, then all inboxes, then the one message."""
    base = base.rstrip("/")
    seg = quote_msgid(msgid)
    return [f"{base}/{inbox}/{seg}/t.mbox.gz", f"{base}/all/{seg}/t.mbox.gz", f"{base}/{inbox}/{seg}/raw"]


def _mbox_bytes(answer: Answer) -> bytes:
    # t.mbox.gz is served as application/gzip (not Content-Encoding), so Http may leave it packed.
    if answer.body.startswith(_GZIP_MAGIC):
        return gunzip_capped(answer.body, answer.url)
    return answer.body


def fetch(http: Http, base: str, inbox: str, msgid: str) -> Fetched:
    """The thread of `msgid`; a 404 moves on to the next form, any other failure is raised."""
    last: FetchError | None = None
    for url in thread_urls(base, inbox, msgid):
        try:
            answer = http.get(url, source="lore", accept="application/gzip, text/plain")
        except FetchError as e:
            if e.status not in (404, 410):
                raise
            last = e
            continue
        messages = mbox_messages(_mbox_bytes(answer), f"lore:{answer.url}")
        if not messages:
            raise FetchError(answer.url, "answer holds no mail")
        found, total = patch_count(messages)
        return Fetched("lore", answer.url, messages, found, total, msgid=msgid)
    assert last is not None
    raise last
