"""The one home of persistent state and of SQL: sync token, audit, requests, outbox."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import sqlite3
from pathlib import Path

import aiosqlite

from bot.store.alerts import Alerts, Silence
from bot.store.audit import AuditEntry, AuditLog
from bot.store.db import Db
from bot.store.kv import Kv
from bot.store.migrations import MIGRATIONS
from bot.store.outbox import Outbox, OutboxItem
from bot.store.requests import Request, Requests

log = logging.getLogger(__name__)

__all__ = ["AuditEntry", "OutboxItem", "Request", "Silence", "Store", "chained_rows"]
PRUNE = (  # (table, what retention deletes from it)
    ("alerts", "DELETE FROM alerts WHERE is_open = 0"
               " AND COALESCE(json_extract(state, '$.resolved_ms'), 0) < ?"),
    ("outbox", "DELETE FROM outbox WHERE event_id IS NOT NULL AND created_ms < ?"
               " AND id NOT IN (SELECT outbox_id FROM alerts WHERE is_open = 1)"),
    ("requests", "DELETE FROM requests WHERE state IN ('succeeded', 'failed', 'rejected',"
                 " 'expired') AND COALESCE(finished_ms, decided_ms, created_ms) < ?"),
)  # fmt: skip
SEALED_AT = 5  # the schema version from which the count of pre-chain audit rows is sealed


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

    def __init__(self, conn: aiosqlite.Connection, path: Path, audit_key: bytes) -> None:
        self._db = db = Db(conn)
        self.path = path
        self.kv = Kv(db)
        self.audit = AuditLog(db, self.kv, audit_key)
        self.requests = Requests(db)
        self.outbox = Outbox(db)
        self.alerts = Alerts(db, self.outbox)

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
            if await store._migrate() < SEALED_AT:
                await store.audit.seal_legacy()
        except BaseException:
            await db.close()
            raise
        return store

    async def _migrate(self) -> int:
        """Bring the schema up to date; returns the version it had before."""
        version = await self.schema_version()
        if version > len(MIGRATIONS):
            raise RuntimeError(
                f"{self.path}: schema version {version} is newer than this opsbot "
                f"({len(MIGRATIONS)}); upgrade opsbot"
            )
        for target, script in enumerate(MIGRATIONS[version:], start=version + 1):
            log.info("migrating %s to schema version %d", self.path, target)
            statements = split_sql(script)
            async with self._db.transaction() as tx:
                for statement in statements:
                    await tx.write(statement)
                await tx.write(f"PRAGMA user_version = {target:d}")
        return version

    async def close(self) -> None:
        """Close the database."""
        await self._db.conn.close()

    async def schema_version(self) -> int:
        """The schema version (``PRAGMA user_version``)."""
        row = await self._db.one("PRAGMA user_version")
        return int(row[0]) if row else 0

    async def get(self, key: str) -> str | None:
        """Read a small named value."""
        return await self.kv.get(key)

    async def put(self, key: str, value: str) -> None:
        """Write a small named value durably."""
        await self.kv.put(key, value)

    async def sync_token(self) -> str | None:
        """The Matrix sync token saved after the last handled batch."""
        return await self.get("matrix.next_batch")

    async def save_sync_token(self, token: str) -> None:
        """Remember where the Matrix sync stream was handled up to."""
        await self.put("matrix.next_batch", token)

    async def txn_prefix(self) -> str:
        """A random prefix for this database's transaction ids, made once: a reset database
        with the same device id never reuses an id (the homeserver would drop the event)."""
        prefix = await self.kv.get("matrix.txn_prefix")
        if prefix is None:
            prefix = secrets.token_hex(6)
            await self.kv.put("matrix.txn_prefix", prefix)
        return prefix

    async def prune(self, before_ms: int) -> dict[str, int]:
        """Forget delivered messages, finished requests and resolved alerts older than
        ``before_ms``, except what an open alert still points at; the audit trail stays."""
        forgot = {}
        for table, sql in PRUNE:
            forgot[table], _ = await self._db.write(sql, (before_ms,))
        return forgot


async def chained_rows(path: Path) -> int:
    """How many chained audit rows the database at ``path`` holds (0 if there is none)."""

    def count() -> int:
        if not path.exists():
            return 0
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            try:
                row = db.execute("SELECT COUNT(*) FROM audit WHERE hash != ''").fetchone()
            except sqlite3.OperationalError:  # no audit table, or no chain yet
                return 0
        return int(row[0])

    return await asyncio.to_thread(count)
