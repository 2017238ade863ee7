"""A person asks the bot about the incident stack, in a real room on a real Synapse."""

from __future__ import annotations

import re
from typing import Any

from tests.support.person import Person, reply_to
from tests.support.stack import ComposeStack
from tests.support.world import World


async def ask(person: Person, room_id: str, text: str, timeout: float = 30.0) -> dict[str, Any]:
    """Send a command and return the bot's reply (the first message in its thread)."""
    event_id = await person.send(room_id, text)
    return await person.wait_reply(room_id, event_id, timeout=timeout)


def body(event: dict[str, Any]) -> str:
    return str(event["content"]["body"])


async def test_reply_shape_and_help(world: World) -> None:
    """Replies are notices in the command's thread, with HTML and no mentions."""
    await world.bot()
    alice = world.people["alice"]
    command = await alice.send(world.room_id, "!help")
    reply = await alice.wait_reply(world.room_id, command, timeout=30)
    content = reply["content"]
    assert reply["sender"] == world.bot_user
    assert content["msgtype"] == "m.notice"
    assert content["m.mentions"] == {}
    assert content["m.relates_to"]["rel_type"] == "m.thread"
    assert content["m.relates_to"]["event_id"] == command
    assert content["format"] == "org.matrix.custom.html"
    assert "<li>" in content["formatted_body"]
    for usage in ("!status [service]", "!logs <service>", "!audit [count]"):
        assert usage in content["body"]

    carol_help = body(await ask(world.people["carol"], world.room_id, "!help"))
    assert "!logs <service>" in carol_help
    assert "!audit" not in carol_help  # viewers only see what they may use

    detail = body(await ask(alice, world.room_id, "!help logs"))
    assert "--grep REGEX" in detail and "viewer" in detail and "Example: `!logs" in detail
    assert "did you mean `!status`" in body(await ask(alice, world.room_id, "!stauts"))


async def test_access_token_login(world: World) -> None:
    """The bot can log in with an access token (and its device) instead of a password."""
    await world.bot(token_login=True)
    alice = world.people["alice"]
    reply = await ask(alice, world.room_id, "!help status")
    assert reply["sender"] == world.bot_user
    assert "`!status [service]`" in body(reply)


async def test_status_classifies_the_incident_stack(world: World, stack: ComposeStack) -> None:
    """Healthy, unhealthy (wrong port), crash-looping and unchecked services are told apart."""
    await world.bot()
    alice = world.people["alice"]
    # Ask while authelia sits in Docker's restart back-off, as it does most of the time.
    for _ in range(5):
        stack.wait_for(lambda: stack.container("authelia")["State"]["Restarting"], 60, "restarting")
        text = body(await ask(alice, world.room_id, "!status"))
        if "authelia — restarting" in text:
            break
    lines = text.splitlines()
    assert lines[0] == "2/5 healthy · 1 unhealthy · 1 restarting · 1 without health check", text
    assert re.fullmatch(r"🔴 authelia — restarting \(exit 1\)", lines[1]), text
    assert re.fullmatch(r"🟠 seafile — unhealthy · up \S+", lines[2]), text
    assert re.fullmatch(r"Healthy \(2\): synapse \(\S+\), web \(\S+\)", lines[3]), text
    assert re.fullmatch(r"Running without health check \(1\): litellm \(\S+\)", lines[4]), text


async def test_status_of_one_service_shows_the_failing_probe(world: World) -> None:
    """`!status seafile` makes the wrong-port health check obvious."""
    await world.bot()
    alice = world.people["alice"]
    text = body(await ask(alice, world.room_id, "!status seafile"))
    assert "running · unhealthy (failing streak" in text
    assert "health check: `wget -q -O /dev/null http://127.0.0.1:80/`" in text
    assert "Connection refused" in text
    assert "hint: the health check probes :80 and the connection is refused" in text

    looping = body(await ask(alice, world.room_id, "!status synapse"))
    assert "depends on: authelia (" in looping  # read from the compose file (compose v1)
    unchecked = body(await ask(alice, world.room_id, "!status litellm"))
    assert "health check: none" in unchecked
    assert "depends on: web (healthy" in unchecked

    assert "no service `sefile` — did you mean `seafile`?" in body(
        await ask(alice, world.room_id, "!status sefile")
    )
    bad = body(await ask(alice, world.room_id, "!status ../etc"))
    assert "service names use letters" in bad and "usage: `!status [service]`" in bad


