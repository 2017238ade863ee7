"""Container state parsed from Docker's JSON (list and inspect) into plain dataclasses."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

SERVICE_LABEL = "com.docker.compose.service"
PROJECT_LABEL = "com.docker.compose.project"
ONEOFF_LABEL = "com.docker.compose.oneoff"
DEPENDS_LABEL = "com.docker.compose.depends_on"
CONFIG_FILES_LABEL = "com.docker.compose.project.config_files"
WORKDIR_LABEL = "com.docker.compose.project.working_dir"

_HEALTH = re.compile(r"\((healthy|unhealthy|health: starting)\)")
_EXIT = re.compile(r"^(?:Exited|Restarting) \((-?\d+)\)")
_UP = re.compile(r"^Up (.+?)(?: \(|$)")
_UNITS = {
    "second": "s",
    "seconds": "s",
    "minute": "m",
    "minutes": "m",
    "hour": "h",
    "hours": "h",
    "day": "d",
    "days": "d",
    "week": "w",
    "weeks": "w",
    "month": "mo",
    "months": "mo",
    "year": "y",
    "years": "y",
}


@dataclass(frozen=True)
class ContainerInfo:
    """One container as seen in a single list call."""

    id: str
    name: str
    service: str
    state: str  # created | running | paused | restarting | removing | exited | dead
    health: str | None  # healthy | unhealthy | starting | None (no health check)
    status: str  # Docker's own text, e.g. "Up 3 hours (healthy)"
    exit_code: int | None
    labels: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def uptime(self) -> str:
        """Docker's "Up …" phrase shortened: `3h`, `~1m`, `<1s`; empty when not running."""
        m = _UP.match(self.status)
        return shorten_phrase(m.group(1)) if m else ""

    @property
    def problem(self) -> bool:
        """Whether this container needs attention."""
        return self.state != "running" or self.health in ("unhealthy", "starting")


def shorten_phrase(phrase: str) -> str:
    """`3 hours` → `3h`, `About a minute` → `~1m`, `Less than a second` → `<1s`."""
    text = phrase.strip().lower()
    if text.startswith("less than a"):
        return "<1" + _UNITS.get(text.split()[-1], "")
    approx = ""
    if text.startswith("about "):
        approx, text = "~", text[len("about ") :]
    number, _, unit = text.partition(" ")
    if number in ("a", "an"):
        number = "1"
    if number.isdigit() and unit in _UNITS:
        return f"{approx}{number}{_UNITS[unit]}"
    return phrase


def from_list(raw: dict[str, Any]) -> ContainerInfo:
    """Parse one entry of ``GET /containers/json``."""
    labels = raw.get("Labels") or {}
    names = raw.get("Names") or [""]
    name = names[0].lstrip("/")
    status = raw.get("Status") or ""
    health_match = _HEALTH.search(status)
    health = health_match.group(1).replace("health: ", "") if health_match else None
    exit_match = _EXIT.match(status)
    state = raw.get("State") or "unknown"
    if isinstance(state, dict):  # very old engines returned a State object here
        state = state.get("Status", "unknown")
    return ContainerInfo(
        id=raw.get("Id", ""),
        name=name,
        service=labels.get(SERVICE_LABEL) or name,
        state=str(state),
        health=health if state == "running" else None,
        status=status,
        exit_code=int(exit_match.group(1)) if exit_match else None,
        labels=labels,
    )


def is_oneoff(raw: dict[str, Any]) -> bool:
    """Whether a listed container is a one-off (`compose run`)."""
    labels: dict[str, str] = raw.get("Labels") or {}
    return labels.get(ONEOFF_LABEL, "False") == "True"


@dataclass(frozen=True)
class Probe:
    """One health probe result kept by the daemon (it keeps the last five)."""

    end: datetime | None
    exit_code: int
    output: str


@dataclass(frozen=True)
class ContainerDetail:
    """One container in depth, from a single inspect call."""

    name: str
    service: str
    state: str
    health: str | None
    failing_streak: int
    probes: tuple[Probe, ...]
    exit_code: int
    oom_killed: bool
    error: str
    restart_count: int
    started_at: datetime | None
    finished_at: datetime | None
    image: str  # the name the container was created from, e.g. `seafileltd/seafile-mc:13`
    healthcheck: tuple[str, ...]
    restart_policy: str
    stop_timeout: int | None
    exposed_ports: tuple[int, ...] = ()
    image_id: str = ""  # the exact image (sha256:…) the container runs
    labels: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def probe_command(self) -> str:
        """The health check as a person would type it."""
        if not self.healthcheck:
            return ""
        kind, *args = self.healthcheck
        if kind == "CMD-SHELL":
            return " ".join(args)
        return " ".join(args) if kind == "CMD" else " ".join(self.healthcheck)


