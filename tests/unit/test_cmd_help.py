"""`!help`: the commands the asker may use, generated from signatures and docstrings, and one
command's usage, details, role and example."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core import Role
from bot.framework.command import Context
from bot.store import Store
from bot.text.reply import Reply
from commands.audit import audit
from commands.help import help_
from commands.logs import logs
from commands.restart import restart
from tests.unit import fakes

COMMANDS = (help_, logs, restart, audit)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(tmp_path / "opsbot.db")
    yield store
    await store.close()


def ctx_of(tmp_path: Path, store: Store, role: Role, **extra: object) -> Context:
    config = fakes.make_config(tmp_path, **extra)
    return fakes.context(config, store, role=role, commands=COMMANDS)


async def ask(ctx: Context, topic: str | None = None) -> Reply:
    return await help_.handler(ctx, topic)


async def test_lists_only_what_a_viewer_may_use_with_usage_and_summary(
    tmp_path: Path, store: Store
) -> None:
    reply = await ask(ctx_of(tmp_path, store, Role.VIEWER))
    assert reply.body.splitlines() == [
        "Commands you can use (`!help <command>` for details):",
        "!help [topic] — List the commands you may use, or show how to use one.",
        "!logs <service> [lines] [--since DURATION] [--grep REGEX] — "
        "Show the last lines of a service's log, with secrets redacted.",
    ]
    assert "<li><code>!logs &lt;service&gt; [lines]" in (reply.html or "")


async def test_an_admin_sees_every_command(tmp_path: Path, store: Store) -> None:
    body = (await ask(ctx_of(tmp_path, store, Role.ADMIN))).body
    assert [line.split()[0] for line in body.splitlines()[1:]] == [
        "!help", "!logs", "!restart", "!audit",
    ]  # fmt: skip


async def test_one_command_shows_usage_details_role_and_example(
    tmp_path: Path, store: Store
) -> None:
    body = (await ask(ctx_of(tmp_path, store, Role.VIEWER), "restart")).body
    lines = body.splitlines()
    assert lines[:2] == [
        "`!restart <service>`", "Restart a service and wait until it is healthy again."
    ]  # fmt: skip
    assert "At most `restart_budget`" in body  # the docstring's details
    assert lines[-2] == "Needs the operator role; you are a viewer."
    assert lines[-1] == "Example: `!restart seafile`"


async def test_one_command_the_asker_may_use_does_not_say_their_role(
    tmp_path: Path, store: Store
) -> None:
    body = (await ask(ctx_of(tmp_path, store, Role.ADMIN), "!LOGS")).body  # prefix and case
    assert body.startswith("`!logs <service> [lines] [--since DURATION] [--grep REGEX]`")
    assert "Needs the viewer role." in body.splitlines()


async def test_a_mistyped_command_gets_a_suggestion(tmp_path: Path, store: Store) -> None:
    reply = await ask(ctx_of(tmp_path, store, Role.VIEWER), "restrat")
    assert reply.body == "no command `!restrat` — did you mean `!help restart`?"


async def test_an_unknown_command_without_a_close_one(tmp_path: Path, store: Store) -> None:
    reply = await ask(ctx_of(tmp_path, store, Role.VIEWER), "x" * 60)
    assert reply.body == f"no command `!{'x' * 32}`"


async def test_the_configured_prefix_is_used_throughout(tmp_path: Path, store: Store) -> None:
    raw_matrix = {
        "homeserver": "http://127.0.0.1:1",
        "user_id": fakes.BOT,
        "password": "pw",
        "command_rooms": [fakes.ROOM],
        "alert_room": fakes.ROOM,
        "prefix": "?",
    }
    ctx = ctx_of(tmp_path, store, Role.ADMIN, matrix=raw_matrix)
    assert (await ask(ctx)).body.startswith("Commands you can use (`?help <command>`")
    assert (await ask(ctx, "?logs")).body.startswith("`?logs <service>")
