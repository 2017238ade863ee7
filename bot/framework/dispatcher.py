"""Message → command: role check → argument binding → run as an owned task → reply → audit."""

from __future__ import annotations

import logging
import re
import shlex
import time
from collections.abc import Awaitable, Callable

from bot.access import in_scope, role_of, scope_of
from bot.audit import Audit
from bot.config import Config
from bot.core import CommandError, Message, Role, UsageError
from bot.framework.approvals import Approvals
from bot.framework.arguments import Service
from bot.framework.command import Command
from bot.framework.plan import Plan
from bot.framework.runner import Runner
from bot.tasks import TaskSet
from bot.text.reply import Reply

log = logging.getLogger(__name__)

STRANGER_REPLY_EVERY = 3600.0  # seconds between "you may not" replies to strangers, per room
REFUSALS_PER_MINUTE = 3  # replies to refused attempts of a known user, per room
COMMAND_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")


Send = Callable[[Message, Reply], Awaitable[str | None]]
Observe = Callable[[str, str, float], None]  # (command, outcome, seconds), for /metrics


class Dispatcher:
    """Runs each command as its own task, enforcing roles and recording every attempt."""

    def __init__(
        self,
        config: Config,
        runner: Runner,
        approvals: Approvals | None,
        audit: Audit,
        send: Send,
        observe: Observe | None = None,
    ) -> None:
        self.config = config
        self.registry = runner.registry
        self.runner = runner
        self.approvals = approvals
        self.audit = audit
        self.send = send
        self.observe: Observe = observe or (lambda name, outcome, seconds: None)
        self.tasks = TaskSet("command")
        self._stranger_replies: dict[str, float] = {}
        self._refusals: dict[tuple[str, str], list[float]] = {}

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
                f"`{prefix}{cmd.name}` needs the {cmd.role} role; you are {role.article()}."
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
        self, msg: Message, cmd: Command, role: Role, args: list[str]
    ) -> tuple[str, Reply | None, str]:
        """Run a command, or its plan phase; a None reply means an approval card was posted."""
        name, prefix = cmd.name, self.config.matrix.prefix
        try:
            kwargs = cmd.bind(args)
        except UsageError as exc:
            return "usage-error", Reply.text(f"{exc}\nusage: `{cmd.usage(prefix)}`"), str(exc)
        outside = [
            str(v) for p in cmd.params if p.kind is Service and (v := kwargs.get(p.name))
            if not in_scope(msg.sender, str(v), self.config.access)
        ]  # fmt: skip
        if outside:
            scope = ", ".join(scope_of(msg.sender, self.config.access) or ())
            text = f"`{prefix}{name} {outside[0]}` is outside your scope ({scope}); ask an admin"
            return "denied", Reply.text(text), f"outside scope: {outside[0]}"
        ctx = self.runner.context(msg.sender, msg.room_id, msg.event_id, role,
                                  approvals=self.approvals)  # fmt: skip
        outcome, result, details = await self.runner.call(name, ctx, cmd.handler(ctx, **kwargs))
        if not isinstance(result, Plan):
            return outcome, result, details
        if cmd.run is None or self.approvals is None:
            raise TypeError(f"{name}: a plan, but nothing to approve and run it")
        return await self._ask_approval(msg, name, args, result)

    async def _ask_approval(
        self, msg: Message, name: str, args: list[str], plan: Plan
    ) -> tuple[str, Reply | None, str]:
        assert self.approvals is not None
        try:
            await self.approvals.open(msg, name, shlex.join(args), plan)
        except CommandError as exc:  # e.g. the service has an open request already
            return exc.outcome, Reply.text(str(exc)), str(exc)
        except Exception:
            log.exception("could not open an approval request for %s", name)
            text = "I could not post the approval card, so nothing will run; try again."
            return "error", Reply.text(text), "approval card not posted"
        return "ok", None, ""

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
        safe = await self.runner.redacted(reply)
        try:
            await self.send(msg, safe)
        except Exception:
            log.exception("could not deliver the reply to %s", msg.event_id)

    async def _audit(
        self, msg: Message, name: str, args: str, outcome: str, started: float, details: str
    ) -> None:
        known = name if self.registry.get(name) else "unknown"  # no label per typo
        self.observe(known, outcome, time.monotonic() - started)
        took = int((time.monotonic() - started) * 1000)
        try:
            await self.audit.command(msg, name, args, outcome, took, details)
        except Exception:
            log.exception("could not record the audit row for %s", msg.event_id)


def split_args(text: str) -> list[str]:
    """Split arguments like a shell (quotes group words) but keep backslashes literal."""
    lexer = shlex.shlex(text, posix=True)
    lexer.whitespace_split = True
    lexer.escape = ""
    lexer.commenters = ""
    return list(lexer)
