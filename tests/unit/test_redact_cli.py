"""`opsbot redact --config PATH`: stdin to stdout with the config's rules, like the running bot."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.text.redact_cli import CHUNK, chunks

CONFIG = """\
matrix:
  homeserver: https://matrix.example.org
  user_id: "@opsbot:example.org"
  command_rooms: ["!ops:example.org"]
  alert_room: "!ops:example.org"
access:
  admins: ["@alice:example.org"]
redact:
  literals: ["liter&l-Plant3d"]
  env_files: [.credentials]
"""
LOG = """\
web-1 started, login as @opsbot with {bot} on https://matrix.example.org
db: connecting with pw {env}
smtp: password is liter&amp;l-Plant3d (html), liter%26l-Plant3d (url)
redis-cli -a Zr8dKq2pLw9x ping
key:
-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
-----END OPENSSH PRIVATE KEY-----
GET /api/v1/users 200 12ms \x1b[32mok\x1b[0m
"""
SECRETS = ("Plant3d", "Zr8dKq2pLw9x", "b3BlbnNzaC1rZXkt")


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A valid config whose bot password comes from the environment, as in production."""
    (tmp_path / ".credentials").write_text("DB_PASSWORD=env-Pw-Plant3d\n")
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    monkeypatch.setenv("OPSBOT_MATRIX_PASSWORD", "bot-Pw-Plant3d")
    return path


def test_redacts_stdin_with_the_configs_rules(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    log = LOG.format(bot="bot-Pw-Plant3d", env="env-Pw-Plant3d")
    monkeypatch.setattr(sys, "stdin", io.StringIO(log))
    assert main(["redact", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    for secret in SECRETS:
        assert secret not in out, secret
    assert "redis-cli -a [REDACTED:cli-password] ping" in out
    assert "key:\n[REDACTED:private-key]\nGET /api/v1/users 200 12ms ok\n" in out
    assert out.count("[REDACTED:literal]") == 4 and out.startswith("web-1 started, login as")


def test_a_bad_config_is_reported_like_check_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("matrix:\n  homeserver: matrix.example.org\n  pasword: x\n")
    monkeypatch.setattr(sys, "stdin", io.StringIO("password=hunter2hunter2\n"))
    assert main(["redact", "--config", str(bad)]) == 1
    redact = capsys.readouterr()
    assert main(["check-config", str(bad)]) == 1
    assert redact.err == capsys.readouterr().err and "matrix.pasword" in redact.err
    assert redact.out == ""


def test_help_describes_it(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["redact", "--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "usage: opsbot redact [-h] --config CONFIG" in text
    assert "redact.literals" in text and "redact.env_files" in text and "stdin" in text
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "opsbot redact --config PATH" in " ".join(capsys.readouterr().out.split())


def test_pieces_end_at_blank_lines_and_keep_every_line() -> None:
    lines = ["x" * 1000 + "\n"] * (3 * CHUNK // 1000) + ["\n", "tail\n"]
    lines[CHUNK // 1000 + 5] = "\n"
    pieces = list(chunks(lines))
    assert "".join(pieces) == "".join(lines)
    assert all(piece.endswith("\n\n") for piece in pieces[:-1]) and len(pieces) >= 2


def test_the_console_command_streams_megabytes(config: Path) -> None:
    """`python -m bot redact` in a real process: bytes that are not UTF-8 pass through too."""
    block = "password=hunter2hunter2 seen\nordinary line \xe9\n\n".encode() + b"\xff raw\n\n"
    done = subprocess.run(
        [sys.executable, "-m", "bot", "redact", "--config", str(config)],
        input=block * 50_000,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    expected = (
        "password=[REDACTED:kv-secret] seen\nordinary line \xe9\n\n".encode() + b"\xff raw\n\n"
    )
    assert done.stdout == expected * 50_000
