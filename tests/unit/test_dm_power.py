"""Power levels grant roles only in the command rooms: in a direct chat its creator holds power 100,
so there a viewer stays a viewer (access.rooms_only: false)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nio import MatrixRoom, RoomMessageText

from bot.access import role_of
from bot.config import Config, parse_config
from bot.core import Message, Role
from bot.matrix import Inbound
from bot.store import Store
from tests.unit import fakes

ROOM, DM, BOT = "!ops:x.org", "!dm:x.org", "@opsbot:x.org"
ADMIN, VIEWER = "@alice:x.org", "@carol:x.org"


def config() -> Config:
    raw = {
        "matrix": {"homeserver": "http://127.0.0.1:1", "user_id": BOT, "password": "pw",
                   "command_rooms": [ROOM], "alert_room": ROOM},
        "access": {"admins": [ADMIN], "viewers": [VIEWER], "rooms_only": False,
                   "power_levels": {"operator": 50, "admin": 100}},
    }  # fmt: skip
    return parse_config(raw, {})


def room(room_id: str, level: int) -> MatrixRoom:
    """A two-member room (the bot and the viewer) where the viewer holds ``level``."""
    r = MatrixRoom(room_id, BOT)
    for user in (BOT, VIEWER):
        r.add_member(user, None, None)
    r.power_levels.users[VIEWER] = level
    return r


def command(body: str, n: int) -> Any:
    return RoomMessageText.from_dict({
        "event_id": f"$c{n}", "sender": VIEWER, "origin_server_ts": 2**41, "type": "m.room.message",
        "content": {"msgtype": "m.text", "body": body},
    })  # fmt: skip


async def test_power_in_a_direct_chat_grants_nothing(tmp_path: Path) -> None:
    cfg = config()
    store = await Store.open(tmp_path / "db", b"k" * 32)
    taken: list[Message] = []
    chat = fakes.chat(cfg, store, Inbound(taken.append, lambda r: None, lambda a, b: None))
    chat.rooms._creators = {ROOM: set(), DM: set()}  # no create event to fetch in this test
    try:
        await chat._on_event(room(DM, 100), command("!silence all 7d", 1))
        await chat._on_event(room(ROOM, 100), command("!audit", 2))
    finally:
        await chat.close()
        await store.close()
    dm, ops = taken
    assert (dm.room_id, dm.body, dm.power) == (DM, "!silence all 7d", None)
    assert role_of(dm.sender, cfg.access, dm.power) == Role.VIEWER  # the access list only
    assert (ops.room_id, ops.power) == (ROOM, 100)  # in the command room power counts
    assert role_of(ops.sender, cfg.access, ops.power) == Role.ADMIN
