"""End-to-end fixtures: a real Synapse, a real Docker stack, the bot, and people talking to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.stack import (
    ComposeStack,
    build_busybox_image,
    incident_stack_services,
    unique_project,
)
from tests.support.synapse import SynapseServer
from tests.support.world import World, make_world


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SynapseServer]:
    """One Synapse (SQLite, raised rate limits) for the whole session."""
    server = SynapseServer(tmp_path_factory.mktemp("synapse"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeStack]:
    """The incident stack: healthy, wrong-port unhealthy, crash-looping, no health check."""
    image = build_busybox_image()
    s = ComposeStack(
        unique_project(), incident_stack_services(image), tmp_path_factory.mktemp("stack")
    )
    s.up()
    try:
        s.wait_for(lambda: s.health("seafile") == "unhealthy", 60, "seafile unhealthy")
        s.wait_for(lambda: s.health("web") == "healthy", 60, "web healthy")
        s.wait_for(lambda: s.health("synapse") == "healthy", 60, "synapse healthy")
        s.wait_for(lambda: s.container("authelia")["RestartCount"] >= 1, 60, "authelia looping")
        yield s
    finally:
        s.down()


@pytest.fixture
async def world(
    synapse: SynapseServer, stack: ComposeStack, tmp_path: Path
) -> AsyncIterator[World]:
    """A fresh world on the session's Synapse, managing the incident stack."""
    w = await make_world(synapse, tmp_path, stack.project)
    yield w
    await w.close()
