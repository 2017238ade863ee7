"""`!restart`: its plan resolves the service, keeps to the hourly budget and says who approves;
its run restarts once with the container's own grace period and reports how the service ended.
Through the real dispatcher and approvals, an approved request plans once and runs once."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

import bot.containers.settle
from bot.config import Config
from bot.core import CommandError, Role, UsageError
from bot.framework.approvals import Approvals
from bot.framework.arguments import Service
from bot.framework.command import Command, Context
from bot.framework.dispatcher import Dispatcher
from bot.framework.plan import Plan
from bot.store import Request, Store
from commands.approve import approve
from commands.restart import restart
from tests.unit import fakes
from tests.unit.fakes import Clock, FakeDocker, FakeService

ALICE, BOB, DAVE = "@alice:x.org", "@bob:x.org", "@dave:x.org"


def config(tmp_path: Path, **extra: Any) -> Config:
    access = {"admins": [ALICE], "operators": [BOB, DAVE]}
    settings = {"approvals": {"grace": "1ms"}, "protected": ["matrix"], "restart_budget": 2}
    return fakes.make_config(tmp_path, access=access, **{**settings, **extra})


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(tmp_path / "opsbot.db")
    yield store
    await store.close()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(sys.modules["commands.restart"], "time", clock)  # the package shadows it
    return clock


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bot.containers.settle, "POLL", 0.005)


def docker() -> FakeDocker:
    return FakeDocker(FakeService("web", stop_timeout=45), FakeService("db"), FakeService("matrix"))


def ctx_of(tmp_path: Path, store: Store, containers: FakeDocker, **extra: Any) -> Context:
    return fakes.context(config(tmp_path, **extra), store, containers, role=Role.OPERATOR,
                         sender=BOB)  # fmt: skip


async def plan_of(ctx: Context, service: str) -> Plan:
    result = await restart.handler(ctx, Service(service))
    assert isinstance(result, Plan)
    return result


async def started_run(
    store: Store, service: str, started_ms: int, command: str = "restart"
) -> None:
    """A finished request of the past that counts against (or outside) the budget."""
    key = f"{service}-{command}-{started_ms}"
    await store.requests.add(Request(
        id=key, created_ms=started_ms, expires_ms=started_ms + 1, room_id=fakes.ROOM,
        thread_root="$t", command_event_id=f"${key}", card_event_id=None, requester=BOB,
        command=command, args=service, service=service, summary="", warning="",
        approver_role=2, state="succeeded", started_ms=started_ms,
    ))  # fmt: skip


class TestPlan:
    async def test_names_the_service_and_its_container_and_changes_nothing(
        self, tmp_path: Path, store: Store
    ) -> None:
        containers = docker()
        plan = await plan_of(ctx_of(tmp_path, store, containers), "stack-web-1")
        assert plan.service == "web"  # a container name resolves to its service
        assert plan.summary == "restart `web` (container `stack-web-1`)"
        assert (plan.approver_role, plan.warning) == (Role.OPERATOR, "")
        assert containers.calls == []

    async def test_an_unknown_service_is_a_usage_error(self, tmp_path: Path, store: Store) -> None:
        with pytest.raises(UsageError, match="no service `wbe`"):
            await plan_of(ctx_of(tmp_path, store, docker()), "wbe")

    async def test_refuses_once_the_hourly_budget_is_spent_and_says_the_budget(
        self, tmp_path: Path, store: Store, clock: Clock
    ) -> None:
        await started_run(store, "web", clock.ms(ago=60))
        await started_run(store, "web", clock.ms(ago=3599))
        with pytest.raises(UsageError) as refused:
            await plan_of(ctx_of(tmp_path, store, docker()), "web")
        assert "`web` 2 times in the last hour (budget 2)" in str(refused.value)
        assert "crash loop" in str(refused.value)

    async def test_only_this_hour_s_restarts_of_this_service_count(
        self, tmp_path: Path, store: Store, clock: Clock
    ) -> None:
        await started_run(store, "web", clock.ms(ago=60))
        await started_run(store, "web", clock.ms(ago=3601))  # over an hour ago
        await started_run(store, "db", clock.ms(ago=60))  # another service
        await started_run(store, "web", clock.ms(ago=30), command="rebuild")  # another command
        assert (await plan_of(ctx_of(tmp_path, store, docker()), "web")).service == "web"

    async def test_a_budget_of_zero_refuses_every_restart(
        self, tmp_path: Path, store: Store
    ) -> None:
        with pytest.raises(UsageError, match=r"0 times in the last hour \(budget 0\)"):
            await plan_of(ctx_of(tmp_path, store, docker(), restart_budget=0), "web")

    async def test_a_protected_service_needs_an_admin_and_warns_that_the_bot_goes_away(
        self, tmp_path: Path, store: Store
    ) -> None:
        plan = await plan_of(ctx_of(tmp_path, store, docker()), "matrix")
        assert plan.approver_role is Role.ADMIN
        assert "I will be offline while matrix restarts" in plan.warning


class TestRun:
    async def test_restarts_once_with_the_container_s_stop_timeout_and_reports_healthy(
        self, tmp_path: Path, store: Store
    ) -> None:
        containers, said = docker(), []
        ctx = ctx_of(tmp_path, store, containers)
        ctx.progress = lambda text: asyncio.sleep(0, said.append(text))
        result = await restart.run(ctx, Plan("restart `web`", "web", Role.OPERATOR))
        assert containers.calls == [("restart", "web", 45)]
        assert str(result).startswith("`web` restarted in ") and str(result).endswith("— healthy")
        assert said == ["restarted; waiting up to 2m"]  # health_wait's default

    async def test_without_a_stop_timeout_the_grace_period_is_ten_seconds(
        self, tmp_path: Path, store: Store
    ) -> None:
        containers = docker()
        await restart.run(ctx_of(tmp_path, store, containers), Plan("", "db", Role.OPERATOR))
        assert containers.restarts == [("restart", "db", 10)]

    async def test_unhealthy_after_the_wait_is_a_failure_with_the_last_probe_redacted(
        self, tmp_path: Path, store: Store
    ) -> None:
        containers = docker()
        web = containers["web"]
        web.then = {"restart": "unhealthy"}
        web.probes = ["ok", "connect failed\n  password=hunter2hunter2 refused"]
        ctx = ctx_of(tmp_path, store, containers, health_wait="50ms")
        with pytest.raises(CommandError) as failed:
            await restart.run(ctx, Plan("", "web", Role.OPERATOR))
        text = str(failed.value)
        assert text.startswith("`web` restarted, but still unhealthy after ")
        assert "last probe: connect failed password=" in text and "hunter2" not in text
        assert containers.restarts == [("restart", "web", 45)]  # once, never retried

    async def test_a_container_that_exits_fails_at_once(self, tmp_path: Path, store: Store) -> None:
        containers = docker()
        containers["web"].then = {"restart": "exited"}
        with pytest.raises(CommandError, match=r"restarted, but exited \(code 1\)"):
            await restart.run(ctx_of(tmp_path, store, containers), Plan("", "web", Role.OPERATOR))


def counted(cmd: Command) -> tuple[Command, Counter[str]]:
    """``cmd`` with each entry into its plan and run phase counted."""
    entered: Counter[str] = Counter()
    assert cmd.run is not None
    run_phase = cmd.run

    async def plan(ctx: Context, *args: Any, **kwargs: Any) -> Any:
        entered["plan"] += 1
        return await cmd.handler(ctx, *args, **kwargs)

    async def run(ctx: Context, plan: Plan) -> Any:
        entered["run"] += 1
        return await run_phase(ctx, plan)

    return replace(cmd, handler=plan, run=run), entered


@dataclass
class Bot:
    """The real dispatcher and approvals around a counted `!restart`, a chat and a Docker."""

    dispatcher: Dispatcher
    approvals: Approvals
    chat: fakes.FakeChat
    docker: FakeDocker
    entered: Counter[str]

    async def say(self, body: str, sender: str) -> None:
        await self.dispatcher.handle(fakes.message(body, sender))

    async def react(self, sender: str, key: str = "👍") -> None:
        self.approvals.on_reaction(fakes.reaction("$card1", sender, key))
        await fakes.idle(self.approvals)


class TestLifecycle:
    """The issue's promise: `plan` and `run` are each entered once per approved request."""

    @pytest.fixture
    async def bot(self, tmp_path: Path, store: Store) -> AsyncIterator[Bot]:
        cfg = config(tmp_path)
        cmd, entered = counted(restart)
        chat, containers = fakes.FakeChat(), docker()
        run = fakes.runner(cfg, (cmd, approve), store, containers=containers)
        approvals = fakes.approvals(cfg, store, chat, run)
        dispatcher = fakes.dispatcher(cfg, (cmd, approve), store, chat.reply,
                                      containers=containers, approvals=approvals)  # fmt: skip
        yield Bot(dispatcher, approvals, chat, containers, entered)
        await approvals.close()
        await dispatcher.close()

    async def test_an_approved_restart_plans_once_and_runs_once(
        self, bot: Bot, store: Store
    ) -> None:
        await bot.say("!restart web", BOB)
        assert bot.entered == {"plan": 1} and bot.docker.calls == []  # a card, nothing done
        await bot.react(ALICE)
        assert bot.entered == {"plan": 1, "run": 1}
        assert bot.docker.restarts == [("restart", "web", 45)]
        req = await store.requests.by_card("$card1")
        assert req is not None and (req.state, req.approver) == ("succeeded", ALICE)
        assert "`web` restarted in" in json.dumps(bot.chat.queued[-1], ensure_ascii=False)

    async def test_two_approvals_at_the_same_moment_still_run_it_once(self, bot: Bot) -> None:
        await bot.say("!restart web", BOB)
        request_id = bot.chat.sent[0]["org.opsbot.request"]["id"]
        bot.approvals.on_reaction(fakes.reaction("$card1", ALICE))
        await bot.say(f"!approve {request_id}", DAVE)
        await fakes.idle(bot.approvals)
        await bot.approvals.resume()  # as after a restart of the bot: nothing is left to do
        await fakes.idle(bot.approvals)
        assert bot.entered == {"plan": 1, "run": 1} and len(bot.docker.restarts) == 1

    async def test_a_rejected_restart_never_runs(self, bot: Bot) -> None:
        await bot.say("!restart web", BOB)
        await bot.react(ALICE, "👎")
        assert bot.entered == {"plan": 1} and bot.docker.calls == []

    async def test_a_refused_plan_posts_no_card_and_says_why(self, bot: Bot, store: Store) -> None:
        minute_ago = int(time.time() * 1000) - 60_000
        await started_run(store, "web", minute_ago)
        await started_run(store, "web", minute_ago + 1)
        await bot.say("!restart web", BOB)
        assert bot.chat.sent == [] and bot.entered == {"plan": 1}
        assert "(budget 2)" in bot.chat.replies[-1].body
