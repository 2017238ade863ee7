"""`!audit`: the newest rows first (10 unless told, at most 50), only a service's rows when
named, approval steps with their request id, and `!audit verify` checking the chain."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core import Message, Role, UsageError
from bot.framework.command import Context
from bot.framework.dispatcher import split_args
from bot.store import AuditEntry, Store
from bot.text.reply import Reply
from commands.audit import audit
from tests.unit import fakes

T0 = 1_700_000_000_000  # 2023-11-14 22:13:20 UTC
BOB = "@bob:x.org"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(tmp_path / "opsbot.db", audit_key=b"k" * 32)
    yield store
    await store.close()


@pytest.fixture
def ctx(tmp_path: Path, store: Store) -> Context:
    return fakes.context(fakes.make_config(tmp_path), store)


async def ask(ctx: Context, args: str = "") -> Reply:
    """`!audit <args>`, bound as the dispatcher binds it."""
    return await audit.handler(ctx, **audit.bind(split_args(args)))


async def row(store: Store, n: int, command: str = "logs", target: str = "") -> None:
    """The ``n``-th row, ``n`` seconds after T0."""
    await store.audit.record(AuditEntry(
        ts_ms=T0 + n * 1000, room_id=fakes.ROOM, sender=BOB, event_id=f"$e{n}", command=command,
        args=target or f"arg{n}", outcome="ok", duration_ms=0, target=target,
    ))  # fmt: skip


async def test_nothing_recorded_yet(ctx: Context) -> None:
    assert (await ask(ctx)).body == "Nothing recorded."


async def test_the_last_ten_newest_first(ctx: Context, store: Store) -> None:
    for n in range(12):
        await row(store, n)
    lines = (await ask(ctx)).body.splitlines()
    assert lines[0] == "Last 10 recorded entries (UTC):"
    assert lines[1] == "2023-11-14 22:13:31Z @bob:x.org !logs arg11 → ok"
    assert lines[-1] == "2023-11-14 22:13:22Z @bob:x.org !logs arg2 → ok"
    assert len(lines) == 11


async def test_approval_steps_carry_their_request_id_duration_and_first_line_of_details(
    ctx: Context, store: Store
) -> None:
    await store.audit.record(AuditEntry(
        ts_ms=T0, room_id=fakes.ROOM, sender=BOB, event_id="$e", command="restart", args="web",
        outcome="error", duration_ms=1200, details="`web` restarted, but unhealthy\nmore",
        step="failed", request_id="abc234", target="web",
    ))  # fmt: skip
    assert (await ask(ctx)).body.splitlines()[1] == (
        "2023-11-14 22:13:20Z @bob:x.org !restart web [abc234 failed] → error (1200 ms)"
        " — `web` restarted, but unhealthy"
    )


async def test_a_count_and_a_service_keep_that_many_rows_about_it(
    ctx: Context, store: Store
) -> None:
    for n in range(8):
        await row(store, n, "restart", target="web" if n % 2 else "db")
    lines = (await ask(ctx, "3 web")).body.splitlines()
    assert lines[0] == "Last 3 recorded entries (UTC) for web:"
    assert [line.split()[-3] for line in lines[1:]] == ["web"] * 3
    assert lines[1].startswith("2023-11-14 22:13:27Z")


async def test_a_service_alone_keeps_ten_of_its_rows(ctx: Context, store: Store) -> None:
    await row(store, 1, "restart", target="web")
    await row(store, 2, "restart", target="db")
    reply = await ask(ctx, "web")
    assert reply.body.splitlines()[1:] == ["2023-11-14 22:13:21Z @bob:x.org !restart web → ok"]
    assert (await ask(ctx, "mail")).body == "Nothing recorded for `mail`."


@pytest.mark.parametrize(
    ("args", "why"),
    [
        ("0", "count must be between 1 and 50"),
        ("51", "count must be between 1 and 50"),
        ("many web", "`many` is not a number of rows"),
        ("../etc", "give a number of rows, a service name, or `verify`"),
        ("verify web", "`verify` is not a number of rows"),
    ],
)
async def test_what_it_cannot_read_is_a_usage_error(ctx: Context, args: str, why: str) -> None:
    with pytest.raises(UsageError, match=why):
        await ask(ctx, args)


async def test_html_escapes_what_people_typed(ctx: Context, store: Store) -> None:
    await row(store, 1, "logs", target="<b>")
    html = (await ask(ctx)).html or ""
    assert "<code>!logs &lt;b&gt;</code>" in html and "<b>!" not in html


async def test_verify_reports_an_intact_chain_and_its_head(ctx: Context, store: Store) -> None:
    for n in range(3):
        await row(store, n)
    body = (await ask(ctx, "verify")).body
    assert body.startswith("audit trail OK: 3 rows, head row 3 ")


async def test_verify_names_the_first_changed_row(
    ctx: Context, store: Store, tmp_path: Path
) -> None:
    for n in range(3):
        await row(store, n)
    with sqlite3.connect(tmp_path / "opsbot.db") as db:  # someone with the file, not the key
        db.execute("DROP TRIGGER audit_no_update")
        db.execute("UPDATE audit SET sender = '@mallory:x.org' WHERE id = 2")
    assert (await ask(ctx, "verify")).body.startswith("audit trail BROKEN at row 2:")


async def test_only_admins_may_read_it(tmp_path: Path, store: Store) -> None:
    replies: list[Reply] = []

    async def send(msg: Message, reply: Reply) -> str:
        replies.append(reply)
        return "$r"

    config = fakes.make_config(tmp_path, access={"admins": ["@alice:x.org"], "operators": [BOB]})
    dispatcher = fakes.dispatcher(config, (audit,), store, send)
    await dispatcher.handle(fakes.message("!audit", BOB))
    assert replies[-1].body == "`!audit` needs the admin role; you are an operator."
    assert Role.ADMIN is audit.role
