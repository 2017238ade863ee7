"""What the plain body of a reply redacts, its HTML can never show; edits cannot ping @room."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import parse_config
from bot.core import Message, Role
from bot.framework.command import Context, command
from bot.matrix import events
from bot.store import Store
from bot.text.redact import Redactor
from bot.text.reply import Reply, inline
from tests.unit import fakes

ROOM, VIEWER = "!ops:example.org", "@carol:example.org"
LITERAL = "p&ss<w0rd>-lit"
SHOWN: dict[str, Reply] = {}


@command(role=Role.VIEWER, example="!show split")
async def show(ctx: Context, name: str) -> Reply:
    """Return a prepared reply."""
    return SHOWN[name]


SHOWN.update(
    {
        # the HTML cuts the secret with tags, so no pattern can see it there
        "split": Reply(
            "password=hunter2hunter2 in `app.yml`",
            "<p>password=hunt<b>er2hun</b>ter2 in <code>app.yml</code></p>",
        ),
        # the HTML escapes the configured literal numerically, as no redactor expects
        "escaped": Reply(
            f"login {LITERAL} failed", "<p>login p&#38;ss&#60;w0rd&#62;-lit failed</p>"
        ),
        # only the HTML holds a secret: it is redacted and keeps its markup
        "html-only": Reply(
            "see the log", "<p>see the log: <code>token=abcdef0123456789</code></p>"
        ),
    }
)


async def ask(tmp_path: Path, name: str) -> Reply:
    """Run `!show <name>` through a real dispatcher; the reply it sends."""
    raw = {
        "matrix": {"homeserver": "https://matrix.example.org", "user_id": "@opsbot:example.org",
                   "password": "bot-pw-123", "command_rooms": [ROOM], "alert_room": ROOM},
        "docker": {"url": "tcp://127.0.0.1:1"},
        "access": {"viewers": [VIEWER]},
    }  # fmt: skip
    config = parse_config(raw, {}, base=tmp_path)
    store = await Store.open(tmp_path / "opsbot.db")
    sent: list[Reply] = []

    async def send(msg: Message, reply: Reply) -> str:
        sent.append(reply)
        return "$reply"

    redact = Redactor([*config.secrets(), LITERAL])
    bot = fakes.dispatcher(config, (show,), store, send, redact=redact)
    try:
        await bot.handle(Message(ROOM, "$cmd", VIEWER, f"!show {name}", "$cmd", 1_714_560_000_000))
    finally:
        await bot.close()
        await store.close()
    [reply] = sent
    return reply


@pytest.mark.parametrize(
    ("name", "fragments"), [("split", ["hunt", "er2hun", "ter2"]), ("escaped", ["w0rd", "p&#38;"])]
)
async def test_html_is_rebuilt_from_the_redacted_body(
    tmp_path: Path, name: str, fragments: list[str]
) -> None:
    reply = await ask(tmp_path, name)
    assert "[REDACTED:" in reply.body
    assert reply.html == inline(reply.body)
    for fragment in fragments:
        assert fragment not in reply.body and fragment not in (reply.html or "")


async def test_html_alone_holding_a_secret_is_redacted_in_place(tmp_path: Path) -> None:
    reply = await ask(tmp_path, "html-only")
    assert reply.body == "see the log"
    assert reply.html == "<p>see the log: <code>token=[REDACTED:kv-secret]</code></p>"


def test_edit_fallbacks_cannot_ping_the_room() -> None:
    content = events.edit("$orig", Reply("deploy done @room", "<p>deploy done @Room</p>"))
    for text in (content["body"], content["formatted_body"]):
        assert text.startswith("* ") and "@room" not in text.lower()
    new = content["m.new_content"]
    assert "@room" not in new["body"].lower() and "@room" not in new["formatted_body"].lower()
