"""The one home of persistent state and of SQL: sync token, audit, requests, outbox."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import aiosqlite

from bot.store.alerts import Alerts, Silence
from bot.store.audit import AuditEntry, AuditLog
from bot.store.migrations import MIGRATIONS
from bot.store.outbox import Outbox, OutboxItem
from bot.store.requests import Request, Requests

log = logging.getLogger(__name__)

__all__ = ["AuditEntry", "OutboxItem", "Request", "Silence", "Store"]


def split_sql(script: str) -> list[str]:
    """Split a migration into statements (a trigger body's `;` does not end its statement)."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        raise ValueError(f"incomplete SQL statement in a migration: {buffer.strip()[:60]}")
    return statements


class Store:
    """Async SQLite store (WAL, synchronous=FULL); open with ``await Store.open(path)``."""

    def __init__(self, db: aiosqlite.Connection, path: Path, audit_key: bytes) -> None:
        self._db = db
        self.path = path
        self.audit = AuditLog(db, audit_key)
        self.requests = Requests(db)
        self.outbox = Outbox(db)
        self.alerts = Alerts(db)

    @classmethod
    async def open(cls, path: Path, audit_key: bytes = b"") -> Store:
        """Open (creating and migrating as needed) the database at ``path``; ``audit_key``
        keys the audit trail's HMAC chain (it is never stored in the database)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path, isolation_level=None)
        try:
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA synchronous=FULL")
            await db.execute("PRAGMA foreign_keys=ON")
            store = cls(db, path, audit_key)
            await db.create_function("opsbot_chain", 3, store.audit.chain, deterministic=True)
            await store._migrate()
        except BaseException:
            await db.close()
            raise
        return store

    async def _migrate(self) -> None:
        async with self._db.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        version = int(row[0]) if row else 0
        if version > len(MIGRATIONS):
            raise RuntimeError(
                f"{self.path}: schema version {version} is newer than this opsbot "
                f"({len(MIGRATIONS)}); upgrade opsbot"
            )
        for target, script in enumerate(MIGRATIONS[version:], start=version + 1):
            log.info("migrating %s to schema version %d", self.path, target)
            statements = split_sql(script)
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                for statement in statements:
                    await self._db.execute(statement)
                await self._db.execute(f"PRAGMA user_version = {target:d}")
                await self._db.execute("COMMIT")
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise

    async def close(self) -> None:
        """Close the database."""
        await self._db.close()

    async def schema_version(self) -> int:
        """The schema version (``PRAGMA user_version``)."""
        async with self._db.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def get(self, key: str) -> str | None:
        """Read a small named value."""
        async with self._db.execute("SELECT value FROM kv WHERE key = ?", (key,)) as cur:
            row = await cur.fetchone()
        return str(row[0]) if row else None

    async def put(self, key: str, value: str) -> None:
        """Write a small named value durably."""
        await self._db.execute(
            "INSERT INTO kv (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    async def sync_token(self) -> str | None:
        """The Matrix sync token saved after the last handled batch."""
        return await self.get("matrix.next_batch")

    async def save_sync_token(self, token: str) -> None:
        """Remember where the Matrix sync stream was handled up to."""
        await self.put("matrix.next_batch", token)
