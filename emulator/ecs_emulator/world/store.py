"""SQLite persistence: one row per resource, plus the release log, idempotency tokens and meta.

A resource row holds its field values as a ``marshal``-encoded tuple, the field names per kind live in
``meta``: 300,000 rows load in about a second, where JSON objects took ten. marshal only encodes plain
values (no code), and the file is the emulator's own. Writes happen in one transaction per acknowledged API call (WAL, synchronous=FULL), so a ``kill -9``
right after a response loses nothing.
"""

from __future__ import annotations

import json
import marshal
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (kind TEXT NOT NULL, id TEXT NOT NULL, region TEXT NOT NULL,
                                      data BLOB NOT NULL, PRIMARY KEY (kind, id));
CREATE TABLE IF NOT EXISTS released (seq INTEGER PRIMARY KEY AUTOINCREMENT, region TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (key TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass
class Snapshot:
    """Everything a World needs to come back: what ``Store.load`` returns."""

    resources: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    released: list[dict[str, Any]] = field(default_factory=list)
    tokens: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Changes:
    """One transaction's worth of writes; values of None delete the resource."""

    resources: list[tuple[str, str, str, tuple[Any, ...] | None]] = field(default_factory=list)
    released: list[dict[str, Any]] = field(default_factory=list)
    tokens: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.resources or self.released or self.tokens or self.meta)


class Store:
    def __init__(self, path: str) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def load(self) -> Snapshot | None:
        meta = {key: json.loads(value) for key, value in self._db.execute("SELECT key, value FROM meta")}
        if "saved" not in meta:
            return None
        snapshot = Snapshot(meta=meta)
        for kind, data in self._db.execute("SELECT kind, data FROM resources ORDER BY rowid"):
            snapshot.resources.setdefault(kind, []).append(marshal.loads(data))
        snapshot.released = [json.loads(data) for (data,) in self._db.execute("SELECT data FROM released ORDER BY seq")]
        snapshot.tokens = {key: json.loads(data) for key, data in self._db.execute("SELECT key, data FROM tokens")}
        return snapshot

    def write(self, changes: Changes, *, replace: bool = False) -> None:
        """Apply ``changes`` atomically; ``replace`` first forgets everything (fleet load, reset)."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            if replace:
                for table in ("resources", "released", "tokens", "meta"):
                    db.execute(f"DELETE FROM {table}")
            upserts = [(kind, rid, region, marshal.dumps(rec)) for kind, rid, region, rec in changes.resources if rec is not None]
            deletes = [(kind, rid) for kind, rid, _, rec in changes.resources if rec is None]
            db.executemany("INSERT OR REPLACE INTO resources (kind, id, region, data) VALUES (?, ?, ?, ?)", upserts)
            db.executemany("DELETE FROM resources WHERE kind = ? AND id = ?", deletes)
            db.executemany("INSERT INTO released (region, data) VALUES (?, ?)",
                           [(entry["region"], json.dumps(entry)) for entry in changes.released])
            db.executemany("INSERT OR REPLACE INTO tokens (key, data) VALUES (?, ?)", _dumped(changes.tokens))
            db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                           _dumped({**changes.meta, "saved": True}))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._db.close()


def _dumped(values: dict[str, Any]) -> Iterable[tuple[str, str]]:
    return [(key, json.dumps(value)) for key, value in values.items()]
