"""`!logs`: how many lines, `--since`, `--grep`, when the output becomes a file, and what the
reply says when Docker was slow or the log too large — over a Docker that answers from a table."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core import UsageError
from bot.framework.command import Context
from bot.framework.dispatcher import split_args
from bot.store import Store
from bot.text.reply import Reply
from commands.logs import logs
from tests.unit import fakes
from tests.unit.fakes import Clock, FakeDocker, FakeService


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(tmp_path / "opsbot.db")
    yield store
    await store.close()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(sys.modules["commands.logs"], "time", clock)  # the package shadows it
    return clock


@pytest.fixture
def docker() -> FakeDocker:
    return FakeDocker(FakeService("web"))


@pytest.fixture
def ctx(tmp_path: Path, store: Store, docker: FakeDocker) -> Context:
    return fakes.context(fakes.make_config(tmp_path), store, docker)


async def ask(ctx: Context, args: str) -> Reply:
    """`!logs <args>`, bound as the dispatcher binds it."""
    return await logs.handler(ctx, **logs.bind(split_args(args)))


def numbered(count: int, text: str = "line") -> list[str]:
    return [f"{text} {i}" for i in range(1, count + 1)]


class TestLines:
    async def test_a_short_log_is_shown_inline_whole(
        self, ctx: Context, docker: FakeDocker
    ) -> None:
        docker["web"].log = numbered(30)
        reply = await ask(ctx, "web")
        assert reply.body == "\n".join(["`web` — last 30 lines:", *numbered(30)])
        assert reply.attachment is None

    async def test_asks_docker_for_the_lines_and_200_more_for_redaction(
        self, ctx: Context, docker: FakeDocker
    ) -> None:
        docker["web"].log = numbered(300)
        reply = await ask(ctx, "stack-web-1 5")
        assert reply.body.splitlines() == ["`web` — last 5 lines:", *numbered(300)[-5:]]
        assert [r["tail"] for r in docker.log_reads] == [205]
        assert docker.log_reads[0]["deadline"] == 10.0  # docker.logs_timeout

    async def test_one_line_is_one_line(self, ctx: Context, docker: FakeDocker) -> None:
        docker["web"].log = ["only"]
        assert (await ask(ctx, "web 1")).body == "`web` — last 1 line:\nonly"

    @pytest.mark.parametrize("count", ["0", "2001", "-3"])
    async def test_the_count_is_between_1_and_2000(self, ctx: Context, count: str) -> None:
        with pytest.raises(UsageError, match="lines must be between 1 and 2000"):
            await ask(ctx, f"web {count}")

    async def test_an_empty_log_says_nothing(self, ctx: Context) -> None:
        assert (await ask(ctx, "web")).body == "`web` — last 0 lines: nothing."

    async def test_an_unknown_service_is_a_usage_error(self, ctx: Context) -> None:
        with pytest.raises(UsageError, match="no service `db`"):
            await ask(ctx, "db")

    async def test_secrets_and_terminal_colours_never_reach_the_reply(
        self, ctx: Context, docker: FakeDocker
    ) -> None:
        docker["web"].log = ["\x1b[31mERROR\x1b[0m login password=hunter2hunter2 refused"]
        body = (await ask(ctx, "web")).body
        assert "ERROR login password=" in body and "hunter2" not in body and "\x1b" not in body


class TestSince:
    async def test_since_asks_docker_from_that_long_ago(
        self, ctx: Context, docker: FakeDocker, clock: Clock
    ) -> None:
        docker["web"].log = ["recent"]
        reply = await ask(ctx, "web --since 10m")
        assert docker.log_reads[0]["since"] == clock.now - 600
        assert reply.body.startswith("`web` — last 1 line from the last 10m:")

    async def test_without_since_docker_sends_from_the_start(
        self, ctx: Context, docker: FakeDocker
    ) -> None:
        await ask(ctx, "web")
        assert docker.log_reads[0]["since"] is None

    async def test_a_bad_duration_is_a_usage_error(self, ctx: Context) -> None:
        with pytest.raises(UsageError, match="--since DURATION"):
            await ask(ctx, "web --since soon")


class TestGrep:
    async def test_keeps_matching_lines_case_insensitively_from_the_last_5000(
        self, ctx: Context, docker: FakeDocker
    ) -> None:
        docker["web"].log = ["error: too old", *numbered(5000, "ok"), "Error: a", "ERROR: b"]
        reply = await ask(ctx, "web --grep error")
        assert reply.body.splitlines() == [
            "`web` — last 2 lines matching `error`:", "Error: a", "ERROR: b"
        ]  # fmt: skip
        assert [r["tail"] for r in docker.log_reads] == [5200]

    async def test_then_shows_only_the_last_matches_asked_for(
        self, ctx: Context, docker: FakeDocker
    ) -> None:
        docker["web"].log = numbered(100, "error")
        reply = await ask(ctx, "web 3 --grep err")
        assert reply.body.splitlines()[1:] == ["error 98", "error 99", "error 100"]

    async def test_no_match_says_nothing(self, ctx: Context, docker: FakeDocker) -> None:
        docker["web"].log = numbered(10)
        assert (await ask(ctx, "web --grep panic")).body == (
            "`web` — last 0 lines matching `panic`: nothing."
        )

    async def test_a_search_past_its_time_asks_for_a_simpler_pattern(
        self, ctx: Context, docker: FakeDocker, clock: Clock
    ) -> None:
        clock.tick = 10.0  # every reading of the clock: ten seconds later
        docker["web"].log = numbered(10)
        with pytest.raises(UsageError, match="took longer than 5 s to search; simplify it"):
            await ask(ctx, "web --grep line")

    async def test_a_pattern_re2_cannot_run_is_a_usage_error(self, ctx: Context) -> None:
        with pytest.raises(UsageError, match="backreferences and lookarounds"):
            await ask(ctx, r"web --grep (a)\1")


class TestAttachment:
    async def test_40_lines_stay_inline(self, ctx: Context, docker: FakeDocker) -> None:
        docker["web"].log = numbered(40)
        assert (await ask(ctx, "web")).attachment is None

    async def test_41_lines_come_as_a_file_with_the_last_ones_inline(
        self, ctx: Context, docker: FakeDocker
    ) -> None:
        docker["web"].log = numbered(41)
        reply = await ask(ctx, "web")
        assert reply.attachment is not None and reply.attachment.filename == "web.log"
        assert reply.attachment.data.decode().splitlines() == numbered(41)
        lines = reply.body.splitlines()
        assert lines[1:-1] == numbered(41)[-40:]
        assert lines[-1] == "Showing the last 40 lines; the full output is attached."

    async def test_more_than_16_kb_comes_as_a_file_with_lines_cut_at_400_characters_inline(
        self, ctx: Context, docker: FakeDocker
    ) -> None:
        docker["web"].log = [f"{i}:" + "x" * 2000 for i in range(10)]
        reply = await ask(ctx, "web")
        assert reply.attachment is not None
        assert reply.attachment.data.decode().splitlines() == docker["web"].log
        assert reply.body.splitlines()[1:-1] == [line[:400] + " …" for line in docker["web"].log]

    async def test_inline_lines_of_a_file_reply_stay_within_8_kb(
        self, ctx: Context, docker: FakeDocker
    ) -> None:
        docker["web"].log = [f"{i:03d}" + "y" * 390 for i in range(60)]
        inline = (await ask(ctx, "web")).body.splitlines()[1:-1]
        assert inline == docker["web"].log[-len(inline) :]  # the newest, in order
        assert len(inline) < 40 and len("\n".join(inline).encode()) <= 8000


class TestSlowDocker:
    async def test_a_log_cut_at_the_deadline_says_so(
        self, ctx: Context, docker: FakeDocker
    ) -> None:
        docker["web"].log, docker.logs_timed_out = ["partial"], True
        lines = (await ask(ctx, "web")).body.splitlines()
        assert lines[:2] == ["`web` — last 1 line:", "partial"]
        assert lines[2].startswith("⚠ Docker did not finish sending the log within 10s")

    async def test_nothing_before_the_deadline_still_says_why(
        self, ctx: Context, docker: FakeDocker
    ) -> None:
        docker.logs_timed_out = True
        body = (await ask(ctx, "web")).body
        assert body.startswith("`web` — last 0 lines: nothing.\n⚠ Docker did not finish")

    async def test_a_log_cut_at_the_size_limit_says_so(
        self, ctx: Context, docker: FakeDocker
    ) -> None:
        docker["web"].log, docker.logs_cut = ["x"], True
        assert (await ask(ctx, "web")).body.endswith("⚠ the log was cut at 4 MB.")
