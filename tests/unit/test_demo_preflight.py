"""`opsbot demo` on a machine that lacks Docker or Compose says what is missing, at once."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from bot.__main__ import main


def test_without_docker_the_demo_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("bot.demo.stack.shutil.which", lambda name: None)
    assert main(["demo", "--exit"]) == 1
    out = capsys.readouterr().out
    assert "opsbot demo failed: the demo needs Docker" in out
    assert "starting" not in out  # nothing was started


def test_without_compose_the_demo_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(
        "bot.demo.stack.shutil.which", lambda name: "/usr/bin/docker" if name == "docker" else None
    )

    def no_plugin(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
        return subprocess.CompletedProcess(cmd, 1, b"", b"docker: 'compose' is not a command")

    monkeypatch.setattr("bot.demo.stack.subprocess.run", no_plugin)
    assert main(["demo", "--exit"]) == 1
    assert "needs Docker Compose" in capsys.readouterr().out
