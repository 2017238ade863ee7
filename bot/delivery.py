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

from bot.store import Store

log = logging.getLogger(__name__)

SendOnce = Callable[[str, str, dict[str, Any], str], Awaitable[str | None]]


REF = "outbox:"  # `outbox:<id>` stands for the event id an earlier outbox item will get


def ref(item_id: int) -> str:
    """A reference to the event an outbox item becomes once delivered."""
    return f"{REF}{item_id}"


class Unreachable(Exception):
    """The homeserver could not take an event right now (network, 5xx or rate limit)."""


class Courier:
    """Sends the store's outbox FIFO; an event leaves the queue only once the server took it."""

    def __init__(self, store: Store, send_once: SendOnce, backoff_cap: float) -> None:
        self.store = store
        self.send_once = send_once
        self.backoff_cap = backoff_cap
        self.online = False
        self.wake = asyncio.Event()

    async def run(self) -> None:
        """Deliver forever (cancel to stop)."""
        backoff = 1.0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=backoff)
            self.wake.clear()
            if not self.online:
                continue
            try:
                for item in await self.store.outbox.head():
                    content = await self._resolve(item.content)
                    sent = None
                    if content is not None:
                        # the transaction id makes a resend after a lost response harmless
                        sent = await self.send_once(
                            item.room_id, item.event_type, content, f"ob{item.id}"
                        )
                    await self.store.outbox.done(item.id, sent or "")
                backoff = 1.0
            except Unreachable as exc:
                log.info("outbox waits: %s", exc)
                backoff = min(backoff * 2, self.backoff_cap)
            except Exception:  # never let delivery die; the items stay queued
                log.exception("outbox delivery failed")
                backoff = min(backoff * 2, self.backoff_cap)
            if await self.store.outbox.size():
                self.wake.set()

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
