"""Ordered schema migrations; entry i brings the database from user_version i to i + 1."""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: key-value state (sync token) and the command audit trail
    """
    CREATE TABLE kv (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE audit (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        ts_ms       INTEGER NOT NULL,
        room_id     TEXT NOT NULL,
        sender      TEXT NOT NULL,
        event_id    TEXT NOT NULL,
        command     TEXT NOT NULL,
        args        TEXT NOT NULL,
        outcome     TEXT NOT NULL
                    CHECK (outcome IN ('ok', 'denied', 'usage-error', 'error')),
        duration_ms INTEGER NOT NULL,
        details     TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX audit_ts ON audit (ts_ms);
    """,
    # 2: approval requests, their linked audit steps, and the outbox of messages to deliver
    """
    ALTER TABLE audit ADD COLUMN step TEXT NOT NULL DEFAULT '';
    ALTER TABLE audit ADD COLUMN request_id TEXT NOT NULL DEFAULT '';
    ALTER TABLE audit ADD COLUMN target TEXT NOT NULL DEFAULT '';
    CREATE INDEX audit_target ON audit (target, id);
    CREATE TABLE requests (
        id                TEXT PRIMARY KEY,
        created_ms        INTEGER NOT NULL,
        expires_ms        INTEGER NOT NULL,
        room_id           TEXT NOT NULL,
        thread_root       TEXT NOT NULL,
        command_event_id  TEXT NOT NULL UNIQUE,
        card_event_id     TEXT UNIQUE,
        requester         TEXT NOT NULL,
        command           TEXT NOT NULL,
        args              TEXT NOT NULL,
        service           TEXT NOT NULL,
        summary           TEXT NOT NULL,
        warning           TEXT NOT NULL DEFAULT '',
        approver_role     INTEGER NOT NULL,
        state             TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'running',
                              'succeeded', 'failed', 'rejected', 'expired')),
        approver          TEXT NOT NULL DEFAULT '',
        approval_event_id TEXT NOT NULL DEFAULT '',
        decided_ms        INTEGER,
        started_ms        INTEGER,
        finished_ms       INTEGER,
        result            TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX requests_open ON requests (state, expires_ms);
    CREATE INDEX requests_service ON requests (command, service, started_ms);
    CREATE TABLE outbox (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        created_ms INTEGER NOT NULL,
        room_id    TEXT NOT NULL,
        event_type TEXT NOT NULL,
        content    TEXT NOT NULL
    );
    """,
    # 3: alerts (one message each, incidents inside as JSON), silences; delivered outbox rows
    #    keep their event id so later edits and thread replies can point at them
    """
    ALTER TABLE outbox ADD COLUMN event_id TEXT;
    CREATE INDEX outbox_pending ON outbox (event_id, id);
    CREATE TABLE alerts (
        id        INTEGER PRIMARY KEY AUTOINCREMENT,
        outbox_id INTEGER NOT NULL,
        is_open   INTEGER NOT NULL DEFAULT 1,
        state     TEXT NOT NULL
    );
    CREATE INDEX alerts_open ON alerts (is_open);
    CREATE TABLE silences (
        service    TEXT PRIMARY KEY,
        until_ms   INTEGER NOT NULL,
        reason     TEXT NOT NULL DEFAULT '',
        created_by TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        state_then TEXT NOT NULL DEFAULT ''
    );
    """,
    # 4: the audit trail becomes tamper-evident: each row carries an HMAC-SHA256 over its
    #    content and the previous row's hash, and rows can be neither changed nor deleted
    """
    ALTER TABLE audit ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';
    ALTER TABLE audit ADD COLUMN hash TEXT NOT NULL DEFAULT '';
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    """,
    # 5: delivery attempts per outbox item (an undeliverable one is dropped, never wedges the
    #    queue), the requester's power level kept with a request (roles from power levels are
    #    re-checked with it at every step), and indexes for pruning
    """
    ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE outbox ADD COLUMN error TEXT NOT NULL DEFAULT '';
    ALTER TABLE requests ADD COLUMN requester_power INTEGER;
    CREATE INDEX outbox_created ON outbox (created_ms);
    CREATE INDEX requests_service_open ON requests (service, state);
    """,
    # 6: an approved request runs the plan made when it was asked for (two-phase commands)
    """
    ALTER TABLE requests ADD COLUMN plan_data TEXT NOT NULL DEFAULT '{}';
    """,
)
