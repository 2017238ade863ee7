"""Health alerts: the watcher, the open alerts and the silences, behind one object."""

from __future__ import annotations

from collections import Counter

from bot.alerts.alerter import Alerter, Queue
from bot.alerts.silences import Silences, condition
from bot.alerts.watcher import Watcher
from bot.audit import Audit
from bot.config import Config
from bot.containers import Containers
from bot.core import Reaction
from bot.store import Silence, Store
from bot.text.redact import Redactor


class Alerts:
    """What the app and the commands may ask of the alerting; its state stays inside."""

    def __init__(self, config: Config, containers: Containers, store: Store, queue: Queue,
                 audit: Audit, redact: Redactor) -> None:  # fmt: skip
        self.containers = containers
        self._alerter = Alerter(config, store, queue, audit)
        self._silences = Silences(store, redact)
        self._watcher = Watcher(config, containers, store, self._alerter, self._silences, redact)

    async def run(self) -> None:
        """Watch the Docker engine and keep the alert room told, until cancelled."""
        await self._watcher.run()

    async def on_reaction(self, reaction: Reaction) -> None:
        """👀 on an alert acknowledges it; other reactions are not for alerting."""
        await self._alerter.on_reaction(reaction)

    async def flush(self, *, all_held: bool = False) -> None:
        """Queue the alert edits the throttle holds back (every one of them at shutdown)."""
        await self._alerter.flush(all_held=all_held)

    def docker_problem(self) -> str | None:
        """Why Docker is not watched (down, or not yet listed once); None while it is."""
        w = self._watcher
        return w.down_reason if w.docker_down is not None or not w.summarized else None

    @property
    def raised(self) -> Counter[str]:
        """Incidents announced since the start, by kind (for /metrics)."""
        return self._alerter.raised

    @property
    def connects(self) -> int:
        """How often the Docker event stream (re)connected (for /metrics)."""
        return self._watcher.connects

    def looping(self) -> frozenset[str]:
        """Services with an open crash-loop alert (a listing may catch them "running")."""
        incidents = self._alerter.open_incidents()
        return frozenset(i.service for i in incidents if i.kind == "crashloop")

    async def silence(self, service: str, seconds: float, reason: str, by: str) -> Silence:
        """Hold back alerts for ``service`` (or `all`); remembers the service's condition now,
        so the end of the silence can say what changed. Unknown services are refused."""
        state = ""
        if service != "all":
            container, _ = await self.containers.resolve(service)
            service, state = container.service, condition(container.state, container.health)
        return await self._silences.add(service, seconds, reason, by, state)

    async def silences(self) -> list[Silence]:
        """The active silences, soonest end first."""
        return await self._silences.active()

    async def unsilence(self, service: str) -> Silence | None:
        """End ``service``'s silence now; the silence, or None when there was none."""
        return await self._silences.end(service)
