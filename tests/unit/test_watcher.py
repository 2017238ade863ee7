"""Docker events → incidents, with a recording alerter and a Docker that is never asked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bot.alerts.incidents import Incident
from bot.alerts.silences import Silences
from bot.alerts.watcher import Watcher
from bot.config import parse_config
from bot.containers.inventory import DockerEvent, parse_event
from bot.core import CommandError
from bot.store import Store
from bot.text.redact import Redactor
from tests.unit import fakes

Alerts = fakes.RecordingAlerter  # the watcher's alerter, recording

RAW_DIE = {
    "Type": "container", "Action": "die", "time": 1700000000, "timeNano": 1700000000123456789,
    "Actor": {"ID": "c1", "Attributes": {
        "name": "stack-authelia-1", "com.docker.compose.service": "authelia",
        "exitCode": "1", "execDuration": "17"}},
}  # fmt: skip


class NoDocker:
    """Containers that cannot be reached: evidence is skipped, detection still works."""

    async def resolve(self, name: str) -> Any:
        raise CommandError("unreachable")


@pytest.fixture
async def watcher(tmp_path: Path) -> AsyncIterator[tuple[Watcher, Alerts]]:
    raw = {
        "matrix": {"homeserver": "http://h", "user_id": "@bot:x.org", "password": "pw",
                   "command_rooms": ["!r:x.org"], "alert_room": "!r:x.org"},
        "access": {"admins": ["@a:x.org"]},
        "alerts": {"restart_loop": {"exits": 3, "window": "5m"}},
    }  # fmt: skip
    store = await Store.open(tmp_path / "db.sqlite")
    alerts = fakes.RecordingAlerter()
    silences = Silences(store, Redactor())
    w = Watcher(parse_config(raw, {}), NoDocker(), store, alerts, silences, Redactor())  # type: ignore[arg-type]
    yield w, alerts
    await store.close()


def event(action: str, ts_ms: int, **kw: Any) -> DockerEvent:
    return DockerEvent("c1", "stack-authelia-1", "authelia", action, kw.get("health"),
                       kw.get("code"), kw.get("uptime"), ts_ms)  # fmt: skip


def test_events_are_normalised_and_probe_noise_dropped() -> None:
    ev = parse_event(RAW_DIE)
    assert ev is not None and (ev.service, ev.action, ev.exit_code, ev.uptime_s) == (
        "authelia",
        "die",
        1,
        17,
    )
    assert ev.ts_ms == 1700000000123
    health = parse_event({**RAW_DIE, "Action": "health_status: unhealthy"})
    assert health is not None and (health.action, health.health) == ("health_status", "unhealthy")
    assert parse_event({**RAW_DIE, "Action": "exec_start: wget -q"}) is None
    assert parse_event({**RAW_DIE, "Type": "network"}) is None


async def test_three_quick_exits_are_a_crash_loop(
    watcher: tuple[Watcher, Alerts],
) -> None:
    w, alerts = watcher
    for i in range(3):
        await w.on_event(event("start", i * 20_000))
        await w.on_event(event("die", i * 20_000 + 15_000, code=1, uptime=15))
    assert [(i.service, i.kind) for i in alerts.raised] == [("authelia", "crashloop")]
    assert alerts.raised[0].summary.startswith("exit 1 ×3 in 5m")


async def test_exits_spread_over_hours_are_not_a_loop(
    watcher: tuple[Watcher, Alerts],
) -> None:
    w, alerts = watcher
    for i in range(3):
        await w.on_event(event("die", i * 3_600_000, code=0))
    assert alerts.raised == []


async def test_a_final_non_zero_exit_is_a_death_and_oom_is_named(
    watcher: tuple[Watcher, Alerts],
) -> None:
    w, alerts = watcher
    await w.on_event(event("oom", 1_000))
    await w.on_event(event("die", 1_100, code=137))
    assert alerts.raised == []  # not yet: the restart policy may bring it back
    await w.tick()  # (the wall clock is far past 1.1 s + 3 s)
    [died] = alerts.raised
    assert died.kind == "died" and "OOM-killed" in died.summary


class StaysDown(NoDocker):
    """A container that exited and has restart policy "no": nothing will bring it back."""

    async def resolve(self, name: str) -> Any:
        return SimpleNamespace(service=name), []

    async def inspect(self, container: Any) -> Any:
        return SimpleNamespace(state="exited", restart_policy="no")

    async def logs(self, *args: Any, **kwargs: Any) -> Any:
        raise CommandError("no logs in this test")


async def test_a_death_without_restart_policy_is_told_at_once(
    watcher: tuple[Watcher, Alerts],
) -> None:
    w, alerts = watcher
    w.containers = StaysDown()  # type: ignore[assignment]
    await w.on_event(event("die", 1_100, code=3))
    [died] = alerts.raised  # no waiting for a restart that cannot come
    assert (died.kind, died.summary) == ("died", "exit 3")


async def test_an_exit_someone_asked_for_is_not_a_death(
    watcher: tuple[Watcher, Alerts],
) -> None:
    w, alerts = watcher
    await w.on_event(event("kill", 1_000))
    await w.on_event(event("die", 1_200, code=143))
    await w.tick()
    assert alerts.raised == []


async def test_a_restart_after_the_exit_is_no_death(
    watcher: tuple[Watcher, Alerts],
) -> None:
    w, alerts = watcher
    await w.on_event(event("die", 1_000, code=1))
    await w.on_event(event("start", 1_200))
    await w.tick()
    assert alerts.raised == []


async def test_restarts_someone_asked_for_are_not_a_crash_loop(
    watcher: tuple[Watcher, Alerts],
) -> None:
    w, alerts = watcher
    for i in range(4):
        await w.on_event(event("kill", i * 10_000))
        await w.on_event(event("die", i * 10_000 + 200, code=143))
        await w.on_event(event("start", i * 10_000 + 500))
    assert alerts.raised == []


async def test_a_loop_is_announced_once_not_on_every_turn(
    watcher: tuple[Watcher, Alerts],
) -> None:
    w, alerts = watcher
    for i in range(6):
        await w.on_event(event("die", i * 20_000, code=1))
        if alerts.raised:
            w.silences.incidents["authelia"] = alerts.raised[
                -1
            ]  # as if announced (held by a silence)
    assert len(alerts.raised) == 1


async def test_the_clock_survives_an_event_that_adds_a_service_meanwhile(
    watcher: tuple[Watcher, Alerts],
) -> None:
    """tick() awaits inside its loop; an event handled meanwhile may add a service."""
    w, alerts = watcher
    t = w.track("authelia")
    t.state, t.died_check_ms = "exited", 1
    t.exits.append((1, 1))
    w.track("zz-later")  # the loop goes on after authelia

    async def raise_and_meanwhile_an_event(inc: Incident) -> None:
        alerts.raised.append(inc)
        newcomer = DockerEvent("c2", "stack-new-1", "newcomer", "start", None, None, None, 2)
        await w.on_event(newcomer)

    alerts.raise_incident = raise_and_meanwhile_an_event  # type: ignore[method-assign]
    await w.tick()
    assert [i.kind for i in alerts.raised] == ["died"]
    assert "newcomer" in w.tracks
