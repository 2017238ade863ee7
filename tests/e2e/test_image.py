"""The Docker image: built here on a locally made base, run as non-root with a read-only root
filesystem against the test Synapse and Docker; its HEALTHCHECK tells connected from not."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.image import opsbot_image
from tests.support.synapse import free_port
from tests.support.world import World

SOCKET = "/var/run/docker.sock"


@pytest.fixture(scope="module")
def image() -> str:
    return opsbot_image()


def inspect(name: str) -> dict[str, Any]:
    out = subprocess.run(["docker", "inspect", name], capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(out.stdout)[0]
    return result


@pytest.fixture
def run_bot(image: str, tmp_path: Path) -> Iterator[Any]:
    """Start the image like deploy/compose.yaml does (plus host networking to reach the test
    Synapse on 127.0.0.1); remove the containers afterwards."""
    names: list[str] = []

    def run(config: dict[str, Any]) -> str:
        name = f"opsbot-image-test-{uuid.uuid4().hex[:6]}"
        conf, data = tmp_path / name / "config", tmp_path / name / "data"
        conf.mkdir(parents=True)
        data.mkdir()
        os.chown(data, 10001, 10001)  # the image's user owns its data volume
        (conf / "config.yaml").write_text(yaml.safe_dump({**config, "data_dir": "/data"}))
        subprocess.run(
            ["docker", "run", "-d", "--name", name, "--read-only", "--network", "host",
             "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
             "-v", f"{conf}:/config:ro", "-v", f"{data}:/data",
             "-v", f"{SOCKET}:{SOCKET}", "--group-add", str(os.stat(SOCKET).st_gid),
             "-e", f"OPSBOT_HTTP_LISTEN=127.0.0.1:{free_port()}",
             "--health-interval", "1s", "--health-start-period", "0s", "--health-retries", "2",
             image],
            check=True, capture_output=True,
        )  # fmt: skip
        names.append(name)
        return name

    yield run
    for name in names:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)


def health(name: str, want: str, timeout: float = 90) -> dict[str, Any]:
    """Wait until Docker reports the container's health as ``want``; return its State."""
    deadline = time.monotonic() + timeout
    while True:
        state = inspect(name)["State"]
        if (state.get("Health") or {}).get("Status") == want:
            return dict(state)
        logs = subprocess.run(["docker", "logs", "--tail", "30", name], capture_output=True,
                              text=True, check=False)  # fmt: skip
        assert state["Running"], f"the bot exited:\n{logs.stdout}{logs.stderr}"
        assert time.monotonic() < deadline, f"{state.get('Health')}\n{logs.stderr}"
        time.sleep(0.5)


def test_the_image_runs_as_a_non_root_user(image: str) -> None:
    config = inspect(image)["Config"]
    assert config["User"] == "opsbot"
    assert config["Healthcheck"]["Test"] == ["CMD", "opsbot", "healthcheck"]
    uid = subprocess.run(["docker", "run", "--rm", "--entrypoint", "id", image, "-u"],
                         capture_output=True, text=True, check=True)  # fmt: skip
    assert uid.stdout.strip() == "10001"


async def test_the_image_works_read_only_and_reports_healthy(world: World, run_bot: Any) -> None:
    name = run_bot(world.raw_config())
    state = await asyncio.to_thread(health, name, "healthy")
    assert "connected to Matrix and Docker" in state["Health"]["Log"][-1]["Output"]
    carol = world.people["carol"]
    reply = await carol.wait_reply(world.room_id, await carol.send(world.room_id, "!status"), 60)
    assert "healthy" in reply["content"]["body"]
    assert inspect(name)["HostConfig"]["ReadonlyRootfs"] is True


async def test_the_healthcheck_fails_without_docker(world: World, run_bot: Any) -> None:
    name = run_bot(world.raw_config(docker={"url": "unix:///nonexistent/docker.sock"}))
    state = await asyncio.to_thread(health, name, "unhealthy")
    assert "docker:" in state["Health"]["Log"][-1]["Output"]
