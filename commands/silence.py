"""!silence / !silences / !unsilence: hold back alerts for a service (or all) for a while."""

from __future__ import annotations

import time

from bot.arguments import Duration, Rest, Service
from bot.commands import Context, Role, UsageError, command
from bot.duration import format_duration
from bot.store import Silence
from bot.watcher import condition


@command(role=Role.OPERATOR, example="!silence seafile 2h fixing the health check port")
async def silence(
    ctx: Context, service: Service, duration: Duration, reason: Rest | None = None
) -> str:
    """Hold back alerts for a service (or `all`) for a while; it is still watched.

    When the silence ends, the service's state is reported once if it changed (and an
    incident still open is announced then).
    """
    if duration > 7 * 86400:
        raise UsageError("a silence lasts at most 7d; silence it again later if needed")
    state = ""
    if service != "all":
        container, _ = await ctx.containers.resolve(service)
        service, state = Service(container.service), condition(container.state, container.health)
    now = int(time.time() * 1000)
    until = now + int(duration * 1000)
    await ctx.store.alerts.silence(
        Silence(service, until, ctx.redact(reason or ""), ctx.sender, now, state)
    )
    what = "all alerts" if service == "all" else f"alerts for `{service}`"
    why = f" ({reason})" if reason else ""
    return f"🔕 {what} silenced for {format_duration(duration)}{why}, until {_clock(until)}"


@command(role=Role.OPERATOR, example="!silences")
async def silences(ctx: Context) -> str:
    """List the active silences."""
    now = int(time.time() * 1000)
    active = [s for s in await ctx.store.alerts.silences() if s.until_ms > now]
    if not active:
        return "No silences."
    return "\n".join(
        f"🔕 `{s.service}` until {_clock(s.until_ms)} by {s.created_by}"
        + (f" — {s.reason}" if s.reason else "")
        for s in active
    )


@command(role=Role.OPERATOR, example="!unsilence seafile")
async def unsilence(ctx: Context, service: Service) -> str:
    """End a silence now."""
    removed = await ctx.store.alerts.unsilence(service)
    if removed is None:
        raise UsageError(f"`{service}` is not silenced — see `!silences`")
    return f"🔔 alerts for `{service}` are on again"


def _clock(ms: int) -> str:
    return time.strftime("%H:%M:%S UTC", time.gmtime(ms / 1000))
