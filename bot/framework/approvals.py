"""Approval by reaction: requests, who may approve, withdrawal, expiry, resume, exactly-once."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from bot.access import role_of
from bot.audit import Audit
from bot.config import Config
from bot.core import Message, Reaction, Role, UsageError, now_ms
from bot.framework import cards
from bot.framework.decisions import Verdict, refusal_of
from bot.framework.plan import Plan
from bot.matrix import events
from bot.store import Request, Store
from bot.tasks import TaskSet, every
from bot.text.reply import Reply

log = logging.getLogger(__name__)

Execute = Callable[[Request, Callable[[str], Awaitable[None]]], Awaitable[tuple[str, Reply, str]]]
PROGRESS_EVERY = 2.0  # seconds between progress edits of a card
ID_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no look-alikes (l/1, o/0, i)


class ChatPort(Protocol):
    """What approvals need from the chat layer."""

    async def send_now(
        self, room_id: str, content: dict[str, Any], kind: str = ...
    ) -> str | None: ...
    async def react(self, room_id: str, event_id: str, key: str) -> None: ...
    async def queue(self, room_id: str, content: dict[str, Any], kind: str = ...) -> int: ...
    async def annotations(self, room_id: str, event_id: str) -> list[Reaction]: ...


class Approvals:
    """Moves requests through pending → approved → running → succeeded/failed (or rejected,
    expired), each move a compare-and-set in the store, so nothing runs twice or late."""

    def __init__(
        self,
        config: Config,
        store: Store,
        chat: ChatPort,
        audit: Audit,
        execute: Execute,
        *,
        bot_user: str,
        after_action: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.cfg = config
        self.store = store
        self.chat = chat
        self.audit = audit
        self.redact = audit.redact
        self.execute = execute  # runs an approved plan (the command's `run` phase), once
        self.bot_user = bot_user
        self.after_action = after_action  # e.g. publish the audit head after each action
        self.tasks = TaskSet("approval")
        self._last_progress: dict[str, float] = {}

    async def close(self) -> None:
        """Cancel approval work in flight (shutdown); state stays in the store."""
        await self.tasks.close()

    async def open(self, msg: Message, command: str, args: str, plan: Plan) -> Request:
        """Record a new request and post its card (with 👍/👎 pre-seeded) in the thread."""
        created = now_ms()
        req = Request(
            id="".join(secrets.choice(ID_ALPHABET) for _ in range(6)),
            created_ms=created,
            expires_ms=created + int(self.cfg.approvals.timeout * 1000),
            room_id=msg.room_id,
            thread_root=msg.thread_root,
            command_event_id=msg.event_id,
            card_event_id=None,
            requester=msg.sender,
            command=command,
            args=args,
            service=plan.service,
            summary=self.redact(plan.summary),
            warning=plan.warning,
            approver_role=int(plan.approver_role),
            state="pending",
            requester_power=msg.power,
            plan_data=plan.data_json(),
        )
        if not await self.store.requests.add(req):
            raise UsageError(await self._busy(plan.service))
        await self.audit.step(
            req, "requested", msg.sender, f"{req.summary}; needs {Role(req.approver_role)}"
        )
        card = cards.render(req, self.cfg.matrix.prefix, two_person=self.cfg.approvals.two_person)
        content = events.message(card, events.thread_relation(msg.thread_root, msg.event_id))
        content["org.opsbot.request"] = {"id": req.id, "command": command, "service": req.service}
        card_id = await self.chat.send_now(msg.room_id, content)
        if card_id is None:
            await self.store.requests.move(req.id, ("pending",), "failed", result="card not posted")
            raise RuntimeError("could not post the approval card")
        await self.store.requests.set_card(req.id, card_id)
        for key in cards.SEED_KEYS:
            await self.chat.react(msg.room_id, card_id, key)
        return req

    async def _busy(self, service: str) -> str:
        """Why a second request for ``service`` is refused: the open one, by id."""
        other = await self.store.requests.active(service)
        if other is None:
            return f"another request for `{service}` was being made at the same moment; try again"
        verb = {"pending": "waits for approval", "approved": "is approved and about to start",
                "running": "is running"}[other.state]  # fmt: skip
        asked = f"`{self.cfg.matrix.prefix}{other.command} {service}` by {other.requester}"
        return f"{asked} {verb} (request `{other.id}`): decide that one, or wait until it is done"

    def on_reaction(self, reaction: Reaction) -> None:
        """A reaction arrived in a command room (sync callback: work runs as a task)."""
        verdict = cards.verdict(reaction.key)
        if verdict is not None and reaction.sender != self.bot_user:
            self.tasks.spawn(self._on_reaction(reaction, verdict), f"reaction {reaction.event_id}")

    async def _on_reaction(self, reaction: Reaction, approve: bool) -> None:
        req = await self.store.requests.by_card(reaction.target)
        if req is not None:
            role = role_of(reaction.sender, self.cfg.access, reaction.power)
            verdict = Verdict(reaction.sender, role, reaction.room_id, reaction.event_id,
                              reaction.ts_ms)  # fmt: skip
            await self.decide(req, verdict, approve)

    async def decide_by_id(self, request_id: str, who: Verdict, approve: bool) -> str:
        """`!approve <id>` / `!deny <id>`: the answer to show the sender."""
        req = await self.store.requests.get(request_id.lower())
        if req is None:
            return f"no request `{request_id[:12]}` — the id is on the approval card"
        return await self.decide(req, who, approve)

    async def decide(self, req: Request, who: Verdict, approve: bool) -> str:
        """Apply one person's verdict; returns what happened, in words."""
        sender, event_id = who.sender, who.event_id
        refusal = refusal_of(req, who, approve, self.cfg)
        if refusal:
            await self.audit.step(req, "ignored", sender, refusal, outcome="denied")
            return refusal
        if not approve:
            moved = await self.store.requests.move(
                req.id, ("pending",), "rejected", approver=sender, decided_ms=now_ms()
            )
            if moved is not None:
                await self.audit.step(moved, "rejected", sender, f"rejected by {sender}")
                await self._show(moved)
                return f"request `{req.id}` rejected; nothing was done"
            return f"request `{req.id}` was already decided"
        moved = await self.store.requests.move(
            req.id,
            ("pending",),
            "approved",
            approver=sender,
            approval_event_id=event_id,
            decided_ms=now_ms(),
        )
        if moved is None:
            return f"request `{req.id}` was already decided"
        await self.audit.step(moved, "approved", sender, f"approved by {sender}")
        self.tasks.spawn(self._start_after_grace(moved), f"request {req.id}")
        return f"request `{req.id}` approved"

    def on_redaction(self, room_id: str, redacted: str) -> None:
        """An event was redacted: maybe an approving reaction being withdrawn."""
        self.tasks.spawn(self._withdraw(redacted), f"redaction {redacted}")

    async def _withdraw(self, redacted: str) -> None:
        for req in await self.store.requests.open():
            if req.state == "approved" and req.approval_event_id == redacted:
                back = await self.store.requests.move(
                    req.id, ("approved",), "pending", approver="", approval_event_id=""
                )
                if back is not None:
                    await self.audit.step(back, "withdrawn", req.approver, "approval withdrawn")
                    await self._show(back, note=f"↩ {req.approver} withdrew their approval.")

    async def _start_after_grace(self, req: Request) -> None:
        grace = self.cfg.approvals.grace
        await self._show(req, grace=grace)
        await asyncio.sleep(grace)
        if now_ms() >= req.expires_ms:  # e.g. approved, then the bot was down for long
            await self._expire_approved(req)
            return
        running = await self.store.requests.move(
            req.id, ("approved",), "running", started_ms=now_ms()
        )
        if running is None:
            return  # withdrawn during the grace period
        await self.audit.step(running, "started", running.approver, "")
        await self._show(running)
        started = time.monotonic()
        try:
            outcome, reply, details = await self.execute(running, self._progress(running))
        except Exception:
            log.exception("request %s crashed", running.id)
            outcome, reply, details = "error", Reply.text("failed unexpectedly; see my log"), ""
        state = "succeeded" if outcome == "ok" else "failed"
        done = await self.store.requests.move(
            running.id, ("running",), state, finished_ms=now_ms(), result=reply.body[:3000]
        )
        duration = int((time.monotonic() - started) * 1000)
        await self.audit.step(
            running,
            state,
            running.approver,
            details or reply.body,
            duration,
            outcome="ok" if state == "succeeded" else "error",
        )
        if done is not None:
            await self._show(done)
        relation = events.thread_relation(running.thread_root, running.card_event_id or "")
        await self.chat.queue(running.room_id, events.message(reply, relation))
        if self.after_action is not None:
            await self.after_action()

    def _progress(self, req: Request) -> Callable[[str], Awaitable[None]]:
        async def progress(text: str) -> None:
            last = self._last_progress.get(req.id, 0.0)
            if time.monotonic() - last >= PROGRESS_EVERY:
                self._last_progress[req.id] = time.monotonic()
                await self._show(req, note=self.redact(text))

        return progress

    async def run(self, ready: asyncio.Event) -> None:
        """After the first sync: resume what a restart interrupted; then expire overdue ones."""
        await ready.wait()
        try:
            await self.resume()
        except Exception:
            log.exception("could not resume open requests")
        await every(1.0, self._expire_overdue, "expiry check")

    async def _expire_overdue(self) -> None:
        for req in await self.store.requests.overdue(now_ms()):
            moved = await self.store.requests.move(req.id, ("pending",), "expired")
            if moved is not None:
                await self.audit.step(moved, "expired", self.bot_user, "nobody approved in time")
                await self._show(moved)

    async def _expire_approved(self, req: Request) -> None:
        note = "approved, but it did not start before the request expired (I was down?)"
        moved = await self.store.requests.move(
            req.id, ("approved",), "expired", finished_ms=now_ms(), result=note
        )
        if moved is not None:
            await self.audit.step(moved, "expired", self.bot_user, note)
            await self._show(moved, note=f"Nothing was done: {note}; ask again if still needed.")

    async def resume(self) -> None:
        """Fail what was cut off mid-run (never re-run it), restart approved ones, and
        honour reactions given while the bot was down."""
        for req in await self.store.requests.open():
            if req.state == "running":
                note = (
                    "interrupted: the bot stopped while this ran; it was not run again — "
                    f"check `{self.cfg.matrix.prefix}status {req.service}`"
                )
                moved = await self.store.requests.move(
                    req.id, ("running",), "failed", finished_ms=now_ms(), result=note
                )
                if moved is not None:
                    await self.audit.step(moved, "failed", self.bot_user, note, outcome="error")
                    await self._show(moved)
            elif req.state == "approved":
                self.tasks.spawn(self._start_after_grace(req), f"request {req.id}")
            elif req.card_event_id and req.expires_ms > now_ms():
                for reaction in await self.chat.annotations(req.room_id, req.card_event_id):
                    self.on_reaction(reaction)

    async def _show(self, req: Request, *, grace: float = 0.0, note: str = "") -> None:
        if req.card_event_id:
            card = cards.render(
                req,
                self.cfg.matrix.prefix,
                two_person=self.cfg.approvals.two_person,
                grace=grace,
                note=note,
            )
            await self.chat.queue(req.room_id, events.edit(req.card_event_id, card))
