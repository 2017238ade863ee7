"""Smoke tests for the e2e support code: real Synapse, nio persons and a compose incident stack."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support.person import Person
from tests.support.stack import (
    ComposeStack,
    build_busybox_image,
    incident_stack_services,
    unique_project,
)
from tests.support.synapse import SynapseServer


async def test_synapse_and_persons(tmp_path: Path) -> None:
    """Two persons talk in a private room, and sync keeps working across a restart."""
    server = SynapseServer(tmp_path / "hs")
    server.start()
    alice = bob = None
    try:
        admin = server.register("admin", "admin-pw", admin=True)
        a = server.register("alice", "alice-pw")
        b = server.register("bob", "bob-pw")
        server.override_ratelimit(admin["access_token"], a["user_id"])
        alice = Person(server.url, a["user_id"], a["access_token"], a["device_id"])
        bob = Person(server.url, b["user_id"], b["access_token"], b["device_id"])
        await alice.start()
        await bob.start()

        room_id = await alice.create_room("ops", invite=[b["user_id"]])
        await bob.join(room_id)
        root = await alice.send(room_id, "status please")
        got = await bob.wait_for(lambda e: e.get("event_id") == root, room_id)
        assert got["content"]["body"] == "status please"
        assert got["sender"] == a["user_id"]

        port = server.port
        server.stop()
        server.start()
        assert server.port == port

        reply = await alice.send(room_id, "all green", thread_root=root)
        got = await bob.wait_reply(room_id, root)
        assert got["event_id"] == reply
        assert got["content"]["m.relates_to"]["rel_type"] == "m.thread"
    finally:
        for person in (alice, bob):
            if person is not None:
                await person.close()
        server.stop()


def test_incident_stack(tmp_path: Path) -> None:
    """The incident stack shows a healthy, an unhealthy and a crash-looping service."""
    image = build_busybox_image()
    stack = ComposeStack(unique_project(), incident_stack_services(image), tmp_path)
    try:
        stack.up()
        stack.wait_for(lambda: stack.health("seafile") == "unhealthy", 30, "seafile unhealthy")
        stack.wait_for(lambda: stack.health("web") == "healthy", 30, "web healthy")

        def authelia_restarted() -> bool:
            state = stack.container("authelia")
            return bool(state["RestartCount"] >= 1 or state["State"]["Restarting"])

        stack.wait_for(authelia_restarted, 30, "authelia restarted")
        probe = stack.container("seafile")["State"]["Health"]["Log"][-1]["Output"]
        assert "Connection refused" in probe
        assert "level=fatal" in stack.logs("authelia")
        assert stack.health("litellm") is None
    finally:
        stack.down()


def test_more_engines_on_one_machine(tmp_path: Path) -> None:
    """Two extra Docker engines, each in its own network namespace, run containers of their
    own from an image copied in; stopping them leaves the host's interfaces as they were."""
    from tests.support.engines import engines

    image = build_busybox_image()
    with engines(tmp_path, "core2", "media") as (core2, media):
        core2.load(image)
        run = core2.docker("run", "-d", "--name", "probe", "--network", "none", image,
                           "sleep", "600")  # fmt: skip
        assert run.returncode == 0, run.stderr
        listed = core2.docker("ps", "--format", "{{.Names}}").stdout.split()
        assert listed == ["probe"]
        assert media.docker("ps", "-aq").stdout.strip() == ""  # engines share nothing
        images = media.docker("images", "-q").stdout.strip()
        assert images == ""  # nothing loaded there
        default = subprocess.run(["docker", "ps", "--format", "{{.Names}}"], capture_output=True,
                                 text=True, check=True).stdout.split()  # fmt: skip
        assert "probe" not in default
