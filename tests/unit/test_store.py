"""Specification of bot.store: the SQLite audit trail and sync position, with migrations."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.store import AuditEntry, Store
from bot.store.migrations import MIGRATIONS

ENTRY = AuditEntry(
    ts_ms=1_714_560_000_000,
    room_id="!ops:example.org",
    sender="@alice:example.org",
    event_id="$event1",
    command="status",
    args="seafile",
    outcome="ok",
    duration_ms=42,
)


def pragma(path: Path, name: str) -> object:
    with sqlite3.connect(path) as db:
        return db.execute(f"PRAGMA {name}").fetchone()[0]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "data" / "opsbot.db")
    yield s
    await s.close()


class TestSchema:
    async def test_open_creates_the_directory_and_the_latest_schema(self, store: Store) -> None:
        assert store.path.is_file()
        assert await store.schema_version() == len(MIGRATIONS)
        assert pragma(store.path, "user_version") == len(MIGRATIONS)

    async def test_uses_write_ahead_logging(self, store: Store) -> None:
        assert pragma(store.path, "journal_mode") == "wal"

    async def test_reopening_does_not_migrate_again(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        path = tmp_path / "opsbot.db"

        def migrations() -> list[str]:
            return [r.getMessage() for r in caplog.records if r.name == "bot.store"]

        with caplog.at_level(logging.INFO, logger="bot.store"):
            first = await Store.open(path)
            await first.audit.record(ENTRY)
            await first.close()
            assert migrations() == [
                f"migrating {path} to schema version {n + 1}" for n in range(len(MIGRATIONS))
            ]
            second = await Store.open(path)
        try:
            assert len(migrations()) == len(MIGRATIONS)  # nothing more on the second open
            assert await second.schema_version() == len(MIGRATIONS)
            assert await second.audit.recent(10) == [ENTRY]
        finally:
            await second.close()

    async def test_refuses_a_database_from_a_newer_opsbot(self, tmp_path: Path) -> None:
        path = tmp_path / "opsbot.db"
        with sqlite3.connect(path) as db:
            db.execute("PRAGMA user_version = 99")
        with pytest.raises(RuntimeError, match="schema version 99 is newer than this opsbot"):
            await Store.open(path)
        assert pragma(path, "user_version") == 99  # left untouched


class TestSyncToken:
    async def test_none_before_the_first_sync(self, store: Store) -> None:
        assert await store.sync_token() is None

    async def test_round_trip_and_overwrite(self, store: Store) -> None:
        await store.save_sync_token("s72594_4483_1934")
        await store.save_sync_token("s72595_4483_1935")
        assert await store.sync_token() == "s72595_4483_1935"

    async def test_survives_a_restart(self, tmp_path: Path) -> None:
        path = tmp_path / "opsbot.db"
        first = await Store.open(path)
        await first.save_sync_token("s1_2_3")
        await first.close()
        second = await Store.open(path)
        try:
            assert await second.sync_token() == "s1_2_3"
        finally:
            await second.close()


class TestAudit:
    async def test_record_returns_increasing_ids(self, store: Store) -> None:
        first = await store.audit.record(ENTRY)
        second = await store.audit.record(ENTRY)
        assert 0 < first < second

    async def test_recent_is_newest_first_and_limited(self, store: Store) -> None:
        for i in range(5):
            await store.audit.record(replace(ENTRY, event_id=f"$e{i}", ts_ms=ENTRY.ts_ms + i))
        rows = await store.audit.recent(3)
        assert [r.event_id for r in rows] == ["$e4", "$e3", "$e2"]

    async def test_empty(self, store: Store) -> None:
        assert await store.audit.recent(10) == []

    async def test_every_field_round_trips(self, store: Store) -> None:
        entry = replace(ENTRY, outcome="usage-error", details="missing <service>", args="")
        await store.audit.record(entry)
        assert await store.audit.recent(1) == [entry]

    @pytest.mark.parametrize("outcome", ["ok", "denied", "usage-error", "error"])
    async def test_known_outcomes(self, store: Store, outcome: str) -> None:
        await store.audit.record(replace(ENTRY, outcome=outcome))
        assert (await store.audit.recent(1))[0].outcome == outcome

    async def test_unknown_outcome_is_rejected(self, store: Store) -> None:
        with pytest.raises(ValueError, match="unknown outcome 'success'"):
            await store.audit.record(replace(ENTRY, outcome="success"))
        assert await store.audit.recent(10) == []

    async def test_database_itself_checks_the_outcome(self, store: Store) -> None:
        with sqlite3.connect(store.path) as db, pytest.raises(sqlite3.IntegrityError):
            db.execute(
                "INSERT INTO audit (ts_ms, room_id, sender, event_id, command, args, outcome,"
                " duration_ms) VALUES (0, '!r', '@u:x', '$e', 'status', '', 'success', 0)"
            )


class TestOutbox:
    @staticmethod
    def edit(target: str, text: str) -> dict[str, object]:
        return {
            "body": f"* {text}",
            "m.new_content": {"body": text},
            "m.relates_to": {"rel_type": "m.replace", "event_id": target},
        }

    async def test_a_newer_edit_supersedes_the_waiting_ones_of_that_message(
        self, store: Store
    ) -> None:
        box = store.outbox
        first = await box.put("!r", "m.room.message", {"body": "web is unhealthy"})
        other = await box.put("!r", "m.room.message", {"body": "db is unhealthy"})
        await box.put("!r", "m.room.message", self.edit(f"outbox:{first}", "web, api"))
        await box.put("!r", "m.room.message", self.edit("$other", "db, cache"))
        newest = await box.put("!r", "m.room.message", self.edit(f"outbox:{first}", "web, api, x"))
        queued = [
            (i.id, i.content.get("m.new_content", i.content)["body"]) for i in await box.head()
        ]
        assert queued == [
            (first, "web is unhealthy"),
            (other, "db is unhealthy"),
            (newest - 1, "db, cache"),  # another message's edit stays
            (newest, "web, api, x"),  # only the newest edit of the first message is left
        ]

    async def test_a_delivered_edit_is_left_alone(self, store: Store) -> None:
        box = store.outbox
        sent = await box.put("!r", "m.room.message", self.edit("$m", "one"))
        await box.done(sent, "$edit1")
        await box.put("!r", "m.room.message", self.edit("$m", "two"))
        assert await box.event_of(sent) == "$edit1"
        assert await box.size() == 1


async def test_retention_forgets_old_finished_things_but_not_what_is_still_in_use(
    store: Store,
) -> None:
    import time

    from bot.store import Request

    now = int(time.time() * 1000)
    day = 86_400_000
    delivered = await store.outbox.put("!r:x.org", "m.room.message", {"body": "old"})
    await store.outbox.done(delivered, "$old")
    waiting = await store.outbox.put("!r:x.org", "m.room.message", {"body": "not sent yet"})
    open_id, open_msg = await store.alerts.add("!r:x.org", {"body": "still firing"}, {})
    await store.outbox.done(open_msg, "$firing")
    closed_id, closed_msg = await store.alerts.add("!r:x.org", {"body": "over"}, {})
    await store.alerts.save(closed_id, {"resolved_ms": now - 100 * day}, False)
    await store.outbox.done(closed_msg, "$over")
    for rid, state in (("done01", "succeeded"), ("open01", "pending")):
        await store.requests.add(Request(
            rid, now - 100 * day, now - 99 * day, "!r:x.org", "$t", f"$c{rid}", None, "@a:x.org",
            "restart", "web", f"svc-{rid}", "restart `web`", "", 2, state,
            finished_ms=now - 100 * day if state == "succeeded" else None,
        ))  # fmt: skip
    with sqlite3.connect(store.path) as db:  # all of it written 100 days ago
        db.execute("UPDATE outbox SET created_ms = ?", (now - 100 * day,))
    before = await store.audit.verify()

    forgot = await store.prune(now - 90 * day)

    assert forgot == {"alerts": 1, "outbox": 2, "requests": 1}
    assert await store.outbox.event_of(delivered) is None  # forgotten
    assert await store.outbox.event_of(closed_msg) is None
    assert await store.outbox.event_of(open_msg) == "$firing"  # an open alert points at it
    assert await store.outbox.size() == 1 and waiting  # never sent: never forgotten
    assert [a for a, _, _ in await store.alerts.open()] == [open_id]
    assert await store.requests.get("done01") is None
    assert await store.requests.get("open01") is not None
    assert (await store.audit.verify()).rows == before.rows  # the audit trail stays whole
