"""`!status` over a Docker that answers from a table: the stack with problems first, one service
in depth with its probes redacted, and clear words for an empty or unknown stack. (How each
state is phrased is specified in test_status_format.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core import UsageError
from bot.framework.arguments import Service
from bot.framework.command import Context
from bot.store import Store
from commands.status import status
from tests.unit import fakes
from tests.unit.fakes import FakeDocker, FakeService


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(tmp_path / "opsbot.db")
    yield store
    await store.close()


def ctx_of(tmp_path: Path, store: Store, docker: FakeDocker) -> Context:
    return fakes.context(fakes.make_config(tmp_path), store, docker)


async def test_the_stack_with_problems_first(tmp_path: Path, store: Store) -> None:
    docker = FakeDocker(FakeService("db"), FakeService("web", "unhealthy"),
                        FakeService("cache", "running"), FakeService("cron", "exited"))  # fmt: skip
    reply = await status.handler(ctx_of(tmp_path, store, docker))
    assert reply.body.splitlines() == [
        "1/4 healthy · 1 unhealthy · 1 exited · 1 without health check",
        "🔴 cron — exited (exit 1, 3m ago)",
        "🟠 web — unhealthy · up 2h",
        "Healthy (1): db (2h)",
        "Running without health check (1): cache (2h)",
    ]


async def test_no_containers_is_said_plainly(tmp_path: Path, store: Store) -> None:
    reply = await status.handler(ctx_of(tmp_path, store, FakeDocker()))
    assert reply.body == "No containers found in Docker."


async def test_one_service_in_depth_with_its_probe_output_redacted(
    tmp_path: Path, store: Store
) -> None:
    web = FakeService("web", "unhealthy", probes=["login failed: password=hunter2hunter2"])
    reply = await status.handler(ctx_of(tmp_path, store, FakeDocker(web)), Service("web"))
    lines = reply.body.splitlines()
    assert lines[0] == "`web` (container `stack-web-1`) — running · unhealthy (failing streak 1)"
    assert "image: `example/app:1`" in lines and lines[-1] == "depends on: nothing"
    assert "login failed: password=" in reply.body and "hunter2" not in reply.body


async def test_an_unknown_service_is_a_usage_error(tmp_path: Path, store: Store) -> None:
    with pytest.raises(UsageError, match="no service `wbe`"):
        await status.handler(ctx_of(tmp_path, store, FakeDocker()), Service("wbe"))
