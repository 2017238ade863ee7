"""The outbox courier never wedges and never duplicates: bad items are dropped after a few tries,
transaction ids are unique per database, an alert and its message are stored together."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from bot.alerts.alerter import Alerter
from bot.alerts.incidents import Incident
from bot.audit import Audit
from bot.config import parse_config
from bot.matrix.courier import MAX_ATTEMPTS, Courier
from bot.store import Store
from bot.text.redact import Redactor
from tests.unit import fakes

COMMANDS, ALERTS, NOWHERE = "!ops:x.org", "!alerts:x.org", "!never-invited:x.org"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "opsbot.db")
    yield s
    await s.close()


class Homeserver:
    """Takes events, except into a room the bot is not in (as nio raises for encrypted ones)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any], str]] = []
        self.tries: dict[str, int] = {}

    async def send_once(self, room: str, kind: str, content: dict[str, Any], tx: str) -> str:
        self.tries[room] = self.tries.get(room, 0) + 1
        if room == NOWHERE:
            raise RuntimeError(f"No such room with id {room} found.")
        self.events.append((room, content, tx))
        return f"$event{len(self.events)}"


async def until(check: Callable[[], Awaitable[bool]], what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def deliver(store: Store, hs: Homeserver, stop_when: Callable[[], Awaitable[bool]]) -> None:
    courier = Courier(store, hs.send_once, backoff_cap=0.05, tell_room=COMMANDS)
    courier.online = True
    task = asyncio.create_task(courier.run())
    try:
        await until(stop_when, "delivery")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def notice(text: str) -> dict[str, Any]:
    return {"msgtype": "m.notice", "body": text}


async def test_an_undeliverable_message_is_dropped_and_the_rest_goes_out(store: Store) -> None:
    stuck = await store.outbox.put(NOWHERE, "m.room.message", notice("to nowhere"))
    later = await store.outbox.put(ALERTS, "m.room.message", notice("an alert"))
    again = await store.outbox.put(NOWHERE, "m.room.message", notice("to nowhere again"))
    hs = Homeserver()

    async def drained() -> bool:
        return await store.outbox.size() == 0

    await deliver(store, hs, drained)
    assert await store.outbox.event_of(later) == "$event1"
    assert await store.outbox.event_of(stuck) == "" and await store.outbox.event_of(again) == ""
    assert hs.tries[NOWHERE] == 2 * MAX_ATTEMPTS  # each tried a few times, then given up
    told = [c["body"] for room, c, _ in hs.events if room == COMMANDS]
    assert len(told) == 1 and NOWHERE in told[0]  # the command room hears it once


async def test_transaction_ids_never_repeat_across_a_reset_database(tmp_path: Path) -> None:
    seen = []
    for attempt in range(2):  # the same device, its database deleted in between
        store = await Store.open(tmp_path / f"db{attempt}" / "opsbot.db")
        await store.outbox.put(ALERTS, "m.room.message", notice("hello"))
        hs = Homeserver()

        async def sent(hs: Homeserver = hs) -> bool:
            return bool(hs.events)

        await deliver(store, hs, sent)
        seen.append(hs.events[0][2])
        await store.close()
    assert seen[0] != seen[1]


async def test_an_alert_is_queued_and_recorded_together_or_not_at_all(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = {
        "matrix": {"homeserver": "http://h", "user_id": "@bot:x.org", "password": "pw",
                   "command_rooms": [COMMANDS], "alert_room": ALERTS},
        "access": {"admins": ["@a:x.org"]},
    }  # fmt: skip

    async def queue(room: str, content: dict[str, Any]) -> int:
        return await store.outbox.put(room, "m.room.message", content)

    alerter = Alerter(parse_config(raw, {}), store, queue, Audit(store, Redactor(), fakes.ignore))
    execute = aiosqlite.Connection.execute

    def crash_on_alert_row(self: aiosqlite.Connection, sql: str, *args: Any) -> Any:
        if sql.startswith("INSERT INTO alerts"):
            raise OSError("the bot died here")
        return execute(self, sql, *args)

    monkeypatch.setattr(aiosqlite.Connection, "execute", crash_on_alert_row)
    inc = Incident("web", "unhealthy", int(time.time() * 1000), "failing streak 3")
    with pytest.raises(OSError, match="died here"):
        await alerter.raise_incident(inc)
    monkeypatch.undo()
    assert await store.outbox.size() == 0  # no message without its alert: no duplicate later
    assert await store.alerts.open() == []


@pytest.mark.parametrize("turns", [0, 1, 2, 3])
async def test_a_cancelled_courier_stops_even_when_woken_at_that_moment(
    store: Store, turns: int
) -> None:
    """Shutdown cancels the courier; a message queued at the same instant must not swallow it."""
    courier = Courier(store, Homeserver().send_once, backoff_cap=0.05)
    task = asyncio.create_task(courier.run())
    await asyncio.sleep(0.05)  # asleep, waiting to be woken
    courier.wake.set()
    for _ in range(turns):
        await asyncio.sleep(0)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=5)
    assert task in done and task.cancelled()
