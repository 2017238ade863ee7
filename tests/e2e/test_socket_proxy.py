"""Least privilege: the bot works through a socket proxy that allows only what it needs, and
says clearly what a stricter proxy forbids."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_approvals import card_says, open_card
from tests.support.haproxy import MINIMAL, HaproxySocketProxy
from tests.support.stack import ComposeStack, build_busybox_image, unique_project
from tests.support.synapse import SynapseServer
from tests.support.world import World, make_world


@pytest.fixture
def web(tmp_path: Path) -> Iterator[ComposeStack]:
    check = {"test": ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8000/"],
             "interval": "1s", "timeout": "1s", "retries": 2}  # fmt: skip
    service = {"image": build_busybox_image(), "network_mode": "none", "init": False,
               "command": ["sh", "-c", "echo 'web: up'; exec httpd -f -p 8000 -h /www"],
               "healthcheck": check, "stop_grace_period": "1s"}  # fmt: skip
    stack = ComposeStack(unique_project("opsbot-px"), {"web": service}, tmp_path / "stack")
    stack.up()
    try:
        stack.wait_for(lambda: stack.health("web") == "healthy", 60, "web healthy")
        yield stack
    finally:
        stack.down()


@pytest.fixture
async def proxied(synapse: SynapseServer, web: ComposeStack, tmp_path: Path) -> AsyncIterator[Any]:
    proxies: list[HaproxySocketProxy] = []
    worlds: list[World] = []

    async def make(switches: dict[str, bool]) -> World:
        proxy = HaproxySocketProxy(tmp_path, switches)
        proxy.start()
        proxies.append(proxy)
        world = await make_world(synapse, tmp_path / f"w{len(worlds)}", web.project)
        worlds.append(world)
        await world.bot(
            docker={"url": proxy.url, "project": web.project},
            approvals={"timeout": "60s", "grace": "1s"},
            health_wait="30s",
        )
        return world

    yield make
    for world in worlds:
        await world.close()
    for proxy in proxies:
        proxy.stop()


async def ask(world: World, who: str, text: str) -> str:
    person = world.people[who]
    reply = await person.wait_reply(world.room_id, await person.send(world.room_id, text))
    return str(reply["content"]["body"])


async def test_minimal_proxy_is_enough_for_status_logs_events_and_restart(proxied: Any) -> None:
    world: World = await proxied(MINIMAL)
    assert (await ask(world, "alice", "!status")).startswith("1/1 healthy")
    assert "web: up" in await ask(world, "alice", "!logs web 5")
    bob, alice = world.people["bob"], world.people["alice"]
    _, card = await open_card(bob, world.room_id, "!restart web")
    await alice.react(world.room_id, card["event_id"], "👍")
    final = await card_says(bob, world.room_id, card["event_id"], "restarted in", 60)
    assert "healthy" in final


async def test_a_stricter_proxy_gets_clear_replies(proxied: Any) -> None:
    strict = {**MINIMAL, "ALLOW_LOGS": False, "ALLOW_RESTARTS": False}
    world: World = await proxied(strict)
    assert (await ask(world, "alice", "!status")).startswith("1/1 healthy")
    logs = await ask(world, "alice", "!logs web")
    assert logs == "the Docker proxy refuses logs (403): allow ALLOW_LOGS"
    bob, alice = world.people["bob"], world.people["alice"]
    _, card = await open_card(bob, world.room_id, "!restart web")
    await alice.react(world.room_id, card["event_id"], "👍")
    final = await card_says(bob, world.room_id, card["event_id"], "failed", 60)
    assert "the Docker proxy refuses restarts (403): allow ALLOW_RESTARTS" in final
