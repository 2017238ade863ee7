"""Rooms: which to join, whose invites to accept, power levels, reactions on an event."""

from __future__ import annotations

import logging

import aiohttp
from nio import (
    AsyncClient,
    InviteMemberEvent,
    JoinError,
    MatrixRoom,
    RoomGetEventResponse,
)
from nio.api import RelationshipType

from bot.access import role_of, room_level
from bot.config import AccessConfig, MatrixConfig
from bot.core import Reaction, Role
from bot.matrix.events import parse_reaction

log = logging.getLogger(__name__)
NETWORK_ERRORS = (aiohttp.ClientError, TimeoutError, OSError)


class Rooms:
    """The room side of the bot's Matrix presence."""

    def __init__(self, client: AsyncClient, cfg: MatrixConfig, access: AccessConfig) -> None:
        self.client = client
        self.cfg = cfg
        self.access = access
        self._creators: dict[str, set[str]] = {}

    async def join_configured(self) -> None:
        """Join the command and alert rooms (works once invited, or for public rooms)."""
        for room_id in dict.fromkeys((*self.cfg.command_rooms, self.cfg.alert_room)):
            if room_id not in self.client.rooms:
                resp = await self.client.join(room_id)
                if isinstance(resp, JoinError):
                    log.warning("cannot join %s yet (%s); invite me there", room_id, resp.message)

    async def power(self, room: MatrixRoom, user: str) -> int | None:
        """The user's effective power level in a command room; None elsewhere (a direct chat
        its creator controls, the alert room) and unless roles use power levels at all."""
        if not self.access.power_levels or room.room_id not in self.cfg.command_rooms:
            return None
        if room.room_id not in self._creators:  # v12: the room id names the create event
            resp = await self.client.room_get_event(room.room_id, "$" + room.room_id[1:])
            source = resp.event.source if isinstance(resp, RoomGetEventResponse) else {}
            content = source.get("content") or {}
            extra = content.get("additional_creators") or []
            self._creators[room.room_id] = {source.get("sender", ""), *extra}
        listed = room.power_levels.get_user_level(user)
        return room_level(user, room.room_version, self._creators[room.room_id], listed)

    async def on_invite(self, room: MatrixRoom, event: InviteMemberEvent) -> None:
        """Accept invites to the configured rooms, from admins, and (rooms_only: false)
        direct chats from anyone holding a role."""
        if event.membership != "invite" or event.state_key != self.cfg.user_id:
            return
        wanted = room.room_id in self.cfg.command_rooms or room.room_id == self.cfg.alert_room
        role = role_of(event.sender, self.access)
        direct = not self.access.rooms_only and role is not None  # a DM from someone with a role
        if not (wanted or role == Role.ADMIN or direct):
            log.info("ignoring invite to %s from %s", room.room_id, event.sender)
            return
        try:
            resp = await self.client.join(room.room_id)
        except NETWORK_ERRORS as exc:
            log.warning("could not accept the invite to %s: %s", room.room_id, exc)
            return
        outcome = resp.message if isinstance(resp, JoinError) else f"invited by {event.sender}"
        log.info("join %s: %s", room.room_id, outcome)

    async def annotations(self, room_id: str, event_id: str) -> list[Reaction]:
        """Every current (unredacted) reaction on ``event_id``, oldest first."""
        relations = self.client.room_get_event_relations(
            room_id, event_id, RelationshipType.annotation, "m.reaction"
        )
        found = [parse_reaction(room_id, getattr(e, "source", {})) async for e in relations]
        return sorted((r for r in found if r is not None), key=lambda r: r.ts_ms)
