"""`opsbot demo`: a throwaway Synapse, a small stack re-enacting the incident report, the bot,
and a scripted conversation printed as a person in the room would see it.

Everything lives in one temporary directory and one compose project; all of it is removed on
exit or Ctrl-C. Needs Docker (and Compose) and the `demo` extra (Synapse).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from bot import app
from bot.config import Config, parse_config
from bot.demo.images import ImageError
from bot.demo.script import Script
from bot.demo.stack import DemoError, DemoStack, compose_command
from bot.matrix.person import Person

log = logging.getLogger(__name__)
Out = Callable[[str], None]


def _synapse_available() -> bool:
    try:
        import synapse  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True


def bot_config(hs_url: str, bot: dict[str, str], room: str, people: dict[str, Person],
               project: str, data_dir: Path) -> Config:  # fmt: skip
    """The bot's configuration for the demo (quick recoveries, short approval grace)."""
    raw: dict[str, Any] = {
        "matrix": {"homeserver": hs_url, "user_id": bot["user_id"], "password": bot["password"],
                   "device_id": "OPSBOT", "command_rooms": [room], "alert_room": room},
        "data_dir": str(data_dir),
        "docker": {"project": project, "logs_timeout": "10s"},
        "access": {"admins": [people["operator"].user_id],
                   "operators": [people["approver"].user_id]},
        "approvals": {"timeout": "10m", "grace": "1s"},
        "health_wait": "30s",
        "alerts": {"recovery_hold": "5s", "burst_window": "5s"},
    }  # fmt: skip
    return parse_config(raw, {})


@contextlib.asynccontextmanager
async def homeserver(workdir: Path, out: Out) -> AsyncIterator[Any]:
    """A Synapse on a free loopback port, stopped on exit."""
    from bot.demo.synapse import SynapseServer  # noqa: PLC0415 (needs the demo extra)

    server = SynapseServer(workdir / "synapse")
    out(f"· starting a throwaway Synapse on {server.url} …")
    await asyncio.to_thread(server.start)
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)


@contextlib.asynccontextmanager
async def demo_stack(workdir: Path, out: Out, compose: list[str]) -> AsyncIterator[DemoStack]:
    """The incident stack, removed on exit."""
    stack = DemoStack(f"opsbot-demo-{uuid.uuid4().hex[:6]}", workdir / "stack", compose)
    out(f"· starting the demo stack (compose project {stack.project}) …")
    try:
        await asyncio.to_thread(stack.up)
        await asyncio.to_thread(stack.settle)
        yield stack
    finally:
        out("· removing the demo stack …")
        await asyncio.to_thread(stack.down)


async def _people(
    server: Any, out: Out
) -> tuple[dict[str, Person], dict[str, str], dict[str, str]]:
    """Register the operator, the approver and the bot; return (people, passwords, bot)."""
    tag = uuid.uuid4().hex[:4]
    people, passwords = {}, {}
    for role in ("operator", "approver"):
        password = secrets.token_urlsafe(9)
        reg = await asyncio.to_thread(server.register, f"{role}-{tag}", password)
        people[role] = Person(server.url, reg["user_id"], reg["access_token"], reg["device_id"])
        passwords[role] = password
        await people[role].start()
    bot_password = secrets.token_urlsafe(18)
    reg = await asyncio.to_thread(server.register, f"opsbot-{tag}", bot_password)
    out(f"· registered {', '.join(p.user_id for p in people.values())} and {reg['user_id']}")
    return people, passwords, {"user_id": reg["user_id"], "password": bot_password}


async def run(out: Out, keep_running: bool) -> int:
    """The whole demo; returns the exit code."""
    if not _synapse_available():
        out("opsbot demo needs Synapse: pip install 'opsbot[demo]'")
        return 2
    compose = compose_command()  # before anything starts: no Docker, no demo
    with tempfile.TemporaryDirectory(prefix="opsbot-demo-") as tmp:
        workdir = Path(tmp)
        async with homeserver(workdir, out) as server, demo_stack(workdir, out, compose) as stack:
            people, passwords, bot = await _people(server, out)
            operator, approver = people["operator"], people["approver"]
            try:
                room = await operator.create_room(
                    "opsbot demo", invite=[approver.user_id, bot["user_id"]]
                )
                await approver.join(room)
                config = bot_config(server.url, bot, room, people, stack.project,
                                    workdir / "bot-data")  # fmt: skip
                stop, ready = asyncio.Event(), asyncio.Event()
                runner = asyncio.create_task(app.run(config, stop, ready=ready))
                try:
                    await asyncio.wait_for(ready.wait(), 60)
                    out(f"· opsbot is in the room as {bot['user_id']}\n")
                    await Script(out, room, operator, approver, bot["user_id"], stack).play()
                    _how_to_play(out, server.url, room, people, passwords)
                    if keep_running:
                        out("Press Ctrl-C to stop; everything is removed then.")
                        await asyncio.Event().wait()
                finally:
                    stop.set()
                    await asyncio.wait_for(runner, 30)
            finally:
                for person in people.values():
                    await person.close()
    out("· done: Synapse stopped, demo stack and files removed.")
    return 0


def _how_to_play(out: Out, url: str, room: str, people: dict[str, Person],
                 passwords: dict[str, str]) -> None:  # fmt: skip
    out("\n━━ Keep playing in any Matrix client (Element, nheko, …) ━━")
    out(f"  homeserver: {url}")
    for role, person in people.items():
        out(f"  {role:<9} {person.user_id}  password: {passwords[role]}")
    out(f'  room:      {room} ("opsbot demo", you are already in it)')
    out("  try: !help · !status synapse · !logs seafile --grep wget · !restart db\n")


def main(keep_running: bool) -> int:
    """Entry point of `opsbot demo`: runs until the script ends (or Ctrl-C), then cleans up."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    def out(text: str) -> None:
        print(text, flush=True)

    async def guarded() -> int:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, lambda: task.cancel() if task else None)
        try:
            return await run(out, keep_running)
        except asyncio.CancelledError:
            out("\n· stopped: everything was removed.")
            return 130
        except (DemoError, ImageError, TimeoutError, RuntimeError, OSError) as exc:
            out(f"\nopsbot demo failed: {exc or 'timed out'}")
            return 1

    return asyncio.run(guarded())
