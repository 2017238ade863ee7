"""A test world: a real Synapse, users talking in a command room, and the bot running in-process.

Shared by the end-to-end tests and the benchmarks under ``bench/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot import app
from bot.config import Config, parse_config
from tests.support.person import Person
from tests.support.synapse import SynapseServer


class BotRunner:
    """Runs opsbot in this event loop; stop() and start() again to test restarts."""

    def __init__(self, config: Config, backoff_cap: float = 2.0) -> None:
        self.config = config
        self.backoff_cap = backoff_cap
        self.task: asyncio.Task[None] | None = None
        self.stop_event = asyncio.Event()
        self.ready = asyncio.Event()

    async def start(self, timeout: float = 30.0, *, wait: bool = True) -> None:
        """Start the bot as a task and (unless told not to) wait until it listens."""
        self.stop_event = asyncio.Event()
        self.ready = asyncio.Event()
        self.task = asyncio.create_task(
            app.run(self.config, self.stop_event, ready=self.ready, backoff_cap=self.backoff_cap)
        )
        if not wait:
            return
        waiter = asyncio.create_task(self.ready.wait())
        done, _ = await asyncio.wait(
            {waiter, self.task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if waiter not in done:
            waiter.cancel()
            if self.task in done:
                self.task.result()  # raises the bot's startup error
            raise TimeoutError(f"the bot was not ready within {timeout}s")

    async def stop(self) -> None:
        """Stop the bot and wait until it has shut down."""
        if self.task is not None:
            self.stop_event.set()
            await asyncio.wait_for(self.task, timeout=60)
            self.task = None

    def audit_rows(self) -> list[dict[str, Any]]:
        """Every audit row, read straight from the bot's SQLite file."""
        db = sqlite3.connect(self.config.data_dir / "opsbot.db")
        db.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in db.execute("SELECT * FROM audit ORDER BY id")]
        finally:
            db.close()


@dataclass
class World:
    """A command room with an admin, an operator, a viewer, a stranger and the bot."""

    server: SynapseServer
    room_id: str
    bot_user: str
    bot_password: str
    bot_token: str
    bot_device: str
    people: dict[str, Person]
    data_dir: Path
    project: str | None
    runners: list[BotRunner] = field(default_factory=list)

    def config(
        self, *, token_login: bool = False, docker: dict[str, Any] | None = None, **extra: Any
    ) -> Config:
        """A bot config for this world (parsed like a real config file); ``extra`` adds
        top-level keys such as approvals, protected or rebuild."""
        return parse_config(self.raw_config(token_login=token_login, docker=docker, **extra), {})

    def raw_config(
        self, *, token_login: bool = False, docker: dict[str, Any] | None = None, **extra: Any
    ) -> dict[str, Any]:
        """The config file's content for ``config`` (e.g. to run the bot as a process)."""
        ids = {name: p.user_id for name, p in self.people.items()}
        raw = {
            "matrix": {
                "homeserver": self.server.url,
                "user_id": self.bot_user,
                "device_id": self.bot_device if token_login else "OPSBOT",
                "command_rooms": [self.room_id],
                "alert_room": self.room_id,
            },
            "data_dir": str(self.data_dir),
            "docker": {"project": self.project, "logs_timeout": "10s", **(docker or {})},
            "access": {
                "admins": [ids["alice"]],
                "operators": [ids["bob"]],
                "viewers": [ids["carol"]],
            },
        }
        secret = "access_token" if token_login else "password"
        raw["matrix"][secret] = self.bot_token if token_login else self.bot_password  # type: ignore[index]
        if self.project is None:
            del raw["docker"]["project"]  # type: ignore[attr-defined]
        return {**raw, **extra}

    async def close(self) -> None:
        """Stop every bot of this world and log its people out."""
        for runner in self.runners:
            await runner.stop()
        for person in self.people.values():
            await person.close()

    async def bot(self, **options: Any) -> BotRunner:
        """Start a bot for this world (options as for ``config``); wait until it listens."""
        runner = BotRunner(self.config(**options))
        self.runners.append(runner)
        await runner.start()
        return runner


async def make_world(server: SynapseServer, tmp_path: Path, project: str | None) -> World:
    """Register fresh users, create the command room and invite everyone (bot included)."""
    tag = uuid.uuid4().hex[:6]
    people: dict[str, Person] = {}
    admin = server.register(f"root-{tag}", "pw", admin=True)
    for name in ("alice", "bob", "carol", "mallory"):
        reg = server.register(f"{name}-{tag}", f"{name}-pw")
        server.override_ratelimit(admin["access_token"], reg["user_id"])
        people[name] = Person(server.url, reg["user_id"], reg["access_token"], reg["device_id"])
        await people[name].start()
    bot_password = f"bot-pw-{uuid.uuid4().hex}"
    bot = server.register(f"opsbot-{tag}", bot_password)
    alice = people["alice"]
    others = [p.user_id for n, p in people.items() if n != "alice"]
    room_id = await alice.create_room("ops", invite=[*others, bot["user_id"]])
    for name, person in people.items():
        if name != "alice":
            await person.join(room_id)
    return World(
        server,
        room_id,
        bot["user_id"],
        bot_password,
        bot["access_token"],
        bot["device_id"],
        people,
        tmp_path / "data",
        project,
    )


@contextlib.asynccontextmanager
async def own_world(
    tmp_path: Path, project: str | None, *, raise_rate_limits: bool = True
) -> AsyncIterator[tuple[SynapseServer, World]]:
    """A world on a Synapse of its own (for tests that stop it or keep its rate limits)."""
    server = SynapseServer(tmp_path / "hs", raise_rate_limits=raise_rate_limits)
    server.start()
    try:
        w = await make_world(server, tmp_path, project)
        try:
            yield server, w
        finally:
            await w.close()
    finally:
        server.stop()
