"""Messages the bot must deliver even if the homeserver is away when they are written."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

from bot.store.db import Db, Tx

SUPERSEDED = ""  # the event_id of an item never sent (a newer edit replaced it, or it failed)


@dataclass(frozen=True)
class OutboxItem:
    """One queued event."""

    id: int
    room_id: str
    event_type: str
    content: dict[str, Any]
    attempts: int = 0  # failed delivery attempts so far (outages not counted)


class Outbox:
    """A durable FIFO of events to send. An event may point at an earlier item that is not
    delivered yet with the placeholder `outbox:<id>` in place of an event id."""

    def __init__(self, db: Db) -> None:
        self._db = db
        self.added = asyncio.Event()  # set whenever an item is queued: wakes the courier

    async def put(self, room_id: str, event_type: str, content: dict[str, Any]) -> int:
        """Queue an event; returns its id."""
        async with self._db.transaction() as tx:
            item_id = await self.insert(tx, room_id, event_type, content)
        return item_id

    async def insert(self, tx: Tx, room_id: str, event_type: str, content: dict[str, Any]) -> int:
        """Queue an event inside the caller's transaction; returns its id.

        An edit supersedes the undelivered edits of the same message: each edit carries the
        whole new text, so only the newest needs sending (a storm under rate limits sends
        one edit per delivery slot, not one per change).
        """
        _, item_id = await tx.write(
            "INSERT INTO outbox (created_ms, room_id, event_type, content) VALUES (?, ?, ?, ?)",
            (int(time.time() * 1000), room_id, event_type, json.dumps(content)),
        )
        relates = content.get("m.relates_to")
        if isinstance(relates, dict) and relates.get("rel_type") == "m.replace":
            await tx.write(
                "UPDATE outbox SET event_id = ? WHERE event_id IS NULL AND id < ?"
                " AND room_id = ? AND event_type = ?"
                " AND json_extract(content, '$.\"m.relates_to\".rel_type') = 'm.replace'"
                " AND json_extract(content, '$.\"m.relates_to\".event_id') = ?",
                (SUPERSEDED, item_id, room_id, event_type, relates.get("event_id")),
            )
        self.added.set()
        return item_id

    async def head(self, limit: int = 20) -> list[OutboxItem]:
        """The oldest queued events."""
        rows = await self._db.all(
            "SELECT id, room_id, event_type, content, attempts FROM outbox"
            " WHERE event_id IS NULL ORDER BY id LIMIT ?",
            (limit,),
        )
        return [OutboxItem(r[0], r[1], r[2], json.loads(r[3]), r[4]) for r in rows]

    async def done(self, item_id: int, event_id: str) -> None:
        """Mark an event delivered."""
        await self._db.write("UPDATE outbox SET event_id = ? WHERE id = ?", (event_id, item_id))

    async def failed_attempt(self, item_id: int, error: str, give_up_after: int) -> bool:
        """Count a failed attempt; after ``give_up_after`` of them the item is dropped (kept,
        marked failed, so references to it resolve to nothing). True when it was dropped."""
        await self._db.write(
            "UPDATE outbox SET attempts = attempts + 1, error = ?,"
            " event_id = CASE WHEN attempts + 1 >= ? THEN '' ELSE event_id END WHERE id = ?",
            (error[:500], give_up_after, item_id),
        )
        return await self.event_of(item_id) == SUPERSEDED

    async def fail(self, item_id: int, error: str) -> None:
        """Drop an item the homeserver refused for good (kept, marked failed)."""
        await self._db.write(
            "UPDATE outbox SET event_id = ?, error = ?, attempts = attempts + 1 WHERE id = ?",
            (SUPERSEDED, error[:500], item_id),
        )

    async def event_of(self, item_id: int) -> str | None:
        """The event id a delivered item got (None while it waits, "" if never sent)."""
        row = await self._db.one("SELECT event_id FROM outbox WHERE id = ?", (item_id,))
        return None if row is None or row[0] is None else str(row[0])

    async def item_of(self, event_id: str) -> int | None:
        """The outbox item that became ``event_id``."""
        row = await self._db.one("SELECT id FROM outbox WHERE event_id = ?", (event_id,))
        return int(row[0]) if row else None

    async def size(self) -> int:
        """How many events wait."""
        row = await self._db.one("SELECT COUNT(*) FROM outbox WHERE event_id IS NULL")
        return int(row[0]) if row else 0
