"""A scripted person in Matrix (matrix-nio): creates rooms, sends, reacts, waits for replies.

Used by `opsbot demo` and by the end-to-end tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nio import AsyncClient, AsyncClientConfig, ErrorResponse, RoomVisibility
from nio.event_builders import EnableEncryptionBuilder

from bot.matrix.crypto import key_chores

Event = dict[str, Any]
Predicate = Callable[[Event], bool]

# Big enough that a burst of bot messages between two syncs is not truncated.
SYNC_FILTER: dict[str, Any] = {"room": {"timeline": {"limit": 200}}}


def _checked(resp: Any, what: str) -> Any:
    """Return a nio response, raising if it is an error response."""
    if isinstance(resp, ErrorResponse):
        raise RuntimeError(f"{what} failed: {resp}")
    return resp


def reply_to(event_id: str) -> Predicate:
    """Match an m.room.message in the thread rooted at, or replying to, `event_id`."""

    def match(event: Event) -> bool:
        if event.get("type") != "m.room.message":
            return False
        rel = event.get("content", {}).get("m.relates_to") or {}
        if rel.get("rel_type") == "m.thread" and rel.get("event_id") == event_id:
            return True
        return bool((rel.get("m.in_reply_to") or {}).get("event_id") == event_id)

    return match


def describe(event: Event) -> str:
    """One readable line for an event: sender, type and body (or reaction key)."""
    content = event.get("content", {})
    text = content.get("body")
    if text is None:
        text = (content.get("m.relates_to") or {}).get("key", "")
    return f"{event.get('sender')} {event.get('type')}: {text!r}"


class Person:
    """A logged-in Matrix user driven from tests; remembers every timeline event it saw."""

    def __init__(
        self,
        homeserver_url: str,
        user_id: str,
        access_token: str,
        device_id: str,
        *,
        store_path: Path | None = None,
    ) -> None:
        """With ``store_path`` the person has an encrypting device of their own."""
        if store_path is not None:
            store_path.mkdir(parents=True, exist_ok=True)
        config = AsyncClientConfig(
            encryption_enabled=store_path is not None,
            store_sync_tokens=False,
            max_limit_exceeded=5,
            max_timeouts=5,
            request_timeout=30,
        )
        self.user_id = user_id
        self.client = AsyncClient(
            homeserver_url,
            user_id,
            config=config,
            store_path=str(store_path) if store_path is not None else "",
        )
        self.client.restore_login(user_id, device_id, access_token)
        self.seen: dict[str, list[Event]] = {}

    async def start(self) -> None:
        """Do an initial sync so later syncs only return new events."""
        await self.sync(timeout_ms=0)

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.client.close()

    async def sync(self, timeout_ms: int = 500) -> None:
        """One /sync round; appends new timeline events to `self.seen`."""
        resp = _checked(await self.client.sync(timeout=timeout_ms, sync_filter=SYNC_FILTER), "sync")
        await key_chores(self.client)  # the same encryption upkeep as the bot's
        for rooms in (resp.rooms.join, resp.rooms.leave):
            for room_id, room in rooms.items():
                events = self.seen.setdefault(room_id, [])
                events.extend(e.source for e in room.timeline.events if hasattr(e, "source"))

    async def create_room(self, name: str, invite: list[str], *, encrypted: bool = False) -> str:
        """Create a private room, inviting `invite`; return its room id."""
        state = [EnableEncryptionBuilder().as_dict()] if encrypted else []
        resp = await self.client.room_create(
            visibility=RoomVisibility.private, name=name, invite=invite, initial_state=state
        )
        return str(_checked(resp, "create_room").room_id)

    async def join(self, room_id: str) -> None:
        """Join a room (after being invited)."""
        _checked(await self.client.join(room_id), "join")

    async def invite(self, room_id: str, user_id: str) -> None:
        """Invite `user_id` to the room."""
        _checked(await self.client.room_invite(room_id, user_id), "invite")

    async def send(self, room_id: str, body: str, *, thread_root: str | None = None) -> str:
        """Send an m.text message, threaded under `thread_root` if given; return its event id."""
        content: dict[str, Any] = {"msgtype": "m.text", "body": body}
        if thread_root is not None:
            content["m.relates_to"] = {
                "rel_type": "m.thread",
                "event_id": thread_root,
                "is_falling_back": True,
                "m.in_reply_to": {"event_id": thread_root},
            }
        resp = await self.client.room_send(
            room_id, "m.room.message", content, ignore_unverified_devices=True
        )
        return str(_checked(resp, "send").event_id)

    async def react(self, room_id: str, event_id: str, key: str) -> str:
        """Annotate `event_id` with `key` (an emoji); return the reaction's event id."""
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
        resp = await self.client.room_send(room_id, "m.reaction", content)
        return str(_checked(resp, "react").event_id)

    async def redact(self, room_id: str, event_id: str) -> None:
        """Redact one of this person's events (e.g. take a reaction back)."""
        _checked(await self.client.room_redact(room_id, event_id), "redact")

    def find(self, predicate: Predicate, room_id: str) -> Event | None:
        """Return the first already-seen event in the room matching `predicate`, if any."""
        return next((e for e in self.seen.get(room_id, []) if predicate(e)), None)

    async def wait_for(
        self,
        predicate: Predicate,
        room_id: str,
        timeout: float = 20.0,
    ) -> Event:
        """Return the first timeline event (raw dict) in the room matching `predicate`.

        Already-seen events are searched first; then /sync is polled until `timeout`.
        """
        try:
            async with asyncio.timeout(timeout):
                while (found := self.find(predicate, room_id)) is None:
                    await self.sync()
                return found
        except TimeoutError:
            seen = "\n  ".join(describe(e) for e in self.seen.get(room_id, [])) or "(nothing)"
            raise TimeoutError(
                f"{self.user_id}: no matching event in {room_id} after {timeout}s; seen:\n  {seen}"
            ) from None

    async def wait_reply(
        self,
        room_id: str,
        event_id: str,
        timeout: float = 20.0,
    ) -> Event:
        """Wait for a threaded reply or rich reply to `event_id`."""
        return await self.wait_for(reply_to(event_id), room_id, timeout)
