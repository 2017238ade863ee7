"""deploy/compose.yaml says what the tests prove: the socket proxy allows exactly the switches
the haproxy end-to-end test runs the bot through, and the bot runs locked down."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.support.haproxy import MINIMAL

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    return data


def test_the_proxy_allows_exactly_the_proven_switches() -> None:
    env = compose()["services"]["docker-proxy"]["environment"]
    assert {k: bool(v) for k, v in env.items()} == MINIMAL
    assert compose()["services"]["docker-proxy"]["volumes"] == [
        "/var/run/docker.sock:/var/run/docker.sock:ro"
    ]


def test_the_bot_is_locked_down_and_reaches_docker_only_through_the_proxy() -> None:
    services = compose()["services"]
    bot = services["opsbot"]
    assert bot["read_only"] is True and bot["cap_drop"] == ["ALL"]
    assert not any("docker.sock" in v for v in bot["volumes"])
    assert "opsbot-internal" in bot["networks"]
    assert compose()["networks"]["opsbot-internal"]["internal"] is True
    assert services["docker-proxy"]["networks"] == ["opsbot-internal"]
    secrets = {k: v for k, v in bot["environment"].items() if k != "OPSBOT_HTTP_LISTEN"}
    assert secrets and all(str(v).startswith("${") for v in secrets.values())  # from .env
