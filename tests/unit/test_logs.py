"""`!logs` and the watcher's log evidence: megabytes of text are cleaned, redacted and searched off
the event loop, and redaction sees the lines before the window, so a private key whose BEGIN line
lies just above what is shown is still recognised as a key."""

from __future__ import annotations

import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bot.alerts.silences import Silences
from bot.alerts.watcher import Watcher
from bot.config import Config, parse_config
from bot.containers import LogText
from bot.containers.inventory import ContainerInfo, DockerEvent
from bot.core import Role, UsageError
from bot.framework.arguments import Regex, Service
from bot.framework.command import Context, Registry
from bot.store import Store
from bot.text.redact import Redactor
from bot.text.reply import Reply
from commands import ALL
from commands.logs import logs
from tests.unit import fakes

Alerts = fakes.RecordingAlerter  # the watcher's alerter, recording

WEB = ContainerInfo("c1", "stack-web-1", "web", "running", None, "Up 1 hour", None)
KEY_BODY = [
    f"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSj{i:02d}AgEAAoIBAQC7secretbody" for i in range(30)
]
KEY_LOG = [
    *(f"line {i}: request served" for i in range(150)),
    "loading -----BEGIN PRIVATE KEY-----",
    *KEY_BODY,
    "-----END PRIVATE KEY-----",
    *(f"after {i}: listening" for i in range(20)),
]


class Logs:
    """Docker at the edge: one service whose log is ``lines``; `tail` is honoured as Docker does."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.tails: list[int] = []

    async def resolve(self, name: str) -> tuple[ContainerInfo, list[ContainerInfo]]:
        return WEB, [WEB]

    async def logs(self, container: Any, *, tail: int, since: Any, deadline: float) -> LogText:
        self.tails.append(tail)
        return LogText("".join(line + "\n" for line in self.lines[-tail:]), False, False)

    async def inspect(self, container: Any) -> Any:
        return SimpleNamespace(state="exited", restart_policy="no")  # it stays dead


class Recording(Redactor):
    """The real redactor, noting which thread each call ran on."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[int] = []

    def __call__(self, text: str) -> str:
        self.threads.append(threading.get_ident())
        return super().__call__(text)


def config(tmp_path: Path) -> Config:
    raw = {
        "matrix": {"homeserver": "http://h", "user_id": "@bot:x.org", "password": "pw",
                   "command_rooms": ["!r:x.org"], "alert_room": "!r:x.org"},
        "access": {"admins": ["@a:x.org"]},
        "data_dir": str(tmp_path),
    }  # fmt: skip
    return parse_config(raw, {})


def context(tmp_path: Path, containers: Logs, redact: Redactor) -> Context:
    return Context(
        "@a:x.org", "!r:x.org", "$e", Role.VIEWER, config(tmp_path),
        containers, None, redact, Registry(ALL),  # type: ignore[arg-type]
    )  # fmt: skip


async def ask(ctx: Context, *args: str) -> Reply:
    """Run `!logs ARGS` the way the dispatcher does: bind the words, call the handler."""
    result = await logs.handler(ctx, **logs.bind(list(args)))
    assert isinstance(result, Reply)
    return result


def everything(reply: Reply) -> str:
    attached = reply.attachment.data.decode() if reply.attachment else ""
    return "\n".join([reply.body, reply.html or "", attached])


async def test_redacting_a_big_log_never_runs_on_the_event_loop(tmp_path: Path) -> None:
    """Stripping, redaction (seconds of CPU for 4 MB of log) and grep run in a worker thread."""
    big = [
        f"{i} level=info msg=served password=hunter2hunter2 \x1b[31mred\x1b[0m"
        for i in range(6_000)
    ]
    redact = Recording()
    ctx = context(tmp_path, Logs(big), redact)
    loop_thread = threading.get_ident()
    for args in (["web", "2000"], ["web", "--grep", "msg=served"]):
        reply = await ask(ctx, *args)
        assert "hunter2hunter2" not in everything(reply) and "\x1b" not in everything(reply)
    assert redact.threads and loop_thread not in redact.threads


async def test_a_key_begun_before_the_window_is_redacted_whole(tmp_path: Path) -> None:
    """The last 40 lines start inside a key's body: the BEGIN line is read too, so the body is
    recognised as part of a key and none of it is shown."""
    containers = Logs(KEY_LOG)
    reply = await ask(context(tmp_path, containers, Redactor()), "web", "40")
    shown = everything(reply)
    assert "after 19: listening" in shown and "line 149: request served" in shown
    assert not any(body in shown for body in KEY_BODY)
    assert containers.tails[0] > 40 + len(KEY_BODY)  # context lines were read


async def test_grep_searches_case_insensitively_and_prints_the_pattern(tmp_path: Path) -> None:
    lines = ["level=info msg=up", "level=FATAL msg=boom", "Panic: 42", "level=info msg=down"]
    ctx = context(tmp_path, Logs(lines), Redactor())
    reply = await ask(ctx, "web", "--grep", r"fatal|panic: \d+")
    assert reply.body.splitlines() == [
        r"`web` — last 2 lines matching `fatal|panic: \d+`:",
        "level=FATAL msg=boom",
        "Panic: 42",
    ]


async def test_a_search_past_its_deadline_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Already late at the first line: the search stops itself instead of running on.
    monkeypatch.setattr(sys.modules["commands.logs"], "GREP_SECONDS", -1.0)
    ctx = context(tmp_path, Logs(["x"] * 100), Redactor())
    with pytest.raises(UsageError, match=r"the pattern took longer than -1 s to search"):
        await logs.handler(ctx, Service("web"), grep=Regex.parse("x"))


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "db.sqlite")
    yield s
    await s.close()


async def test_death_evidence_is_redacted_off_the_loop_with_context(
    tmp_path: Path, store: Store
) -> None:
    """A service that died with a key in its last lines: the alert's evidence shows no key body,
    and its redaction ran in a worker thread."""
    redact, alerts = Recording(), fakes.RecordingAlerter()
    lines = [*KEY_LOG[:-20], "fatal: cannot start"]  # the last 8 lines are all in the key
    silences = Silences(store, Redactor())
    watcher = Watcher(config(tmp_path), Logs(lines), store, alerts, silences, redact)  # type: ignore[arg-type]
    await watcher.on_event(DockerEvent("c1", "stack-web-1", "web", "die", None, 1, 3, 1_000))
    [died] = alerts.raised
    assert died.kind == "died" and died.evidence[-1] == "fatal: cannot start"
    assert not any(body in line for line in died.evidence for body in KEY_BODY)
    assert redact.threads and threading.get_ident() not in redact.threads