def parse_time(text: str | None) -> datetime | None:
    """Parse Docker's RFC 3339 nano timestamps; the zero time means never."""
    if not text or text.startswith("0001-01-01"):
        return None
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$", text)
    if not m:
        return None
    frac = (m.group(2) or "0")[:6].ljust(6, "0")
    tz = m.group(3) or "Z"
    stamp = f"{m.group(1)}.{frac}{'+00:00' if tz == 'Z' else tz}"
    return datetime.fromisoformat(stamp).astimezone(UTC)


def from_inspect(raw: dict[str, Any]) -> ContainerDetail:
    """Parse ``GET /containers/{id}/json``."""
    state = raw.get("State") or {}
    config = raw.get("Config") or {}
    labels = config.get("Labels") or {}
    health = state.get("Health") or None
    probes = tuple(
        Probe(
            end=parse_time(p.get("End")),
            exit_code=int(p.get("ExitCode", 0)),
            output=str(p.get("Output") or ""),
        )
        for p in (health or {}).get("Log") or []
    )
    test = (config.get("Healthcheck") or {}).get("Test") or []
    name = str(raw.get("Name", "")).lstrip("/")
    policy = ((raw.get("HostConfig") or {}).get("RestartPolicy") or {}).get("Name") or "no"
    return ContainerDetail(
        name=name,
        service=labels.get(SERVICE_LABEL) or name,
        state=str(state.get("Status", "unknown")),
        health=health.get("Status") if health else None,
        failing_streak=int((health or {}).get("FailingStreak", 0)),
        probes=probes,
        exit_code=int(state.get("ExitCode", 0)),
        oom_killed=bool(state.get("OOMKilled")),
        error=str(state.get("Error") or ""),
        restart_count=int(raw.get("RestartCount", 0)),
        started_at=parse_time(state.get("StartedAt")),
        finished_at=parse_time(state.get("FinishedAt")),
        image=str(config.get("Image") or ""),
        healthcheck=tuple(str(t) for t in test) if test and test[0] != "NONE" else (),
        restart_policy=str(policy),
        stop_timeout=config.get("StopTimeout"),
        exposed_ports=_ports(config.get("ExposedPorts")),
        image_id=str(raw.get("Image") or ""),
        labels=labels,
    )


def _ports(exposed: dict[str, Any] | None) -> tuple[int, ...]:
    out = set()
    for key in exposed or {}:
        number, _, proto = str(key).partition("/")
        if number.isdigit() and proto in ("", "tcp"):  # probes speak TCP
            out.add(int(number))
    return tuple(sorted(out))


@dataclass(frozen=True)
class DockerEvent:
    """A container event, reduced to what the watcher needs (never the deprecated fields)."""

    container_id: str
    name: str
    service: str
    action: str  # start, die, oom, health_status, restart, stop, kill, destroy, create
    health: str | None  # for health_status: healthy | unhealthy | starting
    exit_code: int | None  # for die
    uptime_s: int | None  # for die: execDuration, seconds the container ran
    ts_ms: int
    labels: dict[str, str] = field(default_factory=dict, compare=False, repr=False)


def parse_event(raw: dict[str, Any]) -> DockerEvent | None:
    """Normalise one event from ``GET /events``; None for what the watcher ignores."""
    if raw.get("Type") != "container":
        return None
    action, _, health = str(raw.get("Action") or "").partition(":")
    if not action or action.startswith("exec_"):
        return None  # health probes are exec events: noise
    actor = raw.get("Actor") or {}
    attrs: dict[str, str] = actor.get("Attributes") or {}
    if attrs.get(ONEOFF_LABEL) == "True":
        return None

    def number(key: str) -> int | None:
        value = attrs.get(key)
        return int(value) if value is not None and value.lstrip("-").isdigit() else None

    nanos = raw.get("timeNano") or int(raw.get("time") or 0) * 1_000_000_000
    name = attrs.get("name", "")
    return DockerEvent(
        container_id=str(actor.get("ID", "")),
        name=name,
        service=attrs.get(SERVICE_LABEL) or name,
        action=action.strip(),
        health=health.strip() or None,
        exit_code=number("exitCode"),
        uptime_s=number("execDuration"),
        ts_ms=int(nanos) // 1_000_000,
        labels=attrs,
    )
