"""Small named values: the sync position, the transaction-id prefix, the audit seals."""

from __future__ import annotations

from bot.store.db import Db


class Kv:
    """The `kv` table."""

    def __init__(self, db: Db) -> None:
        self._db = db

    async def get(self, key: str) -> str | None:
        """Read a small named value."""
        row = await self._db.one("SELECT value FROM kv WHERE key = ?", (key,))
        return str(row[0]) if row else None

    async def put(self, key: str, value: str) -> None:
        """Write a small named value durably."""
        await self._db.write(
            "INSERT INTO kv (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
