"""What the bot must ignore: other rooms, its own events, notices, edits, replays, old events,
spoofed display names and reactions to the wrong event."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.config import parse_config
from bot.core import Reaction
from bot.matrix.events import parse_command
from bot.store import Store
from tests.unit import fakes

ROOM, OTHER, BOT = "!ops:x.org", "!elsewhere:x.org", "@opsbot:x.org"


def command(body: str = "!status", **content: Any) -> dict[str, Any]:
    return {"event_id": "$c", "sender": "@alice:x.org", "origin_server_ts": 2_000,
            "content": {"msgtype": "m.text", "body": body, **content}}  # fmt: skip


def parse(event: dict[str, Any]) -> Any:
    return parse_command(ROOM, event, "!", not_before_ms=1_000)


def test_a_plain_command_is_taken() -> None:
    msg = parse(command())
    assert msg is not None and (msg.sender, msg.body, msg.thread_root) == (
        "@alice:x.org",
        "!status",
        "$c",
    )


@pytest.mark.parametrize(
    "event",
    [
        command(msgtype="m.notice"),  # bots answer no notices
        command("* !restart web", **{"m.new_content": {"body": "!restart web"},
                                     "m.relates_to": {"rel_type": "m.replace", "event_id": "$x"}}),
        {**command(), "origin_server_ts": 999},  # older than the bot's start
        command("status please"),  # no prefix
    ],
)  # fmt: skip
def test_not_commands(event: dict[str, Any]) -> None:
    assert parse(event) is None


def test_reply_fallbacks_are_stripped_and_threads_followed() -> None:
    thread = {"m.relates_to": {"rel_type": "m.thread", "event_id": "$root"}}
    msg = parse(command("> <@bob:x.org> !status\n\n!logs web", **thread))
    assert msg is not None and msg.body == "!logs web" and msg.thread_root == "$root"


def config() -> Any:
    raw = {
        "matrix": {"homeserver": "http://127.0.0.1:1", "user_id": BOT, "password": "pw",
                   "command_rooms": [ROOM], "alert_room": ROOM},
        "access": {"admins": ["@alice:x.org"]},
    }  # fmt: skip
    return parse_config(raw, {})


async def test_other_rooms_own_events_and_replays_are_ignored(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "db", b"k" * 32)
    chat = fakes.chat(config(), store)
    try:
        assert chat._ours(ROOM, {"event_id": "$1", "sender": "@alice:x.org"}, (ROOM,))
        assert not chat._ours(ROOM, {"event_id": "$1", "sender": "@alice:x.org"}, (ROOM,))  # replay
        assert not chat._ours(OTHER, {"event_id": "$2", "sender": "@alice:x.org"}, (ROOM,))
        assert not chat._ours(ROOM, {"event_id": "$3", "sender": BOT}, (ROOM,))
    finally:
        await chat.close()
        await store.close()


async def test_a_spoofed_display_name_grants_nothing(tmp_path: Path) -> None:
    """Roles come from the sender's user id; a display name of "alice" is just text."""
    from bot.access import role_of

    cfg = config()
    assert role_of("@alice:x.org", cfg.access) is not None
    assert role_of("@alice:evil.org", cfg.access) is None
    assert role_of("@mallory:x.org", cfg.access) is None  # whatever it calls itself


async def test_reactions_to_anything_but_a_card_do_nothing(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "db", b"k" * 32)
    approvals = fakes.approvals(config(), store, None, fakes.runner(config(), (), store))
    try:
        approvals.on_reaction(Reaction(ROOM, "$r", "@alice:x.org", "$not-a-card", "👍", 0))
        await approvals.tasks.close()
        assert await store.audit.recent(5) == []
        assert await store.requests.open() == []
    finally:
        await store.close()
