"""The bot's side of the homeserver connection: the nio client, and everything it sends."""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

from nio import AsyncClient, AsyncClientConfig, RoomSendError, UploadResponse
from nio.crypto import ENCRYPTION_ENABLED

from bot.config import AccessConfig, MatrixConfig
from bot.core import Message, Reaction
from bot.matrix.courier import Courier, Unreachable
from bot.matrix.events import file_message, message, reaction, thread_relation
from bot.matrix.rooms import NETWORK_ERRORS, Rooms
from bot.store import Store
from bot.store.audit_key import key_file
from bot.text.reply import Reply

log = logging.getLogger(__name__)

SEND_DEADLINE = 300.0  # seconds a direct reply keeps being retried while the homeserver is away


class FatalLoginError(Exception):
    """The homeserver rejected the bot's credentials; retrying will not help."""


class Link:
    """The nio client and the one way out, the courier: `queue` (durable, the default: the
    outbox delivers in order across outages and restarts) or `send_now` (the fast path)."""

    def __init__(
        self,
        cfg: MatrixConfig,
        store: Store,
        access: AccessConfig,
        *,
        backoff_cap: float = 60.0,
        store_dir: Path | None = None,
    ) -> None:
        self.cfg = cfg
        self.store = store
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
        self.courier = Courier(store, self._send_once, backoff_cap, cfg.command_rooms[0])
        self.rooms = Rooms(self.client, cfg, access)

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.client.close()

    async def annotations(self, room_id: str, event_id: str) -> list[Reaction]:
        """Every current (unredacted) reaction on ``event_id``, oldest first."""
        return await self.rooms.annotations(room_id, event_id)

    async def reply(self, msg: Message, reply: Reply) -> str | None:
        """Post ``reply`` as a notice in the command's thread (plus its file, if any)."""
        relation = thread_relation(msg.thread_root, msg.event_id)
        event_id = await self.send_now(msg.room_id, message(reply, relation))
        att = reply.attachment
        if att is not None:
            room = self.client.rooms.get(msg.room_id)
            secret = bool(room and room.encrypted and self.client.olm)  # encrypted attachment
            resp, keys = await self.client.upload(
                io.BytesIO(att.data), att.mimetype, att.filename, secret, filesize=len(att.data)
            )
            if isinstance(resp, UploadResponse):
                content = file_message(att, resp.content_uri, relation, keys)
                await self.send_now(msg.room_id, content)
            else:
                log.warning("upload of %s failed: %s", att.filename, resp)
        return event_id

    async def send_now(
        self, room_id: str, content: dict[str, Any], kind: str = "m.room.message"
    ) -> str | None:
        """The fast path, for what is only useful now or whose event id is needed at once
        (replies, approval cards, reactions): sent at once, retried through short outages
        with one transaction id, given up after SEND_DEADLINE. Everything else: `queue`."""
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
        await self.send_now(room_id, reaction(event_id, key), "m.reaction")
