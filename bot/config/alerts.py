"""The `alerts:` section: when the watcher speaks up in the alert room, and whom it pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.config.schema import SERVICE, USER_ID, Reader, duration, integer, string_list

KEYS = ("restart_loop", "recovery_hold", "repeat_interval", "burst_window", "oncall",
        "dependencies")  # fmt: skip


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


def parse_alerts(r: Reader, raw: Any) -> AlertsConfig:
    """The `alerts:` section, with its `restart_loop:` and `dependencies:` tables."""
    al = r.section(raw, "alerts", KEYS)
    loop = r.section(al.get("restart_loop"), "alerts.restart_loop", ("exits", "window"))
    dependencies = _dependencies(r, al.get("dependencies"))
    d = AlertsConfig()
    return AlertsConfig(
        loop_exits=r.get(loop, "alerts.restart_loop", "exits", integer(2, 100), d.loop_exits),
        loop_window=r.get(loop, "alerts.restart_loop", "window", duration, d.loop_window),
        recovery_hold=r.get(al, "alerts", "recovery_hold", duration, d.recovery_hold),
        repeat_interval=r.get(al, "alerts", "repeat_interval", duration, d.repeat_interval),
        burst_window=r.get(al, "alerts", "burst_window", duration, d.burst_window),
        oncall=r.get(al, "alerts", "oncall", string_list(USER_ID, "a user id"), d.oncall),
        dependencies=dependencies,
    )


def _dependencies(r: Reader, raw: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """`alerts.dependencies`: {synapse: [authelia, postgres]}, added to what compose says."""
    deps = r.section(raw, "alerts.dependencies", tuple(raw) if isinstance(raw, dict) else ())
    names = string_list(SERVICE, "a service name")
    return tuple(
        (str(name), r.get(deps, "alerts.dependencies", str(name), names, ())) for name in deps
    )
