"""List-archive message pages (lists.gnu.org's MHonArc, mailman, hyperkitty): find the Message-Id."""

from __future__ import annotations

import html
import re

from patchtool.errors import FetchError
from patchtool.fetch.fetched import check_msgid
from patchtool.fetch.http import Http

# MHonArc (lists.gnu.org) keeps the headers in comments: <!--X-Message-Id: 2016...&#64;host -->
_MHONARC = re.compile(r"<!--X-Message-Id:\s*(.*?)\s*-->", re.IGNORECASE)
# Pages that print the header itself: "Message-ID: <...>" (escaped as &lt;...&gt; in HTML).
_HEADER = re.compile(
    r"Message-Id(?:\s*<[^>]*>)*\s*:\s*(?:<[^>]*>\s*)*(?:&lt;|<)([^<>&\s]+(?:&#64;|@)[^<>&\s]+)(?:&gt;|>)",
    re.IGNORECASE,
)
_META = re.compile(r"<meta\s+name=\"?message-id\"?\s+content=\"([^\"]+)\"", re.IGNORECASE)


def msgid_in_page(page: str) -> str | None:
    """The Message-Id a list-archive HTML page shows, unescaped; None when there is none."""
    for pattern in (_MHONARC, _META, _HEADER):
        match = pattern.search(page)
        if match:
            return html.unescape(match.group(1)).strip().strip("<>")
    return None


def find_msgid(http: Http, url: str) -> str:
    """Fetch a list-archive page and return the message-id of the mail it shows."""
    answer = http.get(url, source="list-archive", accept="text/html")
    found = msgid_in_page(answer.text())
    if found is None:
        raise FetchError(answer.url, "no Message-Id found in the page (is it a list-archive message page?)")
    return check_msgid(found, answer.url)
