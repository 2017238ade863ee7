"""`!silence`, `!silences`, `!unsilence` through the one `Alerts` object: a silence names the
service it resolved to and when it ends; unknown services, overlong silences and ending a
silence that does not exist get clear answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.alerts import Alerts
from bot.audit import Audit
from bot.core import CommandError, Role, UsageError
from bot.framework.command import Command, Context
from bot.framework.dispatcher import split_args
from bot.store import Store
from bot.text.redact import Redactor
from commands.silence import silence, silences, unsilence
from tests.unit import fakes
from tests.unit.fakes import FakeDocker, FakeService

BOB = "@bob:x.org"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(tmp_path / "opsbot.db")
    yield store
    await store.close()


@pytest.fixture
def ctx(tmp_path: Path, store: Store) -> Context:
    config = fakes.make_config(tmp_path)
    docker = FakeDocker(FakeService("web"))

    async def queue(room_id: str, content: dict[str, Any]) -> int:
        return 1

    ctx = fakes.context(config, store, docker, role=Role.OPERATOR, sender=BOB)
    audit = Audit(store, Redactor(), fakes.ignore)
    ctx.alerts = Alerts(config, docker, store, queue, audit, Redactor())
    return ctx


async def ask(ctx: Context, cmd: Command, args: str = "") -> Any:
    """`!<cmd> <args>`, bound as the dispatcher binds it."""
    return await cmd.handler(ctx, **cmd.bind(split_args(args)))


async def test_a_silence_names_the_service_its_length_reason_and_end(ctx: Context) -> None:
    said = await ask(ctx, silence, "stack-web-1 2h fixing the port")
    assert said.startswith("🔕 alerts for `web` silenced for 2h (fixing the port), until ")
    assert said.endswith(" UTC")
    [listed] = (await ask(ctx, silences)).splitlines()
    assert listed.startswith("🔕 `web` until ") and listed.endswith(f"by {BOB} — fixing the port")


async def test_all_silences_every_alert(ctx: Context) -> None:
    assert (await ask(ctx, silence, "all 30m")).startswith("🔕 all alerts silenced for 30m, ")


async def test_no_silences(ctx: Context) -> None:
    assert await ask(ctx, silences) == "No silences."


async def test_unsilence_ends_it_once(ctx: Context) -> None:
    await ask(ctx, silence, "web 1h")
    assert await ask(ctx, unsilence, "web") == "🔔 alerts for `web` are on again"
    assert await ask(ctx, silences) == "No silences."
    with pytest.raises(UsageError, match="`web` is not silenced — see `!silences`"):
        await ask(ctx, unsilence, "web")


async def test_at_most_seven_days(ctx: Context) -> None:
    with pytest.raises(UsageError, match="a silence lasts at most 7d"):
        await ask(ctx, silence, "web 8d")


async def test_an_unknown_service_is_refused(ctx: Context) -> None:
    with pytest.raises(UsageError, match="no service `wbe`"):
        await ask(ctx, silence, "wbe 1h")


async def test_without_alerting_it_says_so(ctx: Context) -> None:
    ctx.alerts = None
    with pytest.raises(CommandError, match="alerting is not running"):
        await ask(ctx, silences)
