"""!approve / !deny: decide an approval request by its id, for when reacting is awkward."""

from __future__ import annotations

from bot.core import CommandError, Role, now_ms
from bot.framework.command import Context, command
from bot.framework.decisions import Verdict


@command(role=Role.OPERATOR, example="!approve k3x9tq")
async def approve(ctx: Context, request: str) -> str:
    """Approve a pending request (the id is on its approval card)."""
    return await _decide(ctx, request, approve=True)


@command(role=Role.OPERATOR, example="!deny k3x9tq")
async def deny(ctx: Context, request: str) -> str:
    """Reject a pending request (the id is on its approval card)."""
    return await _decide(ctx, request, approve=False)


async def _decide(ctx: Context, request: str, *, approve: bool) -> str:
    if ctx.approvals is None:
        raise CommandError("approvals are not available")
    who = Verdict(ctx.sender, ctx.role, ctx.room_id, at_ms=now_ms())
    return await ctx.approvals.decide_by_id(request[:32], who, approve)
