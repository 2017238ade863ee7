"""The audit trail: one row per command, refused attempt and approval step."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

OUTCOMES = ("ok", "denied", "usage-error", "error")
COLUMNS = (
    "ts_ms, room_id, sender, event_id, command, args, outcome, duration_ms, details,"
    " step, request_id, target"
)


@dataclass(frozen=True)
class AuditEntry:
    """One handled (or refused) command, or one step of an approval request."""

    ts_ms: int
    room_id: str
    sender: str
    event_id: str
    command: str
    args: str
    outcome: str
    duration_ms: int
    details: str = ""
    step: str = ""  # requested, approved, rejected, expired, started, succeeded, failed, ignored
    request_id: str = ""
    target: str = ""  # the service acted on, if any


class AuditLog:
    """Append and read audit rows. Callers pass already-redacted text."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def record(self, entry: AuditEntry) -> int:
        """Append one row; returns its id."""
        if entry.outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {entry.outcome!r}")
        cur = await self._db.execute(
            f"INSERT INTO audit ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                entry.ts_ms,
                entry.room_id,
                entry.sender,
                entry.event_id,
                entry.command,
                entry.args,
                entry.outcome,
                entry.duration_ms,
                entry.details,
                entry.step,
                entry.request_id,
                entry.target,
            ),
        )
        await cur.close()
        return int(cur.lastrowid or 0)

    async def recent(self, limit: int, target: str | None = None) -> list[AuditEntry]:
        """The newest ``limit`` rows (about ``target`` only, if given), newest first."""
        where, params = ("WHERE target = ?", (target, limit)) if target else ("", (limit,))
        async with self._db.execute(
            f"SELECT {COLUMNS} FROM audit {where} ORDER BY id DESC LIMIT ?", params
        ) as cur:
            rows = await cur.fetchall()
        return [AuditEntry(*row) for row in rows]
