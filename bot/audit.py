"""The one audit writer: every command, approval step and acknowledgement goes through here,
redacted and bounded, into the store's chained audit trail."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.core import Message, now_ms
from bot.store import AuditEntry, Request, Store
from bot.store.audit import describe
from bot.text.redact import Redactor
from bot.text.reply import Reply

log = logging.getLogger(__name__)


Post = Callable[[Reply], Awaitable[object]]  # a notice to the alert room


class Audit:
    """Writes audit rows (the only place that builds them) and publishes the chain's head."""

    def __init__(self, store: Store, redact: Redactor, post: Post, prefix: str = "!") -> None:
        self.store = store
        self.redact = redact
        self.post = post
        self.prefix = prefix

    async def command(
        self, msg: Message, name: str, args: str, outcome: str, duration_ms: int, details: str
    ) -> None:
        """One handled (or refused) command."""
        await self._record(AuditEntry(
            ts_ms=now_ms(), room_id=msg.room_id, sender=msg.sender, event_id=msg.event_id,
            command=name[:64], args=self.redact(args)[:1000], outcome=outcome,
            duration_ms=duration_ms, details=self.redact(details)[:2000],
        ))  # fmt: skip

    async def step(
        self,
        req: Request,
        step: str,
        sender: str,
        details: str,
        duration_ms: int = 0,
        *,
        outcome: str = "ok",
    ) -> None:
        """One step of an approval request (requested, approved, started, …)."""
        await self._record(AuditEntry(
            ts_ms=now_ms(), room_id=req.room_id, sender=sender, event_id=req.command_event_id,
            command=req.command, args=self.redact(req.args)[:1000], outcome=outcome,
            duration_ms=duration_ms, details=self.redact(details)[:4000], step=step,
            request_id=req.id, target=req.service,
        ))  # fmt: skip

    async def ack(
        self, room_id: str, sender: str, event_id: str, failing: list[str], services: list[str]
    ) -> None:
        """Someone acknowledged an alert (👀): what still failed, of the alert's services."""
        await self._record(AuditEntry(
            ts_ms=now_ms(), room_id=room_id, sender=sender, event_id=event_id, command="ack",
            args=", ".join(failing), outcome="ok", duration_ms=0, step="acknowledged",
            target=",".join(services),
        ))  # fmt: skip

    async def _record(self, entry: AuditEntry) -> None:
        await self.store.audit.record(entry)

    async def anchor(self) -> None:
        """Publish the chain's head off the box (after privileged actions and daily), and
        remember it: a chain that later ends before it lost its newest rows."""
        verdict = await self.store.audit.verify()
        state = "intact" if verdict.ok else f"BROKEN at row {verdict.broken_id}"
        check = f"`{self.prefix}audit verify` or `opsbot audit verify`"
        text = (
            f"🔏 audit head: row {verdict.head_id}, {verdict.head_hash} ({state}). Check: {check}."
        )
        await self.post(Reply.text(text))
        if verdict.ok:
            await self.store.audit.remember_posted(verdict.head_id, verdict.head_hash)

    async def check(self) -> None:
        """At start: a broken or shortened trail is said in the alert room at once."""
        verdict = await self.store.audit.verify()
        if not verdict.ok:
            log.error("%s", describe(verdict))
            await self.post(Reply.text(f"🚨 {describe(verdict)}"))
