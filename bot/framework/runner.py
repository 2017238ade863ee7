"""Calls a command's phases with their context: failures become replies, results are redacted.

The dispatcher calls a command (or its `plan` phase) when a message asks for it; the approvals
call `execute` when a plan was approved, which calls the command's `run` phase exactly once."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from bot.access import role_of
from bot.core import CommandError, Role
from bot.framework.command import Context, Registry, no_progress
from bot.framework.plan import Plan
from bot.text.reply import Attachment, Reply

if TYPE_CHECKING:
    from bot.alerts import Alerts
    from bot.config import Config
    from bot.containers import Containers
    from bot.framework.approvals import Approvals
    from bot.store import Request, Store
    from bot.text.redact import Redactor

log = logging.getLogger(__name__)

Progress = Callable[[str], Awaitable[None]]
Outcome = tuple[str, Reply, str]  # (audit outcome, redacted reply, redacted audit details)


@dataclass(frozen=True)
class Runner:
    """What every command is called with, and how its failures read."""

    config: Config
    registry: Registry
    containers: Containers
    store: Store
    redact: Redactor
    alerts: Alerts | None = None

    def context(
        self,
        sender: str,
        room_id: str,
        event_id: str,
        role: Role,
        *,
        approvals: Approvals | None = None,
        progress: Progress = no_progress,
    ) -> Context:
        """The context of one command call."""
        return Context(
            sender=sender, room_id=room_id, event_id=event_id, role=role, config=self.config,
            containers=self.containers, store=self.store, redact=self.redact,
            registry=self.registry, approvals=approvals, alerts=self.alerts, progress=progress,
        )  # fmt: skip

    async def call(
        self, name: str, ctx: Context, work: Awaitable[Reply | str | Plan]
    ) -> tuple[str, Reply | Plan, str]:
        """Await a command phase: (outcome, its result or the reply saying why it failed,
        details for the audit row). Never raises for what a command does wrong."""
        try:
            result = await work
        except CommandError as exc:
            return exc.outcome, Reply.text(str(exc)), "\n".join([str(exc), *ctx.details])
        except Exception:
            ref = uuid.uuid4().hex[:8]
            log.exception("command %s failed (ref %s)", name, ref)
            prefix = self.config.matrix.prefix
            text = f"`{prefix}{name}` failed unexpectedly (ref {ref}); the details are in my log."
            return "error", Reply.text(text), f"internal error, ref {ref}"
        reply = Reply.text(result) if isinstance(result, str) else result
        return "ok", reply, "\n".join(ctx.details)

    async def execute(self, req: Request, progress: Progress) -> Outcome:
        """Run an approved request's plan: the command's `run` phase, once. The requester's
        role is checked again with the power level stored with the request."""
        cmd = self.registry.get(req.command)
        role = role_of(req.requester, self.config.access, req.requester_power)
        if cmd is None or cmd.run is None or role is None or role < cmd.role:
            text = f"{req.requester} may no longer use `{self.config.matrix.prefix}{req.command}`"
            return "denied", Reply.text(text), text
        plan = Plan.stored(req.summary, req.service, req.approver_role, req.warning, req.plan_data)
        ctx = self.context(req.requester, req.room_id, req.command_event_id, role,
                           progress=progress)  # fmt: skip
        outcome, result, details = await self.call(cmd.name, ctx, cmd.run(ctx, plan))
        if isinstance(result, Plan):  # a run phase returns what happened, never a plan
            raise TypeError(f"{cmd.name}: run returned a plan")
        return outcome, await self.redacted(result), await asyncio.to_thread(self.redact, details)

    async def redacted(self, reply: Reply) -> Reply:
        """``reply`` redacted (off the event loop: it may be megabytes) and cut to size."""
        return (await asyncio.to_thread(self._redacted, reply)).bounded()

    def _redacted(self, reply: Reply) -> Reply:
        attachment = reply.attachment
        if attachment is not None:
            text = self.redact(attachment.data.decode("utf-8", errors="replace"))
            attachment = Attachment(attachment.filename, text.encode(), attachment.mimetype)
        body = self.redact(reply.body)
        html = reply.html
        if html is not None:  # the HTML may spell a secret differently: never trust it then
            html = Reply.text(body).html if body != reply.body else self.redact(html)
        return replace(reply, body=body, html=html, attachment=attachment)
