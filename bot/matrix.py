"""The only module that imports nio: login, supervised sync loop, replies and files."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

import aiohttp
from nio import (
    AsyncClient,
    AsyncClientConfig,
    InviteMemberEvent,
    JoinError,
    LoginError,
    MatrixRoom,
    RoomMessageText,
    RoomSendError,
    SyncError,
    UploadResponse,
    WhoamiError,
)

from bot.config import MatrixConfig
from bot.dispatch import Message
from bot.reply import Reply
from bot.store import Store

log = logging.getLogger(__name__)

FIRST_SYNC_FILTER = {"room": {"timeline": {"limit": 0}}}  # first-ever start: skip the backlog
LONG_POLL_MS = 30_000
SEND_DEADLINE = 300.0  # seconds a reply keeps being retried while the homeserver is away
NETWORK_ERRORS = (aiohttp.ClientError, TimeoutError, OSError)


class FatalLoginError(Exception):
    """The homeserver rejected the bot's credentials; retrying will not help."""


class Chat:
    """Keeps the bot connected to its homeserver and turns commands into Messages."""

    def __init__(
        self,
        cfg: MatrixConfig,
        store: Store,
        on_message: Callable[[Message], None],
        may_invite: Callable[[str], bool],
        *,
        backoff_cap: float = 60.0,
        ready: asyncio.Event | None = None,
    ) -> None:
        self.cfg = cfg
        self.store = store
        self.on_message = on_message
        self.may_invite = may_invite
        self.backoff_cap = backoff_cap
        self.connected = False
        self.ready = ready or asyncio.Event()  # set once the first sync is handled
        self.started_ms = int(time.time() * 1000)
        self._seen: deque[str] = deque(maxlen=2000)
        self.client = AsyncClient(
            cfg.homeserver,
            cfg.user_id,
            device_id=cfg.device_id,
            config=AsyncClientConfig(
                max_timeouts=1,  # connection errors surface to our own supervisor
                max_limit_exceeded=30,  # 429: nio sleeps retry_after_ms and retries
                request_timeout=30,
            ),
        )
        self.client.add_event_callback(self._on_text, RoomMessageText)
        self.client.add_event_callback(self._on_invite, InviteMemberEvent)

    # -- connection -----------------------------------------------------------------------

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

    async def _join_configured(self) -> None:
        for room_id in dict.fromkeys((*self.cfg.command_rooms, self.cfg.alert_room)):
            if room_id in self.client.rooms:
                continue
            resp = await self.client.join(room_id)
            if isinstance(resp, JoinError):
                log.warning("cannot join %s yet (%s); invite me there", room_id, resp.message)

    async def run(self, stop: asyncio.Event) -> None:
        """Log in and sync until ``stop`` is set; outages are waited out, never fatal."""
        backoff = 1.0
        logged_in = False
        first = True
        while not stop.is_set():
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
            except FatalLoginError:
                raise
            except (*NETWORK_ERRORS, ConnectionError) as exc:
                self._down(f"{type(exc).__name__}: {exc}")
            else:
                if isinstance(resp, SyncError):
                    if resp.status_code == "M_UNKNOWN_TOKEN":
                        logged_in = False
                    self._down(f"sync error {resp.status_code}: {resp.message}")
                else:
                    # event callbacks already ran inside sync(): the batch is handled
                    await self.store.save_sync_token(resp.next_batch)
                    if first:
                        await self._join_configured()
                        first = False
                        self.ready.set()
                    if not self.connected:
                        log.info("connected to %s", self.cfg.homeserver)
                    self.connected = True
                    backoff = 1.0
                    continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=backoff)
            backoff = min(backoff * 2, self.backoff_cap)

    def _down(self, reason: str) -> None:
        if self.connected:
            log.warning("lost the homeserver %s: %s", self.cfg.homeserver, reason)
        else:
            log.info("homeserver %s not reachable: %s", self.cfg.homeserver, reason)
        self.connected = False

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.client.close()

    # -- incoming -------------------------------------------------------------------------

    async def _on_text(self, room: MatrixRoom, event: RoomMessageText) -> None:
        try:
            msg = self._to_message(room.room_id, event.source, event.server_timestamp)
            if msg is not None:
                self.on_message(msg)
        except Exception:  # one bad event must not break the sync loop
            log.exception("could not handle event %s", getattr(event, "event_id", "?"))

    def _to_message(self, room_id: str, source: dict[str, Any], ts: int) -> Message | None:
        event_id, sender = source.get("event_id", ""), source.get("sender", "")
        content = source.get("content") or {}
        relates = content.get("m.relates_to") or {}
        if (
            room_id not in self.cfg.command_rooms
            or sender == self.cfg.user_id
            or ts < self.started_ms
            or content.get("msgtype") != "m.text"
            or relates.get("rel_type") == "m.replace"
            or "m.new_content" in content
            or event_id in self._seen
        ):
            return None
        body = strip_reply_fallback(str(content.get("body", ""))).strip()
        if not body.startswith(self.cfg.prefix):
            return None
        self._seen.append(event_id)
        thread = relates.get("event_id") if relates.get("rel_type") == "m.thread" else None
        return Message(room_id, event_id, sender, body, thread or event_id, ts)

    async def _on_invite(self, room: MatrixRoom, event: InviteMemberEvent) -> None:
        if event.membership != "invite" or event.state_key != self.cfg.user_id:
            return
        wanted = room.room_id in self.cfg.command_rooms or room.room_id == self.cfg.alert_room
        if not (wanted or self.may_invite(event.sender)):
            log.info("ignoring invite to %s from %s", room.room_id, event.sender)
            return
        try:
            resp = await self.client.join(room.room_id)
        except NETWORK_ERRORS as exc:
            log.warning("could not accept the invite to %s: %s", room.room_id, exc)
            return
        if isinstance(resp, JoinError):
            log.warning("could not join %s: %s", room.room_id, resp.message)
        else:
            log.info("joined %s (invited by %s)", room.room_id, event.sender)

    # -- outgoing -------------------------------------------------------------------------

    async def reply(self, msg: Message, reply: Reply) -> str | None:
        """Post ``reply`` as a notice in the command's thread (plus its file, if any)."""
        relation = {
            "rel_type": "m.thread",
            "event_id": msg.thread_root,
            "is_falling_back": True,
            "m.in_reply_to": {"event_id": msg.event_id},
        }
        content: dict[str, Any] = {"msgtype": "m.notice", "body": reply.body, "m.mentions": {}}
        if reply.html is not None:
            content["format"] = "org.matrix.custom.html"
            content["formatted_body"] = reply.html
        content["m.relates_to"] = relation
        event_id = await self.send(msg.room_id, content)
        if reply.attachment is not None:
            await self._send_file(msg.room_id, reply, relation)
        return event_id

    async def _send_file(self, room_id: str, reply: Reply, relation: dict[str, Any]) -> None:
        att = reply.attachment
        assert att is not None
        resp, _ = await self.client.upload(
            io.BytesIO(att.data),
            content_type=att.mimetype,
            filename=att.filename,
            filesize=len(att.data),
        )
        if not isinstance(resp, UploadResponse):
            log.warning("upload of %s failed: %s", att.filename, resp)
            return
        await self.send(
            room_id,
            {
                "msgtype": "m.file",
                "body": att.filename,
                "filename": att.filename,
                "info": {"mimetype": att.mimetype, "size": len(att.data)},
                "url": resp.content_uri,
                "m.mentions": {},
                "m.relates_to": relation,
            },
        )

    async def send(self, room_id: str, content: dict[str, Any]) -> str | None:
        """Send one event, retrying through outages (same transaction id: no duplicates)."""
        tx_id = uuid.uuid4().hex
        deadline = time.monotonic() + SEND_DEADLINE
        backoff = 1.0
        while True:
            try:
                resp = await self.client.room_send(room_id, "m.room.message", content, tx_id=tx_id)
            except NETWORK_ERRORS as exc:
                error = f"{type(exc).__name__}: {exc}"
            else:
                if not isinstance(resp, RoomSendError):
                    return str(resp.event_id)
                if resp.status_code not in ("M_LIMIT_EXCEEDED", None) and not str(
                    resp.status_code
                ).startswith("5"):
                    log.warning(
                        "homeserver refused a message: %s %s", resp.status_code, resp.message
                    )
                    return None
                error = f"{resp.status_code}: {resp.message}"
            if time.monotonic() + backoff > deadline:
                log.error(
                    "giving up on a message to %s after %.0f s: %s", room_id, SEND_DEADLINE, error
                )
                return None
            log.warning("send to %s failed (%s); retrying in %.0f s", room_id, error, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.backoff_cap)


def strip_reply_fallback(body: str) -> str:
    """Drop the `> <@user> quoted` lines older clients put in front of a reply."""
    lines = body.split("\n")
    if not lines or not lines[0].startswith("> "):
        return body
    while lines and lines[0].startswith(">"):
        lines.pop(0)
    return "\n".join(lines)
