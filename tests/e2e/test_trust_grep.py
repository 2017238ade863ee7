"""A viewer's `--grep` cannot freeze the bot: while `(a+)+$` meets a line of `a`s ending in `!`
(catastrophic for a backtracking engine: ~2**50 steps, holding the GIL) the bot answers `!status`.

The bot runs as a process of its own here, so a frozen bot fails the test by its silence instead
of freezing the test's own event loop with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.person import Person
from tests.support.stack import ComposeStack, _service, build_busybox_image, unique_project
from tests.support.synapse import SynapseServer
from tests.support.world import World, make_world

AS = "a" * 50
CHATTY = ["sh", "-c", f"echo '{AS}!'; echo aaaa; exec sleep 100000"]


@pytest.fixture(scope="module")
def chatty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeStack]:
    """One service that has logged the line that makes `(a+)+$` backtrack, then a short one."""
    services = {"chatty": _service(build_busybox_image(), CHATTY)}
    stack = ComposeStack(unique_project(), services, tmp_path_factory.mktemp("grep-stack"))
    stack.up()
    try:
        stack.wait_for(lambda: "aaaa\n" in stack.logs("chatty"), 60, "chatty logged")
        yield stack
    finally:
        stack.down()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


@contextlib.asynccontextmanager
async def bot_process(world: World, tmp_path: Path) -> AsyncIterator[None]:
    """`python -m bot --config FILE` for this world; yields once /healthz says it is connected."""
    port = free_port()
    config: dict[str, Any] = {**world.raw_config(), "http": {"listen": f"127.0.0.1:{port}"}}
    path = tmp_path / "config.yaml"
    path.write_text(json.dumps(config))  # JSON is YAML
    log = (tmp_path / "bot.log").open("wb")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "--config", str(path),
        stdout=log, stderr=log, env={**os.environ, "OPSBOT_LOG_LEVEL": "DEBUG"},
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/healthz"
        async with asyncio.timeout(60):
            while not await asyncio.to_thread(healthy, url):
                assert proc.returncode is None, (tmp_path / "bot.log").read_text()
                await asyncio.sleep(0.2)
        yield
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 20)
        except TimeoutError:
            proc.kill()  # a bot frozen in a regex cannot even handle SIGTERM
            await proc.wait()
        log.close()


async def test_a_catastrophic_grep_does_not_freeze_the_bot(
    synapse: SynapseServer, chatty: ComposeStack, tmp_path: Path
) -> None:
    world = await make_world(synapse, tmp_path, chatty.project)
    try:
        async with bot_process(world, tmp_path):
            carol: Person = world.people["carol"]  # a viewer: the least a user can be
            grep = await carol.send(world.room_id, "!logs chatty --grep '(a+)+$'")
            status = await carol.send(world.room_id, "!status")
            answer = await carol.wait_reply(world.room_id, status, timeout=5)
            assert "chatty" in answer["content"]["body"]
            found = await carol.wait_reply(world.room_id, grep, timeout=10)
            assert found["content"]["body"] == "`chatty` — last 1 line matching `(a+)+$`:\naaaa"
    finally:
        await world.close()
