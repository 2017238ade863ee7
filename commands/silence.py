"""!silence / !silences / !unsilence: hold back alerts for a service (or all) for a while."""

from __future__ import annotations

import time

from bot.alerts import Alerts
from bot.core import CommandError, Role, UsageError
from bot.framework.arguments import Duration, Rest, Service
from bot.framework.command import Context, command
from bot.text.duration import format_duration


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
    made = await _alerts(ctx).silence(service, duration, reason or "", ctx.sender)
    what = "all alerts" if made.service == "all" else f"alerts for `{made.service}`"
    why = f" ({reason})" if reason else ""
    return f"🔕 {what} silenced for {format_duration(duration)}{why}, until {_clock(made.until_ms)}"


@command(role=Role.OPERATOR, example="!silences")
async def silences(ctx: Context) -> str:
    """List the active silences."""
    active = await _alerts(ctx).silences()
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
    removed = await _alerts(ctx).unsilence(service)
    if removed is None:
        raise UsageError(f"`{service}` is not silenced — see `{ctx.config.matrix.prefix}silences`")
    return f"🔔 alerts for `{service}` are on again"


def _alerts(ctx: Context) -> Alerts:
    if ctx.alerts is None:
        raise CommandError("alerting is not running")
    return ctx.alerts


def _clock(ms: int) -> str:
    return time.strftime("%H:%M:%S UTC", time.gmtime(ms / 1000))
