"""After an action: wait until a service is healthy (or steadily running), or say why not."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.containers import Containers
from bot.containers.inventory import ContainerDetail
from bot.core import CommandError

POLL = 0.5
STEADY = 3.0  # seconds a container without a health check must stay up to count as running


@dataclass(frozen=True)
class Settled:
    """How a service ended up after an action."""

    ok: bool
    state: str  # "healthy", "running (no health check)", "unhealthy", "crash-looping", …
    detail: ContainerDetail | None
    seconds: float

    def last_probe(self) -> str:
        """The newest health probe output, on one line."""
        if self.detail is None or not self.detail.probes:
            return ""
        return " ".join(self.detail.probes[-1].output.split())[:300]


def judge(d: ContainerDetail, *, fail_fast: bool) -> tuple[bool | None, str]:
    """(True/False when decided, None to keep waiting) and the state in words."""
    if d.state == "restarting":
        return False, f"crash-looping (exit {d.exit_code})"
    if d.state in ("exited", "dead"):
        oom = ", OOM-killed" if d.oom_killed else ""
        return False, f"exited (code {d.exit_code}{oom})"
    if d.state != "running":
        return None, d.state
    if d.health == "healthy":
        return True, "healthy"
    if d.health == "unhealthy":
        return (False if fail_fast else None), "unhealthy"
    if d.health is None:
        up = (datetime.now(UTC) - d.started_at).total_seconds() if d.started_at else 0.0
        return (True if up >= STEADY else None), "running (no health check)"
    return None, d.health  # starting


async def wait_settled(
    containers: Containers, service: str, within: float, *, fail_fast: bool
) -> Settled:
    """Poll ``service`` until it is healthy, has failed, or ``within`` seconds pass."""
    started = time.monotonic()
    detail: ContainerDetail | None = None
    state = "not found"
    while True:
        try:
            container, _ = await containers.resolve(service)
            detail = await containers.inspect(container)
        except CommandError as exc:  # between containers during a recreate, or Docker busy
            state = str(exc)
        else:
            ok, state = judge(detail, fail_fast=fail_fast)
            if ok is not None:
                return Settled(ok, state, detail, time.monotonic() - started)
        if time.monotonic() - started >= within:
            return Settled(False, f"still {state}", detail, time.monotonic() - started)
        await asyncio.sleep(POLL)
