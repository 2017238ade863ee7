"""Planted secrets of every kind never reach the bot's log, tracebacks included."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

from bot.__main__ import redact_logs
from bot.config import parse_config

PLANTED = {
    "bot password": "bot-pw-Plant3d",
    "env file value": "envfile-s3cret-value",
    "configured literal": "literal-Plant3d",
    "matrix token": "syt_b3BzYm90_AbCdEfGhIjKlMnOpQrSt_1a2B3c",
    "url credentials": "S3cretPassw0rd",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvcHNib3QifQ.c2lnbmF0dXJlc2lnbmF0dXJl",
}


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_every_log_line_is_redacted(tmp_path: Path, log_format: str) -> None:
    (tmp_path / ".credentials").write_text(f"DB_PASSWORD={PLANTED['env file value']}\n")
    raw = {
        "matrix": {"homeserver": "http://h", "user_id": "@b:x.org",
                   "password": PLANTED["bot password"], "command_rooms": ["!r:x.org"],
                   "alert_room": "!r:x.org"},
        "access": {"admins": ["@a:x.org"]},
        "redact": {"literals": [PLANTED["configured literal"]], "env_files": [".credentials"]},
    }  # fmt: skip
    config = parse_config(raw, {}, base=tmp_path)
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root.addHandler(handler)
    saved = [(h, h.formatter) for h in root.handlers]
    try:
        redact_logs(config, log_format)
        log = logging.getLogger("opsbot.test")
        log.warning("login with %s, token %s", PLANTED["bot password"], PLANTED["matrix token"])
        log.warning("env %s and %s", PLANTED["env file value"], PLANTED["configured literal"])
        try:
            raise RuntimeError(f"connect postgres://synapse:{PLANTED['url credentials']}@db "
                               f"with Authorization: Bearer {PLANTED['jwt']}")  # fmt: skip
        except RuntimeError:
            log.exception("a crash")
    finally:
        for h, formatter in saved:
            h.setFormatter(formatter)
        root.removeHandler(handler)
    out = stream.getvalue()
    assert "a crash" in out and "Traceback" in out and "[REDACTED:" in out
    for kind, secret in PLANTED.items():
        assert secret not in out, kind
    if log_format == "json":  # one JSON object per event, the traceback inside it
        lines = [json.loads(line) for line in out.splitlines()]
        assert [line["level"] for line in lines] == ["WARNING", "WARNING", "ERROR"]
        assert lines[2]["message"] == "a crash" and "Traceback" in lines[2]["exception"]
        assert {"ts", "logger"} <= lines[0].keys()
