"""Planted secrets of every kind never reach a reply, the log or the audit table."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.config import parse_config
from bot.text.literals import env_file_values, literal_secrets
from bot.text.redact import Redactor

ENV = """
# the deployment's credentials
export POSTGRES_PASSWORD='pg-s3cret-value'
AUTHELIA_JWT_SECRET=aVeryLongJwtSecretValue123
SEAFILE_ADMIN_EMAIL=admin@example.org
LONG_BUT_INNOCENT_NAME=this-is-some-very-long-value
PORT=8000
DEBUG=true
"""


def test_env_files_give_their_secret_looking_values(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(ENV)
    values = env_file_values(env)
    assert "pg-s3cret-value" in values and "aVeryLongJwtSecretValue123" in values
    assert "this-is-some-very-long-value" in values  # long values count whatever the key
    assert "8000" not in values and "true" not in values  # short values would eat words
    assert "admin@example.org" in values  # 17 characters: long enough


def test_config_literals_and_env_files_all_reach_the_redactor(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / ".credentials").write_text("SEAFILE_DB_PASSWORD=hunter2hunter2\n")
    raw = {
        "matrix": {"homeserver": "http://h", "user_id": "@b:x.org", "password": "bot-pw-123",
                   "command_rooms": ["!r:x.org"], "alert_room": "!r:x.org"},
        "access": {"admins": ["@a:x.org"]},
        "redact": {"literals": ["litera1-secret"], "env_files": [".credentials", "missing.env"]},
    }  # fmt: skip
    config = parse_config(raw, {}, base=tmp_path)
    assert "litera1-secret" not in repr(config)
    with caplog.at_level(logging.INFO):
        redact = Redactor(
            literal_secrets(config.secrets(), config.redact_literals, config.redact_env_files)
        )
    assert "cannot read redact.env_files entry" in caplog.text
    line = "connect bot-pw-123 litera1-secret with hunter2hunter2 as seafile"
    out = redact(line)
    for secret in ("bot-pw-123", "litera1-secret", "hunter2hunter2"):
        assert secret not in out and secret not in caplog.text
    assert out.endswith("as seafile")
