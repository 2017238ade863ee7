"""The only package that imports nio: login, the supervised sync loop, incoming events; the
link (link.py) sends, the courier delivers the outbox."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from nio import (
    InviteMemberEvent,
    LoginError,
    MatrixRoom,
    MegolmEvent,
    ReactionEvent,
    RedactionEvent,
    RoomMessageText,
    SyncError,
    WhoamiError,
)

from bot.config import AccessConfig
from bot.core import Message, Reaction
from bot.matrix import events
from bot.matrix.crypto import Crypto
from bot.matrix.link import FatalLoginError, Link
from bot.matrix.rooms import NETWORK_ERRORS
from bot.text.reply import Reply

__all__ = ["Chat", "FatalLoginError", "Inbound", "Link"]

log = logging.getLogger(__name__)

FIRST_SYNC_FILTER = {"room": {"timeline": {"limit": 0}}}  # first-ever start: skip the backlog
LONG_POLL_MS = 30_000


@dataclass(frozen=True)
class Inbound:
    """Where incoming events go: commands, reactions, redactions (sync callbacks: each
    handler returns at once and starts its work as a task)."""

    on_message: Callable[[Message], None]
    on_reaction: Callable[[Reaction], None]
    on_redaction: Callable[[str, str], None]


class Chat:
    """Keeps the bot connected to its homeserver; hands over commands, reactions, redactions."""

    def __init__(
        self,
        link: Link,
        inbound: Inbound,
        access: AccessConfig,
        *,
        backoff_cap: float = 60.0,
        ready: asyncio.Event | None = None,
    ) -> None:
        self.link = link
        self.cfg = link.cfg
        self.store = link.store
        self.client, self.courier, self.rooms = link.client, link.courier, link.rooms
        self.inbound = inbound
        self.access = access
        self.backoff_cap = backoff_cap
        self.connected = False
        self.down_reason, self.sync_failures = "not connected yet", 0  # for /healthz, /metrics
        self.ready = ready or asyncio.Event()  # set once the first sync is handled
        self.started_ms = int(time.time() * 1000)
        self._seen: deque[str] = deque(maxlen=2000)
        self.crypto = Crypto(self.client, self._on_event, self._undecryptable, self.started_ms)
        self.client.add_event_callback(self._on_event, (RoomMessageText, ReactionEvent))
        self.client.add_event_callback(self.rooms.on_invite, InviteMemberEvent)
        self.client.add_event_callback(self.crypto.undecryptable, MegolmEvent)
        self.client.add_event_callback(self._on_redaction, RedactionEvent)

    async def _login(self) -> None:
        if self.cfg.access_token is not None:
            self.client.restore_login(
                self.cfg.user_id, self.cfg.device_id, self.cfg.access_token.value
            )
            who = await self.client.whoami()
            if not isinstance(who, WhoamiError):
                return
            if self.cfg.password is None:
                raise FatalLoginError(f"the access token was refused: {who.message}")
            log.warning("access token refused (%s); logging in with the password", who.status_code)
        assert self.cfg.password is not None
        resp = await self.client.login(self.cfg.password.value, device_name="opsbot")
        if isinstance(resp, LoginError):
            if resp.status_code in ("M_FORBIDDEN", "M_USER_DEACTIVATED", "M_INVALID_PARAM"):
                raise FatalLoginError(f"login refused: {resp.status_code} {resp.message}")
            raise ConnectionError(f"login failed: {resp.status_code} {resp.message}")

    async def run(self, stop: asyncio.Event) -> None:
        """Log in and sync until ``stop`` is set; outages are waited out, never fatal."""
        tasks = {
            asyncio.create_task(self._sync_forever(), name="sync"),
            asyncio.create_task(self.courier.run(), name="outbox"),
            asyncio.create_task(stop.wait(), name="stop"),
        }
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # a fatal login error ends the bot loudly
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _sync_forever(self) -> None:
        backoff, logged_in, first = 1.0, False, True
        while True:
            try:
                if not logged_in:
                    await self._login()
                    logged_in = True
                    log.info("logged in as %s (device %s)", self.cfg.user_id, self.cfg.device_id)
                if first:
                    token = await self.store.sync_token()
                    resp = await self.client.sync(
                        timeout=0,
                        since=token,
                        full_state=True,
                        sync_filter=None if token else FIRST_SYNC_FILTER,
                    )
                else:
                    resp = await self.client.sync(timeout=LONG_POLL_MS)
            except (*NETWORK_ERRORS, ConnectionError) as exc:
                self._down(f"{type(exc).__name__}: {exc}")
            else:
                if isinstance(resp, SyncError):
                    logged_in = resp.status_code != "M_UNKNOWN_TOKEN"
                    self._down(f"sync error {resp.status_code}: {resp.message}")
                else:
                    # event callbacks already ran inside sync(): the batch is handled
                    await self.store.save_sync_token(resp.next_batch)
                    await self.crypto.after_sync()
                    if first:
                        await self.rooms.join_configured()
                        first = False
                        self.ready.set()
                    if not self.connected:
                        log.info("connected to %s", self.cfg.homeserver)
                        self.courier.wake.set()
                    self.connected = self.courier.online = True
                    backoff = 1.0
                    continue
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.backoff_cap)

    def _down(self, reason: str) -> None:
        level = logging.WARNING if self.connected else logging.INFO
        log.log(level, "homeserver %s not reachable: %s", self.cfg.homeserver, reason)
        self.connected = self.courier.online = False
        self.down_reason, self.sync_failures = reason, self.sync_failures + 1

    async def close(self) -> None:
        """Close the crypto store and the HTTP session."""
        await self.crypto.close()
        await self.link.close()

    async def _undecryptable(self, room_id: str, event_id: str) -> None:
        text = (f"🔒 I could not decrypt a message here (no room key reached my device "
                f"{self.cfg.device_id}). If your client only encrypts to verified devices, "
                "allow unverified devices for this room or verify mine.")  # fmt: skip
        if room_id in self.cfg.command_rooms:
            relation = events.thread_relation(event_id, event_id)
            await self.link.queue(room_id, events.message(Reply.text(text), relation))

    def _ours(self, room_id: str, source: dict[str, Any], rooms: tuple[str, ...]) -> bool:
        """Whether an event is from one of ``rooms``, not from the bot, and not seen before."""
        event_id = str(source.get("event_id", ""))
        if room_id not in rooms or source.get("sender") == self.cfg.user_id:
            return False
        if event_id in self._seen:
            return False
        self._seen.append(event_id)
        return True

    async def _on_event(self, room: MatrixRoom, event: RoomMessageText | ReactionEvent) -> None:
        try:
            rooms = self.cfg.command_rooms
            if isinstance(event, ReactionEvent):
                rooms = (*rooms, self.cfg.alert_room)  # acks happen in the alert room
            if not self.access.rooms_only and room.member_count <= 2:
                rooms = (*rooms, room.room_id)  # access.rooms_only: false
            if not self._ours(room.room_id, event.source, rooms):
                return
            power = await self.rooms.power(room, event.sender)
            if isinstance(event, ReactionEvent):
                reaction = events.parse_reaction(room.room_id, event.source)
                if reaction is not None:
                    self.inbound.on_reaction(replace(reaction, power=power))
                return
            start = self.started_ms
            msg = events.parse_command(room.room_id, event.source, self.cfg.prefix, start)
            if msg is not None:
                self.inbound.on_message(replace(msg, power=power))
        except Exception:  # one bad event must not break the sync loop
            log.exception("could not handle event %s", getattr(event, "event_id", "?"))

    async def _on_redaction(self, room: MatrixRoom, event: RedactionEvent) -> None:
        if room.room_id in self.cfg.command_rooms and event.redacts:
            self.inbound.on_redaction(room.room_id, event.redacts)
