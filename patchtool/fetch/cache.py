"""The fetch cache: every HTTP answer and every resolved thread, with its time and source, in the store.

It lives in the shared SQLite store file (Settings.store_path) in tables of its own. Keys are URLs
without credentials; no request header is ever stored, so no token can leak into the file.
Writes are single `BEGIN IMMEDIATE` transactions, so concurrent patchtool processes queue.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

from patchtool.fetch.http import Answer
from patchtool.models import Provenance, RawMessage, RawThread
from patchtool.store import Store

DDL = """
CREATE TABLE IF NOT EXISTS fetch_answers (
    url TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    fetched_at REAL NOT NULL,
    status INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    headers TEXT NOT NULL,
    body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS fetch_threads (
    key TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    fetched_at REAL NOT NULL,
    thread TEXT NOT NULL
);
"""


def _thread_to_json(thread: RawThread) -> str:
    return json.dumps(
        {
            "messages": [
                {"origin": m.origin, "data": base64.b64encode(m.data).decode("ascii")}
                for m in thread.messages
            ],
            "provenance": [
                {"source": p.source, "location": p.location, "detail": p.detail} for p in thread.provenance
            ],
            "wanted_msgid": thread.wanted_msgid,
            "extras": thread.extras,
        }
    )


def _thread_from_json(text: str, fetched_at: float) -> RawThread:
    data = json.loads(text)
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(fetched_at))
    return RawThread(
        messages=tuple(
            RawMessage(data=base64.b64decode(m["data"]), origin=m["origin"]) for m in data["messages"]
        ),
        provenance=tuple(
            Provenance(
                source=p["source"],
                location=p["location"],
                detail=(p["detail"] + "; " if p["detail"] else "") + f"cached {when}",
                from_cache=True,
            )
            for p in data["provenance"]
        ),
        wanted_msgid=data["wanted_msgid"],
        extras=dict(data["extras"]),
    )


class Cache:
    """HTTP answers and resolved threads, keyed by URL and by the SOURCE the user typed."""

    def __init__(self, path: Path) -> None:
        self.store = Store(path)
        self.store.ensure_schema(DDL)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def save_answer(self, source: str, answer: Answer) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO fetch_answers VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    answer.url,
                    source,
                    time.time(),
                    answer.status,
                    answer.content_type,
                    json.dumps(dict(answer.headers)),
                    answer.body,
                ),
            )

    def load_answer(self, url: str) -> Answer | None:
        rows = self.store.query(
            "SELECT status, content_type, headers, body FROM fetch_answers WHERE url = ?", (url,)
        )
        if not rows:
            return None
        row = rows[0]
        return Answer(
            url=url,
            status=row["status"],
            content_type=row["content_type"],
            body=bytes(row["body"]),
            from_cache=True,
            headers=json.loads(row["headers"]),
        )

    def save_thread(self, key: str, source: str, thread: RawThread) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO fetch_threads VALUES (?, ?, ?, ?)",
                (key, source, time.time(), _thread_to_json(thread)),
            )

    def load_thread(self, key: str) -> RawThread | None:
        rows = self.store.query("SELECT fetched_at, thread FROM fetch_threads WHERE key = ?", (key,))
        if not rows:
            return None
        return _thread_from_json(rows[0]["thread"], rows[0]["fetched_at"])

    def count(self, table: str) -> int:
        if table not in ("fetch_answers", "fetch_threads"):
            raise ValueError(table)
        return int(self.store.query(f"SELECT count(*) FROM {table}")[0][0])
