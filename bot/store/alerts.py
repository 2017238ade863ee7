"""Alerts (one message each, with their incidents) and silences."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiosqlite


@dataclass(frozen=True)
class Silence:
    """Alerts for ``service`` (or `all`) are held back until ``until_ms``."""

    service: str
    until_ms: int
    reason: str
    created_by: str
    created_ms: int
    state_then: str


class Alerts:
    """Open and closed alerts; the watcher owns their meaning, this only keeps them."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def add(self, outbox_id: int, state: dict[str, Any]) -> int:
        """Store a new open alert; returns its id."""
        cur = await self._db.execute(
            "INSERT INTO alerts (outbox_id, state) VALUES (?, ?)", (outbox_id, json.dumps(state))
        )
        await cur.close()
        return int(cur.lastrowid or 0)

    async def save(self, alert_id: int, state: dict[str, Any], is_open: bool) -> None:
        """Write an alert's current state."""
        await self._db.execute(
            "UPDATE alerts SET state = ?, is_open = ? WHERE id = ?",
            (json.dumps(state), int(is_open), alert_id),
        )

    async def open(self) -> list[tuple[int, int, dict[str, Any]]]:
        """(id, outbox id, state) of every open alert, oldest first."""
        async with self._db.execute(
            "SELECT id, outbox_id, state FROM alerts WHERE is_open = 1 ORDER BY id"
        ) as cur:
            return [(r[0], r[1], json.loads(r[2])) for r in await cur.fetchall()]

    async def by_outbox(self, outbox_id: int) -> int | None:
        """The alert whose message is that outbox item."""
        async with self._db.execute(
            "SELECT id FROM alerts WHERE outbox_id = ?", (outbox_id,)
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else None

    async def silence(self, s: Silence) -> None:
        """Create or replace the silence for ``s.service``."""
        await self._db.execute(
            "INSERT OR REPLACE INTO silences VALUES (?, ?, ?, ?, ?, ?)",
            (s.service, s.until_ms, s.reason, s.created_by, s.created_ms, s.state_then),
        )

    async def unsilence(self, service: str) -> Silence | None:
        """Remove a silence; returns it if there was one."""
        found = [s for s in await self.silences() if s.service == service]
        await self._db.execute("DELETE FROM silences WHERE service = ?", (service,))
        return found[0] if found else None

    async def silences(self) -> list[Silence]:
        """Every stored silence (expired ones included until removed)."""
        async with self._db.execute("SELECT * FROM silences ORDER BY until_ms") as cur:
            return [Silence(*row) for row in await cur.fetchall()]
