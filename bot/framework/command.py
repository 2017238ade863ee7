"""Commands: roles, the @command decorator, argument binding from signatures, usage text."""

from __future__ import annotations

import difflib
import inspect
import typing
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.core import Role, UsageError
from bot.framework.arguments import CONVERTERS, METAVARS, Rest
from bot.framework.plan import Plan
from bot.text.reply import Reply

if TYPE_CHECKING:
    from bot.alerts import Alerts
    from bot.config import Config
    from bot.containers import Containers
    from bot.framework.approvals import Approvals
    from bot.store import Store
    from bot.text.redact import Redactor


async def no_progress(text: str) -> None:
    """Progress sink for commands that run without an approval card."""


@dataclass
class Context:
    """What a command may use: who asked, where, and the bot's services."""

    sender: str
    room_id: str
    event_id: str
    role: Role
    config: Config
    containers: Containers
    store: Store
    redact: Redactor
    registry: Registry
    approvals: Approvals | None = None
    alerts: Alerts | None = None
    progress: Callable[[str], Awaitable[None]] = no_progress
    details: list[str] = field(default_factory=list)  # extra text for the audit row


@dataclass(frozen=True)
class Param:
    """One argument of a command, derived from its signature."""

    name: str
    kind: Any
    required: bool
    flag: bool  # keyword-only → `--name VALUE`

    @property
    def option(self) -> str:
        """How the option is typed: `--since`, `--no-rollback`."""
        return "--" + self.name.replace("_", "-")

    def usage(self) -> str:
        """`<service>`, `[lines]`, `[--since DURATION]` or `[--no-rollback]`."""
        if self.flag and self.kind is bool:
            return f"[{self.option}]"
        if self.flag:
            return f"[{self.option} {METAVARS.get(self.kind, 'VALUE')}]"
        more = "..." if self.kind is Rest else ""
        return f"<{self.name}{more}>" if self.required else f"[{self.name}{more}]"


Handler = Callable[..., Awaitable[Reply | str | Plan]]
Runner = Callable[..., Awaitable[Reply | str]]  # run(ctx, plan): a plan, once approved


@dataclass(frozen=True)
class Command:
    """A chat command: its handler, the role it needs, and its help."""

    name: str
    handler: Handler
    role: Role
    params: tuple[Param, ...]
    summary: str
    help: str
    example: str
    run: Runner | None = None  # set: the handler only plans; this runs the approved plan

    @property
    def needs_approval(self) -> bool:
        """Whether the command mutates, so its plan waits for a second person."""
        return self.run is not None

    def usage(self, prefix: str) -> str:
        """The usage line, e.g. `!logs <service> [lines] [--since DURATION]`."""
        return " ".join([f"{prefix}{self.name}", *(p.usage() for p in self.params)])

    def bind(self, args: Sequence[str]) -> dict[str, Any]:
        """Map tokens onto the handler's parameters; raise UsageError with the reason."""
        positional = [p for p in self.params if not p.flag]
        flags = {p.option[2:]: p for p in self.params if p.flag}
        values: dict[str, Any] = {}
        rest = list(args)
        queue = list(positional)
        while rest:
            token = rest.pop(0)
            if token.startswith("--") and len(token) > 2:
                name, eq, value = token[2:].partition("=")
                param = flags.get(name)
                if param is None:
                    known = ", ".join(f"--{f}" for f in flags) or "none"
                    raise UsageError(f"unknown option `--{name[:30]}` (options: {known})")
                if param.kind is bool:
                    if eq:
                        raise UsageError(f"`--{name}` takes no value")
                    values[param.name] = True
                    continue
                if not eq:
                    if not rest:
                        raise UsageError(f"`--{name}` needs a value")
                    value = rest.pop(0)
                values[param.name] = _convert(param, value)
            elif queue:
                param = queue.pop(0)
                if param.kind is Rest:  # the rest of the line, flags excepted
                    words = [token, *(t for t in rest if not t.startswith("--"))]
                    rest = [t for t in rest if t.startswith("--")]
                    token = " ".join(words)
                values[param.name] = _convert(param, token)
            else:
                raise UsageError(f"too many arguments: `{token[:40]}`")
        missing = [p for p in queue if p.required]
        if missing:
            raise UsageError(f"missing {missing[0].usage()}")
        return values


def _convert(param: Param, text: str) -> Any:
    try:
        return CONVERTERS[param.kind](text)
    except ValueError as exc:
        raise UsageError(f"{param.usage()}: {exc}") from None


def command(
    *, role: Role, example: str = "", run: Runner | None = None, name: str | None = None
) -> Callable[[Handler], Command]:
    """Declare a command; the signature is its usage and the docstring its help.

    With ``run``, the decorated function is the command's `plan` phase: it resolves, checks
    and describes, returning a Plan; ``run(ctx, plan)`` does it once another person approved."""

    def wrap(func: Handler) -> Command:
        hints = typing.get_type_hints(func)
        params = []
        for p in list(inspect.signature(func).parameters.values())[1:]:  # skip ctx
            kind = _unwrap_optional(hints.get(p.name, str))
            if kind not in CONVERTERS:
                raise TypeError(f"{func.__name__}: unsupported argument type {kind!r}")
            params.append(
                Param(
                    name=p.name,
                    kind=kind,
                    required=p.default is inspect.Parameter.empty,
                    flag=p.kind is inspect.Parameter.KEYWORD_ONLY,
                )
            )
        doc = inspect.cleandoc(func.__doc__ or "")
        return Command(
            name=name or func.__name__.rstrip("_"),
            handler=func,
            role=role,
            params=tuple(params),
            summary=doc.splitlines()[0] if doc else "",
            help=doc,
            example=example,
            run=run,
        )

    return wrap


def _unwrap_optional(kind: Any) -> Any:
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    return args[0] if len(args) == 1 and type(None) in typing.get_args(kind) else kind


class Registry:
    """The explicit set of commands, looked up by name."""

    def __init__(self, commands: Iterable[Command]) -> None:
        self._by_name: dict[str, Command] = {}
        for cmd in commands:
            key = cmd.name.lower()
            if key in self._by_name:
                raise ValueError(f"command {cmd.name!r} registered twice")
            self._by_name[key] = cmd

    def __iter__(self) -> typing.Iterator[Command]:
        return iter(self._by_name.values())

    def get(self, name: str) -> Command | None:
        """The command called ``name`` (case-insensitive), if any."""
        return self._by_name.get(name.lower())

    def suggest(self, name: str) -> str | None:
        """The closest command name to a mistyped one."""
        close = difflib.get_close_matches(name.lower(), list(self._by_name), n=1, cutoff=0.6)
        return close[0] if close else None
