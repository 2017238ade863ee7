"""Shared fakes for fast unit tests: a chat that records, a Docker that answers from a table,
and builders that assemble the real middle (runner, dispatcher, approvals) around them."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.alerts import Alerts
from bot.audit import Audit
from bot.config import Config, parse_config
from bot.containers import Containers, LogText, UnknownService
from bot.containers.inventory import (
    PROJECT_LABEL,
    SERVICE_LABEL,
    ContainerDetail,
    ContainerInfo,
    Probe,
)
from bot.core import CommandError, Message, Reaction, Role
from bot.framework.approvals import Approvals
from bot.framework.command import Command, Context, Registry
from bot.framework.dispatcher import Dispatcher, Send
from bot.framework.runner import Runner
from bot.matrix import Chat, Inbound, Link
from bot.store import Store
from bot.text.redact import Redactor
from bot.text.reply import Reply

ROOM = "!ops:x.org"
BOT = "@opsbot:x.org"


def make_config(
    tmp_path: Path | None = None,
    *,
    rooms: Sequence[str] = (ROOM,),
    access: dict[str, Any] | None = None,
    **extra: Any,
) -> Config:
    """A valid config: the given rooms and access lists (default: one admin), plus ``extra``."""
    raw = {
        "matrix": {"homeserver": "http://127.0.0.1:1", "user_id": BOT, "password": "pw",
                   "command_rooms": list(rooms), "alert_room": rooms[0]},
        "access": access or {"admins": ["@alice:x.org"]},
        "docker": {"url": "tcp://127.0.0.1:1"},  # never contacted unless a test wants it
        **extra,
    }  # fmt: skip
    return parse_config(raw, {}, base=tmp_path)


@dataclass
class FakeChat:
    """The chat port of approvals and replies: cards get ids, everything is kept."""

    sent: list[dict[str, Any]] = field(default_factory=list)
    queued: list[dict[str, Any]] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    reactions: list[tuple[str, str]] = field(default_factory=list)

    async def send_now(self, room_id: str, content: dict[str, Any], kind: str = "") -> str:
        self.sent.append(content)
        return f"$card{len(self.sent)}"

    async def react(self, room_id: str, event_id: str, key: str) -> None:
        self.reactions.append((event_id, key))

    async def queue(self, room_id: str, content: dict[str, Any], kind: str = "") -> int:
        self.queued.append(content)
        return len(self.queued)

    async def annotations(self, room_id: str, event_id: str) -> list[Reaction]:
        return []

    async def reply(self, msg: Message, reply: Reply) -> str:
        self.replies.append(reply)
        return f"$reply{len(self.replies)}"


async def ignore(reply: Reply) -> None:
    """A post to the alert room that goes nowhere."""


def runner(
    config: Config,
    commands: Iterable[Command],
    store: Store,
    redact: Redactor | None = None,
    containers: Any = None,
) -> Runner:
    """The real runner over the given commands (a Docker nobody answers, unless given)."""
    return Runner(config, Registry(commands), containers or Containers(config.docker), store,
                  redact or Redactor(config.secrets()))  # fmt: skip


def dispatcher(
    config: Config,
    commands: Iterable[Command],
    store: Store,
    send: Send,
    *,
    redact: Redactor | None = None,
    containers: Any = None,
    approvals: Any = None,
) -> Dispatcher:
    """The real dispatcher (and runner and audit) over the given commands."""
    run = runner(config, commands, store, redact, containers)
    return Dispatcher(config, run, approvals, Audit(store, run.redact, ignore), send)


def approvals(config: Config, store: Store, chat: Any, run: Runner) -> Approvals:
    """Real approvals that run approved plans through ``run``."""
    audit = Audit(store, run.redact, ignore)
    return Approvals(config, store, chat, audit, run.execute, bot_user=BOT)


def chat(config: Config, store: Store, inbound: Inbound | None = None) -> Chat:
    """A chat that never connects, for feeding it events by hand."""
    link = Link(config.matrix, store, config.access)
    return Chat(link, inbound or Inbound(lambda m: None, lambda r: None, lambda a, b: None),
                config.access)  # fmt: skip


class NoDocker:
    """Containers that cannot be reached."""

    async def resolve(self, name: str) -> Any:
        raise CommandError("Docker engine unreachable")


# -- Docker, clock and context ------------------------------------------------------------

STATUSES = {  # one word per service → (state, health, Docker's status text)
    "healthy": ("running", "healthy", "Up 2 hours (healthy)"),
    "unhealthy": ("running", "unhealthy", "Up 2 hours (unhealthy)"),
    "starting": ("running", "starting", "Up 3 seconds (health: starting)"),
    "running": ("running", None, "Up 2 hours"),  # no health check
    "exited": ("exited", None, "Exited (1) 3 minutes ago"),
    "restarting": ("restarting", None, "Restarting (1) 2 seconds ago"),
}


@dataclass
class FakeService:
    """One compose service as the fake Docker reports it. ``status`` is one word of
    ``STATUSES``; ``then`` says what it becomes after an action (`restart`, `tag`)."""

    name: str
    status: str = "healthy"
    log: list[str] = field(default_factory=list)
    image: str = "example/app:1"
    image_id: str = "sha256:" + "1" * 64
    stop_timeout: int | None = None
    probes: list[str] = field(default_factory=list)  # health probe outputs, oldest first
    project: str = "stack"
    then: dict[str, str] = field(default_factory=dict)

    @property
    def container(self) -> str:
        """The container's name, as Compose v2 names it."""
        return f"{self.project}-{self.name}-1"

    def labels(self) -> dict[str, str]:
        """The compose labels of its container."""
        return {SERVICE_LABEL: self.name, PROJECT_LABEL: self.project}

    def info(self) -> ContainerInfo:
        """The container as one list call shows it."""
        state, health, text = STATUSES[self.status]
        code = 1 if state in ("exited", "restarting") else None
        return ContainerInfo(f"id-{self.name}", self.container, self.name, state, health, text,
                             code, self.labels())  # fmt: skip

    def detail(self) -> ContainerDetail:
        """The container as one inspect call shows it (started long ago)."""
        state, health, _ = STATUSES[self.status]
        long_ago = datetime.now(UTC) - timedelta(hours=2)
        probes = tuple(Probe(long_ago, 1, out) for out in self.probes)
        return ContainerDetail(
            name=self.container, service=self.name, state=state, health=health,
            failing_streak=len(probes), probes=probes,
            exit_code=1 if state in ("exited", "restarting") else 0, oom_killed=False, error="",
            restart_count=0, started_at=long_ago, finished_at=None, image=self.image,
            healthcheck=("CMD", "true") if health else (), restart_policy="unless-stopped",
            stop_timeout=self.stop_timeout, image_id=self.image_id, labels=self.labels(),
        )  # fmt: skip


