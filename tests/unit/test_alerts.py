"""The one Alerts object: silences, the crash loops `!status` shows, the recovery hold-down,
and the commands that reach alerting only through the context."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.alerts import Alerts
from bot.alerts.alerter import Alerter
from bot.alerts.incidents import Incident
from bot.alerts.silences import condition
from bot.audit import Audit
from bot.config import Config
from bot.containers import UnknownService
from bot.containers.inventory import DockerEvent
from bot.core import CommandError
from bot.framework.command import Command, Context
from bot.store import Store
from bot.text.redact import Redactor
from bot.text.reply import Reply
from commands.silence import silence, silences, unsilence
from commands.status import status
from tests.unit import fakes
from tests.unit.fakes import FakeDocker, FakeService


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return fakes.make_config(tmp_path, alerts={"restart_loop": {"exits": 3, "window": "5m"},
                                               "recovery_hold": "10s"})  # fmt: skip


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "db.sqlite")
    yield s
    await s.close()


def docker() -> FakeDocker:
    return FakeDocker(FakeService("web", "unhealthy"), FakeService("authelia", "restarting"),
                      FakeService("db"))  # fmt: skip


async def crash_loop(alerts: Alerts, service: str = "authelia") -> None:
    """Three quick non-zero exits, as the Docker event stream would tell them."""
    now = int(time.time() * 1000)
    for i in range(3):
        died = DockerEvent(f"id-{service}", f"stack-{service}-1", service, "die", None, 1, 2,
                           now + i * 1000)  # fmt: skip
        await alerts._watcher.on_event(died)  # the stream's way in (run() reads a real one)


async def call(cmd: Command, ctx: Context, *words: str) -> str:
    """Run a command the way the dispatcher does: bind the words, call the handler."""
    result = await cmd.handler(ctx, **cmd.bind(list(words)))
    return result.body if isinstance(result, Reply) else str(result)


def test_the_condition_word_of_a_service() -> None:
    assert condition("running", "healthy") == "healthy"
    assert condition("running", None) == "running"
    assert condition("exited", "unhealthy") == "exited"
    assert condition("restarting", None) == "restarting"


async def test_a_silence_remembers_the_service_by_name_and_its_condition(
    config: Config, store: Store
) -> None:
    alerts = fakes.alerts(config, store, docker())
    made = await alerts.silence("stack-web-1", 7200, "token=hunter2hunter2 in a probe", "@b:x.org")
    assert (made.service, made.state_then, made.created_by) == ("web", "unhealthy", "@b:x.org")
    assert "hunter2hunter2" not in made.reason  # kept redacted
    assert made.until_ms - made.created_ms == 7_200_000
    assert await alerts.silences() == [made]
    assert await alerts.unsilence("web") == made
    assert await alerts.silences() == [] and await alerts.unsilence("web") is None


async def test_silencing_all_asks_no_docker_and_an_unknown_service_is_refused(
    config: Config, store: Store
) -> None:
    everything = await fakes.alerts(config, store).silence("all", 60, "", "@b:x.org")
    assert (everything.service, everything.state_then) == ("all", "")
    with pytest.raises(UnknownService, match="no service `nope`"):
        await fakes.alerts(config, store, docker()).silence("nope", 60, "", "@b:x.org")


async def test_an_ended_silence_is_not_listed(config: Config, store: Store) -> None:
    alerts = fakes.alerts(config, store)
    await alerts.silence("all", 0, "", "@b:x.org")
    assert await alerts.silences() == []


async def test_looping_names_services_with_an_open_crash_loop_alert(
    config: Config, store: Store
) -> None:
    alerts = fakes.alerts(config, store, docker())
    assert alerts.looping() == frozenset()
    await crash_loop(alerts)
    assert alerts.looping() == {"authelia"}
    assert alerts.raised["crashloop"] == 1


async def test_a_silenced_crash_loop_is_held_back_not_looping(config: Config, store: Store) -> None:
    chat = fakes.FakeChat()
    alerts = fakes.alerts(config, store, docker(), chat=chat)
    await alerts.silence("authelia", 600, "", "@b:x.org")
    await crash_loop(alerts)
    assert alerts.looping() == frozenset() and alerts.raised["crashloop"] == 0
    assert await store.alerts.open() == [] and chat.queued == []


async def test_health_readings_before_docker_was_ever_listed(config: Config, store: Store) -> None:
    alerts = fakes.alerts(config, store)
    assert alerts.docker_problem() == "events not connected yet"
    assert alerts.connects == 0


async def test_a_recovery_resolves_only_after_holding_for_the_hold_time(
    config: Config, store: Store
) -> None:
    chat = fakes.FakeChat()
    alerter = Alerter(config, store, chat.queue, Audit(store, Redactor(), fakes.ignore))
    t0 = int(time.time() * 1000)
    await alerter.raise_incident(Incident("web", "crashloop", t0, "exit 1 ×3 in 5m"))
    await alerter.observe("web", True, t0 + 5_000, t0)  # fine, but not before it started
    await alerter.observe("web", True, 0, t0 + 14_999)
    assert alerter.open_incident("web") is not None  # 10 s hold from t0 + 5 s: not yet
    await alerter.observe("web", False, 0, t0 + 15_000)  # a relapse starts the hold over
    await alerter.observe("web", True, 0, t0 + 16_000)
    await alerter.observe("web", True, 0, t0 + 25_999)
    assert alerter.open_incident("web") is not None
    await alerter.observe("web", True, 0, t0 + 26_000)
    assert alerter.open_incident("web") is None and alerter.open_incidents() == []


async def test_the_alerter_groups_by_the_dependencies_it_was_told(
    config: Config, store: Store
) -> None:
    alerter = Alerter(config, store, fakes.FakeChat().queue, Audit(store, Redactor(), fakes.ignore))
    alerter.set_dependencies("web", ["db", "cache"])
    assert alerter.deps_of("web") == {"db", "cache"} and alerter.deps_of("db") == set()


async def test_status_marks_an_open_crash_loop_and_works_without_alerting(
    config: Config, store: Store
) -> None:
    looping = docker()
    looping["authelia"].status = "running"  # the list call caught it between two restarts
    ctx = fakes.context(config, store, looping)
    assert "crash-looping" not in await call(status, ctx)  # ctx.alerts is None: no loop info
    ctx.alerts = fakes.alerts(config, store, looping)
    await crash_loop(ctx.alerts)
    assert "🔴 authelia — crash-looping (alert open)" in await call(status, ctx)


async def test_silence_commands_go_through_alerting(config: Config, store: Store) -> None:
    ctx = fakes.context(config, store, docker(), sender="@bob:x.org")
    with pytest.raises(CommandError, match="alerting is not running"):
        await call(silences, ctx)
    ctx.alerts = fakes.alerts(config, store, docker())
    made = await call(silence, ctx, "stack-web-1", "2h", "fixing", "it")
    assert made.startswith("🔕 alerts for `web` silenced for 2h (fixing it), until ")
    listed = await call(silences, ctx)
    assert listed.startswith("🔕 `web` until ") and listed.endswith("by @bob:x.org — fixing it")
    assert await call(unsilence, ctx, "web") == "🔔 alerts for `web` are on again"
    assert await call(silences, ctx) == "No silences."
