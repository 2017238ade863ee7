"""`http.listen`: /healthz tells whether the bot is connected to Matrix and Docker, /metrics
counts what it did, both read from a running bot on a real Synapse and Docker."""

from __future__ import annotations

import asyncio
import re
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.support.person import Person
from tests.support.stack import ComposeStack
from tests.support.synapse import free_port
from tests.support.world import World, own_world


def get(port: int, path: str) -> tuple[int, str]:
    """Status and body of GET http://127.0.0.1:port/path."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


async def until(port: int, path: str, status: int, timeout: float = 30) -> str:
    """Poll until the path answers ``status``; return the body."""
    deadline = time.monotonic() + timeout
    while True:
        code, body = await asyncio.to_thread(get, port, path)
        if code == status:
            return body
        assert time.monotonic() < deadline, f"{path}: still {code} {body!r}"
        await asyncio.sleep(0.3)


def value(metrics: str, sample: str) -> float:
    """The value of one sample line (name and labels exactly as exposed)."""
    found = re.search(rf"^{re.escape(sample)} (\S+)$", metrics, re.M)
    assert found, f"{sample} not in:\n{metrics}"
    return float(found.group(1))


async def test_healthz_and_metrics_of_a_working_bot(world: World) -> None:
    port = free_port()
    await world.bot(http={"listen": f"127.0.0.1:{port}"})
    assert "connected to Matrix and Docker" in await until(port, "/healthz", 200)
    carol: Person = world.people["carol"]
    for text in ("!status", "!status", "!nosuchcommand"):
        await carol.wait_reply(world.room_id, await carol.send(world.room_id, text))
    await asyncio.sleep(0.5)  # the audit row (and the count) follows the reply
    _, metrics = await asyncio.to_thread(get, port, "/metrics")
    assert value(metrics, 'opsbot_commands_total{command="status",outcome="ok"}') == 2
    assert value(metrics, 'opsbot_commands_total{command="unknown",outcome="usage-error"}') == 1
    assert value(metrics, 'opsbot_command_seconds_count{command="status"}') == 2
    assert value(metrics, 'opsbot_command_seconds_bucket{command="status",le="+Inf"}') == 2
    assert value(metrics, "opsbot_docker_connects_total") == 1
    assert value(metrics, "opsbot_outbox_depth") >= 0
    assert value(metrics, "opsbot_sync_failures_total") == 0
    # the incident stack's seafile probes the wrong port: the watcher announced it
    assert value(metrics, 'opsbot_alerts_total{kind="unhealthy"}') >= 1
    assert (await asyncio.to_thread(get, port, "/nothing"))[0] == 404


async def test_healthz_names_an_unreachable_docker(world: World, tmp_path: Path) -> None:
    port = free_port()
    missing = f"unix://{tmp_path}/no-docker.sock"
    await world.bot(http={"listen": f"127.0.0.1:{port}"}, docker={"url": missing})
    body = await until(port, "/healthz", 503)
    assert body.startswith("unhealthy: docker: ") and "no-docker.sock" in body


async def test_healthz_names_a_lost_homeserver(tmp_path: Path, stack: ComposeStack) -> None:
    async with own_world(tmp_path, stack.project) as (server, world):
        port = free_port()
        await world.bot(http={"listen": f"127.0.0.1:{port}"})
        await until(port, "/healthz", 200)
        server.stop()
        assert (await until(port, "/healthz", 503, timeout=60)).startswith("unhealthy: matrix: ")
        server.start()
        await until(port, "/healthz", 200, timeout=60)
        _, metrics = await asyncio.to_thread(get, port, "/metrics")
        assert value(metrics, "opsbot_sync_failures_total") >= 1