class FakeDocker:
    """Stands in for `bot.containers.Containers`: answers from a table of services, records
    each mutating call in ``calls`` and each log read in ``log_reads``."""

    def __init__(self, *services: FakeService) -> None:
        self.services = {s.name: s for s in services}
        self.calls: list[tuple[Any, ...]] = []  # ("restart", service, timeout), ("tag", id, name)
        self.log_reads: list[dict[str, Any]] = []
        self.logs_timed_out = False  # the next log reads end at their deadline
        self.logs_cut = False  # … or at the size limit

    def __getitem__(self, service: str) -> FakeService:
        return self.services[service]

    @property
    def restarts(self) -> list[tuple[Any, ...]]:
        """The restart calls made, in order."""
        return [c for c in self.calls if c[0] == "restart"]

    async def ping(self) -> bool:
        """The fake engine always answers."""
        return True

    async def close(self) -> None:
        """Nothing to release."""

    async def listing(self) -> list[ContainerInfo]:
        """Every service's container."""
        return [s.info() for s in self.services.values()]

    async def resolve(self, name: str) -> tuple[ContainerInfo, list[ContainerInfo]]:
        """By service or container name, as the real one does (without its suggestions)."""
        everything = await self.listing()
        for c in everything:
            if name in (c.service, c.name):
                return c, everything
        raise UnknownService(f"no service `{name}` — see `!status` for the list")

    async def inspect(self, container: ContainerInfo) -> ContainerDetail:
        """The service's container in depth."""
        return self.services[container.service].detail()

    async def dependencies(self, detail: ContainerDetail) -> list[str] | None:
        """No compose dependencies."""
        return []

    async def restart(self, container: ContainerInfo, stop_timeout: int) -> None:
        """Record the restart; the service becomes its ``then["restart"]``."""
        self.calls.append(("restart", container.service, stop_timeout))
        self._after("restart", [self.services[container.service]])

    async def tag(self, image_id: str, name: str) -> None:
        """Record the tag; services of that image become their ``then["tag"]``."""
        self.calls.append(("tag", image_id, name))
        self._after("tag", [s for s in self.services.values() if s.image == name])

    async def logs(
        self, container: ContainerInfo, *, tail: int, since: float | None, deadline: float
    ) -> LogText:
        """The last ``tail`` lines of the service's ``log``."""
        self.log_reads.append({"service": container.service, "tail": tail, "since": since,
                               "deadline": deadline})  # fmt: skip
        lines = self.services[container.service].log[-tail:]
        return LogText("".join(f"{line}\n" for line in lines), self.logs_timed_out, self.logs_cut)

    def _after(self, action: str, services: list[FakeService]) -> None:
        for s in services:
            s.status = s.then.get(action, s.status)


