"""Incidents and alerts: what is broken, what it breaks, and how one alert message reads."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from bot.text.duration import format_duration
from bot.text.reply import Reply, esc, pre

SEVERE = ("crashloop", "died")  # page on-call when a protected service does this
WORDS = {
    "unhealthy": "is unhealthy",
    "crashloop": "is crash-looping",
    "died": "died",
}


@dataclass
class Incident:
    """One service in trouble."""

    service: str
    kind: str  # unhealthy | crashloop | died
    since_ms: int
    summary: str  # "exit 1 ×3 in 5m", "OOM-killed", "probe: connection refused"
    evidence: list[str] = field(default_factory=list)  # probe output or last log lines (redacted)
    hint: str = ""
    resolved_ms: int | None = None
    ok_since_ms: int | None = None  # when it started looking fine (recovery hold-down)


@dataclass
class Alert:
    """One message in the alert room; several incidents of one burst or cascade share it."""

    opened_ms: int
    incidents: dict[str, Incident]
    last_added_ms: int
    last_sent_ms: int
    id: int = 0
    outbox_id: int = 0
    acked_by: str = ""
    resolved_ms: int | None = None
    paged: bool = False
    last_edit_ms: int = 0  # when its message was last edited (edits are throttled)

    def failing(self) -> set[str]:
        """Services of this alert still in trouble."""
        return {s for s, i in self.incidents.items() if i.resolved_ms is None}

    def state(self) -> dict[str, Any]:
        """A JSON-able snapshot (for the store)."""
        return asdict(self)

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> Alert:
        """Rebuild an alert from its snapshot."""
        incidents = {k: Incident(**v) for k, v in data.pop("incidents").items()}
        return cls(incidents=incidents, **data)


def closure(service: str, deps_of: Callable[[str], set[str]]) -> set[str]:
    """Everything ``service`` depends on, directly or not."""
    seen: set[str] = set()
    todo = list(deps_of(service))
    while todo:
        dep = todo.pop()
        if dep not in seen and dep != service:
            seen.add(dep)
            todo.extend(deps_of(dep))
    return seen


def related(service: str, alert: Alert, deps_of: Callable[[str], set[str]]) -> bool:
    """Whether ``service`` depends on, or is depended on by, a failing member of ``alert``."""
    failing = alert.failing()
    if closure(service, deps_of) & failing:
        return True
    return any(service in closure(other, deps_of) for other in failing)


def causes(alert: Alert, deps_of: Callable[[str], set[str]]) -> dict[str, list[str]]:
    """Root causes → the failing services they take down with them."""
    failing = alert.failing()
    roots = sorted(s for s in failing if not closure(s, deps_of) & failing)
    if not roots and failing:  # a dependency cycle: every member is "a" cause
        roots = sorted(failing)
    return {
        root: sorted(s for s in failing if s != root and root in closure(s, deps_of))
        for root in roots
    }


def _clock(ms: int) -> str:
    return time.strftime("%H:%M:%S UTC", time.gmtime(ms / 1000))


def render(alert: Alert, deps_of: Callable[[str], set[str]], now_ms: int) -> Reply:
    """The alert message as it should read now."""
    body: list[str] = []
    html: list[str] = []
    if alert.resolved_ms is not None:
        took = format_duration((alert.resolved_ms - alert.opened_ms) / 1000)
        names = ", ".join(sorted(alert.incidents))
        head = f"✅ resolved after {took}: {names} (since {_clock(alert.opened_ms)})"
        return Reply(body=head, html=f"<p>{esc(head)}</p>")
    for root, affected in causes(alert, deps_of).items():
        inc = alert.incidents[root]
        line = f"🔴 {root} {WORDS[inc.kind]} ({inc.summary}) since {_clock(inc.since_ms)}"
        if affected:
            verb = "depends" if len(affected) == 1 else "depend"
            line += f" — also affected: {', '.join(affected)}, which {verb} on it"
        body.append(line)
        html.append(f"<p><b>{esc(line)}</b></p>")
        if inc.evidence:
            body.extend(f"    {e}" for e in inc.evidence)
            html.append(pre("\n".join(inc.evidence)))
        if inc.hint:
            body.append(f"💡 {inc.hint}")
            html.append(f"<p>💡 {esc(inc.hint)}</p>")
    recovered = sorted(s for s, i in alert.incidents.items() if i.resolved_ms is not None)
    if recovered:
        body.append("✅ recovered: " + ", ".join(recovered))
        html.append(f"<p>✅ recovered: {esc(', '.join(recovered))}</p>")
    if alert.acked_by:
        body.append(f"👀 acknowledged by {alert.acked_by}")
        html.append(f"<p>👀 acknowledged by {esc(alert.acked_by)}</p>")
    return Reply(body="\n".join(body), html="".join(html)).bounded()
