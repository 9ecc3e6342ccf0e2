"""Network behaviour: errors naming the URL, retries, timeouts, redirects, gzip limits, no secrets."""

from __future__ import annotations

import gzip
import sqlite3
import time
import zlib
from pathlib import Path

import pytest

from patchtool import __version__
from patchtool.config import load_settings
from patchtool.errors import FetchError
from patchtool.fetch import lore, patchwork
from patchtool.fetch.http import Http, gunzip_capped, safe_url
from patchtool.fetch.remote import resolve_remote
from tests.conftest import run_patchtool
from tests.plugins.httpreplay import Replay


def http(timeout: float = 5.0) -> Http:
    return Http(timeout)


@pytest.mark.parametrize(
    ("status", "words"),
    [(404, "not found (HTTP 404)"), (403, "forbidden (HTTP 403)"), (410, "gone (HTTP 410)")],
)
def test_client_errors_name_the_url(replay: Replay, status: int, words: str) -> None:
    replay.add("lore", "/x", status=status, body="nope")
    url = replay.url("lore") + "/x"
    with pytest.raises(FetchError) as info:
        http().get(url, source="lore")
    assert str(info.value) == f"{url}: {words}"
    assert info.value.status == status


def test_server_errors_are_retried_then_reported(replay: Replay) -> None:
    replay.add("lore", "/busy", status=500, body="oops")
    url = replay.url("lore") + "/busy"
    with pytest.raises(FetchError) as info:
        http().get(url, source="lore")
    assert str(info.value).startswith(f"{url}: server error")
    assert len([r for r in replay.requests_to("lore") if r.endswith("/busy")]) == 4  # 1 + 3 retries


def test_a_timeout_is_reported(replay: Replay) -> None:
    replay.add("lore", "/slow", body="late", delay=1.5)
    url = replay.url("lore") + "/slow"
    start = time.monotonic()
    with pytest.raises(FetchError) as info:
        http(timeout=0.3).get(url, source="lore")
    assert str(info.value) == f"{url}: timed out after 0.3s"
    assert time.monotonic() - start < 10


def test_redirects_are_followed_and_loops_bounded(replay: Replay) -> None:
    mbox = patchwork.patch_mbox(http(), replay.url("patchwork"), 15)
    assert b"X-Patchwork-Id: 15" in mbox
    asked = replay.requests_to("patchwork")
    assert asked[0].endswith("/patch/15/mbox/") and "/project/qemu-devel/patch/" in asked[1]
    replay.add("lore", "/a", status=302, headers={"Location": replay.url("lore") + "/b"})
    replay.add("lore", "/b", status=302, headers={"Location": replay.url("lore") + "/a"})
    with pytest.raises(FetchError) as info:
        http().get(replay.url("lore") + "/a", source="lore")
    assert "too many redirects" in str(info.value)


def test_pagination_is_followed_to_the_end(replay: Replay) -> None:
    api = replay.url("patchwork") + "/api/1.3"
    items = patchwork.get_all(http(), f"{api}/patches/?series=1")
    assert [p["id"] for p in items] == list(range(1, 14))
    pages = [r for r in replay.requests_to("patchwork") if "/patches/?" in r]
    assert len(pages) == 3 and "page=3" in pages[-1]


