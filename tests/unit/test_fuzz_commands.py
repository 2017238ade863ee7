"""Hostile and careless input through the whole command path (parser, dispatcher, every real
command): nothing crashes, nothing runs, every reply is a clear message, and no reply can
ping @room or carry HTML the bot did not write."""

from __future__ import annotations

import asyncio
import re
import tempfile
from pathlib import Path
from typing import Any, ClassVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import parse_config
from bot.containers import LogText, UnknownService
from bot.containers.inventory import ContainerInfo
from bot.core import Message
from bot.matrix import events
from bot.store import Store
from bot.text.redact import Redactor
from bot.text.reply import Reply
from commands import ALL
from tests.unit import fakes

ADMIN = "@alice:example.org"
ROOM = "!ops:example.org"
HOSTILE_LOG = (
    '<a href="https://evil.example">click</a> @room <script>alert(1)</script>\n'
    "password=hunter2hunter2 \x1b[31mred\x1b[0m\n"
)
ALLOWED_TAGS = {"p", "b", "br", "ul", "li", "code", "pre"}


class FakeContainers:
    """Docker at the edge: two services, a hostile log, nothing that can act."""

    forbidden: ClassVar[list[str]] = []
    listed: ClassVar[list[ContainerInfo]] = [
        ContainerInfo("c1", "stack-web-1", "web", "running", "healthy", "Up 3 hours (healthy)",
                      None),
        ContainerInfo("c2", "stack-db-1", "db", "exited", None, "Exited (1) 2 minutes ago", 1),
    ]  # fmt: skip

    async def listing(self) -> list[ContainerInfo]:
        return list(self.listed)

    async def resolve(self, name: str) -> tuple[ContainerInfo, list[ContainerInfo]]:
        for c in self.listed:
            if name in (c.service, c.name):
                return c, list(self.listed)
        raise UnknownService(f"no service `{name}`")

    async def logs(self, container: ContainerInfo, **kw: Any) -> LogText:
        return LogText(HOSTILE_LOG * 3, timed_out=False, cut=False)

    async def inspect(self, container: ContainerInfo) -> Any:
        raise UnknownService("gone")

    def __getattr__(self, name: str) -> Any:
        FakeContainers.forbidden.append(name)  # restart, tag…: must never be reached
        raise AttributeError(name)


class FakeApprovals:
    """Records requests instead of posting cards: nothing is ever approved here."""

    opened: ClassVar[list[str]] = []

    async def open(self, msg: Message, command: str, args: str, plan: Any) -> None:
        FakeApprovals.opened.append(command)

    async def decide_by_id(self, request_id: str, who: Any, approve: bool) -> str:
        return f"no request `{request_id[:12]}`"


words = st.sampled_from(
    ["status", "logs", "help", "audit", "restart", "rebuild", "silence", "approve", "deny",
     "web", "db", "verify", "--grep", "--since", "--no-rollback", "10", "-1", "99999999999",
     "'", '"', "(a+)+$", "((((((((((", "\\", "$(reboot)", "; rm -rf /", "`id`", "@room",
     "<a href=x>", "<script>", "\x00", "\x1b[2J", "💥", "1h", "0s", "all"]
)  # fmt: skip
commands = st.one_of(
    st.lists(words, min_size=1, max_size=6).map(lambda ws: "!" + " ".join(ws)),
    st.text(max_size=300).map(lambda t: "!" + t),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=50).map(lambda t: "!logs web " + t),
)


def check(reply: Reply) -> None:
    """What would go out for ``reply`` is clear and harmless."""
    content = events.message(reply)
    body, html = content["body"], content.get("formatted_body")
    assert body.strip(), "an empty reply"
    assert "Traceback" not in body and "hunter2hunter2" not in body
    assert content["m.mentions"] == {}
    assert not re.search(r"@room", body, re.IGNORECASE), body
    if html is not None:
        tags = {t.lower() for t in re.findall(r"<\s*/?\s*([a-zA-Z0-9]+)", html)}
        assert tags <= ALLOWED_TAGS, tags
        assert not re.search(r"@room", html, re.IGNORECASE), html


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies=st.lists(commands, min_size=1, max_size=5))
def test_any_command_line_gets_a_clear_safe_reply(bodies: list[str]) -> None:
    async def run() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            raw = {
                "matrix": {"homeserver": "http://127.0.0.1:1", "user_id": "@bot:example.org",
                           "password": "pw-for-fuzzing", "command_rooms": [ROOM],
                           "alert_room": ROOM},
                "access": {"admins": [ADMIN]},
                "rebuild": {"workdir": tmp, "steps": [["true"]]},
            }  # fmt: skip
            config = parse_config(raw, {})
            store = await Store.open(Path(tmp) / "db.sqlite", b"k" * 32)
            sent: list[Reply] = []

            async def send(msg: Message, reply: Reply) -> str:
                sent.append(reply)
                return "$r"

            fake, approvals = FakeContainers(), FakeApprovals()
            dispatcher = fakes.dispatcher(
                config, ALL, store, send, redact=Redactor(), containers=fake, approvals=approvals
            )
            try:
                for i, body in enumerate(bodies):
                    before = len(sent)
                    await dispatcher.handle(Message(ROOM, f"$e{i}", ADMIN, body, f"$e{i}", 0))
                    for reply in sent[before:]:
                        check(reply)
                assert FakeContainers.forbidden == [], FakeContainers.forbidden
                assert set(FakeApprovals.opened) <= {"restart", "rebuild"}
            finally:
                await store.close()

    asyncio.run(run())
