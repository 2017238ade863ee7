"""Approval requests and their state machine; every transition is a compare-and-set."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from bot.store.db import Db

OPEN = ("pending", "approved", "running")
FINAL = ("succeeded", "failed", "rejected", "expired")


@dataclass(frozen=True)
class Request:
    """An action waiting for, or past, a second person's approval."""

    id: str
    created_ms: int
    expires_ms: int
    room_id: str
    thread_root: str
    command_event_id: str
    card_event_id: str | None
    requester: str
    command: str
    args: str
    service: str
    summary: str
    warning: str
    approver_role: int
    state: str
    approver: str = ""
    approval_event_id: str = ""
    decided_ms: int | None = None
    started_ms: int | None = None
    finished_ms: int | None = None
    result: str = ""
    requester_power: int | None = None  # the requester's power level in the room, if roles use it
    plan_data: str = "{}"  # what `run` needs, as the command planned it (JSON)


NAMES = tuple(f.name for f in fields(Request))
SELECT = f"SELECT {', '.join(NAMES)} FROM requests"
UPDATABLE = {"approver", "approval_event_id", "decided_ms", "started_ms", "finished_ms", "result"}


class Requests:
    """Persistence of approval requests."""

    def __init__(self, db: Db) -> None:
        self._db = db

    async def _many(self, where: str, params: tuple[Any, ...]) -> list[Request]:
        return [Request(*row) for row in await self._db.all(f"{SELECT} WHERE {where}", params)]

    async def add(self, request: Request) -> bool:
        """Store a new request, unless ``request.service`` has an open request already (then
        False). One statement, so of two requests made at the same moment exactly one wins."""
        marks = ", ".join("?" for _ in NAMES)
        values = tuple(getattr(request, n) for n in NAMES)
        added, _ = await self._db.write(
            f"INSERT INTO requests ({', '.join(NAMES)}) SELECT {marks} WHERE NOT EXISTS"
            " (SELECT 1 FROM requests WHERE service = ? AND state IN (?, ?, ?))",
            (*values, request.service, *OPEN),
        )
        return added == 1

    async def get(self, request_id: str) -> Request | None:
        """The request with this id."""
        found = await self._many("id = ?", (request_id,))
        return found[0] if found else None

    async def by_card(self, card_event_id: str) -> Request | None:
        """The request whose approval card is ``card_event_id``."""
        found = await self._many("card_event_id = ?", (card_event_id,))
        return found[0] if found else None

    async def set_card(self, request_id: str, card_event_id: str) -> None:
        """Remember the card that represents the request in the room."""
        await self._db.write(
            "UPDATE requests SET card_event_id = ? WHERE id = ?", (card_event_id, request_id)
        )

    async def move(
        self, request_id: str, from_states: tuple[str, ...], to: str, **changes: Any
    ) -> Request | None:
        """Move the request to ``to`` if it is in one of ``from_states``; None if it was not.

        One UPDATE with the state in its WHERE clause: of two racing callers exactly one wins.
        """
        unknown = set(changes) - UPDATABLE
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)}")
        sets = ", ".join(["state = ?", *(f"{k} = ?" for k in changes)])
        marks = ", ".join("?" for _ in from_states)
        moved, _ = await self._db.write(
            f"UPDATE requests SET {sets} WHERE id = ? AND state IN ({marks})",
            (to, *changes.values(), request_id, *from_states),
        )
        return await self.get(request_id) if moved == 1 else None

    async def open(self) -> list[Request]:
        """Requests not yet finished (pending, approved or running), oldest first."""
        return await self._many(
            "state IN ('pending', 'approved', 'running') ORDER BY created_ms", ()
        )

    async def overdue(self, now_ms: int) -> list[Request]:
        """Pending requests whose time is up."""
        return await self._many("state = 'pending' AND expires_ms <= ?", (now_ms,))

    async def active(self, service: str) -> Request | None:
        """The open request (of any command) on ``service``, if any."""
        found = await self._many(
            "service = ? AND state IN ('pending', 'approved', 'running') ORDER BY created_ms",
            (service,),
        )
        return found[0] if found else None

    async def runs_since(self, command: str, service: str, since_ms: int) -> int:
        """How often ``command`` was started on ``service`` since ``since_ms``."""
        row = await self._db.one(
            "SELECT COUNT(*) FROM requests WHERE command = ? AND service = ? AND started_ms >= ?",
            (command, service, since_ms),
        )
        return int(row[0]) if row else 0
