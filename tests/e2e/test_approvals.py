"""`!restart` with approval by reaction, as operators would use it, on a real stack."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.support.person import Person, reply_to
from tests.support.stack import ComposeStack, build_busybox_image, unique_project
from tests.support.synapse import SynapseServer
from tests.support.world import World, make_world, own_world

# Ignores SIGTERM, so a restart takes its full stop grace period (3 s).
STUBBORN = "trap '' TERM; echo 'stubborn: up'; exec httpd -f -p 8000 -h /www"
FAST = {"timeout": "60s", "grace": "1s"}


def action_services(image: str) -> dict[str, Any]:
    """Services the action tests may restart without disturbing other tests."""
    check = {
        "test": ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8000/"],
        "interval": "1s",
        "timeout": "1s",
        "retries": 2,
    }
    base = {"image": image, "network_mode": "none", "init": False}
    return {
        "web": {**base, "command": ["httpd", "-f", "-p", "8000", "-h", "/www"],
                "healthcheck": check, "stop_grace_period": "1s"},
        "stubborn": {**base, "command": ["sh", "-c", STUBBORN], "healthcheck": check,
                     "stop_grace_period": "3s"},
    }  # fmt: skip


@pytest.fixture(scope="module")
def actions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeStack]:
    s = ComposeStack(
        unique_project("opsbot-act"),
        action_services(build_busybox_image()),
        tmp_path_factory.mktemp("act"),
    )
    s.up()
    try:
        for service in ("web", "stubborn"):
            s.wait_for(lambda svc=service: s.health(svc) == "healthy", 60, f"{service} healthy")
        yield s
    finally:
        s.down()


@pytest.fixture
async def w(synapse: SynapseServer, actions: ComposeStack, tmp_path: Path) -> AsyncIterator[World]:
    world = await make_world(synapse, tmp_path, actions.project)
    yield world
    await world.close()


def restarts(stack: ComposeStack, service: str, since: float) -> int:
    """How many times Docker restarted the service's container since ``since`` (events)."""
    cid = stack.container(service)["Id"]
    api = docker.APIClient()
    found = api.events(
        since=int(since), until=int(time.time()) + 1, decode=True,
        filters={"container": cid, "event": "restart"},
    )  # fmt: skip
    return sum(1 for _ in found)


async def open_card(person: Person, room: str, text: str) -> tuple[str, dict[str, Any]]:
    """Send a command that needs approval; return (command event id, its card)."""
    command = await person.send(room, text)
    card = await person.wait_for(
        lambda e: reply_to(command)(e) and "org.opsbot.request" in e.get("content", {}), room
    )
    return command, card


async def card_says(person: Person, room: str, card_id: str, text: str, timeout: float = 60) -> str:
    """Wait until the card was edited to contain ``text``; return that version of the card."""

    def edited(e: dict[str, Any]) -> bool:
        content = e.get("content", {})
        rel = content.get("m.relates_to") or {}
        new = content.get("m.new_content") or {}
        return (
            rel.get("rel_type") == "m.replace"
            and rel.get("event_id") == card_id
            and (text in str(new.get("body", "")))
        )

    event = await person.wait_for(edited, room, timeout)
    return str(event["content"]["m.new_content"]["body"])


def steps(bot_rows: list[dict[str, Any]], request_id: str) -> list[str]:
    return [r["step"] for r in bot_rows if r["request_id"] == request_id]


