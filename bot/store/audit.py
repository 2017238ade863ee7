"""The audit trail: one row per command, refused attempt and approval step, each row chained
to the one before by an HMAC, so a rewritten, removed or inserted row is detectable."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import astuple, dataclass

import aiosqlite

GENESIS = "0" * 64

OUTCOMES = ("ok", "denied", "usage-error", "error")
COLUMNS = (
    "ts_ms, room_id, sender, event_id, command, args, outcome, duration_ms, details,"
    " step, request_id, target"
)


@dataclass(frozen=True)
class AuditEntry:
    """One handled (or refused) command, or one step of an approval request."""

    ts_ms: int
    room_id: str
    sender: str
    event_id: str
    command: str
    args: str
    outcome: str
    duration_ms: int
    details: str = ""
    step: str = ""  # requested, approved, rejected, expired, started, succeeded, failed, ignored
    request_id: str = ""
    target: str = ""  # the service acted on, if any


@dataclass(frozen=True)
class Verdict:
    """The result of re-computing the chain."""

    ok: bool
    rows: int
    head_id: int
    head_hash: str
    broken_id: int | None = None  # the first row that does not match
    unchained: int = 0  # rows written before the chain existed (schema version < 4)


def describe(v: Verdict) -> str:
    """A verdict in one line, for people."""
    legacy = f" ({v.unchained} older rows predate the chain)" if v.unchained else ""
    if v.ok:
        return f"audit trail OK: {v.rows} rows, head row {v.head_id} {v.head_hash}{legacy}"
    return (f"audit trail BROKEN at row {v.broken_id}: it was changed, inserted or a row before "
            f"it removed (last good row {v.head_id} {v.head_hash}){legacy}")  # fmt: skip


def digest(key: bytes, row_id: int, entry: AuditEntry, prev: str) -> str:
    """HMAC-SHA256 over a row's canonical content and the previous row's hash."""
    body = json.dumps([row_id, *astuple(entry), prev], ensure_ascii=False, separators=(",", ":"))
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


class AuditLog:
    """Append and read audit rows. Callers pass already-redacted text."""

    def __init__(self, db: aiosqlite.Connection, key: bytes) -> None:
        self._db = db
        self._key = key

    async def record(self, entry: AuditEntry) -> int:
        """Append one row, chained to the previous one; returns its id.

        One INSERT … SELECT reads the tail and writes the row, so concurrent writers on the
        connection can never chain two rows to the same predecessor.
        """
        if entry.outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {entry.outcome!r}")
        values = astuple(entry)
        cur = await self._db.execute(
            f"INSERT INTO audit (id, {COLUMNS}, prev_hash, hash)"
            f" SELECT n, {', '.join('?' * len(values))}, p, opsbot_chain(n, ?, p) FROM ("
            "  SELECT COALESCE(MAX(id), 0) + 1 AS n,"
            "   COALESCE((SELECT NULLIF(hash, '') FROM audit ORDER BY id DESC LIMIT 1), ?) AS p"
            "  FROM audit)",
            (*values, json.dumps(values, ensure_ascii=False), GENESIS),
        )
        await cur.close()
        return int(cur.lastrowid or 0)

    def chain(self, row_id: int, values_json: str, prev: str) -> str:
        """The SQL function `opsbot_chain`: the HMAC of a row being inserted."""
        return digest(self._key, row_id, AuditEntry(*json.loads(values_json)), prev)

    async def verify(self) -> Verdict:
        """Recompute the whole chain; the first row that does not match breaks it."""
        prev, count, unchained, head_id = GENESIS, 0, 0, 0
        async with self._db.execute(
            f"SELECT id, {COLUMNS}, prev_hash, hash FROM audit ORDER BY id"
        ) as cur:
            async for row in cur:
                row_id, fields, row_prev, row_hash = row[0], row[1:13], row[13], row[14]
                count += 1
                if not row_hash and count == unchained + 1:
                    unchained += 1  # written before the chain existed
                    continue
                entry = AuditEntry(*fields)
                if row_prev != prev or digest(self._key, row_id, entry, prev) != row_hash:
                    return Verdict(False, count, head_id, prev, row_id, unchained)
                prev, head_id = row_hash, row_id
        return Verdict(True, count, head_id, prev, None, unchained)

    async def recent(self, limit: int, target: str | None = None) -> list[AuditEntry]:
        """The newest ``limit`` rows (about ``target`` only, if given), newest first."""
        where, params = ("WHERE target = ?", (target, limit)) if target else ("", (limit,))
        async with self._db.execute(
            f"SELECT {COLUMNS} FROM audit {where} ORDER BY id DESC LIMIT ?", params
        ) as cur:
            rows = await cur.fetchall()
        return [AuditEntry(*row) for row in rows]
