"""Silences: alerts for a service (or `all`) held back until a time, and the incidents held."""

from __future__ import annotations

from bot.alerts.incidents import Incident
from bot.core import now_ms
from bot.store import Silence, Store
from bot.text.redact import Redactor


def condition(state: str, health: str | None) -> str:
    """`healthy`, `unhealthy`, `starting`, `running` (no health check), `exited`, …"""
    return (health or state) if state == "running" else state


class Silences:
    """The stored silences, and the incidents they keep from the alert room meanwhile."""

    def __init__(self, store: Store, redact: Redactor) -> None:
        self.store = store
        self.redact = redact
        self.incidents: dict[str, Incident] = {}  # incidents of silenced services, not announced

    async def add(
        self, service: str, seconds: float, reason: str, by: str, state_then: str
    ) -> Silence:
        """Silence ``service`` (or `all`) for ``seconds``; replaces a silence it had."""
        now = now_ms()
        found = Silence(service, now + int(seconds * 1000), self.redact(reason), by, now,
                        state_then)  # fmt: skip
        await self.store.alerts.silence(found)
        return found

    async def active(self) -> list[Silence]:
        """The silences not yet ended, soonest end first."""
        now = now_ms()
        return [s for s in await self.store.alerts.silences() if s.until_ms > now]

    async def end(self, service: str) -> Silence | None:
        """End ``service``'s silence now; the silence, if there was one."""
        return await self.store.alerts.unsilence(service)

    async def ended(self, now: int) -> list[Silence]:
        """Silences whose time is up by ``now`` but that are still stored."""
        return [s for s in await self.store.alerts.silences() if s.until_ms <= now]

    async def hold(self, inc: Incident) -> bool:
        """Keep ``inc`` back when its service (or `all`) is silenced; whether it was."""
        if not any(s.service in (inc.service, "all") for s in await self.active()):
            return False
        self.incidents[inc.service] = inc
        return True

    def release(self, silence: Silence) -> dict[str, Incident | None]:
        """The incidents ``silence`` held back, by service, forgotten here (every held one for
        `all`; its own service, held or not, otherwise)."""
        names = sorted(self.incidents) if silence.service == "all" else [silence.service]
        return {name: self.incidents.pop(name, None) for name in names}
