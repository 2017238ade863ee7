"""Specification of bot.dispatch: message → role check → command → redacted reply → audit row."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.config import Config, parse_config
from bot.core import Message, Role, UsageError
from bot.framework import dispatcher as dispatch_module
from bot.framework.arguments import Service
from bot.framework.command import Command, Context, command
from bot.framework.dispatcher import Dispatcher, Send, split_args
from bot.store import AuditEntry, Store
from bot.text.reply import Reply
from tests.unit import fakes

ROOM = "!ops:example.org"
ADMIN, OPERATOR, VIEWER = "@alice:example.org", "@bob:example.org", "@carol:example.org"
STRANGER = "@mallory:evil.org"
BOT_PASSWORD = "Tr0ub4dor-and-3"


def make_config(tmp_path: Path) -> Config:
    raw = {
        "matrix": {
            "homeserver": "https://matrix.example.org",
            "user_id": "@opsbot:example.org",
            "password": BOT_PASSWORD,
            "command_rooms": [ROOM, "!other:example.org"],
            "alert_room": "!alerts:example.org",
        },
        "docker": {"url": "tcp://127.0.0.1:1"},  # never contacted: the test commands don't
        "access": {"admins": [ADMIN], "operators": [OPERATOR], "viewers": [VIEWER]},
    }
    return parse_config(raw, {}, base=tmp_path)


@command(role=Role.VIEWER, example="!echo hello")
async def echo(ctx: Context, text: str, times: int = 1) -> str:
    """Say it back."""
    return " ".join([text] * times)


@command(role=Role.ADMIN, example="!nuke web")
async def nuke(ctx: Context, service: Service) -> str:
    """Only for admins."""
    return f"nuked {service}"


@command(role=Role.VIEWER, example="!picky x")
async def picky(ctx: Context, value: str) -> str:
    """Refuses what it dislikes."""
    raise UsageError(f"`{value}` is not to my taste")


@command(role=Role.VIEWER, example="!crash")
async def crash(ctx: Context) -> str:
    """Fails with a bug."""
    raise RuntimeError("internal detail: connection string postgres://u:pw@db")


@command(role=Role.VIEWER, example="!leak")
async def leak(ctx: Context) -> Reply:
    """Returns secrets, as logs might."""
    return Reply(
        body=f"password=hunter2hunter2 and the bot's own {BOT_PASSWORD}",
        html=f"<p>password=hunter2hunter2 and the bot's own {BOT_PASSWORD}</p>",
    )


@command(role=Role.VIEWER, example="!whoami")
async def whoami(ctx: Context) -> str:
    """Who is asking."""
    return f"{ctx.sender} in {ctx.room_id} as {ctx.role}"


@dataclass
class Harness:
    dispatcher: Dispatcher
    store: Store
    sent: list[tuple[Message, Reply]] = field(default_factory=list)

    async def say(self, body: str, sender: str = VIEWER, room: str = ROOM) -> list[Reply]:
        """Handle one message; return the replies it produced."""
        before = len(self.sent)
        await self.dispatcher.handle(message(body, sender, room))
        return [reply for _, reply in self.sent[before:]]

    async def audit(self) -> list[AuditEntry]:
        return list(reversed(await self.store.audit.recent(100)))


_counter = iter(range(1_000_000))


def message(body: str, sender: str = VIEWER, room: str = ROOM) -> Message:
    event_id = f"$event{next(_counter)}"
    return Message(room, event_id, sender, body, event_id, 1_714_560_000_000)


async def build(tmp_path: Path, commands: tuple[Command, ...], send: Send | None = None) -> Harness:
    """A dispatcher over a real store and registry; replies are recorded unless `send` is given."""
    config = make_config(tmp_path)
    store = await Store.open(tmp_path / "opsbot.db")
    sent: list[tuple[Message, Reply]] = []

    async def record(msg: Message, reply: Reply) -> str:
        sent.append((msg, reply))
        return "$reply"

    dispatcher = fakes.dispatcher(config, commands, store, send or record)
    return Harness(dispatcher, store, sent)


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Harness]:
    harness = await build(tmp_path, (echo, nuke, picky, crash, leak, whoami))
    yield harness
    await harness.dispatcher.close()
    await harness.store.close()


class TestHappyPath:
    async def test_runs_the_command_and_audits_it(self, bot: Harness) -> None:
        [reply] = await bot.say('!echo "hello world" 2')
        assert reply.body == "hello world hello world"
        [row] = await bot.audit()
        assert (row.sender, row.room_id, row.command, row.args, row.outcome) == (
            VIEWER,
            ROOM,
            "echo",
            '"hello world" 2',
            "ok",
        )
        assert row.details == ""

    async def test_reply_is_threaded_to_the_asking_message(self, bot: Harness) -> None:
        msg = message("!echo hi")
        await bot.dispatcher.handle(msg)
        [(replied_to, _)] = bot.sent
        assert replied_to is msg

    async def test_command_names_are_case_insensitive(self, bot: Harness) -> None:
        [reply] = await bot.say("!ECHO hi")
        assert reply.body == "hi"
        assert (await bot.audit())[0].command == "echo"

    async def test_the_command_sees_who_asked(self, bot: Harness) -> None:
        [reply] = await bot.say("!whoami", sender=OPERATOR)
        assert reply.body == f"{OPERATOR} in {ROOM} as operator"

    async def test_higher_roles_include_lower_ones(self, bot: Harness) -> None:
        [reply] = await bot.say("!nuke web", sender=ADMIN)
        assert reply.body == "nuked web"


class TestNotForUs:
    @pytest.mark.parametrize(
        "body", ["!", "! wow", "!!!", "!?", "!   ", "!123", "!-rf", "!!echo hi"]
    )
    async def test_ignored_without_reply_or_audit(self, bot: Harness, body: str) -> None:
        assert await bot.say(body) == []
        assert await bot.audit() == []

    async def test_even_from_strangers(self, bot: Harness) -> None:
        assert await bot.say("!!!", sender=STRANGER) == []
        assert await bot.audit() == []


class TestRoles:
    async def test_stranger_is_told_once_per_room_per_hour(self, bot: Harness) -> None:
        [reply] = await bot.say("!echo hi", sender=STRANGER)
        assert "only take commands from the people listed" in reply.body
        assert await bot.say("!echo again", sender=STRANGER) == []
        rows = await bot.audit()
        assert [(r.sender, r.outcome, r.details) for r in rows] == [
            (STRANGER, "denied", "sender holds no role"),
            (STRANGER, "denied", "sender holds no role"),
        ]

    async def test_stranger_is_told_again_in_another_room(self, bot: Harness) -> None:
        assert len(await bot.say("!echo hi", sender=STRANGER)) == 1
        assert len(await bot.say("!echo hi", sender=STRANGER, room="!other:example.org")) == 1

    async def test_stranger_is_told_again_after_the_interval(
        self, bot: Harness, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        assert len(await bot.say("!echo hi", sender=STRANGER)) == 1
        monkeypatch.setattr(dispatch_module, "STRANGER_REPLY_EVERY", 0.0)
        assert len(await bot.say("!echo hi", sender=STRANGER)) == 1

    async def test_stranger_learns_nothing_about_commands(self, bot: Harness) -> None:
        [reply] = await bot.say("!nukee web", sender=STRANGER)
        assert "did you mean" not in reply.body
        assert (await bot.audit())[0].outcome == "denied"

    async def test_viewer_asking_for_an_admin_command(self, bot: Harness) -> None:
        [reply] = await bot.say("!nuke web")
        assert reply.body == "`!nuke` needs the admin role; you are a viewer."
        [row] = await bot.audit()
        assert (row.outcome, row.details) == ("denied", "needs admin, has viewer")

    async def test_operator_is_an_operator(self, bot: Harness) -> None:
        [reply] = await bot.say("!nuke web", sender=OPERATOR)
        assert reply.body == "`!nuke` needs the admin role; you are an operator."


class TestMistakes:
    async def test_unknown_command_suggests_the_closest(self, bot: Harness) -> None:
        [reply] = await bot.say("!ecoh hi")
        assert reply.body == "unknown command `!ecoh` — did you mean `!echo`? See `!help`."
        [row] = await bot.audit()
        assert (row.command, row.outcome, row.details) == ("ecoh", "usage-error", "unknown command")

    async def test_unknown_command_without_a_close_match(self, bot: Harness) -> None:
        [reply] = await bot.say("!xyzzy")
        assert reply.body == "unknown command `!xyzzy` See `!help`."

    async def test_bad_arguments_show_the_usage(self, bot: Harness) -> None:
        [reply] = await bot.say("!echo hi lots")
        assert reply.body == "[times]: `lots` is not a whole number\nusage: `!echo <text> [times]`"
        [row] = await bot.audit()
        assert (row.outcome, row.details) == (
            "usage-error",
            "[times]: `lots` is not a whole number",
        )

    async def test_missing_argument(self, bot: Harness) -> None:
        [reply] = await bot.say("!echo")
        assert reply.body == "missing <text>\nusage: `!echo <text> [times]`"

    async def test_unbalanced_quotes(self, bot: Harness) -> None:
        [reply] = await bot.say('!echo "hello')
        assert reply.body == (
            "I could not read the arguments: No closing quotation (check your quotes)"
        )
        assert (await bot.audit())[0].outcome == "usage-error"

    async def test_command_refusing_its_input(self, bot: Harness) -> None:
        [reply] = await bot.say("!picky anchovies")
        assert reply.body == "`anchovies` is not to my taste"
        [row] = await bot.audit()
        assert (row.outcome, row.details) == ("usage-error", "`anchovies` is not to my taste")


class TestCrashes:
    async def test_a_bug_is_reported_with_a_reference_not_a_traceback(
        self, bot: Harness, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.ERROR, logger="bot.framework.runner"):
            [reply] = await bot.say("!crash")
        assert reply.body.startswith("`!crash` failed unexpectedly (ref ")
        ref = reply.body.split("(ref ", 1)[1].split(")", 1)[0]
        assert len(ref) == 8
        for leaked in ("Traceback", "RuntimeError", "internal detail", "postgres://"):
            assert leaked not in reply.body
            assert leaked not in (reply.html or "")
        [row] = await bot.audit()
        assert (row.outcome, row.details) == ("error", f"internal error, ref {ref}")
        [logged] = [r for r in caplog.records if r.name == "bot.framework.runner"]
        assert ref in logged.getMessage()
        assert logged.exc_info is not None
        assert isinstance(logged.exc_info[1], RuntimeError)

    async def test_a_reply_that_cannot_be_delivered_is_logged_and_still_audited(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def broken_send(msg: Message, reply: Reply) -> str | None:
            raise ConnectionError("homeserver gone")

        harness = await build(tmp_path, (echo,), send=broken_send)
        try:
            with caplog.at_level(logging.ERROR, logger="bot.framework.dispatcher"):
                await harness.dispatcher.handle(message("!echo hi"))
            assert [r.outcome for r in await harness.audit()] == ["ok"]
            assert any("could not deliver" in r.getMessage() for r in caplog.records)
        finally:
            await harness.store.close()


class TestRedaction:
    async def test_secrets_never_leave_in_replies(self, bot: Harness) -> None:
        [reply] = await bot.say("!leak")
        for text in (reply.body, reply.html or ""):
            assert "hunter2hunter2" not in text
            assert BOT_PASSWORD not in text
            assert "[REDACTED:literal]" in text

    async def test_audit_args_are_redacted(self, bot: Harness) -> None:
        await bot.say("!echo password=hunter2hunter2")
        await bot.say(f"!echo {BOT_PASSWORD}")
        rows = await bot.audit()
        assert [r.outcome for r in rows] == ["ok", "ok"]
        for row in rows:
            assert "hunter2hunter2" not in row.args
            assert BOT_PASSWORD not in row.args
            assert "[REDACTED:" in row.args

    async def test_echoed_secrets_are_redacted_too(self, bot: Harness) -> None:
        [reply] = await bot.say("!echo token=abcdef0123456789")
        assert "abcdef0123456789" not in reply.body


class TestConcurrency:
    async def test_a_slow_command_does_not_delay_a_fast_one(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        release = asyncio.Event()
        slow_started = asyncio.Event()
        fast_sent = asyncio.Event()
        slow_audited = asyncio.Event()

        @command(role=Role.VIEWER)
        async def slow(ctx: Context) -> str:
            slow_started.set()
            await release.wait()
            return "slow done"

        @command(role=Role.VIEWER)
        async def fast(ctx: Context) -> str:
            return "fast done"

        sent: list[str] = []

        async def send(msg: Message, reply: Reply) -> str:
            sent.append(reply.body)
            if reply.body == "fast done":
                fast_sent.set()
            return "$reply"

        harness = await build(tmp_path, (slow, fast), send=send)
        record = harness.store.audit.record

        async def record_and_tell(entry: AuditEntry) -> int:
            row = await record(entry)
            if entry.command == "slow":
                slow_audited.set()
            return row

        monkeypatch.setattr(harness.store.audit, "record", record_and_tell)
        try:
            harness.dispatcher.submit(message("!slow"))
            await asyncio.wait_for(slow_started.wait(), 5)
            harness.dispatcher.submit(message("!fast"))
            await asyncio.wait_for(fast_sent.wait(), 5)
            assert sent == ["fast done"]
            assert not release.is_set()  # the slow one is still held

            release.set()
            await asyncio.wait_for(slow_audited.wait(), 5)  # handled to the end
            assert sent == ["fast done", "slow done"]
            assert [r.command for r in await harness.audit()] == ["fast", "slow"]
        finally:
            await harness.dispatcher.close()
            await harness.store.close()

    async def test_close_cancels_a_hung_command(self, tmp_path: Path) -> None:
        started = asyncio.Event()
        cancelled = asyncio.Event()

        @command(role=Role.VIEWER)
        async def hang(ctx: Context) -> str:
            started.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.set()
                raise
            return "never"

        harness = await build(tmp_path, (hang,))
        try:
            harness.dispatcher.submit(message("!hang"))
            await asyncio.wait_for(started.wait(), 5)
            await asyncio.wait_for(harness.dispatcher.close(), 5)
            assert cancelled.is_set()
            assert harness.sent == []
        finally:
            await harness.store.close()


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("", []),
        ("seafile 100", ["seafile", "100"]),
        ('--grep "disk full"', ["--grep", "disk full"]),
        ("--grep 'a b'", ["--grep", "a b"]),
        (r"--grep \d+ #1", ["--grep", r"\d+", "#1"]),
    ],
)
def test_split_args_like_a_shell_but_keeps_backslashes(text: str, tokens: list[str]) -> None:
    assert split_args(text) == tokens
