"""Docker events → service state → incidents (unhealthy, crash loops, deaths) and recoveries."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from bot.alerts.alerter import Alerter
from bot.alerts.incidents import Incident
from bot.alerts.silences import Silences, condition
from bot.config import Config
from bot.containers import Containers, compose
from bot.containers.diagnose import probe_hint
from bot.containers.inventory import ContainerInfo, DockerEvent, parse_event
from bot.containers.stream import CONNECTED, DOWN, EventStream
from bot.core import CommandError, now_ms
from bot.store import Store
from bot.tasks import every
from bot.text.duration import format_duration
from bot.text.redact import Redactor, strip_ansi
from bot.text.reply import Reply

log = logging.getLogger(__name__)

DIED_AFTER_MS = 3000  # a non-zero exit not followed by a start within this is a death
EVIDENCE_LINES = 8
KEY_CONTEXT = 200  # log lines read before the evidence, so a key's BEGIN line is seen


@dataclass
class Track:
    """What the watcher knows of one service."""

    state: str = "unknown"
    health: str | None = None
    running_since_ms: int = 0
    exits: deque[tuple[int, int]] = field(default_factory=lambda: deque(maxlen=50))
    killed_ms: int = 0  # a stop/restart by someone: its exit is not a crash
    oom_ms: int = 0
    died_check_ms: int = 0  # when to check whether a non-zero exit was final


class Watcher:
    """Watches the engine and keeps the alert room told: few, precise, edited messages."""

    def __init__(self, config: Config, containers: Containers, store: Store,
                 alerter: Alerter, silences: Silences, redact: Redactor) -> None:  # fmt: skip
        self.cfg = config
        self.containers = containers
        self.store = store
        self.alerter = alerter
        self.silences = silences
        self.redact = redact
        self.tracks: dict[str, Track] = {}
        self.docker_down: tuple[int, int] | None = None  # (since, outbox id of the alert)
        self.summarized = False
        self.connects, self.down_reason = 0, "events not connected yet"  # for /healthz, /metrics

    def known(self, service: str) -> Incident | None:
        """The open incident of ``service``, announced or held back by a silence."""
        found = self.alerter.open_incident(service)
        return found[1] if found is not None else self.silences.incidents.get(service)

    def track(self, service: str) -> Track:
        """The state of ``service`` (created on first sight)."""
        return self.tracks.setdefault(service, Track())

    async def run(self) -> None:
        """Read events and keep time until cancelled."""
        await self.alerter.load()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        stream = EventStream(self.cfg.docker, queue)
        stream.start()
        ticker = asyncio.create_task(every(1.0, self.tick, "watch clock"), name="watch-clock")
        try:
            while True:
                kind, item = await queue.get()
                try:
                    await self._handle(kind, item)
                except Exception:  # one odd event must not stop the watch
                    log.exception("could not handle docker %s", kind)
        finally:
            stream.stop()
            ticker.cancel()
            await asyncio.gather(ticker, return_exceptions=True)

    async def _handle(self, kind: str, item: Any) -> None:
        if kind == CONNECTED:
            self.connects += 1
            log.info("docker events connected; re-reading every container")
            await self.resync()
        elif kind == DOWN:
            log.warning("docker: %s", item)
            await self._docker_down(str(item))
        elif kind == "event":
            event = parse_event(item)
            if event is not None:
                await self.on_event(event)

    async def _docker_down(self, reason: str) -> None:
        self.down_reason = reason
        if self.docker_down is None:
            since = now_ms()
            text = f"⚠ {reason} (since {time.strftime('%H:%M:%S UTC', time.gmtime(since / 1000))})"
            self.docker_down = (since, await self.alerter.notice(Reply.text(text)))

    async def on_event(self, ev: DockerEvent) -> None:
        """Fold one Docker event into the service's state; raise incidents it reveals."""
        t = self.track(ev.service)
        if ev.action == "start":
            t.state, t.running_since_ms, t.died_check_ms = "running", ev.ts_ms, 0
            t.health = "starting" if t.health is not None else None
        elif ev.action in ("kill", "stop"):
            t.killed_ms = ev.ts_ms
        elif ev.action == "oom":
            t.oom_ms = ev.ts_ms
        elif ev.action == "die":
            t.state = "exited"
            if t.killed_ms and ev.ts_ms - t.killed_ms <= 15_000:
                return  # a stop or restart someone asked for: not a crash
            code = ev.exit_code if ev.exit_code is not None else -1
            t.exits.append((ev.ts_ms, code))
            await self._after_exit(ev.service, t, ev.ts_ms, code)
        elif ev.action == "health_status" and ev.health:
            t.health = ev.health
            if ev.health == "unhealthy":
                await self._unhealthy(ev.service, ev.ts_ms)

    async def _after_exit(self, service: str, t: Track, ts: int, code: int) -> None:
        window = self.cfg.alerts.loop_window * 1000
        recent = [c for when, c in t.exits if ts - when <= window]
        known = self.known(service)
        if known is not None and known.kind == "crashloop":
            return  # already told; a loop's every turn is not news
        if len(recent) >= self.cfg.alerts.loop_exits:
            codes = sorted(set(recent))
            summary = f"exit {'/'.join(map(str, codes))} ×{len(recent)} in "
            summary += format_duration(self.cfg.alerts.loop_window)
            await self._raise(Incident(service, "crashloop", ts, summary,
                                       await self._log_tail(service)))  # fmt: skip
        elif code != 0:
            if await self._stays_down(service):
                await self._died(service, t)  # nothing will bring it back: say so now
            else:
                t.died_check_ms = ts + DIED_AFTER_MS  # its restart policy may bring it back

    async def _stays_down(self, service: str) -> bool:
        """True when Docker will not restart the container (restart policy "no")."""
        try:
            container, _ = await self.containers.resolve(service)
            detail = await self.containers.inspect(container)
        except CommandError:
            return False
        return detail.state not in ("running", "restarting") and detail.restart_policy == "no"

    async def _died(self, service: str, t: Track) -> None:
        when, code = t.exits[-1]
        oom = t.oom_ms > 0 and abs(t.oom_ms - when) < 5000
        summary = f"exit {code}" + (", OOM-killed: out of memory" if oom else "")
        await self._raise(Incident(service, "died", when, summary, await self._log_tail(service)))

    async def _unhealthy(self, service: str, ts: int) -> None:
        known = self.known(service)
        if known is not None and known.kind in ("unhealthy", "crashloop"):
            return  # already told
        evidence, hint, summary = [], "", "health check failing"
        try:
            container, _ = await self.containers.resolve(service)
            detail = await self.containers.inspect(container)
        except CommandError:
            detail = None
        if detail is not None and detail.probes:
            last = " ".join(self.redact(strip_ansi(detail.probes[-1].output)).split())[:300]
            evidence = [f"last probe (exit {detail.probes[-1].exit_code}): {last}"]
            hint = probe_hint(detail) or ""
            summary = f"failing streak {detail.failing_streak}"
        await self._raise(Incident(service, "unhealthy", ts, summary, evidence, hint))

    async def _log_tail(self, service: str) -> list[str]:
        try:
            container, _ = await self.containers.resolve(service)
            logs = await self.containers.logs(container, tail=EVIDENCE_LINES + KEY_CONTEXT,
                                              since=None, deadline=3.0)  # fmt: skip
        except CommandError:
            return []
        text = await asyncio.to_thread(lambda: self.redact(strip_ansi(logs.text)))  # off the loop
        return [line[:300] for line in text.splitlines()[-EVIDENCE_LINES:]]

    async def _raise(self, inc: Incident) -> None:
        log.info("incident: %s %s (%s)", inc.service, inc.kind, inc.summary)
        if not await self.silences.hold(inc):
            await self.alerter.raise_incident(inc)

    async def resync(self) -> None:
        """Re-read every container (after any (re)connect) and reconcile incidents."""
        for attempt in range(3):  # a pooled connection may have died with the old stream
            try:
                listing = await self.containers.listing()
                break
            except CommandError as exc:
                if attempt == 2:
                    await self._docker_down(str(exc))
                    return
                await asyncio.sleep(1.0)
        if self.docker_down is not None:
            since, outbox_id = self.docker_down
            self.docker_down = None
            took = format_duration((now_ms() - since) / 1000)
            back = Reply.text(f"✅ Docker engine reachable again (after {took})")
            await self.alerter.follow_up(outbox_id, back)
        now = now_ms()
        for c in listing:
            deps = await asyncio.to_thread(compose.dependencies, c.labels, c.service)
            self.alerter.set_dependencies(c.service, deps or ())
        for c in listing:
            await self._reconcile(c, now)
        if not self.summarized:
            self.summarized = True
            await self._summary(listing)

    async def _reconcile(self, c: ContainerInfo, now: int) -> None:
        t = self.track(c.service)
        if c.state == "running" and t.state != "running":
            t.running_since_ms = now
        t.state, t.health = c.state, c.health
        known = self.known(c.service)
        if c.state == "restarting" and not known:
            summary = f"restarting (exit {c.exit_code})"
            await self._raise(Incident(c.service, "crashloop", now, summary,
                                       await self._log_tail(c.service)))  # fmt: skip
        elif c.state in ("exited", "dead") and c.exit_code and not known:
            await self._raise(Incident(c.service, "died", now, f"exit {c.exit_code}",
                                       await self._log_tail(c.service)))  # fmt: skip
        elif c.health == "unhealthy" and not known:
            await self._unhealthy(c.service, now)

    async def _summary(self, listing: list[ContainerInfo]) -> None:
        bare = sorted({c.service for c in listing if c.state == "running" and c.health is None})
        key = ",".join(bare)
        if bare and await self.store.get("watch.no_healthcheck") != key:
            await self.store.put("watch.no_healthcheck", key)
            text = (f"👁 Watching {len(listing)} containers. Without a health check (only "
                    f"crashes are visible): {', '.join(bare)}")  # fmt: skip
            await self.alerter.notice(Reply.text(text))

    async def tick(self) -> None:
        """Deaths that stayed dead, recoveries that held, repeats, ended silences."""
        now = now_ms()
        for service, t in list(self.tracks.items()):  # events may add services meanwhile
            if t.died_check_ms and now >= t.died_check_ms:
                t.died_check_ms = 0
                if t.state == "exited" and t.exits:
                    await self._died(service, t)
            found = self.alerter.open_incident(service)
            if found is not None:
                await self.alerter.observe(service, looks_fine(found[1], t), t.running_since_ms,
                                           now)  # fmt: skip
        await self.alerter.repeat()
        await self._end_silences(now)

    async def _end_silences(self, now: int) -> None:
        for s in await self.silences.ended(now):
            await self.silences.end(s.service)
            for name, inc in self.silences.release(s).items():
                if inc is not None and not looks_fine(inc, self.track(name)):
                    await self.alerter.raise_incident(inc)  # still broken: say so now, once
                elif inc is not None or (s.state_then and s.state_then != self.state_of(name)):
                    text = f"🔕 silence on {name} ended: it is {self.state_of(name)} now"
                    await self.alerter.notice(Reply.text(text))

    def state_of(self, service: str) -> str:
        """The service's condition in a word (silences compare this)."""
        t = self.tracks.get(service)
        return "unknown" if t is None else condition(t.state, t.health)


def looks_fine(inc: Incident, t: Track) -> bool:
    """Whether the service currently looks recovered from ``inc``."""
    if inc.kind == "unhealthy":
        return t.health == "healthy"
    return t.state == "running" and t.health in ("healthy", None)
