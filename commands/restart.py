"""!restart: restart one service after another operator approves, then verify it."""

from __future__ import annotations

import time

from bot.containers.settle import wait_settled
from bot.core import CommandError, Role, UsageError
from bot.framework.arguments import Service
from bot.framework.command import Context, command
from bot.framework.plan import Plan
from bot.text.duration import format_duration

HOUR_MS = 3_600_000


async def run(ctx: Context, plan: Plan) -> str:
    """Restart the planned service with its own stop grace period; wait until it settles."""
    name = plan.service
    container, _ = await ctx.containers.resolve(name)
    detail = await ctx.containers.inspect(container)
    started = time.monotonic()
    grace = 10 if detail.stop_timeout is None else detail.stop_timeout  # its own stop period
    await ctx.containers.restart(container, grace)
    await ctx.progress(f"restarted; waiting up to {format_duration(ctx.config.health_wait)}")
    settled = await wait_settled(ctx.containers, name, ctx.config.health_wait, fail_fast=False)
    took = time.monotonic() - started
    if settled.ok:
        return f"`{name}` restarted in {took:.1f} s — {settled.state}"
    probe = settled.last_probe()
    raise CommandError(
        f"`{name}` restarted, but {settled.state} after {format_duration(took)}"
        + (f" — last probe: {ctx.redact(probe)}" if probe else "")
    )


@command(role=Role.OPERATOR, run=run, example="!restart seafile")
async def restart(ctx: Context, service: Service) -> Plan:
    """Restart a service and wait until it is healthy again.

    Another operator approves first (an admin, for the protected services the bot itself
    depends on). The container stops with its own grace period. At most `restart_budget`
    restarts per service per hour: restarting a crash loop only hides it.
    """
    container, _ = await ctx.containers.resolve(service)
    name = container.service
    budget, p = ctx.config.restart_budget, ctx.config.matrix.prefix
    since = int(time.time() * 1000) - HOUR_MS
    used = await ctx.store.requests.runs_since("restart", name, since)
    if used >= budget:
        raise UsageError(
            f"I restarted `{name}` {used} times in the last hour (budget {budget}); restarting "
            f"again would only hide a crash loop — see `{p}status {name}` and `{p}logs {name}`"
        )
    protected = name in ctx.config.protected
    return Plan(
        summary=f"restart `{name}` (container `{container.name}`)",
        service=name,
        approver_role=Role.ADMIN if protected else Role.OPERATOR,
        warning=(
            f"I will be offline while {name} restarts; I will report back when I am reconnected."
            if protected
            else ""
        ),
    )