async def test_restart_needs_another_operator_and_runs_exactly_once(
    w: World, actions: ComposeStack
) -> None:
    bot = await w.bot(approvals=FAST, health_wait="30s")
    bob, carol, mallory, alice = (w.people[n] for n in ("bob", "carol", "mallory", "alice"))
    t0 = time.time()
    before = actions.container("web")["State"]["StartedAt"]
    _, card = await open_card(bob, w.room_id, "!restart web")
    body = card["content"]["body"]
    request_id = card["content"]["org.opsbot.request"]["id"]
    assert f"Approval needed [{request_id}]: {bob.user_id} asks to restart `web`" in body
    assert "react 👍 or ✅" in body and f"!approve {request_id}" in body and "Expires at" in body
    seeded = await bob.wait_for(
        lambda e: e.get("type") == "m.reaction" and e.get("sender") == w.bot_user
        and e["content"]["m.relates_to"]["event_id"] == card["event_id"], w.room_id,
    )  # fmt: skip
    assert seeded["content"]["m.relates_to"]["key"] in ("👍", "👎")

    # The requester, a viewer and a stranger cannot approve; each attempt is audited.
    await bob.react(w.room_id, card["event_id"], "👍️")  # with a variation selector
    await carol.react(w.room_id, card["event_id"], "👍")
    await mallory.react(w.room_id, card["event_id"], "✅")
    deadline = time.monotonic() + 20
    while steps(bot.audit_rows(), request_id).count("ignored") < 3:
        assert time.monotonic() < deadline, bot.audit_rows()
        await bob.sync()
    assert actions.container("web")["State"]["StartedAt"] == before

    # Another operator approves twice over (two keys and the text fallback): it runs once.
    await alice.react(w.room_id, card["event_id"], "👍")
    await alice.react(w.room_id, card["event_id"], "✅")
    await alice.send(w.room_id, f"!approve {request_id}")
    final = await card_says(bob, w.room_id, card["event_id"], "restarted in")
    assert "— healthy" in final and f"approved by {alice.user_id}" in final
    assert actions.container("web")["State"]["StartedAt"] != before
    assert restarts(actions, "web", t0) == 1
    result = await bob.wait_for(
        lambda e: (
            "restarted in" in str(e.get("content", {}).get("body", ""))
            and (e["content"].get("m.relates_to") or {}).get("rel_type") == "m.thread"
        ),
        w.room_id,
    )
    assert result["content"]["msgtype"] == "m.notice"
    recorded = steps(bot.audit_rows(), request_id)
    assert recorded[0] == "requested" and recorded.count("approved") == 1
    assert recorded.count("started") == 1 and recorded[-1] == "succeeded"
    audit = await alice.wait_reply(w.room_id, await alice.send(w.room_id, "!audit 30 web"))
    text = audit["content"]["body"]
    assert f"{bob.user_id} !restart web [{request_id} requested] → ok" in text
    assert f"{alice.user_id} !restart web [{request_id} approved] → ok" in text
    assert f"{carol.user_id} !restart web [{request_id} ignored] → denied" in text
    head = await bob.wait_for(
        lambda e: "🔏 audit head: row" in str(e.get("content", {}).get("body", "")), w.room_id
    )
    assert "(intact)" in head["content"]["body"]
    verify = await alice.wait_reply(w.room_id, await alice.send(w.room_id, "!audit verify"))
    assert verify["content"]["body"].startswith("audit trail OK:")


async def test_expired_request_never_runs(w: World, actions: ComposeStack) -> None:
    bot = await w.bot(approvals={"timeout": "3s", "grace": "1s"})
    bob, alice = w.people["bob"], w.people["alice"]
    t0 = time.time()
    _, card = await open_card(bob, w.room_id, "!restart web")
    await card_says(bob, w.room_id, card["event_id"], "expired")
    await alice.react(w.room_id, card["event_id"], "👍")  # too late
    request_id = card["content"]["org.opsbot.request"]["id"]
    deadline = time.monotonic() + 20
    while "ignored" not in steps(bot.audit_rows(), request_id):
        assert time.monotonic() < deadline
        await alice.sync()
    assert restarts(actions, "web", t0) == 0
    assert steps(bot.audit_rows(), request_id) == ["requested", "expired", "ignored"]


async def test_rejection_and_withdrawal(w: World, actions: ComposeStack) -> None:
    await w.bot(approvals={"timeout": "60s", "grace": "4s"})
    bob, alice = w.people["bob"], w.people["alice"]
    t0 = time.time()
    _, card = await open_card(bob, w.room_id, "!restart web")
    approval = await alice.react(w.room_id, card["event_id"], "👍")
    await card_says(bob, w.room_id, card["event_id"], "approved by")
    await alice.redact(w.room_id, approval)  # changed her mind within the grace period
    await card_says(bob, w.room_id, card["event_id"], "withdrew their approval")
    await alice.react(w.room_id, card["event_id"], "👎")
    await card_says(bob, w.room_id, card["event_id"], f"rejected by {alice.user_id}")
    assert restarts(actions, "web", t0) == 0


async def test_pending_request_survives_a_bot_restart(w: World, actions: ComposeStack) -> None:
    bot = await w.bot(approvals=FAST, health_wait="30s")
    bob, alice = w.people["bob"], w.people["alice"]
    t0 = time.time()
    _, card = await open_card(bob, w.room_id, "!restart web")
    await bot.stop()
    await alice.react(w.room_id, card["event_id"], "👍")  # while the bot is down
    await bot.start()
    await card_says(bob, w.room_id, card["event_id"], "restarted in")
    await bot.stop()
    await bot.start()  # and a second restart does not run it again
    await bob.wait_reply(w.room_id, await bob.send(w.room_id, "!help"))
    assert restarts(actions, "web", t0) == 1


