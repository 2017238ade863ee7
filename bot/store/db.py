"""The one SQLite connection, with writes serialised so a transaction is never interleaved."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import aiosqlite

Row = tuple[Any, ...]


class Db:
    """One aiosqlite connection shared by every table of the store.

    aiosqlite runs statements one by one on its own thread, so statements of two coroutines
    interleave: a write of one coroutine could land inside another's transaction (and vanish
    with its rollback). Every write takes one lock; a transaction holds it from BEGIN to COMMIT.
    """

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn
        self._lock = asyncio.Lock()

    async def write(self, sql: str, params: Iterable[Any] = ()) -> tuple[int, int]:
        """Run one writing statement on its own; returns (rowcount, lastrowid)."""
        async with self._lock:
            return await self._run(sql, params)

    async def _run(self, sql: str, params: Iterable[Any]) -> tuple[int, int]:
        cur = await self.conn.execute(sql, tuple(params))
        counts = (cur.rowcount, int(cur.lastrowid or 0))
        await cur.close()
        return counts

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """All writes made through the yielded ``Tx`` commit together, or none does."""
        async with self._lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield Tx(self)
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            await self.conn.execute("COMMIT")

    async def all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        """Every row a query returns."""
        async with self.conn.execute(sql, tuple(params)) as cur:
            return [tuple(row) for row in await cur.fetchall()]

    async def one(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        """The first row a query returns, if any."""
        async with self.conn.execute(sql, tuple(params)) as cur:
            row = await cur.fetchone()
        return tuple(row) if row is not None else None


class Tx:
    """Writes inside an open transaction (the lock is already held)."""

    def __init__(self, db: Db) -> None:
        self._db = db

    async def write(self, sql: str, params: Iterable[Any] = ()) -> tuple[int, int]:
        """Run one writing statement inside the transaction; returns (rowcount, lastrowid)."""
        return await self._db._run(sql, params)
