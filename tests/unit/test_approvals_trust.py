"""Approvals hold against a hostile or careless room: scopes, room binding, one request per
service, no late runs after an outage, and roles from power levels kept through every step."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.config import parse_config
from bot.core import Message, Reaction, Role
from bot.framework.approvals import Approvals
from bot.framework.arguments import Service
from bot.framework.command import Context, Plan, command
from bot.framework.dispatcher import Dispatcher
from bot.store import Request, Store
from bot.text.redact import Redactor
from commands.approve import approve, deny
from tests.unit import fakes

ROOM, OTHER = "!ops:x.org", "!other:x.org"
ALICE, BOB, CAROL, DAVE = "@alice:x.org", "@bob:x.org", "@carol:x.org", "@dave:x.org"
EVE, FRANK = "@eve:x.org", "@frank:x.org"  # in no list: roles only from power levels
POKED: list[str] = []


async def run_poke(ctx: Context, plan: Plan) -> str:
    """Poke the planned service."""
    POKED.append(plan.service)
    return f"poked {plan.service}"


@command(role=Role.OPERATOR, run=run_poke, example="!poke web")
async def poke(ctx: Context, service: Service) -> Plan:
    """Poke a service after approval."""
    return Plan(f"poke `{service}`", str(service), Role.OPERATOR)


@dataclass
class Bot:
    approvals: Approvals
    dispatcher: Dispatcher
    store: Store
    chat: fakes.FakeChat

    async def say(self, body: str, sender: str, room: str = ROOM, power: int | None = None) -> str:
        before = len(self.chat.replies)
        eid = f"$m{time.monotonic_ns()}"
        await self.dispatcher.handle(Message(room, eid, sender, body, eid, 0, power))
        return "\n".join(r.body for r in self.chat.replies[before:])

    async def react(
        self, card: str, sender: str, room: str = ROOM, power: int | None = None
    ) -> None:
        reaction = Reaction(room, f"$r{time.monotonic_ns()}", sender, card, "👍️", now(), power)
        self.approvals.on_reaction(reaction)
        await settle(self.approvals)

    async def only_request(self) -> Request:
        [request_id] = await self.ids()
        req = await self.store.requests.get(request_id)
        assert req is not None
        return req

    async def ids(self) -> list[str]:
        return [c["org.opsbot.request"]["id"] for c in self.chat.sent]


def now() -> int:
    return int(time.time() * 1000)


async def settle(approvals: Approvals) -> None:
    """Let reaction and request tasks run to their end."""
    for _ in range(200):
        if not len(approvals.tasks):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("approval tasks did not finish")


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Bot]:
    raw = {
        "matrix": {"homeserver": "http://127.0.0.1:1", "user_id": "@opsbot:x.org",
                   "password": "pw", "command_rooms": [ROOM, OTHER], "alert_room": ROOM},
        "access": {"admins": [ALICE], "operators": [BOB, DAVE], "viewers": [CAROL],
                   "scopes": {DAVE: {"services": ["db"]}},
                   "power_levels": {"operator": 50, "admin": 100}},
        "approvals": {"grace": "1ms"},
        "docker": {"url": "tcp://127.0.0.1:1"},
    }  # fmt: skip
    cfg = parse_config(raw, {}, base=tmp_path)
    store = await Store.open(tmp_path / "opsbot.db")
    chat = fakes.FakeChat()
    run = fakes.runner(cfg, (poke, approve, deny), store, Redactor())
    approvals = fakes.approvals(cfg, store, chat, run)
    dispatcher = Dispatcher(cfg, run, approvals, approvals.audit, chat.reply)
    POKED.clear()
    yield Bot(approvals, dispatcher, store, chat)
    await approvals.close()
    await dispatcher.close()
    await store.close()


async def test_an_approver_outside_their_scope_cannot_approve(bot: Bot) -> None:
    await bot.say("!poke web", BOB)
    await bot.react("$card1", DAVE)  # an operator, but only for `db`
    assert (await bot.only_request()).state == "pending" and POKED == []
    rows = await bot.store.audit.recent(1)
    assert rows[0].step == "ignored" and "outside their scope" in rows[0].details
    await bot.react("$card1", ALICE)
    assert POKED == ["web"]


async def test_verdicts_count_only_in_the_request_s_own_room(bot: Bot) -> None:
    await bot.say("!poke web", BOB)
    req = await bot.only_request()
    await bot.react("$card1", ALICE, room=OTHER)  # the card's id, reacted to from elsewhere
    answer = await bot.say(f"!approve {req.id}", ALICE, room=OTHER)
    assert "belongs to another room" in answer
    assert (await bot.only_request()).state == "pending" and POKED == []
    assert "approved" in await bot.say(f"!approve {req.id}", ALICE)
    await settle(bot.approvals)
    assert POKED == ["web"]


async def test_a_second_request_for_the_same_service_is_refused(bot: Bot) -> None:
    await bot.say("!poke web", BOB)
    [first] = await bot.ids()
    answer = await bot.say("!poke web", ALICE)
    assert f"request `{first}`" in answer and "waits for approval" in answer
    await asyncio.gather(bot.say("!poke db", BOB), bot.say("!poke db", ALICE))  # at once
    assert len(bot.chat.sent) == 2  # one card for web, one for db
    assert len(await bot.store.requests.open()) == 2


async def test_a_request_approved_before_an_outage_expires_instead_of_running_late(
    bot: Bot,
) -> None:
    await bot.say("!poke web", BOB)
    req = await bot.only_request()
    await bot.store.requests.move(req.id, ("pending",), "approved", approver=ALICE)
    # the bot died in the grace pause and comes back after the request's expiry
    with sqlite3.connect(bot.store.path) as db:
        db.execute("UPDATE requests SET expires_ms = ? WHERE id = ?", (now() - 1, req.id))
    await bot.approvals.resume()
    await settle(bot.approvals)
    after = await bot.store.requests.get(req.id)
    assert after is not None and after.state == "expired" and POKED == []
    assert "did not start before the request expired" in after.result


async def test_a_role_from_power_levels_holds_through_approval_and_execution(bot: Bot) -> None:
    answer = await bot.say("!poke web", EVE, power=50)  # operator by power level
    assert answer == ""  # a card, no refusal
    req = await bot.only_request()
    assert "approved" in await bot.say(f"!approve {req.id}", FRANK, power=50)
    await settle(bot.approvals)
    done = await bot.store.requests.get(req.id)
    assert done is not None and done.state == "succeeded", done
    assert POKED == ["web"] and done.requester_power == 50