def test_patchwork_api_1_2_is_used_when_1_3_is_missing(
    replay: Replay, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATCHTOOL_SOURCES", "patchwork")
    replay.add("patchwork", "/api/1.3/", status=404, json_body={"detail": "Not found."})
    head = replay.threads["reaper-v2"][0]
    thread = resolve_remote(head, load_settings({}))
    assert "/api/1.2/series/3/" in thread.provenance[0].location
    assert not any("/api/1.3/series" in r for r in replay.requests_to("patchwork"))


def test_gzip_limits() -> None:
    data = b"From mboxrd@z Thu Jan  1 00:00:00 1970\n" * 1000
    assert gunzip_capped(gzip.compress(data) + gzip.compress(data), "u") == data * 2
    with pytest.raises(FetchError, match="truncated gzip"):
        gunzip_capped(gzip.compress(data)[:-20], "u")
    with pytest.raises(FetchError, match="gzip bomb"):
        gunzip_capped(gzip.compress(bytes(2_000_000)), "u", limit=1_000_000)
    with pytest.raises(FetchError, match="corrupt gzip"):
        gunzip_capped(b"\x1f\x8b\x08\x00garbage-garbage", "u")


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if not line.startswith("hint: ")]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def test_cli_truncated_gzip(replay: Replay, monkeypatch: pytest.MonkeyPatch) -> None:
    head = replay.threads["reaper-v2"][0]
    whole = gzip.compress(b"From mboxrd@z Thu Jan  1 00:00:00 1970\nSubject: x\n\nbody\n" * 200)
    replay.add(
        "lore",
        f"/qemu-devel/{head}/t.mbox.gz",
        body=whole[: len(whole) // 2],
        headers={"Content-Type": "application/gzip"},
    )
    result = run_patchtool("fetch", head, env={"PATCHTOOL_SOURCES": "lore"})
    assert result.code == 3
    line = _one_error_line(result.stderr)
    url = f"{replay.url('lore')}/qemu-devel/{head}/t.mbox.gz"
    assert line == f"error: {url}: truncated gzip data (the download ended early)"


def test_cli_gzip_bomb(replay: Replay) -> None:
    head = replay.threads["reaper-v2"][0]
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(16 * 1024 * 1024)
    bomb = b"".join(packer.compress(chunk) for _ in range(17)) + packer.flush()  # 272 MiB of zeros
    assert len(bomb) < 1024 * 1024
    replay.add(
        "lore", f"/qemu-devel/{head}/t.mbox.gz", body=bomb, headers={"Content-Type": "application/gzip"}
    )
    result = run_patchtool("fetch", head, env={"PATCHTOOL_SOURCES": "lore"})
    assert result.code == 3
    assert "gzip body expands beyond 256 MiB (a gzip bomb?)" in _one_error_line(result.stderr)


@pytest.mark.parametrize(("status", "words"), [(404, "not found (HTTP 404)"), (500, "server error")])
def test_cli_http_errors(replay: Replay, status: int, words: str) -> None:
    head = replay.threads["reaper-v2"][0]
    for path in (f"/qemu-devel/{head}/t.mbox.gz", f"/all/{head}/t.mbox.gz", f"/qemu-devel/{head}/raw"):
        replay.add("lore", path, status=status, body="x")
    result = run_patchtool("fetch", head, env={"PATCHTOOL_SOURCES": "lore"})
    assert result.code == 3
    line = _one_error_line(result.stderr)
    assert line.startswith(f"error: {replay.url('lore')}/") and words in line


def test_cli_timeout(replay: Replay) -> None:
    head = replay.threads["reaper-v2"][0]
    replay.add("lore", f"/qemu-devel/{head}/t.mbox.gz", body="late", delay=3)
    result = run_patchtool("fetch", head, env={"PATCHTOOL_SOURCES": "lore", "PATCHTOOL_TIMEOUT": "0.5"})
    assert result.code == 3
    assert _one_error_line(result.stderr).endswith("t.mbox.gz: timed out after 0.5s")


def test_user_agent_and_credentials(replay: Replay, tmp_path: Path) -> None:
    head = replay.threads["reaper-v2"][0]
    secret_url = replay.url("patchwork").replace("http://", "http://alice:s3cr3t-token@")
    result = run_patchtool(
        "fetch", head, env={"PATCHTOOL_SOURCES": "patchwork", "PATCHTOOL_PATCHWORK_URL": secret_url}
    )
    assert result.code == 0, result.stderr
    assert "s3cr3t" not in result.stdout + result.stderr
    agents = {headers.get("User-Agent") for _, _, headers in replay.log}
    assert agents == {f"patchtool/{__version__}"}
    assert any("Authorization" in headers for _, _, headers in replay.log)  # the credentials were used
    store = tmp_path / "cache" / "patchtool.sqlite3"
    assert b"s3cr3t" not in store.read_bytes()
    with sqlite3.connect(store) as conn:
        urls = [row[0] for row in conn.execute("SELECT url FROM fetch_answers")]
    assert urls and not any("alice" in u for u in urls)


def test_safe_url_strips_userinfo() -> None:
    assert safe_url("https://u:p@host:8080/a?b=1") == "https://host:8080/a?b=1"
    assert safe_url("https://host/a") == "https://host/a"


def test_lore_thread_urls_escape_slashes() -> None:
    urls = lore.thread_urls("https://lore.example/", "qemu-devel", "a/b@c")
    assert urls[0] == "https://lore.example/qemu-devel/a%2Fb@c/t.mbox.gz"
