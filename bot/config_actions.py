"""Configuration of what the bot does besides answering: approvals, restart, rebuild, alerts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.schema import (
    SERVICE,
    USER_ID,
    Reader,
    argv,
    argv_list,
    boolean,
    duration,
    integer,
    string,
    string_list,
)


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
class AlertsConfig:
    """When the watcher speaks up in the alert room, and whom it pages."""

    loop_exits: int = 3  # restart_loop.exits
    loop_window: float = 300.0  # restart_loop.window
    recovery_hold: float = 60.0
    repeat_interval: float = 14_400.0
    burst_window: float = 10.0
    oncall: tuple[str, ...] = ()
    dependencies: tuple[tuple[str, tuple[str, ...]], ...] = ()  # added to compose's

    def extra_dependencies(self, service: str) -> tuple[str, ...]:
        """What the config says ``service`` depends on, besides compose."""
        return next((deps for name, deps in self.dependencies if name == service), ())


def actions(r: Reader, top: dict[str, Any], base: Path | None) -> dict[str, Any]:
    """The settings of mutating commands: approvals, protected services, restart, rebuild."""
    ap = r.section(top.get("approvals"), "approvals", ("timeout", "two_person", "grace"))
    approvals = ApprovalsConfig(
        timeout=r.get(ap, "approvals", "timeout", duration, 600.0) or 600.0,
        two_person=r.get(ap, "approvals", "two_person", boolean, True) is not False,
        grace=r.get(ap, "approvals", "grace", duration, 3.0) or 3.0,
    )
    names = string_list(SERVICE, "a service name")
    rb = r.section(top.get("rebuild"), "rebuild", ("workdir", "steps", "timeout", "rollback"))
    workdir = r.get(rb, "rebuild", "workdir", string())
    where = Path(workdir) if workdir else None
    if where is not None and base is not None and not where.is_absolute():
        where = base / where
    rebuild = RebuildConfig(
        workdir=where,
        steps=r.get(rb, "rebuild", "steps", argv_list, ()) or (),
        timeout=r.get(rb, "rebuild", "timeout", duration, 900.0) or 900.0,
        rollback=r.get(rb, "rebuild", "rollback", argv),
    )
    if rebuild.steps and rebuild.workdir is None:
        r.problems.append("rebuild.workdir: required when rebuild.steps are set")
    au = r.section(top.get("audit"), "audit", ("key_file",))
    key_file = r.get(au, "audit", "key_file", string())
    key_path = Path(key_file) if key_file else None
    if key_path is not None and base is not None and not key_path.is_absolute():
        key_path = base / key_path
    rd = r.section(top.get("redact"), "redact", ("literals", "env_files"))
    literals = r.get(rd, "redact", "literals", string_list(re.compile(r"^.{4,}$"), "4+ characters"))
    files = r.get(rd, "redact", "env_files", string_list(re.compile(r"^\S+$"), "a path"))
    env_files = tuple(
        Path(f) if Path(f).is_absolute() or base is None else base / f for f in files or ()
    )
    return {
        "redact_literals": literals or (),
        "redact_env_files": env_files,
        "audit_key_file": key_path,
        "alerts": alerts(r, top),
        "approvals": approvals,
        "protected": r.get(top, "", "protected", names, ()) or (),
        "restart_budget": r.get(top, "", "restart_budget", integer(0, 1000), 3),
        "health_wait": r.get(top, "", "health_wait", duration, 120.0) or 120.0,
        "rebuild": rebuild,
    }


def alerts(r: Reader, top: dict[str, Any]) -> AlertsConfig:
    keys = ("restart_loop", "recovery_hold", "repeat_interval", "burst_window", "oncall",
            "dependencies")  # fmt: skip
    al = r.section(top.get("alerts"), "alerts", keys)
    loop = r.section(al.get("restart_loop"), "alerts.restart_loop", ("exits", "window"))
    d = AlertsConfig()
    names = string_list(SERVICE, "a service name")
    deps = r.section(
        al.get("dependencies"), "alerts.dependencies", tuple(al.get("dependencies") or {})
    )
    pairs = tuple(
        (str(name), r.get(deps, "alerts.dependencies", str(name), names) or ()) for name in deps
    )
    return AlertsConfig(
        loop_exits=r.get(loop, "alerts.restart_loop", "exits", integer(2, 100), d.loop_exits) or 3,
        loop_window=r.get(loop, "alerts.restart_loop", "window", duration, d.loop_window) or 300,
        recovery_hold=r.get(al, "alerts", "recovery_hold", duration, d.recovery_hold) or 60,
        repeat_interval=r.get(al, "alerts", "repeat_interval", duration, d.repeat_interval)
        or d.repeat_interval,
        burst_window=r.get(al, "alerts", "burst_window", duration, d.burst_window) or 10,
        oncall=r.get(al, "alerts", "oncall", string_list(USER_ID, "a user id"), ()) or (),
        dependencies=pairs,
    )


ENV_HTTP_LISTEN = "OPSBOT_HTTP_LISTEN"
LISTEN = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$")


def http_listen(
    r: Reader, top: dict[str, Any], environ: Mapping[str, str]
) -> tuple[str, int] | None:
    """``http.listen: HOST:PORT`` (or $OPSBOT_HTTP_LISTEN): where /healthz and /metrics answer."""
    h = r.section(top.get("http"), "http", ("listen",))
    hint = "HOST:PORT, e.g. 127.0.0.1:9464"
    value = environ.get(ENV_HTTP_LISTEN) or r.get(h, "http", "listen", string(LISTEN, hint))
    if not value:
        return None
    found = LISTEN.match(value)
    if found is None or not 0 < int(found.group(2)) < 65536:
        r.problems.append(f"http.listen: expected {hint}, got {value!r}")
        return None
    return found.group(1).strip("[]"), int(found.group(2))
