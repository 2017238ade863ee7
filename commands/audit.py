"""!audit: the most recent recorded commands and approval steps, newest first."""

from __future__ import annotations

import time

from bot.core import Role, UsageError
from bot.framework.arguments import SERVICE_NAME, Service
from bot.framework.command import Context, command
from bot.store.audit import describe
from bot.text.reply import Reply, esc

MAX_ROWS = 50


@command(role=Role.ADMIN, example="!audit 20 seafile")
async def audit(ctx: Context, count: str | None = None, service: Service | None = None) -> Reply:
    """Show the last recorded commands and approval steps (default 10, at most 50).

    With a service, only what concerned it. Approval steps (requested, approved, rejected,
    expired, started, succeeded, failed, ignored) carry their request id.
    `!audit verify` recomputes the tamper-evident chain and reports its head, or the first
    broken row.
    """
    if count == "verify" and service is None:
        return Reply.text(describe(await ctx.store.audit.verify()))
    rows_wanted = 10
    if count is not None and count.isdigit():
        rows_wanted = int(count)
    elif count is not None and service is None:
        service = Service.parse(count) if SERVICE_NAME.match(count) else None
        if service is None:
            raise UsageError("give a number of rows, a service name, or `verify`")
    elif count is not None:
        raise UsageError(f"`{count[:20]}` is not a number of rows")
    if not 1 <= rows_wanted <= MAX_ROWS:
        raise UsageError(f"count must be between 1 and {MAX_ROWS}")
    rows = await ctx.store.audit.recent(rows_wanted, service)
    if not rows:
        return Reply.text("Nothing recorded" + (f" for `{service}`." if service else "."))
    lines, items = [], []
    for row in rows:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(row.ts_ms / 1000))
        what = f"{ctx.config.matrix.prefix}{row.command} {row.args}".strip()
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
