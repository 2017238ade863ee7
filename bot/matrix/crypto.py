"""Encrypted rooms: the key chores nio's sync_forever would do, and undecryptable events."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from nio import AsyncClient, MatrixRoom, MegolmEvent, RoomMessageText

log = logging.getLogger(__name__)

RETRIES = (2.0, 5.0, 10.0, 20.0)  # seconds after arrival to try decrypting again
Deliver = Callable[[MatrixRoom, RoomMessageText], Awaitable[None]]
Complain = Callable[[str, str], Awaitable[None]]


async def key_chores(client: AsyncClient) -> None:
    """What nio's sync_forever does for encryption after each sync (a no-op without it)."""
    if client.olm is None:
        return
    await client.send_to_device_messages()
    if client.should_upload_keys:
        await client.keys_upload()
    if client.should_query_keys:
        await client.keys_query()
    if client.should_claim_keys:
        await client.keys_claim(client.get_users_for_key_claiming())


class Crypto:
    """Keeps device keys and room keys flowing; retries what could not be decrypted."""

    def __init__(
        self, client: AsyncClient, deliver: Deliver, complain: Complain, not_before_ms: int
    ) -> None:
        self.client = client
        self.not_before_ms = not_before_ms
        self.deliver = deliver
        self.complain = complain
        self._waiting: set[asyncio.Task[None]] = set()

    async def after_sync(self) -> None:
        """Upload our keys, learn others' devices, claim one-time keys, send to-device."""
        await key_chores(self.client)

    async def undecryptable(self, room: MatrixRoom, event: MegolmEvent) -> None:
        """Ask the sender's devices for the key, retry, and say so if it never comes."""
        if event.sender == self.client.user_id or event.server_timestamp < self.not_before_ms:
            return  # our own, or history from before the bot started: nothing to answer
        try:
            await self.client.request_room_key(event)
        except Exception as exc:  # a key request already out, or the homeserver away
            log.info("room key request for %s: %s", event.event_id, exc)
        task = asyncio.create_task(self._retry(room, event), name=f"decrypt {event.event_id}")
        self._waiting.add(task)
        task.add_done_callback(self._waiting.discard)

    async def _retry(self, room: MatrixRoom, event: MegolmEvent) -> None:
        waited = 0.0
        for at in RETRIES:
            await asyncio.sleep(at - waited)
            waited = at
            try:
                decrypted = self.client.decrypt_event(event)
            except Exception:  # still no key
                continue
            if isinstance(decrypted, RoomMessageText):
                await self.deliver(room, decrypted)
                return
        await self.complain(room.room_id, event.event_id)

    async def close(self) -> None:
        """Stop waiting for keys."""
        for task in list(self._waiting):
            task.cancel()
        await asyncio.gather(*self._waiting, return_exceptions=True)
