"""Health alerts in the alert room: few, precise, edited in place, never lost, never doubled."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.alerts import Flags, alert_messages, flagged, latest, wait_alert
from tests.support.proxy import SocketProxy
from tests.support.stack import ComposeStack, build_busybox_image, unique_project
from tests.support.synapse import SynapseServer
from tests.support.world import World, make_world, own_world

ALERTS = {
    "recovery_hold": "3s",
    "burst_window": "10s",
    "restart_loop": {"exits": 3, "window": "5m"},
}


@pytest.fixture
def make_stack(tmp_path: Path) -> Iterator[Any]:
    stacks: list[ComposeStack] = []

    def make(services: dict[str, Any], healthy: list[str]) -> tuple[ComposeStack, Flags]:
        workdir = tmp_path / f"stack{len(stacks)}"
        flags = Flags(workdir)
        flags.up(*healthy)
        stack = ComposeStack(unique_project("opsbot-al"), services, workdir)
        stacks.append(stack)
        stack.up()
        for name in healthy:
            stack.wait_for(lambda n=name: stack.health(n) == "healthy", 60, f"{name} healthy")
        return stack, flags

    yield make
    for stack in stacks:
        stack.down()


@pytest.fixture
async def make_world_for(synapse: SynapseServer, tmp_path: Path) -> AsyncIterator[Any]:
    worlds: list[World] = []

    async def make(project: str) -> World:
        world = await make_world(synapse, tmp_path / f"w{len(worlds)}", project)
        worlds.append(world)
        return world

    yield make
    for world in worlds:
        await world.close()


async def test_unhealthy_then_resolved_in_the_same_message(
    make_stack: Any, make_world_for: Any
) -> None:
    image = build_busybox_image()
    stack, flags = make_stack({"web": flagged(image, "web")}, healthy=["web"])
    world: World = await make_world_for(stack.project)
    await world.bot(alerts=ALERTS)
    alice = world.people["alice"]
    broke = time.time()
    flags.down("web")
    alert = await wait_alert(alice, world.room_id, "web is unhealthy", timeout=30)
    assert alert["origin_server_ts"] / 1000 - broke < 10  # seconds, not a polling interval
    text = latest(alice, world.room_id, alert["event_id"])
    assert "last probe (exit 1)" in text
    await alice.react(world.room_id, alert["event_id"], "👀")
    await wait_alert(alice, world.room_id, f"👀 acknowledged by {alice.user_id}", timeout=30)
    flags.up("web")
    await wait_alert(alice, world.room_id, "✅ resolved after", timeout=60)
    resolved_in_thread = await alice.wait_for(
        lambda e: (
            "resolved after" in str(e.get("content", {}).get("body", ""))
            and (e["content"].get("m.relates_to") or {}).get("rel_type") == "m.thread"
        ),
        world.room_id,
    )
    assert resolved_in_thread["content"]["m.relates_to"]["event_id"] == alert["event_id"]
    assert (
        len([a for a in alert_messages(alice, world.room_id) if "web" in a["content"]["body"]]) == 1
    )


async def test_the_cascade_reads_as_one_incident(make_stack: Any, make_world_for: Any) -> None:
    """authelia crash-loops and takes synapse (which depends on it) down: one alert, one cause."""
    image = build_busybox_image()
    services = {
        "authelia": flagged(image, "authelia", loop=True),
        "synapse": {
            **flagged(image, "synapse", needs="authelia", loop=True),
            "depends_on": ["authelia"],
        },
    }
    stack, flags = make_stack(services, healthy=[])
    flags.up("authelia")
    stack.wait_for(lambda: stack.container("synapse")["State"]["Running"], 60, "running")
    world: World = await make_world_for(stack.project)
    await world.bot(alerts=ALERTS)
    alice = world.people["alice"]
    flags.down("authelia")  # both exit, restart, and fail again: a crash loop
    alert = await wait_alert(alice, world.room_id, "authelia is crash-looping", timeout=90)
    await wait_alert(alice, world.room_id, "also affected: synapse, which depends on it", 90)
    assert "fatal: authelia cannot start" in latest(alice, world.room_id, alert["event_id"])
    flags.up("authelia")
    await wait_alert(alice, world.room_id, "✅ resolved after", timeout=120)
    mentioning = [
        a
        for a in alert_messages(alice, world.room_id)
        if "authelia" in a["content"]["body"] or "synapse" in a["content"]["body"]
    ]
    assert len(mentioning) == 1


async def test_a_burst_is_one_message(make_stack: Any, make_world_for: Any) -> None:
    image = build_busybox_image()
    names = [f"svc{i:02d}" for i in range(1, 11)]
    stack, flags = make_stack({n: flagged(image, n) for n in names}, healthy=names)
    world: World = await make_world_for(stack.project)
    await world.bot(alerts=ALERTS)
    alice = world.people["alice"]
    await alice.sync()
    before = len(alert_messages(alice, world.room_id))
    flags.down(*names)
    deadline = time.monotonic() + 60
    while True:
        new = alert_messages(alice, world.room_id)[before:]
        texts = [latest(alice, world.room_id, a["event_id"]) for a in new]
        if all(any(n in t for t in texts) for n in names):
            break
        assert time.monotonic() < deadline, texts
        await alice.sync()
    assert 1 <= len(new) <= 2, texts


async def test_alerts_wait_for_the_homeserver_and_arrive_once(
    tmp_path: Path, make_stack: Any
) -> None:
    image = build_busybox_image()
    stack, flags = make_stack({"a1": flagged(image, "a1"), "a2": flagged(image, "a2")},
                              healthy=["a1", "a2"])  # fmt: skip
    async with own_world(tmp_path, stack.project) as (server, world):
        bot = await world.bot(alerts=ALERTS)
        alice = world.people["alice"]
        # 1. Synapse is down when a1 fails; the alert waits and arrives once.
        server.stop()
        flags.down("a1")
        stack.wait_for(lambda: stack.health("a1") == "unhealthy", 30, "a1 unhealthy")
        failed_at = time.time()
        await asyncio.sleep(3)  # the bot noticed and queued the alert meanwhile
        server.start()
        first = await wait_alert(alice, world.room_id, "a1 is unhealthy", 60)
        # 2. The same while the bot itself restarts during the outage.
        server.stop()
        flags.down("a2")
        stack.wait_for(lambda: stack.health("a2") == "unhealthy", 30, "a2 unhealthy")
        await asyncio.sleep(3)
        await bot.stop()
        await bot.start(wait=False)
        await asyncio.sleep(2)
        server.start()
        await wait_alert(alice, world.room_id, "a2 is unhealthy", 90)
        await alice.wait_reply(world.room_id, await alice.send(world.room_id, "!help"), 60)
        texts = [
            latest(alice, world.room_id, a["event_id"])
            for a in alert_messages(alice, world.room_id)
        ]
        assert sum("a1 is unhealthy" in t for t in texts) == 1, texts
        assert sum("a2 is unhealthy" in t for t in texts) == 1, texts
        since = time.strftime("%H:%M:%S", time.gmtime(failed_at))
        assert first["content"]["body"].split("since ")[1][:8] <= since  # its original time


async def test_silence_holds_the_alert_and_reports_once_on_expiry(
    make_stack: Any, make_world_for: Any
) -> None:
    image = build_busybox_image()
    stack, flags = make_stack({"quiet": flagged(image, "quiet")}, healthy=["quiet"])
    world: World = await make_world_for(stack.project)
    bot = await world.bot(alerts=ALERTS)
    bob = world.people["bob"]
    reply = await bob.wait_reply(
        world.room_id, await bob.send(world.room_id, "!silence quiet 8s fixing it")
    )
    assert "alerts for `quiet` silenced for 8s (fixing it)" in reply["content"]["body"]
    flags.down("quiet")
    stack.wait_for(lambda: stack.health("quiet") == "unhealthy", 30, "unhealthy")
    listed = await bob.wait_reply(world.room_id, await bob.send(world.room_id, "!silences"))
    assert "`quiet` until" in listed["content"]["body"]
    assert not [a for a in alert_messages(bob, world.room_id) if "quiet" in a["content"]["body"]]
    await wait_alert(bob, world.room_id, "quiet is unhealthy", 60)  # once the silence ended
    await bob.wait_reply(world.room_id, await bob.send(world.room_id, "!help"))
    assert (
        len([a for a in alert_messages(bob, world.room_id) if "quiet" in a["content"]["body"]]) == 1
    )
    rows = [r for r in bot.audit_rows() if r["command"] == "silence"]
    assert rows and rows[0]["outcome"] == "ok" and rows[0]["args"] == "quiet 8s fixing it"


async def test_a_broken_event_stream_misses_nothing(make_stack: Any, make_world_for: Any) -> None:
    """The Docker connection drops (a socket proxy restarts); what happened meanwhile is seen."""
    image = build_busybox_image()
    stack, flags = make_stack({"edge": flagged(image, "edge")}, healthy=["edge"])
    proxy = SocketProxy()
    proxy.start()
    try:
        world: World = await make_world_for(stack.project)
        await world.bot(alerts=ALERTS, docker={"url": proxy.url, "project": stack.project})
        alice = world.people["alice"]
        await alice.wait_reply(world.room_id, await alice.send(world.room_id, "!status"))
        proxy.stop()
        flags.down("edge")
        stack.wait_for(lambda: stack.health("edge") == "unhealthy", 30, "unhealthy")
        await alice.wait_for(
            lambda e: "Docker engine unreachable at" in str(e.get("content", {}).get("body", "")),
            world.room_id,
            timeout=60,
        )
        proxy.start()
        await wait_alert(alice, world.room_id, "edge is unhealthy", 60)
        await alice.wait_for(
            lambda e: "Docker engine reachable again" in str(e.get("content", {}).get("body", "")),
            world.room_id,
        )
    finally:
        proxy.stop()
