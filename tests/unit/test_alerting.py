"""How alerts group, read, page, acknowledge and resolve — with a recording outbox."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.alerts.alerter import Alerter
from bot.alerts.incidents import Alert, Incident, causes, render
from bot.audit import Audit
from bot.config import parse_config
from bot.core import Reaction
from bot.store import Store
from bot.store.db import Tx
from bot.text.redact import Redactor
from tests.unit import fakes

ROOM = "!alerts:x.org"
DEPS = {"synapse": {"authelia"}, "authelia": {"postgres"}, "element": {"synapse"}}


def deps_of(service: str) -> set[str]:
    return DEPS.get(service, set())


def incident(service: str, kind: str = "crashloop", summary: str = "exit 1 ×3 in 5m") -> Incident:
    return Incident(service, kind, int(time.time() * 1000), summary, ["fatal: boom"])


class Recorder:
    """Stands in for the chat's durable queue and keeps every content that enters the outbox
    (alert messages enter it together with their alert row, not through the queue)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.sent: list[dict[str, Any]] = []
        insert = store.outbox.insert

        async def recording(tx: Tx, room: str, kind: str, content: dict[str, Any]) -> int:
            self.sent.append(content)
            return await insert(tx, room, kind, content)

        store.outbox.insert = recording  # type: ignore[method-assign]

    async def __call__(self, room: str, content: dict[str, Any]) -> int:
        return await self.store.outbox.put(room, "m.room.message", content)

    def originals(self) -> list[dict[str, Any]]:
        return [c for c in self.sent if "org.opsbot.alert" in c]

    def bodies(self) -> list[str]:
        """Every text sent, edits as their new text."""
        return [c.get("m.new_content", c)["body"] for c in self.sent]


