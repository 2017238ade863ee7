"""`!approve <id>` / `!deny <id>`: deciding a request by the id on its card, under the same
rules as a reaction — through the real dispatcher and approvals, over a chat that records."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.core import CommandError, Role
from bot.framework.approvals import Approvals
from bot.framework.arguments import Service
from bot.framework.command import Context, command
from bot.framework.dispatcher import Dispatcher
from bot.framework.plan import Plan
from bot.store import Store
from commands.approve import approve, deny
from tests.unit import fakes

ALICE, BOB, DAVE, CAROL = "@alice:x.org", "@bob:x.org", "@dave:x.org", "@carol:x.org"
POKED: list[str] = []


async def run_poke(ctx: Context, plan: Plan) -> str:
    POKED.append(plan.service)
    return f"poked {plan.service}"


@command(role=Role.OPERATOR, run=run_poke)
async def poke(ctx: Context, service: Service) -> Plan:
    """Poke a service, once someone approves (an admin, for `core`)."""
    return Plan(f"poke `{service}`", service, Role.ADMIN if service == "core" else Role.OPERATOR)


@dataclass
class Bot:
    dispatcher: Dispatcher
    approvals: Approvals
    chat: fakes.FakeChat
    store: Store

    async def say(self, body: str, sender: str) -> str:
        """What the bot answered, once the work it started is done."""
        await self.dispatcher.handle(fakes.message(body, sender))
        await fakes.idle(self.approvals)
        return self.chat.replies[-1].body if self.chat.replies else ""

    async def request(self, service: str = "web", sender: str = BOB) -> str:
        """Ask for a poke; the id on its card."""
        await self.say(f"!poke {service}", sender)
        return str(self.chat.sent[-1]["org.opsbot.request"]["id"])

    async def state(self, request_id: str) -> str:
        req = await self.store.requests.get(request_id)
        assert req is not None
        return req.state


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Bot]:
    access = {"admins": [ALICE], "operators": [BOB, DAVE], "viewers": [CAROL]}
    cfg = fakes.make_config(tmp_path, access=access, approvals={"grace": "1ms"})
    store = await Store.open(tmp_path / "opsbot.db")
    chat = fakes.FakeChat()
    run = fakes.runner(cfg, (poke, approve, deny), store)
    approvals = fakes.approvals(cfg, store, chat, run)
    dispatcher = fakes.dispatcher(cfg, (poke, approve, deny), store, chat.reply,
                                  approvals=approvals)  # fmt: skip
    POKED.clear()
    yield Bot(dispatcher, approvals, chat, store)
    await approvals.close()
    await dispatcher.close()
    await store.close()


async def test_another_operator_approves_by_id_and_it_runs(bot: Bot) -> None:
    rid = await bot.request()
    assert await bot.say(f"!approve {rid}", DAVE) == f"request `{rid}` approved"
    assert POKED == ["web"] and await bot.state(rid) == "succeeded"
    [approved] = [r for r in await bot.store.audit.recent(10) if r.step == "approved"]
    assert approved.sender == DAVE and approved.request_id == rid


async def test_the_id_may_be_typed_in_capitals(bot: Bot) -> None:
    rid = await bot.request()
    assert await bot.say(f"!approve {rid.upper()}", DAVE) == f"request `{rid}` approved"


async def test_deny_rejects_and_nothing_runs(bot: Bot) -> None:
    rid = await bot.request()
    assert await bot.say(f"!deny {rid}", DAVE) == f"request `{rid}` rejected; nothing was done"
    assert POKED == [] and await bot.state(rid) == "rejected"


async def test_the_requester_may_not_approve_their_own_request_but_may_withdraw_it(
    bot: Bot,
) -> None:
    rid = await bot.request(sender=BOB)
    assert "asked for request" in await bot.say(f"!approve {rid}", BOB)
    assert await bot.state(rid) == "pending"
    assert "rejected" in await bot.say(f"!deny {rid}", BOB)
    assert POKED == []


async def test_a_decided_request_cannot_be_decided_again(bot: Bot) -> None:
    rid = await bot.request()
    await bot.say(f"!deny {rid}", DAVE)
    assert await bot.say(f"!approve {rid}", ALICE) == f"request `{rid}` is already rejected"
    assert POKED == []


async def test_a_request_for_an_admin_is_not_decided_by_an_operator(bot: Bot) -> None:
    rid = await bot.request("core")
    answer = await bot.say(f"!approve {rid}", DAVE)
    assert answer == f"{DAVE} may not decide request `{rid}`: it needs the admin role"
    assert await bot.say(f"!approve {rid}", ALICE) == f"request `{rid}` approved"
    assert POKED == ["core"]


async def test_an_unknown_id_points_to_the_card(bot: Bot) -> None:
    answer = await bot.say("!approve " + "z" * 40, DAVE)
    assert answer == "no request `zzzzzzzzzzzz` — the id is on the approval card"


async def test_viewers_may_not_decide(bot: Bot) -> None:
    rid = await bot.request()
    assert await bot.say(f"!approve {rid}", CAROL) == (
        "`!approve` needs the operator role; you are a viewer."
    )
    assert await bot.state(rid) == "pending"


async def test_without_approvals_it_says_so(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "opsbot.db")
    try:
        ctx = fakes.context(fakes.make_config(tmp_path), store, role=Role.OPERATOR)
        with pytest.raises(CommandError, match="approvals are not available"):
            await approve.handler(ctx, "abc234")
    finally:
        await store.close()