async def test_restart_budget_refuses_a_crash_loop_cover_up(w: World) -> None:
    await w.bot(approvals=FAST, restart_budget=1, health_wait="30s")
    bob, alice = w.people["bob"], w.people["alice"]
    _, card = await open_card(bob, w.room_id, "!restart web")
    await alice.react(w.room_id, card["event_id"], "👍")
    await card_says(bob, w.room_id, card["event_id"], "restarted in")
    again = await bob.send(w.room_id, "!restart web")
    refusal = await bob.wait_reply(w.room_id, again)
    assert "I restarted `web` 1 times in the last hour (budget 1)" in refusal["content"]["body"]


async def test_protected_restart_reports_back_after_the_homeserver_returns(
    tmp_path: Path, actions: ComposeStack
) -> None:
    async with own_world(tmp_path, actions.project) as (server, w):
        await w.bot(approvals=FAST, protected=["stubborn"], health_wait="30s")
        bob, alice, carol = w.people["bob"], w.people["alice"], w.people["carol"]
        _, card = await open_card(bob, w.room_id, "!restart stubborn")
        body = card["content"]["body"]
        assert "Who may approve: an admin" in body
        assert "I will be offline while stubborn restarts; I will report back" in body
        await carol.react(w.room_id, card["event_id"], "👍")  # a viewer: not enough
        await alice.react(w.room_id, card["event_id"], "👍")  # an admin
        await card_says(bob, w.room_id, card["event_id"], "running")
        server.stop()  # the homeserver goes away while the service restarts (3 s grace)
        await asyncio.sleep(8)  # the outage itself is the scenario
        server.start()
        result = await bob.wait_for(
            lambda e: (
                "`stubborn` restarted in" in str(e.get("content", {}).get("body", ""))
                and "m.new_content" not in e.get("content", {})
            ),
            w.room_id,
            timeout=90,
        )
        assert "healthy" in result["content"]["body"]


async def test_approvals_count_only_in_the_room_of_the_request(
    w: World, actions: ComposeStack
) -> None:
    """`!approve <id>` typed in another command room is refused; in its own room it runs."""
    alice, bob = w.people["alice"], w.people["bob"]
    elsewhere = await alice.create_room("ops-2", invite=[bob.user_id, w.bot_user])
    await bob.join(elsewhere)
    rooms = [w.room_id, elsewhere]
    bot = await w.bot(approvals=FAST, health_wait="30s", matrix={
        **w.raw_config()["matrix"], "command_rooms": rooms})  # fmt: skip
    await alice.wait_for(
        lambda e: e.get("type") == "m.room.member" and e.get("state_key") == w.bot_user
        and e["content"].get("membership") == "join", elsewhere,
    )  # fmt: skip
    before = actions.container("web")["State"]["StartedAt"]
    _, card = await open_card(bob, w.room_id, "!restart web")
    request_id = card["content"]["org.opsbot.request"]["id"]
    refused = await alice.wait_reply(
        elsewhere, await alice.send(elsewhere, f"!approve {request_id}")
    )
    assert "belongs to another room" in refused["content"]["body"]
    assert steps(bot.audit_rows(), request_id) == ["requested", "ignored"]
    assert actions.container("web")["State"]["StartedAt"] == before
    await alice.send(w.room_id, f"!approve {request_id}")
    final = await card_says(bob, w.room_id, card["event_id"], "restarted in")
    assert f"approved by {alice.user_id}" in final


async def test_a_second_request_for_a_service_is_refused_while_one_is_open(
    w: World, actions: ComposeStack
) -> None:
    """Two operators asking at once in an incident get one request, not two restarts."""
    t0 = time.time()
    await w.bot(approvals=FAST, health_wait="30s")
    alice, bob = w.people["alice"], w.people["bob"]
    _, card = await open_card(bob, w.room_id, "!restart stubborn")
    request_id = card["content"]["org.opsbot.request"]["id"]
    second = await alice.wait_reply(w.room_id, await alice.send(w.room_id, "!restart stubborn"))
    text = second["content"]["body"]
    assert f"request `{request_id}`" in text and "waits for approval" in text
    await alice.react(w.room_id, card["event_id"], "👍")
    await card_says(bob, w.room_id, card["event_id"], "running")
    while_running = await bob.wait_reply(w.room_id, await bob.send(w.room_id, "!restart stubborn"))
    assert "is running" in while_running["content"]["body"]
    await card_says(bob, w.room_id, card["event_id"], "restarted in")
    assert restarts(actions, "stubborn", t0) == 1
    cards = [e for e in bob.seen.get(w.room_id, []) if "org.opsbot.request" in e.get("content", {})]
    assert len(cards) == 1
