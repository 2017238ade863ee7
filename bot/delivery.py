"""Delivers queued events in order whenever the homeserver is reachable (the outbox courier)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.store import Store

log = logging.getLogger(__name__)

SendOnce = Callable[[str, str, dict[str, Any], str], Awaitable[str | None]]


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
                    # the transaction id makes a resend after a lost response harmless
                    await self.send_once(
                        item.room_id, item.event_type, item.content, f"ob{item.id}"
                    )
                    await self.store.outbox.done(item.id)
                backoff = 1.0
            except Unreachable as exc:
                log.info("outbox waits: %s", exc)
                backoff = min(backoff * 2, self.backoff_cap)
            except Exception:  # never let delivery die; the items stay queued
                log.exception("outbox delivery failed")
                backoff = min(backoff * 2, self.backoff_cap)
            if await self.store.outbox.size():
                self.wake.set()
