"""The only module that imports nio: login, supervised sync loop, sending, outbox delivery."""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    InviteMemberEvent,
    LoginError,
    MatrixRoom,
    MegolmEvent,
    ReactionEvent,
    RedactionEvent,
    RoomMessageText,
    RoomSendError,
    SyncError,
    UploadResponse,
    WhoamiError,
)
from nio.crypto import ENCRYPTION_ENABLED

from bot import events
from bot.audit_key import key_file
from bot.config import AccessConfig, MatrixConfig
from bot.delivery import Courier, Unreachable
from bot.dispatch import Message
from bot.events import Reaction
from bot.matrix.crypto import Crypto
from bot.matrix.rooms import NETWORK_ERRORS, Rooms
from bot.reply import Reply
from bot.store import Store

log = logging.getLogger(__name__)

FIRST_SYNC_FILTER = {"room": {"timeline": {"limit": 0}}}  # first-ever start: skip the backlog
LONG_POLL_MS = 30_000
SEND_DEADLINE = 300.0  # seconds a direct reply keeps being retried while the homeserver is away


class FatalLoginError(Exception):
    """The homeserver rejected the bot's credentials; retrying will not help."""


class Chat:
    """Keeps the bot connected to its homeserver; hands over commands, reactions, redactions."""

    def __init__(
        self,
        cfg: MatrixConfig,
        store: Store,
        access: AccessConfig,
        *,
        backoff_cap: float = 60.0,
        ready: asyncio.Event | None = None,
        store_dir: Path | None = None,
    ) -> None:
        self.cfg = cfg
        self.store = store
        # where incoming events go; the app wires these to the dispatcher and approvals
        self.on_message: Callable[[Message], None] = lambda msg: None
        self.on_reaction: Callable[[Reaction], None] = lambda reaction: None
        self.on_redaction: Callable[[str, str], None] = lambda room, redacted: None
        self.access = access
        self.backoff_cap = backoff_cap
        self.connected = False
        self.down_reason, self.sync_failures = "not connected yet", 0  # for /healthz, /metrics
        self.ready = ready or asyncio.Event()  # set once the first sync is handled
        self.started_ms = int(time.time() * 1000)
        self._seen: deque[str] = deque(maxlen=2000)
        if cfg.encryption and not ENCRYPTION_ENABLED:
            raise FatalLoginError(
                "matrix.encryption needs the e2e extra: pip install 'opsbot[e2e]'"
            )
        crypto_dir = (store_dir or Path(".")) / "crypto"
        if cfg.encryption:
            crypto_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.client = AsyncClient(
            cfg.homeserver,
            cfg.user_id,
            device_id=cfg.device_id,
            store_path=str(crypto_dir) if cfg.encryption else None,
            config=AsyncClientConfig(
                max_timeouts=1,  # connection errors surface to our own supervisor
                max_limit_exceeded=30,  # 429: nio sleeps retry_after_ms and retries
                request_timeout=30,
                encryption_enabled=cfg.encryption,
                pickle_key=key_file(crypto_dir / "pickle.key").decode() if cfg.encryption else "",
            ),
        )
        self.crypto = Crypto(self.client, self._on_event, self._undecryptable, self.started_ms)
        self.courier = Courier(store, self._send_once, backoff_cap, cfg.command_rooms[0])
        self.client.add_event_callback(self._on_event, (RoomMessageText, ReactionEvent))
        self.rooms = Rooms(self.client, cfg, access)
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
        """Close the HTTP session."""
        await self.crypto.close()
        await self.client.close()

    async def _undecryptable(self, room_id: str, event_id: str) -> None:
        text = (f"🔒 I could not decrypt a message here (no room key reached my device "
                f"{self.cfg.device_id}). If your client only encrypts to verified devices, "
                "allow unverified devices for this room or verify mine.")  # fmt: skip
        if room_id in self.cfg.command_rooms:
            relation = events.thread_relation(event_id, event_id)
            await self.queue(room_id, events.message(Reply.text(text), relation))

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
                    self.on_reaction(replace(reaction, power=power))
                return
            start = self.started_ms
            msg = events.parse_command(room.room_id, event.source, self.cfg.prefix, start)
            if msg is not None:
                self.on_message(replace(msg, power=power))
        except Exception:  # one bad event must not break the sync loop
            log.exception("could not handle event %s", getattr(event, "event_id", "?"))

    async def _on_redaction(self, room: MatrixRoom, event: RedactionEvent) -> None:
        if room.room_id in self.cfg.command_rooms and event.redacts:
            self.on_redaction(room.room_id, event.redacts)

    async def annotations(self, room_id: str, event_id: str) -> list[Reaction]:
        """Every current (unredacted) reaction on ``event_id``, oldest first."""
        return await self.rooms.annotations(room_id, event_id)

    async def reply(self, msg: Message, reply: Reply) -> str | None:
        """Post ``reply`` as a notice in the command's thread (plus its file, if any)."""
        relation = events.thread_relation(msg.thread_root, msg.event_id)
        event_id = await self.send(msg.room_id, events.message(reply, relation))
        att = reply.attachment
        if att is not None:
            room = self.client.rooms.get(msg.room_id)
            secret = bool(room and room.encrypted and self.client.olm)  # encrypted attachment
            resp, keys = await self.client.upload(
                io.BytesIO(att.data), att.mimetype, att.filename, secret, filesize=len(att.data)
            )
            if isinstance(resp, UploadResponse):
                content = events.file_message(att, resp.content_uri, relation, keys)
                await self.send(msg.room_id, content)
            else:
                log.warning("upload of %s failed: %s", att.filename, resp)
        return event_id

    async def send(
        self, room_id: str, content: dict[str, Any], kind: str = "m.room.message"
    ) -> str | None:
        """Send one event now, retrying through short outages (same transaction id)."""
        return await self.courier.send_now(room_id, kind, content, SEND_DEADLINE)

    async def _send_once(
        self, room_id: str, kind: str, content: dict[str, Any], tx_id: str
    ) -> str | None:
        """One attempt: the event id; None if refused for good; Unreachable to retry."""
        try:
            # the bot cannot verify devices (nio has no cross-signing): it encrypts to all
            resp = await self.client.room_send(
                room_id, kind, content, tx_id=tx_id, ignore_unverified_devices=True
            )
        except NETWORK_ERRORS as exc:
            raise Unreachable(f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(resp, RoomSendError):
            return str(resp.event_id)
        code = str(resp.status_code or "")
        if code in ("M_LIMIT_EXCEEDED", "") or code.startswith("5"):
            raise Unreachable(f"{code}: {resp.message}")
        log.warning("homeserver refused an event for %s: %s %s", room_id, code, resp.message)
        return None

    async def queue(
        self, room_id: str, content: dict[str, Any], kind: str = "m.room.message"
    ) -> int:
        """Deliver an event eventually, in order, even across outages and restarts; the
        returned outbox id stands for its event id (`outbox:<id>`) in later events."""
        item = await self.store.outbox.put(room_id, kind, content)
        self.courier.wake.set()
        return item

    async def react(self, room_id: str, event_id: str, key: str) -> None:
        """Put a reaction on an event."""
        await self.send(room_id, events.reaction(event_id, key), "m.reaction")
