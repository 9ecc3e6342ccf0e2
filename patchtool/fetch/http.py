"""HTTP for the remote sources: one session, retries with backoff, timeouts, bounded bodies, no secrets.

Every answer goes through `Http.get`, which turns each failure into a one-line FetchError naming the
URL (with any user:password removed), reads at most `max_bytes` of body, and un-gzips with a cap on
the decompressed size. `timeout` bounds the whole answer (connect, retries, redirects, headers and
body), not each read: a watchdog shuts the connection's socket when it runs out, so a server that
trickles a byte every few seconds is cut off. A redirect to another host never carries the
Authorization header along (requests' own rule, checked by our tests). When a cache is attached,
each answer is stored; `offline=True` answers from the cache alone and raises NotCachedError for
what is missing.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import weakref
import zlib
from collections.abc import Mapping
from dataclasses import field
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.retry import Retry

from patchtool import __version__
from patchtool.errors import FetchError, NotCachedError
from patchtool.jsonable import record

USER_AGENT = f"patchtool/{__version__}"
MAX_BODY = 64 * 1024 * 1024  # what we read off the wire
MAX_DECOMPRESSED = 256 * 1024 * 1024  # what a gzip body may grow to; more is a bomb
MAX_REDIRECTS = 10
_GZIP_MAGIC = b"\x1f\x8b"


@record
class Answer:
    """One HTTP answer, body fully read (and un-gzipped when it was gzip)."""

    url: str  # the URL asked for, without credentials
    status: int
    content_type: str
    body: bytes
    from_cache: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class AnswerCache(Protocol):
    """What Http needs from the cache (patchtool.sources.cache.Cache implements it)."""

    def load_answer(self, url: str) -> Answer | None: ...

    def save_answer(self, source: str, answer: Answer) -> None: ...


_USERINFO = re.compile(r"(//)[^/?#]*@")


def safe_url(url: str) -> str:
    """The URL without user:password@, for messages, logs and cache keys."""
    try:
        parts = urlsplit(url)
    except ValueError:  # not even a URL (an unclosed [ in the host): strip what looks like userinfo
        return _USERINFO.sub(r"\1", url, count=1)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def gunzip_capped(data: bytes, url: str, limit: int = MAX_DECOMPRESSED) -> bytes:
    """Decompress gzip (possibly several members) without ever holding more than `limit` bytes."""
    out: list[bytes] = []
    total = 0
    rest = data
    while rest:
        inflater = zlib.decompressobj(wbits=31)
        pending = rest
        while pending and not inflater.eof:
            try:
                chunk = inflater.decompress(pending, 1024 * 1024)
            except zlib.error as e:
                raise FetchError(url, f"corrupt gzip data ({e})") from e
            total += len(chunk)
            if total > limit:
                raise FetchError(
                    url, f"refused: gzip body expands beyond {limit // (1024 * 1024)} MiB (a gzip bomb?)"
                )
            out.append(chunk)
            pending = inflater.unconsumed_tail
        if not inflater.eof:
            raise FetchError(url, "truncated gzip data (the download ended early)")
        rest = inflater.unused_data.lstrip(b"\0")
    return b"".join(out)


def _status_message(status: int) -> str:
    known = {
        403: "forbidden (HTTP 403)",
        404: "not found (HTTP 404)",
        410: "gone (HTTP 410)",
        401: "authentication required (HTTP 401)",
        429: "too many requests (HTTP 429)",
    }
    if status in known:
        return known[status]
    if status >= 500:
        return f"server error (HTTP {status})"
    return f"unexpected answer (HTTP {status})"


class Sockets:
    """The live sockets of a session's connections, so that a deadline can cut any of them.

    Once cut (until `rearm`), a socket connected later (a retry) is shut at once as well: the
    deadline bounds the whole request, retries included.
    """

    def __init__(self) -> None:
        self._socks: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._cut = False

    def add(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            self._socks.add(sock)
            late = self._cut
        if late:
            self._shut(sock)

    def rearm(self) -> None:
        with self._lock:
            self._cut = False

    def cut(self) -> None:
        """Shut every socket down: a read blocked on one returns at once."""
        with self._lock:
            self._cut = True
            socks = list(self._socks)
        for sock in socks:
            self._shut(sock)

    def close_all(self) -> None:
        """Close every socket (after a cut, once the request has given up on them)."""
        with self._lock:
            socks = list(self._socks)
        for sock in socks:
            sock.close()

    @staticmethod
    def _shut(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)


def _watched_pool(base: type[HTTPConnectionPool], sockets: Sockets) -> type[HTTPConnectionPool]:
    """A pool class whose connections report their socket (TLS-wrapped when https) on connect."""

    class Connection(base.ConnectionCls):  # type: ignore[name-defined,misc]
        def connect(self) -> None:
            super().connect()
            sockets.add(self.sock)

    return type(f"Watched{base.__name__}", (base,), {"ConnectionCls": Connection})


class DeadlineAdapter(HTTPAdapter):
    """An adapter whose connections' sockets are known to `sockets` (plain and proxied alike)."""

    def __init__(self, sockets: Sockets, **kwargs: object) -> None:
        self.sockets = sockets
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def _watch(self, manager: object) -> None:
        classes = {
            "http": _watched_pool(HTTPConnectionPool, self.sockets),
            "https": _watched_pool(HTTPSConnectionPool, self.sockets),
        }
        manager.pool_classes_by_scheme = classes  # type: ignore[attr-defined]

    def init_poolmanager(self, *args: object, **kwargs: object) -> None:
        super().init_poolmanager(*args, **kwargs)  # type: ignore[arg-type]
        self._watch(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **kwargs: object) -> object:
        manager = super().proxy_manager_for(proxy, **kwargs)
        self._watch(manager)
        return manager


