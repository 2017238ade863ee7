"""!audit: the most recent recorded commands, newest first."""

from __future__ import annotations

import time

from bot.commands import Context, Role, UsageError, command
from bot.reply import Reply, esc

MAX_ROWS = 50


@command(role=Role.ADMIN, example="!audit 20")
async def audit(ctx: Context, count: int = 10) -> Reply:
    """Show the last recorded commands (default 10, at most 50), newest first."""
    if not 1 <= count <= MAX_ROWS:
        raise UsageError(f"count must be between 1 and {MAX_ROWS}")
    rows = await ctx.store.recent(count)
    if not rows:
        return Reply.text("The audit log is empty.")
    lines, items = [], []
    for row in rows:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(row.ts_ms / 1000))
        what = f"!{row.command} {row.args}".strip()
        extra = f" — {row.details}" if row.details else ""
        lines.append(f"{when}Z {row.sender} {what} → {row.outcome} ({row.duration_ms} ms){extra}")
        items.append(
            f"<li>{esc(when)}Z {esc(row.sender)} <code>{esc(what)}</code> → "
            f"<b>{esc(row.outcome)}</b> ({row.duration_ms} ms){esc(extra)}</li>"
        )
    head = f"Last {len(rows)} recorded commands (UTC):"
    return Reply(body=head + "\n" + "\n".join(lines), html=f"{esc(head)}<ul>{''.join(items)}</ul>")
