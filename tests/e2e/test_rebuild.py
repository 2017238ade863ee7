"""`!rebuild`: fix the template, rebuild, verify; a broken build is rolled back by itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_approvals import card_says, open_card, steps
from tests.support.rebuild_project import SERVE, RebuildProject
from tests.support.stack import build_busybox_image, unique_project
from tests.support.synapse import SynapseServer
from tests.support.world import World, make_world


@pytest.fixture
async def project(tmp_path: Path) -> AsyncIterator[RebuildProject]:
    """A freshly deployed app whose health check probes the wrong port (unhealthy)."""
    p = RebuildProject(tmp_path / "deploy", unique_project("opsbot-rb"), build_busybox_image())
    p.up()
    try:
        yield p
    finally:
        p.down()


@pytest.fixture
async def rw(
    synapse: SynapseServer, project: RebuildProject, tmp_path: Path
) -> AsyncIterator[World]:
    world = await make_world(synapse, tmp_path, project.project)
    yield world
    await world.close()


def rebuild_config(
    world: World, project: RebuildProject, steps: list[list[str]] | None = None
) -> dict[str, Any]:
    """Rebuild settings for the project (the default rollback); alice and bob are admins,
    mallory an operator."""
    ids = {name: p.user_id for name, p in world.people.items()}
    return {
        "approvals": {"timeout": "120s", "grace": "1s"},
        "health_wait": "20s",
        "rebuild": {
            "workdir": str(project.workdir),
            "steps": steps or project.steps(),
            "timeout": "5m",
        },
        "access": {
            "admins": [ids["alice"], ids["bob"]],
            "operators": [ids["mallory"]],
            "viewers": [ids["carol"]],
        },
    }


async def test_rebuild_deploys_a_template_fix(rw: World, project: RebuildProject) -> None:
    """The incident's health check fix goes templates → build → deploy and becomes healthy."""
    bot = await rw.bot(**rebuild_config(rw, project))
    alice, bob, carol, mallory = (rw.people[n] for n in ("alice", "bob", "carol", "mallory"))
    old = project.container()
    project.write(probe_port=8000, command=SERVE)  # the fix, made in the template only

    _, card = await open_card(alice, rw.room_id, "!rebuild app")
    body = card["content"]["body"]
    assert "rebuild `app` in" in body and "`sh render.sh` → `" in body
    assert "Who may approve: an admin" in body
    await mallory.react(rw.room_id, card["event_id"], "👍")  # an operator may not
    await carol.react(rw.room_id, card["event_id"], "👍")  # nor a viewer
    await bob.react(rw.room_id, card["event_id"], "✅")  # the second admin may
    progress = await card_says(alice, rw.room_id, card["event_id"], "output:", 120)
    assert "running" in progress
    final = await card_says(alice, rw.room_id, card["event_id"], "rebuilt and healthy", 180)
    assert "done" in final
    new = project.container()
    assert new["Id"] != old["Id"]
    assert "http://127.0.0.1:8000/" in " ".join(new["Config"]["Healthcheck"]["Test"])
    assert new["State"]["Health"]["Status"] == "healthy"
    request_id = card["content"]["org.opsbot.request"]["id"]
    recorded = steps(bot.audit_rows(), request_id)
    assert recorded[:3] == ["requested", "ignored", "ignored"]
    assert recorded[-3:] == ["approved", "started", "succeeded"]
    finished = [r for r in bot.audit_rows() if r["step"] == "succeeded"][-1]
    assert "$ sh render.sh" in finished["details"]  # the transcript is in the audit


async def test_an_unhealthy_rebuild_is_rolled_back_by_default(
    rw: World, project: RebuildProject
) -> None:
    """No `rebuild.rollback`, steps that name no Compose CLI, a host with whichever Compose it
    has (here only docker-compose v1): the previous image is put back and is healthy again."""
    project.write(probe_port=8000, command=SERVE)
    project.up()  # a healthy baseline
    bot = await rw.bot(**rebuild_config(rw, project, project.scripted_steps()))
    alice, bob = rw.people["alice"], rw.people["bob"]
    old_image = project.container()["Image"]
    project.write(probe_port=8000, command=["httpd", "-f", "-p", "8001", "-h", "/www"])
    _, card = await open_card(alice, rw.room_id, "!rebuild app")
    await bob.react(rw.room_id, card["event_id"], "👍")
    final = await card_says(alice, rw.room_id, card["event_id"], "Rolled back", 180)
    assert "`app` was rebuilt but is unhealthy" in final
    assert "the previous image" in final and "runs again — healthy" in final
    restored = project.container()
    assert restored["Image"] == old_image
    assert restored["State"]["Health"]["Status"] == "healthy"
    failed = [r for r in bot.audit_rows() if r["step"] == "failed"][-1]
    [rollback] = [line for line in failed["details"].splitlines() if "--no-build" in line]
    assert rollback.startswith("$ ") and f"-p {project.project} up -d" in rollback
    assert rollback.endswith("--no-build app  → exit 0")


async def test_bad_rebuild_requests_run_nothing(rw: World, project: RebuildProject) -> None:
    """Unknown services, shell metacharacters and a second rebuild get clear replies."""
    bot = await rw.bot(**rebuild_config(rw, project))
    alice = rw.people["alice"]
    before = project.container()["Id"]

    async def ask(text: str) -> str:
        reply = await alice.wait_reply(rw.room_id, await alice.send(rw.room_id, text))
        return str(reply["content"]["body"])

    assert "no service `ap` — did you mean `app`?" in await ask("!rebuild ap")
    assert "service names use letters" in await ask("!rebuild 'app;rm -rf /'")
    assert "service names use letters" in await ask("!rebuild $(reboot)")
    await open_card(alice, rw.room_id, "!rebuild app")
    second = await ask("!rebuild app")
    assert "`!rebuild app` by" in second and "waits for approval" in second
    assert project.container()["Id"] == before
    assert all(r["step"] in ("", "requested") for r in bot.audit_rows())
