"""!status: the whole stack at a glance, or one service in depth."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

from bot.containers.diagnose import probe_hint
from bot.containers.inventory import ContainerDetail, ContainerInfo, shorten_phrase
from bot.core import Role
from bot.framework.arguments import Service
from bot.framework.command import Context, command
from bot.text.duration import format_duration
from bot.text.redact_argv import shown_healthcheck
from bot.text.reply import Reply, esc

PROBE_CHARS = 300
_AGO = re.compile(r"\) (.+) ago$")
# Problem order: the worst first.
_RANK = {"restarting": 0, "dead": 1, "exited": 2, "unhealthy": 3, "starting": 4}


@command(role=Role.VIEWER, example="!status seafile")
async def status(ctx: Context, service: Service | None = None) -> Reply:
    """Show every container's state and health, or one service in depth.

    Without a service: a summary line, then problems first, then healthy services, then
    services without a health check. With a service: state, health probes and their output,
    exit code, restarts, image, health check and compose dependencies.
    """
    if service is not None:
        return await _one(ctx, service)
    containers = await ctx.containers.listing()
    if not containers:
        scope = (
            f"compose project `{ctx.config.docker.project}`"
            if ctx.config.docker.project
            else "Docker"
        )
        return Reply.text(f"No containers found in {scope}.")
    # a list call may catch a looping service between two restarts, "running" for a moment
    looping = ctx.alerts.looping() if ctx.alerts is not None else frozenset()
    return overview(containers, looping)


def _kind(c: ContainerInfo, looping: frozenset[str] = frozenset()) -> str:
    if c.service in looping and c.state in ("running", "restarting"):
        return "restarting"
    if c.state == "running":
        return c.health or "no-healthcheck"
    if c.state == "exited" and c.exit_code == 0:
        return "stopped"
    return c.state


def _describe(c: ContainerInfo, looping: frozenset[str] = frozenset()) -> str:
    if c.service in looping and c.state == "running":
        up = f" · up {c.uptime}" if c.uptime else ""
        return f"crash-looping (alert open){up}"
    if c.state == "restarting":
        return f"restarting (exit {c.exit_code})"
    if c.state in ("exited", "dead"):
        ago = _AGO.search(c.status)
        when = f", {shorten_phrase(ago.group(1))} ago" if ago else ""
        return f"{c.state} (exit {c.exit_code}{when})"
    if c.state == "running":
        health = c.health or "no health check"
        return f"{health} · up {c.uptime}" if c.uptime else health
    return c.state


def overview(containers: list[ContainerInfo], looping: frozenset[str] = frozenset()) -> Reply:
    """Render the stack overview: summary, problems, healthy, no health check.

    ``looping``: services the watcher knows to be crash-looping (shown as restarting)."""
    counts: dict[str, int] = {}
    for c in containers:
        counts[_kind(c, looping)] = counts.get(_kind(c, looping), 0) + 1
    total = len(containers)
    parts = [f"{counts.get('healthy', 0)}/{total} healthy"]
    for key, label in (
        ("unhealthy", "unhealthy"),
        ("starting", "starting"),
        ("restarting", "restarting"),
        ("exited", "exited"),
        ("dead", "dead"),
        ("stopped", "stopped"),
        ("created", "created"),
        ("paused", "paused"),
        ("no-healthcheck", "without health check"),
    ):
        if counts.get(key):
            parts.append(f"{counts[key]} {label}")
    summary = " · ".join(parts)
    names = _labels(containers)
    problems = sorted(
        (c for c in containers if _kind(c, looping) not in ("healthy", "no-healthcheck")),
        key=lambda c: (_RANK.get(_kind(c, looping), 9), names[c.id]),
    )
    healthy = sorted(
        (c for c in containers if _kind(c, looping) == "healthy"), key=lambda c: names[c.id]
    )
    bare = sorted(
        (c for c in containers if _kind(c, looping) == "no-healthcheck"), key=lambda c: names[c.id]
    )

    body = [summary]
    html = [f"<b>{esc(summary)}</b>"]
    if problems:
        rows = [(_icon(c, looping), names[c.id], _describe(c, looping)) for c in problems]
        body += [f"{icon} {name} — {what}" for icon, name, what in rows]
        listed = "".join(f"<li>{i} <b>{esc(n)}</b> — {esc(w)}</li>" for i, n, w in rows)
        html.append(f"<ul>{listed}</ul>")
    for title, group in (("Healthy", healthy), ("Running without health check", bare)):
        if group:
            items = [f"{names[c.id]} ({c.uptime})" if c.uptime else names[c.id] for c in group]
            body.append(f"{title} ({len(group)}): " + ", ".join(items))
            html.append(f"<p><b>{title} ({len(group)}):</b> {esc(', '.join(items))}</p>")
    return Reply(body="\n".join(body), html="".join(html))


def _labels(containers: list[ContainerInfo]) -> dict[str, str]:
    """Service names, or container names where a service has several containers."""
    per_service: dict[str, int] = {}
    for c in containers:
        per_service[c.service] = per_service.get(c.service, 0) + 1
    return {c.id: c.service if per_service[c.service] == 1 else c.name for c in containers}


def _icon(c: ContainerInfo, looping: frozenset[str] = frozenset()) -> str:
    kind = _kind(c, looping)
    if kind in ("restarting", "dead") or (kind == "exited" and c.exit_code):
        return "🔴"
    return {"unhealthy": "🟠", "starting": "🟡", "healthy": "✅"}.get(kind, "⚪")


async def _one(ctx: Context, name: str) -> Reply:
    container, everything = await ctx.containers.resolve(name)
    detail = await ctx.containers.inspect(container)
    deps = await ctx.containers.dependencies(detail)
    lines = describe_detail(detail, ctx.redact)
    if deps is None:
        lines.append("depends on: unknown (no compose label and the compose file is not readable)")
    elif deps:
        by_service = {c.service: c for c in everything}
        states = [
            f"{d} ({_describe(by_service[d])})" if d in by_service else f"{d} (not found)"
            for d in deps
        ]
        lines.append("depends on: " + ", ".join(states))
    else:
        lines.append("depends on: nothing")
    return Reply.text("\n".join(lines))


def describe_detail(d: ContainerDetail, clean: Callable[[str], str]) -> list[str]:
    """The lines of `!status <svc>` that come from one inspect (text passed through ``clean``)."""
    now = datetime.now(UTC)
    head = f"`{d.service}` (container `{d.name}`) — {d.state}"
    if d.health:
        head += f" · {d.health}"
        if d.failing_streak:
            head += f" (failing streak {d.failing_streak})"
    lines = [head]
    if d.state != "running" or d.exit_code or d.oom_killed:
        exit_line = f"exit code: {d.exit_code}"
        if d.oom_killed:
            exit_line += " — OOM-killed (out of memory)"
        if d.error:
            exit_line += f" — {clean(d.error)}"
        lines.append(exit_line)
    lines.append(f"restarts: {d.restart_count} (restart policy: {d.restart_policy})")
    if d.started_at:
        lines.append(f"started: {_when(d.started_at, now)}")
    if d.finished_at and d.state != "running":
        lines.append(f"finished: {_when(d.finished_at, now)}")
    lines.append(f"image: `{d.image}`")
    if d.healthcheck:
        lines.append(f"health check: `{clean(shown_healthcheck(d.healthcheck))}`")
        for p in d.probes[-3:]:
            out = " ".join(clean(p.output).split())
            out = out[:PROBE_CHARS] + ("…" if len(out) > PROBE_CHARS else "")
            at = p.end.strftime("%H:%M:%S") if p.end else "?"
            lines.append(f"  probe {at}Z exit {p.exit_code}: {out or '(no output)'}")
        hint = probe_hint(d)
        if hint:
            lines.append(f"hint: {hint}")
    else:
        lines.append("health check: none — only crashes are visible; consider adding one")
    return lines


def _when(at: datetime, now: datetime) -> str:
    age = format_duration((now - at).total_seconds())
    return f"{at.strftime('%Y-%m-%d %H:%M:%S')}Z ({age} ago)"