class Clock:
    """Stands in for the `time` module a command imports (monkeypatch ``<module>.time``):
    the wall clock stands still until moved; ``monotonic`` moves ``tick`` on every read."""

    def __init__(self, now: float = 1_700_000_000.0, tick: float = 0.0) -> None:
        self.now = now
        self.tick = tick
        self._mono = 1000.0

    def time(self) -> float:
        """Wall-clock seconds."""
        return self.now

    def ms(self, ago: float = 0.0) -> int:
        """Wall-clock milliseconds, ``ago`` seconds back."""
        return int((self.now - ago) * 1000)

    def monotonic(self) -> float:
        """A monotonic reading."""
        self._mono += self.tick
        return self._mono


def context(
    config: Config,
    store: Store,
    containers: Any = None,
    *,
    role: Role = Role.ADMIN,
    sender: str = "@alice:x.org",
    commands: Iterable[Command] = (),
    approvals: Approvals | None = None,
) -> Context:
    """The context a command is called with, over the given fakes."""
    run = runner(config, commands, store, containers=containers)
    return run.context(sender, ROOM, "$command", role, approvals=approvals)


async def idle(tasks: Any, within: float = 5.0) -> None:
    """Wait (with a deadline) until an owner of a TaskSet (approvals) has no task left."""
    deadline = asyncio.get_running_loop().time() + within
    while len(tasks.tasks):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("tasks still running at the deadline")
        await asyncio.sleep(0.005)


def message(body: str, sender: str, *, power: int | None = None) -> Message:
    """A command message in ROOM that starts its own thread."""
    event_id = f"$m{next(_ids)}"
    return Message(ROOM, event_id, sender, body, event_id, int(time.time() * 1000), power)


def reaction(target: str, sender: str, key: str = "👍") -> Reaction:
    """``sender`` reacting with ``key`` on the event ``target`` (a card) in ROOM."""
    return Reaction(ROOM, f"$r{next(_ids)}", sender, target, key, int(time.time() * 1000))


_ids = itertools.count(1)


def alerts(config: Config, store: Store, containers: Any = None, *, chat: Any = None) -> Alerts:
    """The real alerting over ``containers`` (a Docker nobody answers, unless given); what it
    posts goes to ``chat``'s queue (a FakeChat of its own, unless given)."""
    redact = Redactor(config.secrets())
    queue = (chat or FakeChat()).queue
    return Alerts(config, containers or NoDocker(), store, queue, Audit(store, redact, ignore),
                  redact)  # fmt: skip


class RecordingAlerter:
    """Stands in for the watcher's alerter: keeps the incidents raised, knows none open."""

    def __init__(self) -> None:
        self.raised: list[Any] = []

    async def raise_incident(self, inc: Any) -> None:
        self.raised.append(inc)

    def open_incident(self, service: str) -> None:
        return None

    async def repeat(self) -> None:
        return None