async def test_logs_show_the_fatal_line_and_hide_secrets(world: World) -> None:
    """`!logs` returns the crash reason with the printed password redacted."""
    await world.bot()
    alice = world.people["alice"]
    reply = await ask(alice, world.room_id, "!logs authelia 6")
    text, html = body(reply), reply["content"]["formatted_body"]
    assert "level=fatal" in text
    for secret in ("hunter2hunter2", "S3cretPassw0rd"):
        assert secret not in text and secret not in html
    assert "[REDACTED:" in text
    assert "<pre><code>" in html

    grep = body(await ask(alice, world.room_id, "!logs authelia --grep fatal --since 1h"))
    assert "matching `fatal`" in grep
    assert all("fatal" in line for line in grep.splitlines()[1:])

    assert "lines must be between 1 and 2000" in body(
        await ask(alice, world.room_id, "!logs authelia 5000")
    )
    assert "not a valid regular expression" in body(
        await ask(alice, world.room_id, "!logs authelia --grep (")
    )
    assert "expected a duration" in body(await ask(alice, world.room_id, "!logs web --since soon"))


async def test_long_logs_come_as_a_file(world: World) -> None:
    """More than 40 lines: the last lines inline and the whole text as an m.file."""
    await world.bot()
    alice = world.people["alice"]
    command = await alice.send(world.room_id, "!logs litellm 100")
    reply = await alice.wait_reply(world.room_id, command)
    assert "full output is attached" in body(reply)
    assert "litellm: request 120 served" in body(reply)
    attachment = await alice.wait_for(
        lambda e: (
            e.get("content", {}).get("msgtype") == "m.file"
            and e["content"].get("m.relates_to", {}).get("event_id") == command
        ),
        world.room_id,
    )
    assert attachment["content"]["filename"] == "litellm.log"
    assert attachment["content"]["url"].startswith("mxc://")


async def test_stranger_is_refused_politely_once_and_audited(world: World) -> None:
    """A user in no access list gets one polite refusal; every attempt is audited."""
    bot = await world.bot()
    mallory = world.people["mallory"]
    first = await mallory.send(world.room_id, "!logs authelia")
    refusal = await mallory.wait_reply(world.room_id, first)
    assert "I only take commands from the people listed" in body(refusal)
    second = await mallory.send(world.room_id, "!status")
    # Wait for the second attempt to be audited, then make sure it got no reply.
    alice = world.people["alice"]
    await ask(alice, world.room_id, "!help")
    rows = {r["event_id"]: r for r in bot.audit_rows()}
    for event_id in (first, second):
        assert rows[event_id]["outcome"] == "denied"
        assert rows[event_id]["sender"] == mallory.user_id
    assert rows[first]["command"] == "logs" and rows[first]["args"] == "authelia"
    await mallory.sync()
    assert mallory.find(reply_to(second), world.room_id) is None

    carol = world.people["carol"]
    assert "`!audit` needs the admin role; you are a viewer" in body(
        await ask(carol, world.room_id, "!audit")
    )
    audit = body(await ask(alice, world.room_id, "!audit 20"))
    assert f"{mallory.user_id} !logs authelia → denied" in audit


async def test_docker_unreachable_is_a_clear_reply(world: World) -> None:
    """Without a Docker engine the bot still answers, and says what is wrong."""
    await world.bot(docker={"url": "unix:///nonexistent/docker.sock"})
    alice = world.people["alice"]
    text = body(await ask(alice, world.room_id, "!status"))
    assert text == (
        "Docker engine unreachable at unix:///nonexistent/docker.sock: No such file or directory"
    )
    assert "Traceback" not in body(await ask(alice, world.room_id, "!logs web"))


async def test_scopes_limit_what_a_user_may_act_on(world: World) -> None:
    """An operator scoped to seafile may look at it, and is told why authelia is refused."""
    ids = {n: p.user_id for n, p in world.people.items()}
    await world.bot(
        access={
            "admins": [ids["alice"]],
            "operators": [ids["bob"]],
            "scopes": {ids["bob"]: {"services": ["seafile", "lite*"]}},
        }
    )
    bob = world.people["bob"]
    assert "`seafile` — last" in body(await ask(bob, world.room_id, "!logs seafile 3"))
    refused = body(await ask(bob, world.room_id, "!restart authelia"))
    assert refused == "`!restart authelia` is outside your scope (seafile, lite*); ask an admin"


async def test_power_levels_as_a_role_source_in_a_v12_room(world: World) -> None:
    """The v12 room's creator (listed in no power levels) is an admin; PL 50 makes an operator."""
    alice, bob, carol = (world.people[n] for n in ("alice", "bob", "carol"))
    levels = await alice.client.room_get_state_event(world.room_id, "m.room.power_levels")
    content = dict(levels.content)
    assert alice.user_id not in content.get("users", {})  # room v12: creators are not listed
    content["users"] = {**content.get("users", {}), bob.user_id: 50}
    await alice.client.room_put_state(world.room_id, "m.room.power_levels", content)
    await world.bot(access={"viewers": ["@nobody:localhost"],
                            "power_levels": {"operator": 50, "admin": 100}})  # fmt: skip
    assert body(await ask(alice, world.room_id, "!audit verify")).startswith("audit trail OK")
    assert "No silences." in body(await ask(bob, world.room_id, "!silences"))
    refused = body(await ask(carol, world.room_id, "!silences"))
    assert "I only take commands from the people listed" in refused
