"""Remote SOURCE forms: parse what the user typed, then fetch across patchew, lore and patchwork.

Each source is tried in the configured order (`patchtool.sources`), the one the user named first.
A source that fails or knows only part of the series (patchew's "4 of 13") hands over to the next;
the provenance says which source supplied what. Answers and threads go through the cache, so
`--offline` can answer from it alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from patchtool.config import Settings
from patchtool.errors import FetchError, InputError, NotCachedError, UsageError
from patchtool.fetch import lore, patchew, patchwork
from patchtool.fetch.cache import Cache
from patchtool.fetch.fetched import Fetched, check_msgid, msgid_of, patch_count
from patchtool.fetch.http import Http, safe_url
from patchtool.jsonable import record
from patchtool.models import Provenance, RawMessage, RawThread

KNOWN_SOURCES = ("patchew", "lore", "patchwork")
_PW_MSGID = re.compile(r"^(?P<base>.*?)/project/(?P<project>[^/]+)/(?:patch|cover)/(?P<msgid>[^/]+)/?")
_PW_PATCH = re.compile(r"^(?P<base>.*?)/(?:api/(?:[\d.]+/)?patches|patch)/(?P<id>\d+)/?")
_PW_SERIES = re.compile(r"^(?P<base>.*?)/(?:api/(?:[\d.]+/)?series|series)/(?P<id>\d+)/?")
_PW_LIST = re.compile(r"^(?P<base>.*?)/project/(?P<project>[^/]+)/list/?$")


@record
class Target:
    """What a SOURCE names: a message-id, and the service (and its base URL) the user pointed at."""

    ref: str
    msgid: str | None = None
    source: str | None = None  # the source named by the form; None for a bare message-id
    base: str | None = None  # that service's base URL, taken from the URL typed
    project: str | None = None  # patchew project, patchwork link_name or lore inbox from the URL
    patch_id: int | None = None
    series_id: int | None = None
    tag: bool = False  # patchew/<msgid>: also fetch the git tag
    page: str | None = None  # a list-archive page to read the message-id from


def _under(url: str, base: str) -> str | None:
    """The path of `url` below the configured `base`, or None when the URL is not under it."""
    base = safe_url(base).rstrip("/")
    return url[len(base) :] if url == base or url.startswith(base + "/") else None


def _patchew_target(ref: str, base: str | None, rest: str) -> Target | None:
    parts = [p for p in rest.split("/") if p]
    if len(parts) >= 2 and parts[0] not in ("api", "search", "logs"):
        return Target(ref, check_msgid(unquote(parts[1]), ref), "patchew", base, project=parts[0])
    return None


def _lore_target(ref: str, base: str | None, rest: str) -> Target | None:
    parts = [p for p in rest.split("/") if p]
    if len(parts) >= 2 and parts[0] in ("r", "all"):
        return Target(ref, check_msgid(unquote(parts[1]), ref), "lore", base)
    if len(parts) >= 2:
        return Target(ref, check_msgid(unquote(parts[1]), ref), "lore", base, project=parts[0])
    return None


def _patchwork_target(ref: str, url: str) -> Target | None:
    parts = urlsplit(url)
    path_url = f"{parts.scheme}://{parts.netloc}{parts.path}"
    if m := _PW_MSGID.match(path_url):
        msgid = check_msgid(unquote(m["msgid"]), ref)
        return Target(ref, msgid, "patchwork", m["base"], project=m["project"])
    if m := _PW_LIST.match(path_url):
        series = parse_qs(parts.query).get("series", [""])[0]
        if series.isdigit():
            return Target(ref, None, "patchwork", m["base"], project=m["project"], series_id=int(series))
    if m := _PW_SERIES.match(path_url):
        return Target(ref, None, "patchwork", m["base"], series_id=int(m["id"]))
    if m := _PW_PATCH.match(path_url):
        return Target(ref, None, "patchwork", m["base"], patch_id=int(m["id"]))
    return None


_DEFAULT_HOSTS = {"patchew": "patchew.org", "lore": "lore.kernel.org"}


def _url_target(typed: str, settings: Settings) -> Target:
    # What the user typed may carry user:token@; only the list-archive page (fetched through Http,
    # which never shows it) keeps it. Every message names the URL without it.
    ref = url = safe_url(typed)
    split = urlsplit(url)
    for name, check in (("patchew", _patchew_target), ("lore", _lore_target)):
        rest = _under(url, settings[f"{name}_url"])
        base: str | None = None  # None: the configured URL (it may carry credentials)
        if rest is None and split.hostname == _DEFAULT_HOSTS[name]:
            base, rest = f"{split.scheme}://{split.netloc}", split.path
        if rest is not None and (target := check(ref, base, urlsplit(rest).path)):
            return target
    if target := _patchwork_target(ref, url):
        return target
    return Target(ref, page=typed, source="list-archive")


def _shorten(text: str) -> str:
    """What the user typed, cut for a one-line message (a 20,000-character SOURCE stays readable)."""
    return text if len(text) <= 80 else f"{text[:60]}... ({len(text)} characters)"


# What a mail file is called; no message-id's right side (a host name) ends so.
_MAIL_FILE_SUFFIXES = (".mbox", ".mbx", ".eml", ".mail", ".patch", ".diff", ".txt", ".gz", ".xz")


def _path_shaped(text: str) -> bool:
    """A SOURCE with an "@" that names a file, not a message-id: ``series/<msgid>.mbox`` (an
    export named after its message-id), ``./x@y``, ``~/mail/x@y``. A message-id's right side is a
    host name: it has no "/" and ends in no mail file's suffix."""
    right = text.rpartition("@")[2]
    return (
        text.startswith(("/", "./", "../", "~"))
        or "/" in right
        or right.lower().endswith(_MAIL_FILE_SUFFIXES)
    )


