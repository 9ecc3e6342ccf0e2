"""The fetch cache: --offline answers from it alone, online fetches refresh it, processes share it."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from patchtool.config import load_settings
from patchtool.errors import NotCachedError
from patchtool.fetch.cache import Cache
from patchtool.fetch.http import Answer
from patchtool.fetch.remote import resolve_remote
from patchtool.parse.mail import parse_mail
from tests.conftest import run_patchtool
from tests.plugins.httpreplay import Replay, path_key


def test_offline_answers_from_the_cache_without_the_network(replay: Replay) -> None:
    head = replay.threads["kvm-dirty-ring-v4"][0]
    online = run_patchtool("fetch", head)
    assert online.code == 0, online.stderr
    asked = len(replay.log)
    offline = run_patchtool("fetch", "--offline", head)
    assert offline.code == 0, offline.stderr
    assert len(replay.log) == asked  # not one request
    assert "(from cache)" in offline.stdout and "patchew had only 4 of 13 patches" in offline.stdout
    assert "v4 of 13 patch(es), complete" in offline.stdout


def test_offline_names_what_is_missing(replay: Replay) -> None:
    result = run_patchtool("fetch", "--offline", "never-fetched@example.org")
    assert result.code == 3
    first = result.stderr.splitlines()[0]
    assert first.startswith("error: never-fetched@example.org: not in the cache (--offline); missing: ")
    assert f"{replay.url('patchew')}/api/v1/projects/by-name/QEMU/series/never-fetched@example.org/" in first
    assert not replay.log


def test_offline_replays_answers_for_another_form_of_the_same_thread(replay: Replay) -> None:
    head = replay.threads["reaper-v2"][0]
    settings = load_settings({})
    resolve_remote(head, settings)
    thread = resolve_remote(f"patchew/{head}", load_settings({}, offline=True))
    assert all(p.from_cache for p in thread.provenance)
    with pytest.raises(NotCachedError):
        resolve_remote(f"{replay.url('patchwork')}/patch/15/", load_settings({}, offline=True))


def test_an_online_fetch_refreshes_the_cache(replay: Replay) -> None:
    head, reply = replay.threads["reaper-v2"]
    settings = load_settings({})
    first = resolve_remote(head, settings)
    assert {parse_mail(m).msgid for m in first.messages} == {head, reply}
    # the review reply disappears from patchew (say, moderated); an online fetch sees that
    detail_path = f"/api/v1/projects/1/series/{head}/"
    detail = json.loads(replay.routes[("patchew", path_key(detail_path), ())].body)
    detail["replies"] = []
    replay.add("patchew", detail_path, json_body=detail)
    resolve_remote(head, settings)
    offline = resolve_remote(head, load_settings({}, offline=True))
    assert {parse_mail(m).msgid for m in offline.messages} == {head}


def _writer(path: str, worker: int, rounds: int) -> None:
    with Cache(Path(path)) as cache:
        for i in range(rounds):
            body = f"{worker}:{i}".encode() * 100
            cache.save_answer("lore", Answer(f"https://x/{worker}/{i}", 200, "text/plain", body))
            cache.save_answer("lore", Answer("https://x/shared", 200, "text/plain", body))


def test_concurrent_processes_do_not_corrupt_the_cache(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_writer, args=(str(path), w, 40)) for w in range(4)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(120)
        assert p.exitcode == 0
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM fetch_answers").fetchone()[0] == 4 * 40 + 1
    with Cache(path) as cache:
        answer = cache.load_answer("https://x/2/39")
        assert answer is not None and answer.body == b"2:39" * 100 and answer.from_cache


def test_concurrent_cli_fetches_share_one_store(replay: Replay, tmp_path: Path) -> None:
    import concurrent.futures

    heads = [replay.threads[n][0] for n in ("reaper-v2", "b4-reply", "kvm-dirty-ring-v4")]
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda h: run_patchtool("fetch", h), heads * 2))
    assert [r.code for r in results] == [0] * 6, [r.stderr for r in results]
    store = tmp_path / "cache" / "patchtool.sqlite3"
    with sqlite3.connect(store) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        keys = {row[0] for row in conn.execute("SELECT key FROM fetch_threads")}
    assert {f"msgid:{h}" for h in heads} <= keys
