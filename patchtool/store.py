"""The SQLite store: one file shared by the cache, build and test results and bisect observations.

Each stage module owns its tables and creates them with `Store.ensure_schema(ddl)`
(`CREATE TABLE IF NOT EXISTS ...`), so no central schema file has to know every stage.
WAL mode and a busy timeout let several patchtool processes use the file at once.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from patchtool.errors import EnvironmentProblem


def _set_wal(conn: sqlite3.Connection, patience: float = 30.0) -> None:
    """Switch to WAL mode, waiting for other processes. SQLite's busy timeout does not cover this
    switch: processes opening a new store file at once get "database is locked" at once (seen
    with 4 processes on a loaded 2-core machine), so it is retried here."""
    deadline = time.monotonic() + patience
    pause = 0.01
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if ("locked" not in str(e) and "busy" not in str(e)) or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.5)


class Store:
    """A connection to the store file; safe to share between threads of one process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
            _set_wal(self._conn)
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA busy_timeout=30000")
        except (sqlite3.Error, OSError) as e:
            raise EnvironmentProblem(f"store {path}: cannot open ({e})") from e
        self._lock = threading.RLock()
        self._schemas: set[str] = set()

    def ensure_schema(self, ddl: str) -> None:
        """Run a module's CREATE ... IF NOT EXISTS script once per connection."""
        if ddl in self._schemas:
            return
        with self._lock:
            self._conn.executescript(ddl)
            self._schemas.add(ddl)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction taken immediately, so concurrent writers queue instead of failing."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            cur = self._conn.execute(sql, params)
            cur.row_factory = sqlite3.Row
            return list(cur.fetchall())

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
