"""!audit: the most recent recorded commands and approval steps, newest first."""

from __future__ import annotations

import time

from bot.arguments import Service
from bot.commands import Context, Role, UsageError, command
from bot.reply import Reply, esc

MAX_ROWS = 50


@command(role=Role.ADMIN, example="!audit 20 seafile")
async def audit(ctx: Context, count: int = 10, service: Service | None = None) -> Reply:
    """Show the last recorded commands and approval steps (default 10, at most 50).

    With a service, only what concerned it. Approval steps (requested, approved, rejected,
    expired, started, succeeded, failed, ignored) carry their request id.
    """
    if not 1 <= count <= MAX_ROWS:
        raise UsageError(f"count must be between 1 and {MAX_ROWS}")
    rows = await ctx.store.audit.recent(count, service)
    if not rows:
        return Reply.text("Nothing recorded" + (f" for `{service}`." if service else "."))
    lines, items = [], []
    for row in rows:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(row.ts_ms / 1000))
        what = f"!{row.command} {row.args}".strip()
        step = f" [{row.request_id} {row.step}]" if row.request_id else ""
        extra = f" — {row.details.splitlines()[0][:200]}" if row.details else ""
        took = f" ({row.duration_ms} ms)" if row.duration_ms else ""
        lines.append(f"{when}Z {row.sender} {what}{step} → {row.outcome}{took}{extra}")
        items.append(
            f"<li>{esc(when)}Z {esc(row.sender)} <code>{esc(what)}</code>{esc(step)} → "
            f"<b>{esc(row.outcome)}</b>{esc(took)}{esc(extra)}</li>"
        )
    head = f"Last {len(rows)} recorded entries (UTC)" + (f" for {service}" if service else "") + ":"
    return Reply(body=head + "\n" + "\n".join(lines), html=f"{esc(head)}<ul>{''.join(items)}</ul>")