def parse_ref(ref: str, settings: Settings) -> Target:
    """Recognise a remote SOURCE form; InputError names a form that is none."""
    text = ref.strip()
    for prefix in ("refs/tags/patchew/", "tags/patchew/", "patchew/"):
        if text.startswith(prefix):
            return Target(ref, check_msgid(text[len(prefix) :], ref), "patchew", tag=True)
    if text.startswith(("http://", "https://")):
        try:
            return _url_target(text, settings)
        except ValueError as e:  # urlsplit: an unclosed [ or a bad port
            raise InputError(f"{_shorten(safe_url(text))}: not a valid URL ({e})") from e
    if text.lower().startswith("id:"):
        text = text[3:]
    if "@" not in text or _path_shaped(text):  # most likely a file name with a typo
        raise InputError(
            f"{_shorten(ref)}: no such file, and not a message-id or URL",
            hint="name an mbox, a directory, '-', a message-id, patchew/<msgid> or a patchew, "
            "patchwork, lore or list-archive URL",
        )
    return Target(ref, check_msgid(text, ref))


def source_order(settings: Settings, first: str | None) -> list[str]:
    order = [s.strip() for s in settings["sources"].split(",") if s.strip()]
    unknown = [s for s in order if s not in KNOWN_SOURCES]
    if unknown or not order:
        raise UsageError(
            f"patchtool.sources: unknown source {', '.join(unknown) or '(empty)'}",
            hint=f"use a comma-separated list of {', '.join(KNOWN_SOURCES)}",
        )
    if first in KNOWN_SOURCES:
        order = [first, *[s for s in order if s != first]]
    return order


Fetcher = Callable[[Http, Target, Settings], Fetched]


def _from_patchew(http: Http, target: Target, settings: Settings) -> Fetched:
    named = target.source == "patchew"
    base = target.base if named and target.base else settings["patchew_url"]
    project = target.project if named and target.project else settings["project"]
    assert target.msgid is not None
    return patchew.fetch(http, base, project, target.msgid)


def _from_lore(http: Http, target: Target, settings: Settings) -> Fetched:
    named = target.source == "lore"
    base = target.base if named and target.base else settings["lore_url"]
    inbox = target.project if named and target.project else settings["list"]
    assert target.msgid is not None
    return lore.fetch(http, base, inbox, target.msgid)


def _from_patchwork(http: Http, target: Target, settings: Settings) -> Fetched:
    named = target.source == "patchwork"
    base = target.base if named and target.base else settings["patchwork_url"]
    project = target.project if named and target.project else settings["list"]
    return patchwork.fetch(
        http, base, project, msgid=target.msgid, patch_id=target.patch_id, series_id=target.series_id
    )


FETCHERS: dict[str, Fetcher] = {"patchew": _from_patchew, "lore": _from_lore, "patchwork": _from_patchwork}


def _fetch_one(name: str, http: Http, target: Target, settings: Settings) -> Fetched:
    try:
        return FETCHERS[name](http, target, settings)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as e:
        # a server whose answers are not in the shape we know: let the next source try
        where = safe_url(settings[f"{name}_url"])
        raise FetchError(where, f"unexpected answer from {name} ({type(e).__name__}: {e})") from e


def _describe(f: Fetched) -> str:
    if not f.complete:
        return f"{f.source} had only {f.found} of {f.total} patches ({len(f.messages)} messages)"
    count = f"{f.found} of {f.total} patches" if f.total else "no patches"
    return f"supplied the thread: {count}, {len(f.messages)} messages"


def _merge(results: list[Fetched]) -> tuple[RawMessage, ...]:
    """The best answer's messages, plus any message only another source had (e.g. a late reply)."""
    best = max(results, key=lambda f: (f.complete, f.found, len(f.messages)))
    merged = list(best.messages)
    seen = {msgid_of(m) for m in merged}
    for other in results:
        for message in other.messages:
            key = msgid_of(message)
            if key not in seen:
                merged.append(message)
                seen.add(key)
    return tuple(merged)


