"""Messages the bot must deliver even if the homeserver is away when they are written."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import aiosqlite

SUPERSEDED = ""  # the event_id of an item never sent because a newer edit replaced it


@dataclass(frozen=True)
class OutboxItem:
    """One queued event."""

    id: int
    room_id: str
    event_type: str
    content: dict[str, Any]


class Outbox:
    """A durable FIFO of events to send. An event may point at an earlier item that is not
    delivered yet with the placeholder `outbox:<id>` in place of an event id."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def put(self, room_id: str, event_type: str, content: dict[str, Any]) -> int:
        """Queue an event; returns its id.

        An edit supersedes the undelivered edits of the same message: each edit carries the
        whole new text, so only the newest needs sending (a storm under rate limits sends
        one edit per delivery slot, not one per change).
        """
        cur = await self._db.execute(
            "INSERT INTO outbox (created_ms, room_id, event_type, content) VALUES (?, ?, ?, ?)",
            (int(time.time() * 1000), room_id, event_type, json.dumps(content)),
        )
        await cur.close()
        item_id = int(cur.lastrowid or 0)
        relates = content.get("m.relates_to")
        if isinstance(relates, dict) and relates.get("rel_type") == "m.replace":
            # after the insert: a crash in between leaves both queued, never neither
            await self._db.execute(
                "UPDATE outbox SET event_id = ? WHERE event_id IS NULL AND id < ?"
                " AND room_id = ? AND event_type = ?"
                " AND json_extract(content, '$.\"m.relates_to\".rel_type') = 'm.replace'"
                " AND json_extract(content, '$.\"m.relates_to\".event_id') = ?",
                (SUPERSEDED, item_id, room_id, event_type, relates.get("event_id")),
            )
        return item_id

    async def head(self, limit: int = 20) -> list[OutboxItem]:
        """The oldest queued events."""
        async with self._db.execute(
            "SELECT id, room_id, event_type, content FROM outbox WHERE event_id IS NULL"
            " ORDER BY id LIMIT ?",
            (limit,),
        ) as cur:
            rows = await cur.fetchall()
        return [OutboxItem(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

    async def done(self, item_id: int, event_id: str) -> None:
        """Mark an event delivered ("" when the homeserver refused it for good)."""
        await self._db.execute("UPDATE outbox SET event_id = ? WHERE id = ?", (event_id, item_id))

    async def event_of(self, item_id: int) -> str | None:
        """The event id a delivered item got (None while it waits, "" if refused)."""
        async with self._db.execute("SELECT event_id FROM outbox WHERE id = ?", (item_id,)) as cur:
            row = await cur.fetchone()
        return None if row is None or row[0] is None else str(row[0])

    async def item_of(self, event_id: str) -> int | None:
        """The outbox item that became ``event_id``."""
        async with self._db.execute("SELECT id FROM outbox WHERE event_id = ?", (event_id,)) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else None

    async def size(self) -> int:
        """How many events wait."""
        async with self._db.execute("SELECT COUNT(*) FROM outbox WHERE event_id IS NULL") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0