class GuardedSession(requests.Session):
    """A session whose redirects carry Authorization only to the very same origin.

    requests already drops it on a change of host; we also drop it on any change of scheme or
    port, so credentials typed for one service never reach another, whatever a Location says.
    """

    def should_strip_auth(self, old_url: str, new_url: str) -> bool:
        old, new = urlsplit(old_url), urlsplit(new_url)
        try:
            return (old.scheme, old.hostname, old.port) != (new.scheme, new.hostname, new.port)
        except ValueError:  # a port that is not a number
            return True


def make_session(sockets: Sockets | None = None) -> requests.Session:
    """The one session patchtool uses: retries on connection errors and 5xx, bounded redirects."""
    retry = Retry(
        total=4,
        connect=3,
        read=False,  # a read timeout is reported at once, not retried
        status=3,
        backoff_factor=0.3,
        status_forcelist=(500, 502, 503, 504),
        allowed_methods=frozenset({"GET", "HEAD"}),
        raise_on_status=False,
        respect_retry_after_header=False,
    )
    session = GuardedSession()
    adapter = DeadlineAdapter(sockets or Sockets(), max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.max_redirects = MAX_REDIRECTS
    session.headers["User-Agent"] = USER_AGENT
    session.trust_env = True  # proxies from the environment; netrc is never written by us
    return session


class Http:
    """GET with every safeguard; optionally backed by the answer cache (and offline mode)."""

    def __init__(
        self,
        timeout: float,
        *,
        cache: AnswerCache | None = None,
        offline: bool = False,
        session: requests.Session | None = None,
    ) -> None:
        self.timeout = timeout
        self.cache = cache
        self.offline = offline
        self.sockets = Sockets()
        self.session = session or make_session(self.sockets)

    def close(self) -> None:
        self.session.close()

    def get(
        self,
        url: str,
        *,
        source: str,
        accept: str = "*/*",
    ) -> Answer:
        """Fetch `url`; a status outside 200..299 raises FetchError naming the URL (never its password)."""
        shown = safe_url(url)
        try:
            absolute = urlsplit(url).scheme in ("http", "https") and bool(urlsplit(url).hostname)
        except ValueError:
            absolute = False
        if not absolute:  # e.g. a relative link in a server's answer of an unexpected shape
            raise FetchError(shown, f"not an http(s) URL (a link in the {source} server's answer?)")
        if self.offline:
            return self._from_cache(shown)
        answer = self._fetch(url, shown, accept)
        if not 200 <= answer.status < 300:
            raise FetchError(shown, _status_message(answer.status), status=answer.status)
        if self.cache is not None:
            self.cache.save_answer(source, answer)
        return answer

    def _from_cache(self, shown: str) -> Answer:
        cached = self.cache.load_answer(shown) if self.cache is not None else None
        if cached is None:
            raise NotCachedError(shown, "not in the cache (--offline)", hint="fetch once without --offline")
        return cached

    def _fetch(self, url: str, shown: str, accept: str) -> Answer:
        expired = threading.Event()

        def cut() -> None:
            expired.set()
            self.sockets.cut()

        self.sockets.rearm()
        watchdog = threading.Timer(self.timeout, cut)
        watchdog.daemon = True
        watchdog.start()
        try:
            status, ctype, encoding, kept, raw = self._request(url, shown, accept)
        except (FetchError, requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError) as e:
            if expired.is_set():
                raise self._timed_out(shown) from e
            raise
        finally:
            watchdog.cancel()
        if expired.is_set():  # the cut landed as the last byte arrived: the answer may be short
            raise self._timed_out(shown)
        body = raw
        if encoding in ("gzip", "x-gzip") or (raw.startswith(_GZIP_MAGIC) and "gzip" in ctype):
            body = gunzip_capped(raw, shown)
        return Answer(url=shown, status=status, content_type=ctype, body=body, headers=kept)

    def _timed_out(self, shown: str) -> FetchError:
        # Nothing of the request may outlive it: drop the pools and close every socket we cut.
        self.session.close()
        self.sockets.close_all()
        return FetchError(shown, f"timed out after {self.timeout:g}s")

    def _request(self, url: str, shown: str, accept: str) -> tuple[int, str, str, dict[str, str], bytes]:
        """One GET (its redirects and retries included), body read; every failure a FetchError."""
        headers = {"Accept": accept, "Accept-Encoding": "gzip"}
        try:
            with self.session.get(url, headers=headers, timeout=self.timeout, stream=True) as resp:
                raw = self._read_capped(resp, shown)
                encoding = resp.headers.get("Content-Encoding", "").lower()
                ctype = resp.headers.get("Content-Type", "")
                kept = {k: v for k, v in resp.headers.items() if k.lower() in ("link", "content-type")}
                return resp.status_code, ctype, encoding, kept, raw
        except requests.exceptions.TooManyRedirects as e:
            raise FetchError(shown, f"too many redirects (more than {MAX_REDIRECTS})") from e
        except requests.exceptions.Timeout as e:
            raise FetchError(shown, f"timed out after {self.timeout:g}s") from e
        except requests.exceptions.RetryError as e:
            raise FetchError(shown, "server error after retries (HTTP 5xx)") from e
        except requests.exceptions.ConnectionError as e:
            raise FetchError(shown, "cannot connect", hint="check the URL and your network") from e
        except requests.exceptions.RequestException as e:
            raise FetchError(shown, f"request failed ({type(e).__name__})") from e
        except urllib3.exceptions.ReadTimeoutError as e:
            raise FetchError(shown, f"timed out after {self.timeout:g}s") from e
        except (urllib3.exceptions.HTTPError, OSError) as e:
            raise FetchError(shown, "connection broken while reading the answer") from e

    def _read_capped(self, resp: requests.Response, shown: str) -> bytes:
        parts: list[bytes] = []
        total = 0
        # decode_content=False: we un-gzip ourselves, with a cap (urllib3 would not bound it).
        for chunk in resp.raw.stream(64 * 1024, decode_content=False):
            total += len(chunk)
            if total > MAX_BODY:
                raise FetchError(shown, f"answer larger than {MAX_BODY // (1024 * 1024)} MiB, refused")
            parts.append(chunk)
        return b"".join(parts)
