"""The bot survives restarts, homeserver outages and rate limits, losing and repeating nothing."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from tests.support.person import Person
from tests.support.stack import ComposeStack
from tests.support.world import World, own_world


def replies_to(person: Person, room_id: str, event_id: str) -> list[dict[str, object]]:
    rel = "m.relates_to"
    return [
        e
        for e in person.seen.get(room_id, [])
        if e.get("type") == "m.room.message"
        and (e.get("content", {}).get(rel) or {}).get("event_id") == event_id
    ]


async def test_first_start_skips_the_backlog_and_restart_never_replays(world: World) -> None:
    """Commands from before the bot listened are never run; after a restart only new ones are."""
    alice = world.people["alice"]
    before_first_start = await alice.send(world.room_id, "!status")
    bot = await world.bot()
    answered = await alice.send(world.room_id, "!help")
    await alice.wait_reply(world.room_id, answered)

    await bot.stop()
    while_down = await alice.send(world.room_id, "!status web")
    await bot.start()
    after_restart = await alice.send(world.room_id, "!status seafile")
    reply = await alice.wait_reply(world.room_id, after_restart)
    assert "seafile" in str(reply["content"]["body"])

    await alice.sync()
    assert not replies_to(alice, world.room_id, before_first_start)
    assert not replies_to(alice, world.room_id, while_down)
    assert len(replies_to(alice, world.room_id, answered)) == 1  # answered once, not again
    audited = [r["event_id"] for r in bot.audit_rows()]
    assert audited.count(answered) == 1 and audited.count(after_restart) == 1
    assert before_first_start not in audited and while_down not in audited


async def test_homeserver_outage_is_waited_out(tmp_path: Path, stack: ComposeStack) -> None:
    """Synapse stops for ~10 s while the bot runs; the bot keeps running and answers again."""
    async with own_world(tmp_path, stack.project) as (server, world):
        bot = await world.bot()
        alice = world.people["alice"]
        await alice.wait_reply(world.room_id, await alice.send(world.room_id, "!help"))

        server.stop()
        await asyncio.sleep(10)  # the outage itself is the scenario
        assert bot.task is not None and not bot.task.done(), "the bot must not exit"
        server.start()

        command = await alice.send(world.room_id, "!status web")
        reply = await alice.wait_reply(world.room_id, command, timeout=60)
        assert "web" in str(reply["content"]["body"])


async def test_rate_limited_replies_are_delayed_not_lost(
    tmp_path: Path, stack: ComposeStack, caplog: pytest.LogCaptureFixture
) -> None:
    """With Synapse's default message rate limit, a burst of commands still gets every reply."""
    caplog.set_level(logging.WARNING, logger="nio")
    async with own_world(tmp_path, stack.project, raise_rate_limits=False) as (_, world):
        await world.bot()
        alice = world.people["alice"]
        commands = [
            await alice.send(world.room_id, f"!help {name}")
            for name in ("status", "logs", "audit", "help") * 3
        ]
        for command in commands:
            await alice.wait_reply(world.room_id, command, timeout=120)
        assert any("429" in r.getMessage() for r in caplog.records), "no rate limit was hit"


async def test_invites_only_from_admins_or_to_configured_rooms(world: World) -> None:
    """The bot accepts an admin's invite, and ignores a stranger's."""
    await world.bot()
    mallory, alice = world.people["mallory"], world.people["alice"]
    strangers_room = await mallory.create_room("not ops", invite=[world.bot_user])
    admins_room = await alice.create_room("admin's other room", invite=[world.bot_user])
    await alice.wait_for(
        lambda e: (
            e.get("type") == "m.room.member"
            and e.get("state_key") == world.bot_user
            and e.get("content", {}).get("membership") == "join"
        ),
        admins_room,
    )
    members = world.server.request(
        "GET",
        f"/_matrix/client/v3/rooms/{strangers_room}/members",
        token=mallory.client.access_token,
    )
    bot_state = [
        m["content"]["membership"] for m in members["chunk"] if m["state_key"] == world.bot_user
    ]
    assert bot_state == ["invite"]
