"""Mutating commands: `approvals:`, `rebuild:`, `protected`, `restart_budget`, `health_wait`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.config.http import ENV_HTTP_LISTEN
from bot.config.schema import (
    SERVICE,
    Reader,
    argv,
    argv_list,
    boolean,
    duration,
    integer,
    string,
    string_list,
    under,
)

__all__ = [  # ENV_HTTP_LISTEN: still imported from here by the CLI
    "ENV_HTTP_LISTEN",
    "ActionsConfig",
    "ApprovalsConfig",
    "RebuildConfig",
    "parse_actions",
    "parse_approvals",
    "parse_rebuild",
]


@dataclass(frozen=True)
class ApprovalsConfig:
    """How mutating commands wait for a second person."""

    timeout: float = 600.0
    two_person: bool = True
    grace: float = 3.0  # seconds between approval and start, to withdraw a mistaken approval


@dataclass(frozen=True)
class RebuildConfig:
    """The template → build → deploy pipeline that `!rebuild` runs for one service."""

    workdir: Path | None = None
    steps: tuple[tuple[str, ...], ...] = ()
    timeout: float = 900.0
    # None: the default, `<compose> -p {project} up -d --no-deps --force-recreate --no-build
    # {service}` with the Compose CLI the steps use, else the one installed (see compose_cli)
    rollback: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ActionsConfig:
    """Everything that limits or shapes a mutating command."""

    approvals: ApprovalsConfig = field(default_factory=ApprovalsConfig)
    protected: tuple[str, ...] = ()  # services that always need an admin's approval
    restart_budget: int = 3
    health_wait: float = 120.0
    rebuild: RebuildConfig = field(default_factory=RebuildConfig)


def parse_actions(r: Reader, top: Mapping[str, Any], base: Path | None) -> ActionsConfig:
    """The action settings of the whole document ``top``; relative paths are under ``base``."""
    approvals = parse_approvals(r, top.get("approvals"))
    rebuild = parse_rebuild(r, top.get("rebuild"), base)
    d = ActionsConfig()
    names = string_list(SERVICE, "a service name")
    return ActionsConfig(
        approvals=approvals,
        protected=r.get(top, "", "protected", names, d.protected),
        restart_budget=r.get(top, "", "restart_budget", integer(0, 1000), d.restart_budget),
        health_wait=r.get(top, "", "health_wait", duration, d.health_wait),
        rebuild=rebuild,
    )


def parse_approvals(r: Reader, raw: Any) -> ApprovalsConfig:
    """The `approvals:` section."""
    ap = r.section(raw, "approvals", ("timeout", "two_person", "grace"))
    d = ApprovalsConfig()
    return ApprovalsConfig(
        timeout=r.get(ap, "approvals", "timeout", duration, d.timeout),
        two_person=r.get(ap, "approvals", "two_person", boolean, d.two_person),
        grace=r.get(ap, "approvals", "grace", duration, d.grace),
    )


def parse_rebuild(r: Reader, raw: Any, base: Path | None) -> RebuildConfig:
    """The `rebuild:` section; steps need a workdir, a relative one is under ``base``."""
    rb = r.section(raw, "rebuild", ("workdir", "steps", "timeout", "rollback"))
    workdir = r.get(rb, "rebuild", "workdir", string())
    rebuild = RebuildConfig(
        workdir=under(base, Path(workdir)) if workdir else None,
        steps=r.get(rb, "rebuild", "steps", argv_list, ()),
        timeout=r.get(rb, "rebuild", "timeout", duration, RebuildConfig.timeout),
        rollback=r.get(rb, "rebuild", "rollback", argv),
    )
    if rebuild.steps and rebuild.workdir is None:
        r.problems.append("rebuild.workdir: required when rebuild.steps are set")
    return rebuild
