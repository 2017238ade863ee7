"""A password that compose substituted into a health check never reaches the room.

`redis-cli -a <password> ping`, `mysqladmin ping -p<password>`, `curl -u user:password` are the
health checks real stacks have; `!status <svc>` shows the health-check command and its probe
output, so both must be redacted argument by argument.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.stack import ComposeStack, build_busybox_image, unique_project
from tests.support.synapse import SynapseServer
from tests.support.world import World, make_world

REDIS_PASSWORD = "Kq7vXw2mRt9z"  # looks like nothing the generic patterns know
MYSQL_PASSWORD = "pW4nQ8jLs3"
CURL_PASSWORD = "zT6hY1cVb0"
PROBE = (
    f"redis-cli -a {REDIS_PASSWORD} ping || mysqladmin ping -uroot -p{MYSQL_PASSWORD}"
    f" || curl -fsu monitor:{CURL_PASSWORD} http://127.0.0.1:8000/ || echo probe failed; exit 1"
)


@pytest.fixture(scope="module")
def leaky(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeStack]:
    """A cache whose health check carries its password, failing (so its output is shown)."""
    service = {
        "image": build_busybox_image(),
        "network_mode": "none",
        "command": ["sleep", "3600"],
        "healthcheck": {"test": ["CMD-SHELL", PROBE], "interval": "1s", "timeout": "2s",
                        "retries": 1},
    }  # fmt: skip
    stack = ComposeStack(
        unique_project("opsbot-leak"), {"cache": service}, tmp_path_factory.mktemp("leak")
    )
    stack.up()
    try:
        stack.wait_for(lambda: stack.health("cache") == "unhealthy", 60, "cache unhealthy")
        yield stack
    finally:
        stack.down()


@pytest.fixture
async def lw(synapse: SynapseServer, leaky: ComposeStack, tmp_path: Path) -> AsyncIterator[World]:
    world = await make_world(synapse, tmp_path, leaky.project)
    yield world
    await world.close()


async def test_status_never_shows_a_health_check_password(lw: World) -> None:
    await lw.bot()
    carol = lw.people["carol"]
    reply = await carol.wait_reply(lw.room_id, await carol.send(lw.room_id, "!status cache"))
    content = reply["content"]
    shown = content["body"] + content.get("formatted_body", "")
    assert "health check:" in content["body"] and "redis-cli -a" in content["body"]
    for secret in (REDIS_PASSWORD, MYSQL_PASSWORD, CURL_PASSWORD):
        assert secret not in shown, shown
    assert "[REDACTED" in content["body"]
