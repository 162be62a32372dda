"""Persistence of the sandbox's state in its own SQLite file (stdlib ``sqlite3``, never the product's DB).

Applications, numbers, phone/user scripts and recordings are written at once (they change rarely); call
legs, with their ``heard`` list and webhook log, are marked dirty and written in batches by
``Sandbox``'s flusher so that a busy sandbox does one transaction every few hundred milliseconds instead
of one per event.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS applications (id TEXT PRIMARY KEY, created REAL NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS numbers (msisdn TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS legs (
    uuid TEXT PRIMARY KEY, application_id TEXT NOT NULL, created TEXT NOT NULL, data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS legs_app_created ON legs (application_id, created);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS recordings (
    id TEXT PRIMARY KEY, application_id TEXT NOT NULL, path TEXT NOT NULL, content_type TEXT NOT NULL
);
"""


class Store:
    """A thin typed wrapper over one SQLite file; ``path=None`` keeps nothing (in-memory database)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        # One event loop owns the sandbox, but uvicorn may close it from another thread at shutdown.
        self.db = sqlite3.connect(str(path) if path else ":memory:", check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    # -- applications ----------------------------------------------------------------------------------
    def applications(self) -> list[tuple[float, dict[str, Any]]]:
        rows = self.db.execute("SELECT created, data FROM applications ORDER BY created").fetchall()
        return [(created, json.loads(data)) for created, data in rows]

    def save_application(self, created: float, app: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT INTO applications (id, created, data) VALUES (?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET data = excluded.data",
            (app["id"], created, json.dumps(app)),
        )

    def delete_application(self, app_id: str) -> None:
        self.db.execute("DELETE FROM applications WHERE id = ?", (app_id,))

    # -- numbers -----------------------------------------------------------------------------------------
    def numbers(self) -> list[dict[str, Any]]:
        return [json.loads(data) for (data,) in self.db.execute("SELECT data FROM numbers ORDER BY msisdn")]

    def save_number(self, number: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT INTO numbers (msisdn, data) VALUES (?, ?) ON CONFLICT(msisdn) DO UPDATE SET data = excluded.data",
            (number["msisdn"], json.dumps(number)),
        )

    def delete_number(self, msisdn: str) -> None:
        self.db.execute("DELETE FROM numbers WHERE msisdn = ?", (msisdn,))

    # -- key/value (phone and user scripts) ----------------------------------------------------------------
    def kv_items(self, prefix: str) -> list[tuple[str, Any]]:
        rows = self.db.execute("SELECT key, data FROM kv WHERE key LIKE ? ORDER BY key", (prefix + "%",)).fetchall()
        return [(key[len(prefix) :], json.loads(data)) for key, data in rows]

    def kv_set(self, key: str, value: Any) -> None:
        self.db.execute(
            "INSERT INTO kv (key, data) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET data = excluded.data",
            (key, json.dumps(value)),
        )

    def kv_delete(self, key: str) -> None:
        self.db.execute("DELETE FROM kv WHERE key = ?", (key,))

    # -- call legs ------------------------------------------------------------------------------------------
    def save_legs(self, records: Iterable[dict[str, Any]]) -> None:
        rows = [(r["uuid"], r["application_id"], r["created"], json.dumps(r)) for r in records]
        if not rows:
            return
        self.db.execute("BEGIN")
        try:
            self.db.executemany(
                "INSERT INTO legs (uuid, application_id, created, data) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(uuid) DO UPDATE SET data = excluded.data",
                rows,
            )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def legs(self) -> list[dict[str, Any]]:
        return [json.loads(data) for (data,) in self.db.execute("SELECT data FROM legs ORDER BY created, uuid")]

    # -- recordings ----------------------------------------------------------------------------------------
    def save_recording(self, file_id: str, application_id: str, path: str, content_type: str) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO recordings (id, application_id, path, content_type) VALUES (?, ?, ?, ?)",
            (file_id, application_id, path, content_type),
        )

    def recording(self, file_id: str) -> tuple[str, str, str] | None:
        row = self.db.execute(
            "SELECT application_id, path, content_type FROM recordings WHERE id = ?", (file_id,)
        ).fetchone()
        return (row[0], row[1], row[2]) if row else None
