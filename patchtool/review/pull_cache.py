"""Link a PULL request's patches to earlier postings the fetch cache holds (not only the thread).

A pull patch's `Message-Id:`/`Link:` trailer names its posting; when the user fetched that
series before, the cache has its thread (keyed by the message-id asked for, usually the cover's).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from patchtool.errors import PatchtoolError
from patchtool.fetch.cache import Cache
from patchtool.models import RawThread, Series
from patchtool.parse import pulls
from patchtool.parse.series import build_series

# git send-email ids: <date>.<pid>-<n>-<address>; the cover is -0- and a lone patch -1-
_NUMBERED = re.compile(r"^(?P<head>.+?)-(?P<n>\d+)-(?P<tail>[^-]+@.+)$")


def _cache_keys(msgid: str) -> list[str]:
    keys = [msgid]
    if m := _NUMBERED.match(msgid):
        keys += [f"{m.group('head')}-{n}-{m.group('tail')}" for n in (0, 1)]
    return [f"msgid:{k}" for k in dict.fromkeys(keys)]


def _cached_threads(cache: Cache, msgids: list[str]) -> list[RawThread]:
    found: dict[str, RawThread] = {}
    for msgid in msgids:
        for key in _cache_keys(msgid):
            if key not in found and (thread := cache.load_thread(key)) is not None:
                found[key] = thread
                break
    return list(found.values())


def link_cached_postings(series: Series, store_path: Path) -> Series:
    """The series with its pull's unlinked patches linked to postings found in the cache."""
    pull = series.pull
    named = [link.posting for link in pull.links if link.how == "named"] if pull else []
    if pull is None or not named or not store_path.is_file():
        return series
    with Cache(store_path) as cache:
        threads = _cached_threads(cache, named)
    earlier = []
    for thread in threads:
        try:
            earlier.append(build_series(thread))
        except PatchtoolError:
            continue  # a cached thread we cannot read links nothing
    links = {link.patch: link for link in pull.links}
    for link in pulls.link_patches(series.revision.patches, earlier):
        if link.how != "named" and links.get(link.patch, link).how in ("named", link.how):
            links[link.patch] = link
    order = [f"{p.index}/{p.total}" for p in series.revision.patches]
    return replace(series, pull=replace(pull, links=tuple(links[x] for x in order if x in links)))