def fetch_with_fallback(http: Http, target: Target, settings: Settings) -> RawThread:
    """Try each source until one has the whole series; say which source supplied what."""
    results: list[Fetched] = []
    provenance: list[Provenance] = []
    errors: list[FetchError] = []
    for name in source_order(settings, target.source):
        if target.msgid is None and name != target.source:
            continue  # a patchwork id names nothing the other sources know
        try:
            fetched = _fetch_one(name, http, target, settings)
        except FetchError as e:
            errors.append(e)
            provenance.append(Provenance(name, e.url, f"failed: {e.message.removeprefix(e.url + ': ')}"))
            continue
        results.append(fetched)
        provenance.append(Provenance(name, fetched.location, _describe(fetched), http.offline))
        if target.msgid is None and fetched.msgid:
            target = replace(target, msgid=fetched.msgid)
        if fetched.complete:
            break
    if not results:
        _raise_all_failed(target, errors)
    extras: dict[str, str] = {}
    for fetched in results:
        extras.update(fetched.extras)
    wanted = target.msgid or next((f.msgid for f in results if f.msgid), None)
    return RawThread(_merge(results), tuple(provenance), wanted, extras)


def _raise_all_failed(target: Target, errors: list[FetchError]) -> None:
    missing = [e for e in errors if isinstance(e, NotCachedError)]
    if missing and len(missing) == len(errors):
        urls = ", ".join(e.url for e in missing)
        raise NotCachedError(target.ref, f"not in the cache (--offline); missing: {urls}")
    if len(errors) == 1:
        raise errors[0]
    reasons = "; ".join(e.message for e in errors)
    raise FetchError(target.ref, f"no source could supply it ({reasons})", hint=errors[0].hint)


def _add_tag(thread: RawThread, target: Target, settings: Settings, repo: Path) -> RawThread:
    """Fetch patchew's tag into `repo` (or, offline, find it there) and record base and commits."""
    assert target.msgid is not None
    extras = dict(thread.extras)
    git_url = safe_url(settings["patchew_git"])
    status = extras.get("patchew.git")
    if status != "success" and (status is not None or "patchew.version" in extras):
        # patchew applies only complete series that apply: there is no tag to fetch
        note = Provenance("patchew-git", git_url, f"no tag: patchew's git result is {status or 'missing'}")
        return replace(thread, provenance=(*thread.provenance, note))
    base, patches = extras.get("patchew.base"), patch_count(thread.messages)[1] or 1
    if settings.offline:
        extras.update(patchew.local_tag(repo, target.msgid, base, patches))
    else:
        extras.update(patchew.fetch_tag(repo, settings["patchew_git"], target.msgid, base, patches))
    detail = f"tag fetched into {repo} as {extras['patchew.ref']}"
    prov = (*thread.provenance, Provenance("patchew-git", git_url, detail, settings.offline))
    return replace(thread, provenance=prov, extras=extras)


def _cache_keys(target: Target, thread: RawThread | None = None) -> list[str]:
    keys = [f"ref:{safe_url(target.ref.strip())}"]
    if target.msgid:
        keys.append(f"msgid:{target.msgid}")
    if thread is not None and thread.wanted_msgid:
        keys.append(f"msgid:{thread.wanted_msgid}")
    return list(dict.fromkeys(keys))


def _resolve(http: Http, cache: Cache, target: Target, settings: Settings) -> RawThread:
    if settings.offline:
        for key in _cache_keys(target):
            if (cached := cache.load_thread(key)) is not None:
                return cached
    if target.page is not None:
        from patchtool.fetch import listarchive

        msgid = listarchive.find_msgid(http, target.page)
        via = Provenance("list-archive", safe_url(target.page), f"message-id {msgid}", http.offline)
        thread = _resolve(http, cache, Target(target.ref, msgid), settings)
        return replace(thread, provenance=(via, *thread.provenance))
    thread = fetch_with_fallback(http, target, settings)
    for key in _cache_keys(target, thread):
        cache.save_thread(key, thread.provenance[0].source if thread.provenance else "remote", thread)
    return thread


def resolve_remote(ref: str, settings: Settings, *, repo: Path | None = None) -> RawThread:
    """Fetch the thread a remote SOURCE names (through the cache), and its patchew tag if asked."""
    target = parse_ref(ref, settings)
    with Cache(settings.store_path) as cache:
        http = Http(settings.timeout, cache=cache, offline=settings.offline)
        try:
            thread = _resolve(http, cache, target, settings)
        finally:
            http.close()
    if target.tag and repo is not None:
        thread = _add_tag(thread, target, settings, repo)
    return thread
