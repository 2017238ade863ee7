"""The audit trail: one row per command, refused attempt and approval step, each row chained
to the one before by an HMAC, so a rewritten, removed or inserted row is detectable."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import astuple, dataclass, replace

from bot.store.db import Db
from bot.store.kv import Kv

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
    problem: str = ""  # what is wrong, when it is not one row (removed newest rows, …)


def describe(v: Verdict) -> str:
    """A verdict in one line, for people."""
    legacy = f" ({v.unchained} older rows predate the chain)" if v.unchained else ""
    if v.ok:
        return f"audit trail OK: {v.rows} rows, head row {v.head_id} {v.head_hash}{legacy}"
    if v.problem:
        return f"audit trail BROKEN: {v.problem} (last good row {v.head_id} {v.head_hash}){legacy}"
    return (f"audit trail BROKEN at row {v.broken_id}: it was changed, inserted or a row before "
            f"it removed (last good row {v.head_id} {v.head_hash}){legacy}")  # fmt: skip


def digest(key: bytes, row_id: int, entry: AuditEntry, prev: str) -> str:
    """HMAC-SHA256 over a row's canonical content and the previous row's hash."""
    body = json.dumps([row_id, *astuple(entry), prev], ensure_ascii=False, separators=(",", ":"))
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


LEGACY_KEY = "audit.legacy"  # kv: how many rows predate the chain, fixed at migration, signed
POSTED_KEY = "audit.posted"  # kv: the last head posted off the box, signed


class AuditLog:
    """Append and read audit rows. Callers pass already-redacted text."""

    def __init__(self, db: Db, kv: Kv, key: bytes) -> None:
        self._db = db
        self._kv = kv
        self._key = key

    def _sign(self, text: str) -> str:
        return f"{text}:{hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()}"

    def _signed(self, value: str | None) -> list[str] | None:
        """The fields of a signed kv value; None when absent or not signed with our key."""
        if not value or ":" not in value:
            return None
        text, _, mac = value.rpartition(":")
        expected = self._sign(text).rpartition(":")[2]
        return text.split(":") if hmac.compare_digest(mac, expected) else None

    async def record(self, entry: AuditEntry) -> int:
        """Append one row, chained to the previous one; returns its id.

        One INSERT … SELECT reads the tail and writes the row, so concurrent writers on the
        connection can never chain two rows to the same predecessor.
        """
        if entry.outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {entry.outcome!r}")
        values = astuple(entry)
        _, row_id = await self._db.write(
            f"INSERT INTO audit (id, {COLUMNS}, prev_hash, hash)"
            f" SELECT n, {', '.join('?' * len(values))}, p, opsbot_chain(n, ?, p) FROM ("
            "  SELECT COALESCE(MAX(id), 0) + 1 AS n,"
            "   COALESCE((SELECT NULLIF(hash, '') FROM audit ORDER BY id DESC LIMIT 1), ?) AS p"
            "  FROM audit)",
            (*values, json.dumps(values, ensure_ascii=False), GENESIS),
        )
        return row_id

    def chain(self, row_id: int, values_json: str, prev: str) -> str:
        """The SQL function `opsbot_chain`: the HMAC of a row being inserted."""
        return digest(self._key, row_id, AuditEntry(*json.loads(values_json)), prev)

    async def seal_legacy(self) -> None:
        """Fix, once (at the migration that introduces it), how many rows predate the chain:
        the unchained rows before the first chained one. Later unchained rows are forgeries."""
        row = await self._db.one(
            "SELECT COUNT(*), COALESCE(MIN(id), 0), COALESCE(MAX(id), 0) FROM audit"
            " WHERE hash = '' AND id <"
            " COALESCE((SELECT MIN(id) FROM audit WHERE hash != ''), 9223372036854775807)"
        )
        count, first, last = (int(v) for v in row) if row else (0, 0, 0)
        await self._kv.put(LEGACY_KEY, self._sign(f"{count}:{first}:{last}"))

    async def remember_posted(self, head_id: int, head_hash: str) -> None:
        """Remember the head just posted off the box: a shorter chain later is tampering."""
        await self._kv.put(POSTED_KEY, self._sign(f"{head_id}:{head_hash}"))

    async def verify(self) -> Verdict:
        """Recompute the whole chain; the first row that does not match breaks it. Unchained
        rows pass only as the rows sealed at migration; the chain must reach the posted head."""
        legacy = self._signed(await self._kv.get(LEGACY_KEY))
        legacy_rows, first, last = (int(v) for v in legacy) if legacy else (0, 0, 0)
        prev, count, unchained, head_id = GENESIS, 0, 0, 0
        async with self._db.conn.execute(
            f"SELECT id, {COLUMNS}, prev_hash, hash FROM audit ORDER BY id"
        ) as cur:
            async for row in cur:
                row_id, fields, row_prev, row_hash = row[0], row[1:13], row[13], row[14]
                count += 1
                if not row_hash and count == unchained + 1 and unchained < legacy_rows:
                    if not first <= row_id <= last:
                        return Verdict(False, count, head_id, prev, row_id, unchained)
                    unchained += 1  # written before the chain existed
                    continue
                entry = AuditEntry(*fields)
                if row_prev != prev or digest(self._key, row_id, entry, prev) != row_hash:
                    return Verdict(False, count, head_id, prev, row_id, unchained)
                prev, head_id = row_hash, row_id
        verdict = Verdict(True, count, head_id, prev, None, unchained)
        if legacy is None:
            problem = "the record of the rows older than the chain is missing or was changed"
            return replace(verdict, ok=False, problem=problem)
        return await self._against_posted(verdict)

    async def _against_posted(self, v: Verdict) -> Verdict:
        """A chain that ends before the last posted head lost its newest rows."""
        raw = await self._kv.get(POSTED_KEY)
        if raw is None:
            return v
        posted = self._signed(raw)
        if posted is None:
            return replace(v, ok=False, problem="the record of the last posted head was changed")
        posted_id, posted_hash = int(posted[0]), posted[1]
        if posted_id > v.head_id:
            problem = (f"the chain ends at row {v.head_id}, but row {posted_id} was posted as "
                       "its head: the newest rows were removed")  # fmt: skip
            return replace(v, ok=False, problem=problem)
        row = await self._db.one("SELECT hash FROM audit WHERE id = ?", (posted_id,))
        if posted_id and (row is None or row[0] != posted_hash):
            problem = f"row {posted_id} no longer has the hash that was posted for it"
            return replace(v, ok=False, broken_id=posted_id, problem=problem)
        return v

    async def recent(self, limit: int, target: str | None = None) -> list[AuditEntry]:
        """The newest ``limit`` rows (about ``target`` only, if given), newest first."""
        where, params = ("WHERE target = ?", (target, limit)) if target else ("", (limit,))
        rows = await self._db.all(
            f"SELECT {COLUMNS} FROM audit {where} ORDER BY id DESC LIMIT ?", params
        )
        return [AuditEntry(*row) for row in rows]
