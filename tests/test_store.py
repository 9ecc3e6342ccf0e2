"""The SQLite store opened by several processes at once."""

from __future__ import annotations

import multiprocessing
from multiprocessing.synchronize import Barrier
from pathlib import Path

from patchtool.store import Store

ROUNDS = 60
PROCESSES = 6


def _opener(root: str, barrier: Barrier, failures: multiprocessing.SimpleQueue) -> None:  # type: ignore[type-arg]
    for i in range(ROUNDS):
        barrier.wait()  # all processes open the same new file together
        try:
            with Store(Path(root) / f"{i}.sqlite3") as store:
                store.ensure_schema("CREATE TABLE IF NOT EXISTS t (x);")
        except Exception as e:  # reported to the test below, not swallowed
            failures.put(f"round {i}: {e}")


def test_processes_opening_a_new_store_at_once_all_succeed(tmp_path: Path) -> None:
    """Switching a new file to WAL takes an exclusive lock that SQLite's busy timeout does not
    wait for: without a retry, a few of 360 opens failed with "database is locked"."""
    ctx = multiprocessing.get_context("fork")
    barrier, failures = ctx.Barrier(PROCESSES), ctx.SimpleQueue()
    workers = [ctx.Process(target=_opener, args=(str(tmp_path), barrier, failures)) for _ in range(PROCESSES)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(120)
        assert p.exitcode == 0
    found = []
    while not failures.empty():
        found.append(failures.get())
    assert found == []
