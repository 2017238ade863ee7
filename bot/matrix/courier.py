"""Delivers queued events in order whenever the homeserver is reachable (the outbox courier)."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from bot.matrix.events import message
from bot.store import OutboxItem, Store
from bot.text.reply import Reply

log = logging.getLogger(__name__)

SendOnce = Callable[[str, str, dict[str, Any], str], Awaitable[str | None]]


REF = "outbox:"  # `outbox:<id>` stands for the event id an earlier outbox item will get


def ref(item_id: int) -> str:
    """A reference to the event an outbox item becomes once delivered."""
    return f"{REF}{item_id}"


class Unreachable(Exception):
    """The homeserver could not take an event right now (network, 5xx or rate limit)."""


MAX_ATTEMPTS = 5  # failed attempts (outages not counted) before an item is dropped


class Courier:
    """Sends the store's outbox FIFO; an event leaves the queue once the server took it, or
    once it failed MAX_ATTEMPTS times for a reason other than an outage (then it is dropped,
    logged, and the command room is told once, so one bad item never wedges the rest)."""

    def __init__(
        self, store: Store, send_once: SendOnce, backoff_cap: float, tell_room: str = ""
    ) -> None:
        self.store = store
        self.send_once = send_once
        self.backoff_cap = backoff_cap
        self.tell_room = tell_room  # where to say that messages to some room are dropped
        self.online = False
        self.wake = store.outbox.added
        self._told: set[str] = set()

    async def run(self) -> None:
        """Deliver forever (cancel to stop)."""
        backoff = 1.0
        prefix = await self.store.txn_prefix()
        while True:
            await self._nap(backoff)
            self.wake.clear()
            if not self.online:
                continue
            try:
                clean = await self._pass(prefix)
            except Unreachable as exc:
                log.info("outbox waits: %s", exc)
                clean = False
            if not clean:  # wait before trying again (new items still wake it)
                backoff = min(backoff * 2, self.backoff_cap)
                continue
            backoff = 1.0
            if await self.store.outbox.size():
                self.wake.set()

    async def _nap(self, seconds: float) -> None:
        """Wait until woken or ``seconds`` passed. (asyncio.timeout, not wait_for: on 3.11
        wait_for returns instead of raising when cancelled just as the event fires, and the
        courier would then outlive its shutdown.)"""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self.wake.wait()

    async def _pass(self, prefix: str) -> bool:
        """Send the oldest items in order; False at the first one that must be retried."""
        for item in await self.store.outbox.head():
            if not await self._deliver(item, f"{prefix}.ob{item.id}"):
                return False
        return True

    async def _deliver(self, item: OutboxItem, tx_id: str) -> bool:
        """Send one item; False when it failed and should be retried after a pause."""
        try:
            content = await self._resolve(item.content)
            if content is None:  # what it points at was never delivered
                await self.store.outbox.fail(item.id, "refers to a message that was not sent")
                return True
            # the transaction id makes a resend after a lost response harmless
            sent = await self.send_once(item.room_id, item.event_type, content, tx_id)
        except Unreachable:
            raise
        except Exception as exc:
            log.exception("outbox: could not send item %d to %s", item.id, item.room_id)
            reason = f"{type(exc).__name__}: {exc}"
            if await self.store.outbox.failed_attempt(item.id, reason, MAX_ATTEMPTS):
                await self._dropped(item, reason)
                return True
            return False
        if sent:
            await self.store.outbox.done(item.id, sent)
        else:
            await self.store.outbox.fail(item.id, "refused by the homeserver")
            await self._dropped(item, "refused by the homeserver")
        return True

    async def _dropped(self, item: OutboxItem, reason: str) -> None:
        log.error("outbox: dropped a message to %s after trying: %s", item.room_id, reason)
        if item.room_id in self._told or not self.tell_room or item.room_id == self.tell_room:
            return
        self._told.add(item.room_id)
        text = (f"⚠ I could not deliver a message to {item.room_id} ({reason[:200]}) and "
                "dropped it. Am I invited to and joined in that room? Later messages to it are "
                "tried again; I say this once.")  # fmt: skip
        await self.store.outbox.put(self.tell_room, "m.room.message", message(Reply.text(text)))

    async def send_now(
        self, room_id: str, kind: str, content: dict[str, Any], within: float
    ) -> str | None:
        """Send one event outside the queue, retrying through short outages with the same
        transaction id; None when refused or still impossible after ``within`` seconds."""
        tx_id = uuid.uuid4().hex
        deadline = time.monotonic() + within
        backoff = 1.0
        while True:
            try:
                return await self.send_once(room_id, kind, content, tx_id)
            except Unreachable as exc:
                if time.monotonic() + backoff > deadline:
                    log.error("giving up on a message to %s: %s", room_id, exc)
                    return None
                log.warning("send to %s failed (%s); retrying in %.0f s", room_id, exc, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.backoff_cap)

    async def _resolve(self, content: dict[str, Any]) -> dict[str, Any] | None:
        """Replace `outbox:<id>` references with the event ids those items got (None if one
        of them was never delivered: then this event cannot be either)."""
        content = copy.deepcopy(content)
        relates = content.get("m.relates_to")
        holders = [relates, relates.get("m.in_reply_to")] if isinstance(relates, dict) else []
        for holder in holders:
            if isinstance(holder, dict) and str(holder.get("event_id", "")).startswith(REF):
                event_id = await self.store.outbox.event_of(int(holder["event_id"][len(REF) :]))
                if not event_id:
                    return None
                holder["event_id"] = event_id
        return content