@pytest.fixture(autouse=True)
def edit_at_once(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read the text of every change; only the throttle test keeps the throttle."""
    if "throttle" not in request.node.name:
        monkeypatch.setattr("bot.alerts.alerter.EDIT_GAP_MS", 0)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "db.sqlite")
    yield s
    await s.close()


def alerter(store: Store, **alerts: Any) -> tuple[Alerter, Recorder]:
    raw = {
        "matrix": {"homeserver": "http://h", "user_id": "@bot:x.org", "password": "pw",
                   "command_rooms": [ROOM], "alert_room": ROOM},
        "access": {"admins": ["@a:x.org"]},
        "protected": ["authelia"],
        "alerts": {"oncall": ["@oncall:x.org"], **alerts},
    }  # fmt: skip
    recorder = Recorder(store)
    a = Alerter(parse_config(raw, {}), store, recorder, Audit(store, Redactor(), fakes.ignore))
    for service, deps in DEPS.items():
        a.set_dependencies(service, deps)
    return a, recorder


def test_the_root_cause_is_the_failing_dependency() -> None:
    alert = Alert(0, {s: incident(s) for s in ("synapse", "authelia", "element")}, 0, 0)
    assert causes(alert, deps_of) == {"authelia": ["element", "synapse"]}
    text = render(alert, deps_of, 0).body
    assert "authelia is crash-looping (exit 1 ×3 in 5m)" in text
    assert "also affected: element, synapse, which depend on it" in text
    assert "fatal: boom" in text


def test_a_dependency_cycle_still_names_every_failing_service() -> None:
    cyclic = {"a": {"b"}, "b": {"a"}}
    alert = Alert(0, {"a": incident("a"), "b": incident("b")}, 0, 0)
    assert set(causes(alert, lambda s: cyclic.get(s, set()))) == {"a", "b"}


def test_alerts_survive_a_round_trip_through_the_store_format() -> None:
    alert = Alert(5, {"web": incident("web", "unhealthy")}, 6, 7, acked_by="@a:x.org")
    again = Alert.from_state(alert.state())
    assert again == alert


async def test_cascade_and_burst_share_one_message(store: Store) -> None:
    a, rec = alerter(store, burst_window="10s")
    await a.raise_incident(incident("synapse"))
    await a.raise_incident(incident("authelia"))  # its dependency: folded, named as the cause
    await a.raise_incident(incident("grafana", "unhealthy"))  # same burst
    assert len(rec.originals()) == 1
    final = [c["m.new_content"]["body"] for c in rec.sent if "m.new_content" in c][-1]
    assert "authelia is crash-looping" in final and "also affected: synapse" in final
    assert "grafana is unhealthy" in final


async def test_outside_the_burst_an_unrelated_failure_gets_its_own_message(store: Store) -> None:
    a, rec = alerter(store, burst_window="1ms")
    await a.raise_incident(incident("synapse"))
    await asyncio.sleep(0.01)
    await a.raise_incident(incident("grafana", "unhealthy"))
    assert len(rec.originals()) == 2


async def test_protected_crash_loops_page_on_call(store: Store) -> None:
    a, rec = alerter(store)
    await a.raise_incident(incident("authelia"))
    [first] = rec.originals()
    assert first["msgtype"] == "m.text"
    assert first["m.mentions"] == {"user_ids": ["@oncall:x.org"]}
    b, rec2 = alerter(store)
    await b.raise_incident(incident("grafana", "unhealthy"))
    assert rec2.originals()[0]["msgtype"] == "m.notice"
    assert rec2.originals()[0]["m.mentions"] == {}


async def test_resolution_edits_the_alert_and_replies_in_its_thread(store: Store) -> None:
    a, rec = alerter(store)
    await a.raise_incident(incident("web", "unhealthy"))
    outbox_id = a.alerts[0].outbox_id
    await a.resolve("web", int(time.time() * 1000) + 90_000)
    edit, reply = rec.sent[-2], rec.sent[-1]
    assert edit["m.relates_to"] == {"rel_type": "m.replace", "event_id": f"outbox:{outbox_id}"}
    assert edit["m.new_content"]["body"].startswith("✅ resolved after 1m")
    assert reply["m.relates_to"]["rel_type"] == "m.thread"
    assert reply["m.relates_to"]["event_id"] == f"outbox:{outbox_id}"
    assert a.alerts == [] and await store.alerts.open() == []


async def test_open_alerts_reload_after_a_restart(store: Store) -> None:
    a, _ = alerter(store)
    await a.raise_incident(incident("web", "unhealthy"))
    b, rec = alerter(store)
    await b.load()
    assert b.open_incident("web") is not None
    await b.raise_incident(incident("web", "unhealthy"))  # seen again after the restart
    assert rec.sent == []  # nothing new to say


async def test_eyes_acknowledge_and_stop_repeats(store: Store) -> None:
    a, rec = alerter(store, repeat_interval="1ms")
    await a.raise_incident(incident("web", "unhealthy"))
    await store.outbox.done(a.alerts[0].outbox_id, "$alert")
    await asyncio.sleep(0.01)
    await a.repeat()
    assert "still firing: web" in rec.bodies()[-1]
    count = len(rec.sent)
    await a.on_reaction(Reaction(ROOM, "$r", "@a:x.org", "$alert", "👀", 0))
    assert "👀 acknowledged by @a:x.org" in rec.bodies()[-1]
    await asyncio.sleep(0.01)
    await a.repeat()
    assert len(rec.sent) == count + 1  # the edit, no repeat
    rows = await store.audit.recent(1)
    assert rows[0].step == "acknowledged" and rows[0].sender == "@a:x.org"


async def test_edits_throttle_to_one_per_second_and_the_newest_text_wins(store: Store) -> None:
    a, rec = alerter(store, burst_window="1m")
    for i in range(10):  # a storm: ten failures within a few milliseconds
        await a.raise_incident(incident(f"svc{i}", "unhealthy", "failing streak 1"))
    assert len(rec.originals()) == 1 and len(rec.sent) == 1  # the rest is held back
    await a.flush()
    assert len(rec.sent) == 1  # still within a second of the first message
    await asyncio.sleep(1.05)
    await a.flush()
    assert len(rec.sent) == 2
    assert all(f"svc{i}" in rec.bodies()[-1] for i in range(10))  # one edit names them all
    await a.flush()
    assert len(rec.sent) == 2  # nothing left to send


async def test_an_edit_the_throttle_held_is_sent_after_a_restart(store: Store) -> None:
    a, rec = alerter(store, burst_window="1m")
    await a.raise_incident(incident("web", "unhealthy", "failing streak 1"))
    await a.raise_incident(incident("api", "unhealthy", "failing streak 1"))
    assert len(rec.sent) == 1  # the edit naming api was held back
    again, rec2 = alerter(store)  # the bot stopped before the next tick
    await again.load()
    await again.flush()
    assert "api" in rec2.bodies()[-1] and "web" in rec2.bodies()[-1]


async def test_the_throttle_never_holds_back_a_resolution_or_outlives_shutdown(
    store: Store,
) -> None:
    a, rec = alerter(store, burst_window="1m")
    await a.raise_incident(incident("web", "unhealthy", "failing streak 1"))
    await a.raise_incident(incident("api", "unhealthy", "failing streak 1"))
    assert len(rec.sent) == 1  # the edit naming api is held
    await a.flush(all_held=True)  # what shutdown does
    assert "api" in rec.bodies()[-1]
    await a.resolve("web", int(time.time() * 1000))  # within a second: held
    await a.resolve("api", int(time.time() * 1000))  # the alert closes: sent at once
    assert rec.bodies()[-2].startswith("✅ resolved after")
    assert rec.bodies()[-1].startswith("✅ resolved after")  # and its thread reply
    assert await store.alerts.open() == []


async def test_repeats_page_only_alerts_that_paged_the_first_time(store: Store) -> None:
    a, rec = alerter(store, repeat_interval="1ms", burst_window="1ms")
    await a.raise_incident(incident("grafana", "unhealthy"))  # not protected: a quiet notice
    await asyncio.sleep(0.01)  # two alerts, not one burst
    await a.raise_incident(incident("authelia"))  # protected crash loop: pages on-call
    await asyncio.sleep(0.01)
    await a.repeat()
    repeats = {c["body"]: c for c in rec.sent if c["body"].startswith("still firing")}
    quiet, loud = repeats["still firing: grafana"], repeats["still firing: authelia"]
    assert quiet["msgtype"] == "m.notice" and quiet["m.mentions"] == {}
    assert loud["msgtype"] == "m.text" and loud["m.mentions"] == {"user_ids": ["@oncall:x.org"]}
