"""The audit trail is tamper-evident: every row is chained to the one before by an HMAC."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.store import AuditEntry, Store
from bot.store.audit import describe
from bot.store.audit_key import ENV_AUDIT_KEY

KEY = b"k" * 32
ENTRY = AuditEntry(1_700_000_000_000, "!r:x.org", "@a:x.org", "$e", "status", "", "ok", 5)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "data" / "opsbot.db", KEY)
    for i in range(5):
        await s.audit.record(replace(ENTRY, event_id=f"$e{i}", args=f"row {i}"))
    yield s
    await s.close()


def tamper(path: Path, *sql: str) -> None:
    """What someone with write access to the file could do, triggers dropped first."""
    db = sqlite3.connect(path)
    db.execute("DROP TRIGGER IF EXISTS audit_no_update")
    db.execute("DROP TRIGGER IF EXISTS audit_no_delete")
    for statement in sql:
        db.execute(statement)
    db.commit()
    db.close()


async def test_an_untouched_trail_verifies(store: Store) -> None:
    verdict = await store.audit.verify()
    assert verdict.ok and verdict.rows == 5 and verdict.head_id == 5
    assert len(verdict.head_hash) == 64


async def test_rows_cannot_be_changed_or_deleted(store: Store) -> None:
    db = sqlite3.connect(store.path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE audit SET outcome = 'denied' WHERE id = 2")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM audit WHERE id = 5")
    db.close()


@pytest.mark.parametrize(
    ("sql", "broken"),
    [
        ("UPDATE audit SET args = 'nothing to see' WHERE id = 3", 3),
        ("DELETE FROM audit WHERE id = 2", 3),
        ("UPDATE audit SET sender = '@mallory:x.org' WHERE id = 1", 1),
    ],
)
async def test_tampering_shows_at_the_first_changed_row(
    store: Store, sql: str, broken: int
) -> None:
    tamper(store.path, sql)
    verdict = await store.audit.verify()
    assert not verdict.ok and verdict.broken_id == broken


async def test_a_different_key_does_not_verify(tmp_path: Path, store: Store) -> None:
    other = await Store.open(store.path, b"x" * 32)
    try:
        verdict = await other.audit.verify()
    finally:
        await other.close()
    assert not verdict.ok and verdict.broken_id == 1


async def test_concurrent_writers_still_make_one_chain(store: Store) -> None:
    import asyncio

    await asyncio.gather(*(store.audit.record(replace(ENTRY, args=str(i))) for i in range(20)))
    verdict = await store.audit.verify()
    assert verdict.ok and verdict.rows == 25


def test_offline_verification(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                              monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    config = tmp_path / "config.yaml"
    config.write_text(
        "matrix:\n  homeserver: http://127.0.0.1:1\n  user_id: '@bot:x.org'\n  password: pw\n"
        "  command_rooms: ['!r:x.org']\n  alert_room: '!r:x.org'\n"
        "access:\n  admins: ['@a:x.org']\ndata_dir: data\n"
    )
    monkeypatch.setenv(ENV_AUDIT_KEY, KEY.decode())

    async def fill() -> None:
        s = await Store.open(tmp_path / "data" / "opsbot.db", KEY)
        await s.audit.record(ENTRY)
        await s.close()

    import asyncio

    asyncio.run(fill())
    assert main(["audit", "verify", "--config", str(config)]) == 0
    assert "audit trail OK: 1 rows" in capsys.readouterr().out
    tamper(tmp_path / "data" / "opsbot.db", "UPDATE audit SET outcome = 'denied'")
    assert main(["audit", "verify", "--config", str(config)]) == 3
    assert "BROKEN at row 1" in capsys.readouterr().out


def test_the_key_is_generated_once_private_and_outside_the_database(tmp_path: Path) -> None:
    from bot.config import parse_config
    from bot.store.audit_key import AuditKeyError, audit_key

    raw = {
        "matrix": {"homeserver": "http://h", "user_id": "@b:x.org", "password": "pw",
                   "command_rooms": ["!r:x.org"], "alert_room": "!r:x.org"},
        "access": {"admins": ["@a:x.org"]}, "data_dir": str(tmp_path / "d"),
    }  # fmt: skip
    config = parse_config(raw, {})
    first = audit_key(config, {})
    assert audit_key(config, {}) == first and len(first) == 64
    assert (tmp_path / "d" / "audit.key").stat().st_mode & 0o777 == 0o600
    assert audit_key(config, {ENV_AUDIT_KEY: "from-the-environment"}) == b"from-the-environment"
    short = tmp_path / "short.key"
    short.write_text("abc")
    with pytest.raises(AuditKeyError, match="shorter than 16 bytes"):
        audit_key(parse_config({**raw, "audit": {"key_file": str(short)}}, {}), {})
    with pytest.raises(AuditKeyError, match="does not exist"):
        audit_key(parse_config({**raw, "audit": {"key_file": str(tmp_path / "no")}}, {}), {})


def legacy_database(path: Path, rows: int) -> None:
    """A database from before the chain (schema 3) holding ``rows`` audit rows."""
    from bot.store import split_sql
    from bot.store.migrations import MIGRATIONS

    db = sqlite3.connect(path)
    for script in MIGRATIONS[:3]:
        for statement in split_sql(script):
            db.execute(statement)
    db.execute("PRAGMA user_version = 3")
    for i in range(rows):
        db.execute(
            "INSERT INTO audit (ts_ms, room_id, sender, event_id, command, args, outcome,"
            " duration_ms) VALUES (1, '!r:x.org', '@a:x.org', ?, 'status', '', 'ok', 1)",
            (f"$old{i}",),
        )
    db.commit()
    db.close()


async def test_only_rows_from_before_the_chain_may_be_unchained(tmp_path: Path) -> None:
    path = tmp_path / "opsbot.db"
    legacy_database(path, 2)
    store = await Store.open(path, KEY)
    await store.audit.record(ENTRY)
    verdict = await store.audit.verify()
    assert verdict.ok and verdict.unchained == 2 and verdict.rows == 3
    await store.close()
    for forged_id in (-1, 99):  # a plain INSERT before the first row, or after the last
        tamper(
            path,
            "INSERT INTO audit (id, ts_ms, room_id, sender, event_id, command, args, outcome,"
            f" duration_ms) VALUES ({forged_id}, 1, '!r', '@m:x.org', '$f', 'x', '', 'ok', 1)",
        )
        store = await Store.open(path, KEY)
        verdict = await store.audit.verify()
        await store.close()
        assert not verdict.ok and verdict.broken_id == forged_id, verdict
        tamper(path, f"DELETE FROM audit WHERE id = {forged_id}")


async def test_a_fresh_trail_accepts_no_unchained_row(store: Store) -> None:
    tamper(
        store.path,
        "INSERT INTO audit (id, ts_ms, room_id, sender, event_id, command, args, outcome,"
        " duration_ms) VALUES (-1, 1, '!r', '@m:x.org', '$f', 'x', '', 'ok', 1)",
    )
    verdict = await store.audit.verify()
    assert not verdict.ok and verdict.broken_id == -1


async def test_removing_the_newest_rows_breaks_the_posted_head(store: Store) -> None:
    head = await store.audit.verify()
    await store.audit.remember_posted(head.head_id, head.head_hash)
    assert (await store.audit.verify()).ok
    tamper(store.path, "DELETE FROM audit WHERE id >= 4")  # a shorter chain is still valid
    verdict = await store.audit.verify()
    assert not verdict.ok and "newest rows were removed" in verdict.problem
    assert "BROKEN" in describe(verdict)
    tamper(store.path, "UPDATE kv SET value = '3:abc:forged' WHERE key = 'audit.posted'")
    assert "posted head was changed" in (await store.audit.verify()).problem


async def test_a_missing_key_for_an_existing_chain_refuses_to_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.config import parse_config
    from bot.store.audit_key import AuditKeyError, open_store

    raw = {
        "matrix": {"homeserver": "http://h", "user_id": "@b:x.org", "password": "pw",
                   "command_rooms": ["!r:x.org"], "alert_room": "!r:x.org"},
        "access": {"admins": ["@a:x.org"]}, "data_dir": str(tmp_path / "d"),
    }  # fmt: skip
    config = parse_config(raw, {})
    with caplog.at_level(logging.WARNING, logger="bot.store.audit_key"):
        store = await open_store(config, {})  # the key is generated into the data directory
    assert "is in the data directory" in caplog.text
    await store.audit.record(ENTRY)
    await store.close()
    (tmp_path / "d" / "audit.key").unlink()
    with pytest.raises(AuditKeyError, match=r"has 1 chained rows, but its key .* is missing"):
        await open_store(config, {})
    assert not (tmp_path / "d" / "audit.key").exists()  # no new key was made up
    elsewhere = tmp_path / "keys" / "audit.key"
    elsewhere.parent.mkdir()
    elsewhere.write_text("k" * 40)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bot.store.audit_key"):
        moved = parse_config({**raw, "audit": {"key_file": str(elsewhere)}}, {})
        with pytest.raises(AuditKeyError, match="missing"):  # the chain needs its own key
            await open_store(parse_config(raw, {}), {})
        other = await open_store(moved, {})
    await other.close()
    assert "is in the data directory" not in caplog.text
