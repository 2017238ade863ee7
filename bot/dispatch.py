"""Message → command: role check → argument binding → run as an owned task → reply → audit."""

from __future__ import annotations

import asyncio
import logging
import re
import shlex
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from bot.access import in_scope, role_of, scope_of
from bot.arguments import Service
from bot.commands import (
    ApprovalNeeded,
    Command,
    CommandError,
    Context,
    Registry,
    Role,
    UsageError,
    no_progress,
)
from bot.config import Config
from bot.containers import Containers
from bot.redact import Redactor
from bot.reply import Attachment, Reply
from bot.store import AuditEntry, Request, Store
from bot.tasks import TaskSet

if TYPE_CHECKING:
    from bot.approvals import Approvals

log = logging.getLogger(__name__)

STRANGER_REPLY_EVERY = 3600.0  # seconds between "you may not" replies to strangers, per room
REFUSALS_PER_MINUTE = 3  # replies to refused attempts of a known user, per room
COMMAND_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")


@dataclass(frozen=True)
class Message:
    """A command message as the chat layer hands it over."""

    room_id: str
    event_id: str
    sender: str
    body: str
    thread_root: str  # the event the reply thread hangs off
    ts_ms: int
    power: int | None = None  # the sender's power level in the room, when roles use it


Send = Callable[[Message, Reply], Awaitable[str | None]]
Progress = Callable[[str], Awaitable[None]]


