"""A real HTTP server on 127.0.0.1 replaying the recorded patchew, patchwork and lore answers.

The services are mounted under /patchew, /patchwork and /lore of one loopback server, and the
`replay` fixture points PATCHTOOL_*_URL at them, so the code under test runs unchanged. URLs of the
real services inside recorded answers are rewritten to the loopback address as they are served.
Tests add or replace answers with `replay.add(...)` and read what was asked in `replay.log`.
"""

from __future__ import annotations

import gzip
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

ROUTES_FILE = Path(__file__).resolve().parents[2] / "fixtures" / "http" / "routes.json"
REAL = {
    "patchew": "https://patchew.org",
    "patchwork": "https://patchwork.ozlabs.org",
    "lore": "https://lore.kernel.org",
}
_NOT_FOUND = {
    "patchew": b'{"detail": "Not found."}',
    "patchwork": b'{"detail": "No Patch matches the given query."}',
    "lore": b"404 Not Found\n",
}


def path_key(path: str) -> tuple[str, ...]:
    """Compare paths segment by segment after percent-decoding (so %40 == @, but %2F stays inside)."""
    return tuple(unquote(seg) for seg in path.split("/"))


def query_key(query: dict[str, str] | str) -> tuple[tuple[str, str], ...]:
    items = parse_qsl(query, keep_blank_values=True) if isinstance(query, str) else list(query.items())
    return tuple(sorted(items))


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    hits: int = 0


@dataclass
class Replay:
    """The running replay server: base URLs, recorded routes, extra answers and a request log."""

    server: HTTPServer
    routes: dict[tuple[str, tuple[str, ...], tuple[tuple[str, str], ...]], Answer]
    threads: dict[str, list[str]]
    log: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.server.port}/{service}"

    def add(
        self,
        service: str,
        path: str,
        *,
        status: int = 200,
        body: bytes | str = b"",
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | str = "",
        delay: float = 0.0,
    ) -> None:
        """Serve (or replace) one answer; `path` is below the service's mount point."""
        data = body.encode() if isinstance(body, str) else body
        if json_body is not None:
            data = json.dumps(json_body).encode()
        hdrs = {"Content-Type": "application/json"} if json_body is not None else {}
        hdrs.update(headers or {})
        self.routes[(service, path_key(path), query_key(query))] = Answer(status, data, hdrs, delay)

    def requests_to(self, service: str) -> list[str]:
        prefix = f"/{service}"
        return [raw for _, raw, _ in self.log if raw.startswith(prefix)]

    def _rewrite(self, data: bytes) -> bytes:
        for service, real in REAL.items():
            data = data.replace(real.encode(), self.url(service).encode())
        return data

    def handle(self, request: Request) -> Response:
        raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or request.full_path
        with self.lock:
            self.log.append((request.method, raw, dict(request.headers)))
        split = urlsplit(raw)
        service, _, rest = split.path.lstrip("/").partition("/")
        answer = self.routes.get((service, path_key("/" + rest), query_key(split.query)))
        if answer is None:
            return self._fallback(service, "/" + rest, split.query)
        answer.hits += 1
        if answer.delay:
            time.sleep(answer.delay)
        headers = {k: self._rewrite(v.encode()).decode() for k, v in answer.headers.items()}
        location = headers.get("Location", "")
        if location.startswith("/") and not location.startswith("//"):  # relative to the service
            headers["Location"] = f"/{service}{location}"
        return Response(self._rewrite(answer.body), status=answer.status, headers=headers)

    def _fallback(self, service: str, path: str, query: str) -> Response:
        # patchew's by-name routes answer 307 to the numeric project (api-shapes 1.1), for any tail.
        by_name = re.match(r"^/api/v1/projects/by-name/QEMU(/.*)?$", path)
        if service == "patchew" and by_name:
            target = f"{self.url('patchew')}/api/v1/projects/1{by_name.group(1) or '/'}"
            return Response(b"", status=307, headers={"Location": target + (f"?{query}" if query else "")})
        # a patchwork list filtered by a msgid it does not know is an empty list, not a 404
        if service == "patchwork" and re.match(r"^/api/[\d.]+/(patches|covers)/$", path):
            return Response(b"[]", status=200, headers={"Content-Type": "application/json"})
        ctype = "text/plain" if service == "lore" else "application/json"
        return Response(_NOT_FOUND.get(service, b"not found"), status=404, headers={"Content-Type": ctype})


def _load_routes() -> tuple[dict[Any, Answer], dict[str, list[str]]]:
    data = json.loads(ROUTES_FILE.read_text())
    routes: dict[Any, Answer] = {}
    for r in data["routes"]:
        if "json" in r:
            body = json.dumps(r["json"], ensure_ascii=False).encode()
            headers = {"Content-Type": "application/json"}
        else:
            text = data["bodies"][r["body_ref"]] if "body_ref" in r else r.get("text", "")
            body = text.encode()
            headers = {}
        if r.get("gzip"):
            body = gzip.compress(body, mtime=0)
        headers.update(r.get("headers", {}))
        key = (r["service"], path_key(r["path"]), query_key(r.get("query", "")))
        routes[key] = Answer(r["status"], body, headers)
    return routes, data["threads"]


@pytest.fixture
def replay(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Replay]:
    """Start the replay server and point every PATCHTOOL_*_URL (and the cache) at test-owned places."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    routes, threads = _load_routes()
    state = Replay(server, routes, threads)
    server.expect_request(re.compile(".*")).respond_with_handler(state.handle)
    server.start()
    monkeypatch.setenv("PATCHTOOL_PATCHEW_URL", state.url("patchew"))
    monkeypatch.setenv("PATCHTOOL_PATCHWORK_URL", state.url("patchwork"))
    monkeypatch.setenv("PATCHTOOL_LORE_URL", state.url("lore"))
    monkeypatch.setenv("PATCHTOOL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PATCHTOOL_TIMEOUT", "10")
    try:
        yield state
    finally:
        server.clear()
        if server.is_running():
            server.stop()
