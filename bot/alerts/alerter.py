"""Alert messages: grouping by burst and dependency, outbox delivery, edits, acks, repeats."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from bot.alerts.incidents import SEVERE, Alert, Incident, related, render
from bot.audit import Audit
from bot.config import Config
from bot.core import Reaction, now_ms
from bot.matrix import events
from bot.matrix.courier import ref
from bot.store import Store
from bot.text.duration import format_duration
from bot.text.reply import Reply

log = logging.getLogger(__name__)
EDIT_GAP_MS = 1000  # at most one edit of an alert message per second

ACK_KEYS = ("👀",)
Queue = Callable[[str, dict[str, Any]], Awaitable[int]]


class Alerter:
    """Owns the open alerts; every message and edit goes through the durable outbox."""

    def __init__(self, config: Config, store: Store, queue: Queue, audit: Audit) -> None:
        self.cfg = config
        self.store = store
        self.queue = queue
        self.audit = audit
        self.room = config.matrix.alert_room
        self.alerts: list[Alert] = []
        self._deps: dict[str, set[str]] = {}  # compose dependencies, as the watcher read them
        self.raised: Counter[str] = Counter()  # incidents announced, by kind (for /metrics)
        self.held: dict[int, Alert] = {}  # alerts whose newest text waits for the edit throttle

    def deps_of(self, service: str) -> set[str]:
        """Compose dependencies plus the configured extra ones."""
        return self._deps.get(service, set()) | set(self.cfg.alerts.extra_dependencies(service))

    def set_dependencies(self, service: str, deps: Iterable[str]) -> None:
        """Remember the compose dependencies of ``service`` (they group and explain alerts)."""
        self._deps[service] = set(deps)

    async def load(self) -> None:
        """Reload the alerts still open before a restart (they keep their messages)."""
        for alert_id, outbox_id, state in await self.store.alerts.open():
            alert = Alert.from_state(state)
            alert.id, alert.outbox_id = alert_id, outbox_id
            self.alerts.append(alert)
            alert.last_edit_ms = 0  # an edit held back when the bot stopped goes out now
            self.held[alert.id] = alert

    def open_incident(self, service: str) -> tuple[Alert, Incident] | None:
        """The unresolved incident of ``service``, with its alert."""
        for alert in self.alerts:
            inc = alert.incidents.get(service)
            if inc is not None and inc.resolved_ms is None:
                return alert, inc
        return None

    def open_incidents(self) -> list[Incident]:
        """Every unresolved incident of the open alerts."""
        return [i for a in self.alerts for i in a.incidents.values() if i.resolved_ms is None]

    def _page(self, inc: Incident) -> list[str]:
        severe = inc.kind in SEVERE and inc.service in self.cfg.protected
        return list(self.cfg.alerts.oncall) if severe else []

    async def raise_incident(self, inc: Incident) -> None:
        """Announce an incident: a new message, or an edit of the alert it belongs with."""
        self.raised[inc.kind] += 1
        now = now_ms()
        found = self.open_incident(inc.service)
        if found is not None:  # already known: update it when it got worse or changed
            alert, old = found
            if (old.kind, old.summary) == (inc.kind, inc.summary):
                return
            inc.since_ms = min(old.since_ms, inc.since_ms)
            alert.incidents[inc.service] = inc
            await self._update(alert, page=self._page(inc) if old.kind not in SEVERE else [])
            return
        window = self.cfg.alerts.burst_window * 1000
        for alert in self.alerts:
            if alert.resolved_ms is None and (
                now - alert.last_added_ms <= window or related(inc.service, alert, self.deps_of)
            ):
                alert.incidents[inc.service] = inc
                alert.last_added_ms = now
                await self._update(alert, page=self._page(inc))
                return
        alert = Alert(opened_ms=inc.since_ms, incidents={inc.service: inc},
                      last_added_ms=now, last_sent_ms=now, last_edit_ms=now)  # fmt: skip
        mentions = self._page(inc)
        alert.paged = bool(mentions)
        reply = render(alert, self.deps_of, now)
        content = events.message(reply, msgtype="m.text" if mentions else "m.notice",
                                 mentions=mentions)  # fmt: skip
        content["org.opsbot.alert"] = {"services": sorted(alert.incidents)}
        alert.id, alert.outbox_id = await self.store.alerts.add(self.room, content, alert.state())
        self.alerts.append(alert)

    async def _update(self, alert: Alert, page: list[str] | None = None) -> None:
        """Edit the alert's message: now, or (within a second of the last edit) on the next
        clock tick with the newest text. A storm of 50 failures is then a message and a few
        edits, well inside the homeserver's rate limit, instead of one edit per failure."""
        if now_ms() - alert.last_edit_ms >= EDIT_GAP_MS:
            await self._edit(alert)
        else:
            self.held[alert.id] = alert
        if page:
            names = ", ".join(sorted(alert.failing()))
            await self.thread(alert, Reply.text(f"📟 {' '.join(page)}: {names}"), page)
        await self.store.alerts.save(alert.id, alert.state(), alert.resolved_ms is None)

    async def _edit(self, alert: Alert) -> None:
        self.held.pop(alert.id, None)
        alert.last_edit_ms = now_ms()
        reply = render(alert, self.deps_of, alert.last_edit_ms)
        msgtype = "m.text" if alert.paged else "m.notice"
        await self.queue(self.room, events.edit(ref(alert.outbox_id), reply, msgtype=msgtype))

    async def flush(self, *, all_held: bool = False) -> None:
        """Send the edits the throttle held back (the watcher's clock calls this each second;
        shutdown sends every held edit)."""
        now = now_ms()
        for alert in list(self.held.values()):
            if all_held or now - alert.last_edit_ms >= EDIT_GAP_MS:
                await self._edit(alert)

    async def thread(self, alert: Alert, reply: Reply, mentions: list[str] | None = None) -> None:
        """A message in the alert's thread."""
        relation = events.thread_relation(ref(alert.outbox_id), ref(alert.outbox_id))
        msgtype = "m.text" if mentions else "m.notice"
        await self.queue(self.room, events.message(reply, relation, msgtype=msgtype,
                                                   mentions=mentions))  # fmt: skip

    async def observe(self, service: str, fine: bool, fine_since_ms: int, now: int) -> None:
        """Whether ``service`` looks recovered (not before ``fine_since_ms``): its incident is
        resolved once it has looked fine for the recovery hold, without a relapse."""
        found = self.open_incident(service)
        if found is None:
            return
        _, inc = found
        if not fine:
            inc.ok_since_ms = None
        elif inc.ok_since_ms is None:
            inc.ok_since_ms = max(now, fine_since_ms)
        elif now - inc.ok_since_ms >= self.cfg.alerts.recovery_hold * 1000:
            await self.resolve(service, now)

    async def resolve(self, service: str, at_ms: int) -> None:
        """Mark a service's incident resolved; close the alert when nothing is left."""
        found = self.open_incident(service)
        if found is None:
            return
        alert, inc = found
        inc.resolved_ms = at_ms
        if alert.failing():
            await self._update(alert)
            return
        alert.resolved_ms = at_ms
        self.alerts.remove(alert)
        # the last edit is not throttled: a closed alert is not reloaded after a restart, so a
        # held "resolved" would never reach the room
        await self._edit(alert)
        await self.store.alerts.save(alert.id, alert.state(), False)
        took = format_duration((at_ms - alert.opened_ms) / 1000)
        await self.thread(alert, Reply.text(f"✅ resolved after {took}"))

    async def repeat(self) -> None:
        """Re-announce still-firing, unacknowledged alerts in their thread."""
        await self.flush()
        every = self.cfg.alerts.repeat_interval * 1000
        now = now_ms()
        for alert in self.alerts:
            if not alert.acked_by and now - alert.last_sent_ms >= every:
                alert.last_sent_ms = now
                text = "still firing: " + ", ".join(sorted(alert.failing()))
                page = list(self.cfg.alerts.oncall) if alert.paged else None  # as the first time
                await self.thread(alert, Reply.text(text), page or None)
                await self.store.alerts.save(alert.id, alert.state(), True)

    async def on_reaction(self, reaction: Reaction) -> None:
        """👀 on an alert acknowledges it (no more repeats); recorded."""
        if reaction.key.replace("\ufe0f", "") not in ACK_KEYS or reaction.room_id != self.room:
            return
        item = await self.store.outbox.item_of(reaction.target)
        alert = next((a for a in self.alerts if a.outbox_id == item), None)
        if item is None or alert is None or alert.acked_by:
            return
        alert.acked_by = reaction.sender
        await self._update(alert)
        await self.audit.ack(self.room, reaction.sender, reaction.event_id,
                             sorted(alert.failing()), sorted(alert.incidents))  # fmt: skip

    async def follow_up(self, outbox_id: int, reply: Reply) -> None:
        """Close a notice: edit it to ``reply`` and say so in its thread."""
        await self.queue(self.room, events.edit(ref(outbox_id), reply))
        relation = events.thread_relation(ref(outbox_id), ref(outbox_id))
        await self.queue(self.room, events.message(reply, relation))

    async def notice(self, reply: Reply) -> int:
        """A plain notice in the alert room (summaries, Docker outages); its outbox id."""
        return await self.queue(self.room, events.message(reply))