class Dispatcher:
    """Runs each command as its own task, enforcing roles and recording every attempt."""

    def __init__(
        self,
        config: Config,
        registry: Registry,
        containers: Containers,
        store: Store,
        redact: Redactor,
        send: Send,
        approvals: Approvals | None = None,
    ) -> None:
        self.config = config
        self.registry = registry
        self.containers = containers
        self.store = store
        self.redact = redact
        self.send = send
        self.approvals = approvals
        self.tasks = TaskSet("command")
        self._stranger_replies: dict[str, float] = {}
        self._refusals: dict[tuple[str, str], list[float]] = {}
        self.observe: Callable[[str, str, float], None] = lambda name, outcome, seconds: None

    def submit(self, msg: Message) -> None:
        """Start handling ``msg`` in its own task; returns at once."""
        self.tasks.spawn(self.handle(msg), f"command {msg.event_id}")

    async def close(self) -> None:
        """Cancel commands still running (shutdown)."""
        await self.tasks.close()

    async def handle(self, msg: Message) -> None:
        """Handle one command message end to end; never raises."""
        started = time.monotonic()
        prefix = self.config.matrix.prefix
        text = msg.body[len(prefix) :]
        parts = text.split(maxsplit=1)
        if not parts or text[0].isspace() or not COMMAND_NAME.match(parts[0]):
            return  # a lone prefix, "! wow", "!!!" or "!?": not meant for us
        name, rest = parts[0].lower(), parts[1] if len(parts) > 1 else ""
        role = role_of(msg.sender, self.config.access, msg.power)
        cmd = self.registry.get(name)
        reply: Reply | None
        if role is None:
            outcome, details = "denied", "sender holds no role"
            reply = self._stranger_reply(msg)
        elif cmd is None:
            outcome, details = "usage-error", "unknown command"
            guess = self.registry.suggest(name)
            hint = f" — did you mean `{prefix}{guess}`?" if guess else ""
            reply = Reply.text(f"unknown command `{prefix}{name}`{hint} See `{prefix}help`.")
        elif role < cmd.role:
            outcome, details = "denied", f"needs {cmd.role}, has {role}"
            reply = Reply.text(
                f"`{prefix}{cmd.name}` needs the {cmd.role} role; you are {_article(role)}."
            )
        else:
            try:
                args = split_args(rest)
            except ValueError as exc:
                outcome, details = "usage-error", str(exc)
                reply = Reply.text(f"I could not read the arguments: {exc} (check your quotes)")
            else:
                outcome, reply, details = await self._run(msg, cmd, role, args)
                if reply is None:  # an approval card was posted; the approvals module audits
                    self.observe(name, "awaiting-approval", time.monotonic() - started)
                    return
        if outcome == "denied" and role is not None and not self._may_refuse(msg):
            reply = None  # a burst of refused attempts gets a few replies, then silence
        if reply is not None:
            await self._send(msg, reply)
        await self._audit(msg, name, rest, outcome, started, details)

    async def _run(
        self,
        msg: Message,
        cmd: Command,
        role: Role,
        args: list[str],
        request: Request | None = None,
        progress: Progress = no_progress,
    ) -> tuple[str, Reply | None, str]:
        """Run a command; a None reply means an approval card was posted instead."""
        name, prefix = cmd.name, self.config.matrix.prefix
        ctx = Context(
            sender=msg.sender,
            room_id=msg.room_id,
            event_id=msg.event_id,
            role=role,
            config=self.config,
            containers=self.containers,
            store=self.store,
            redact=self.redact,
            registry=self.registry,
            approvals=self.approvals,
            approved_by=request.approver if request else None,
            request_id=request.id if request else None,
            progress=progress,
        )
        try:
            kwargs = cmd.bind(args)
        except UsageError as exc:
            usage = cmd.usage(prefix)
            return "usage-error", Reply.text(f"{exc}\nusage: `{usage}`"), str(exc)
        outside = [
            str(v) for p in cmd.params if p.kind is Service and (v := kwargs.get(p.name))
            if not in_scope(msg.sender, str(v), self.config.access)
        ]  # fmt: skip
        if outside:
            scope = ", ".join(scope_of(msg.sender, self.config.access) or ())
            text = f"`{prefix}{name} {outside[0]}` is outside your scope ({scope}); ask an admin"
            return "denied", Reply.text(text), f"outside scope: {outside[0]}"
        try:
            result = await cmd.handler(ctx, **kwargs)
            if cmd.needs_approval and request is None:
                raise RuntimeError(f"{name} needs approval but never asked for it")
        except ApprovalNeeded as need:
            if not cmd.needs_approval or request is not None or self.approvals is None:
                raise RuntimeError(f"{name} asked for approval where it cannot") from None
            try:
                await self.approvals.open(msg, name, shlex.join(args), need.plan)
            except CommandError as exc:  # e.g. the service has an open request already
                return exc.outcome, Reply.text(str(exc)), str(exc)
            except Exception:
                log.exception("could not open an approval request for %s", name)
                text = "I could not post the approval card, so nothing will run; try again."
                return "error", Reply.text(text), "approval card not posted"
            return "ok", None, ""
        except CommandError as exc:
            return exc.outcome, Reply.text(str(exc)), "\n".join([str(exc), *ctx.details])
        except Exception:
            ref = uuid.uuid4().hex[:8]
            log.exception("command %s failed (ref %s)", name, ref)
            text = f"`{prefix}{name}` failed unexpectedly (ref {ref}); the details are in my log."
            return "error", Reply.text(text), f"internal error, ref {ref}"
        reply = Reply.text(result) if isinstance(result, str) else result
        return "ok", reply, "\n".join(ctx.details)

    async def execute(self, req: Request, progress: Progress) -> tuple[str, Reply, str]:
        """Run an approved request's command (for the approvals module)."""
        cmd = self.registry.get(req.command)
        role = role_of(req.requester, self.config.access, req.requester_power)
        if cmd is None or role is None or role < cmd.role:
            text = f"{req.requester} may no longer use `{self.config.matrix.prefix}{req.command}`"
            return "denied", Reply.text(text), text
        msg = Message(req.room_id, req.command_event_id, req.requester, "", req.thread_root, 0,
                      req.requester_power)  # fmt: skip
        outcome, reply, details = await self._run(
            msg, cmd, role, split_args(req.args), req, progress
        )
        assert reply is not None  # an approved request never asks again
        safe = await asyncio.to_thread(self._redacted, reply)  # megabytes: off the event loop
        return outcome, safe.bounded(), await asyncio.to_thread(self.redact, details)

    def _may_refuse(self, msg: Message) -> bool:
        """At most REFUSALS_PER_MINUTE refusal replies per person and room."""
        now = time.monotonic()
        recent = [t for t in self._refusals.get((msg.room_id, msg.sender), []) if now - t < 60]
        if len(recent) >= REFUSALS_PER_MINUTE:
            return False
        self._refusals[(msg.room_id, msg.sender)] = [*recent, now]
        return True

    def _stranger_reply(self, msg: Message) -> Reply | None:
        now = time.monotonic()
        last = self._stranger_replies.get(msg.room_id)
        if last is not None and now - last < STRANGER_REPLY_EVERY:
            return None
        self._stranger_replies[msg.room_id] = now
        return Reply.text(
            "Sorry, I only take commands from the people listed in my configuration. "
            "Ask an admin to add you. (I say this at most once an hour in this room.)"
        )

    async def _send(self, msg: Message, reply: Reply) -> None:
        safe = (await asyncio.to_thread(self._redacted, reply)).bounded()  # off the event loop
        try:
            await self.send(msg, safe)
        except Exception:
            log.exception("could not deliver the reply to %s", msg.event_id)

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

    async def _audit(
        self, msg: Message, name: str, args: str, outcome: str, started: float, details: str
    ) -> None:
        known = name if self.registry.get(name) else "unknown"  # no label per typo
        self.observe(known, outcome, time.monotonic() - started)
        entry = AuditEntry(
            ts_ms=int(time.time() * 1000),
            room_id=msg.room_id,
            sender=msg.sender,
            event_id=msg.event_id,
            command=name[:64],
            args=self.redact(args)[:1000],
            outcome=outcome,
            duration_ms=int((time.monotonic() - started) * 1000),
            details=self.redact(details)[:2000],
        )
        try:
            await self.store.audit.record(entry)
        except Exception:
            log.exception("could not record the audit row for %s", msg.event_id)


def split_args(text: str) -> list[str]:
    """Split arguments like a shell (quotes group words) but keep backslashes literal."""
    lexer = shlex.shlex(text, posix=True)
    lexer.whitespace_split = True
    lexer.escape = ""
    lexer.commenters = ""
    return list(lexer)


def _article(role: Role) -> str:
    return f"an {role}" if str(role)[0] in "aeiou" else f"a {role}"
