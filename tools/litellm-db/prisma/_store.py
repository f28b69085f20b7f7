"""The store several proxy processes share: one SQLite file (WAL, one writer at a time) with a
JSON document per row. Filters, ordering and updates run in Python: the tables are small."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_local = threading.local()


def _path() -> str:
    return os.environ.get("LLMGW_PRISMA_STORE") or "llmgw-prisma-store.sqlite"


def _conn() -> sqlite3.Connection:
    conn: sqlite3.Connection | None = getattr(_local, "conn", None)
    if conn is None:
        conn = sqlite3.connect(_path(), timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS rows (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
            "model TEXT, key TEXT, data TEXT, UNIQUE(model, key))"
        )
        _local.conn = conn
    return conn


@contextmanager
def write() -> Iterator[sqlite3.Connection]:
    """One write transaction: the lock is taken before reading, so read-modify-write holds
    across processes. Nested calls (a batch) join the outer one."""
    conn = _conn()
    depth = getattr(_local, "depth", 0)
    _local.depth = depth + 1
    try:
        if depth:
            yield conn
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        _local.depth = depth


def rows(model: str) -> list[tuple[str, dict[str, Any]]]:
    cur = _conn().execute("SELECT key, data FROM rows WHERE model = ? ORDER BY seq", (model,))
    return [(key, json.loads(data)) for key, data in cur.fetchall()]


def insert(conn: sqlite3.Connection, model: str, key: str, data: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO rows (model, key, data) VALUES (?, ?, ?)", (model, key, json.dumps(data))
    )


def replace(
    conn: sqlite3.Connection, model: str, old_key: str, key: str, data: dict[str, Any]
) -> None:
    conn.execute(
        "UPDATE rows SET key = ?, data = ? WHERE model = ? AND key = ?",
        (key, json.dumps(data), model, old_key),
    )


def remove(conn: sqlite3.Connection, model: str, key: str) -> None:
    conn.execute("DELETE FROM rows WHERE model = ? AND key = ?", (model, key))


def next_int(model: str, field: str) -> int:
    values = [d.get(field) for _key, d in rows(model)]
    return max([v for v in values if isinstance(v, int)], default=0) + 1
