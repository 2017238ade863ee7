"""Configuration: YAML + environment → frozen dataclasses; every problem names its key path."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from bot.config_actions import (
    AlertsConfig,
    ApprovalsConfig,
    RebuildConfig,
    actions,
    http_listen,
)
from bot.schema import (
    DEVICE_ID,
    PROJECT,
    ROOM_ID,
    USER_GLOB,
    USER_ID,
    Reader,
    boolean,
    duration,
    integer,
    kind,
    string,
    string_list,
    url,
)

T = TypeVar("T")

ENV_PASSWORD = "OPSBOT_MATRIX_PASSWORD"
ENV_ACCESS_TOKEN = "OPSBOT_MATRIX_ACCESS_TOKEN"
PLACEHOLDERS = ("CHANGE_ME", "CHANGEME", "changeme", "change-me")


class ConfigError(Exception):
    """The configuration is invalid; ``problems`` lists each one with its key path."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Secret:
    """A secret string that never shows in repr, str or logs."""

    value: str = field(repr=False)

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


@dataclass(frozen=True)
class MatrixConfig:
    """How the bot reaches its homeserver and where it listens."""

    homeserver: str
    user_id: str
    device_id: str
    command_rooms: tuple[str, ...]
    alert_room: str
    password: Secret | None = None
    access_token: Secret | None = None
    prefix: str = "!"
    encryption: bool = False  # work in encrypted rooms (the e2e extra)


@dataclass(frozen=True)
class DockerConfig:
    """How the bot reaches the Docker engine and which containers it manages."""

    url: str = "unix:///var/run/docker.sock"
    project: str | None = None
    logs_timeout: float = 10.0


@dataclass(frozen=True)
class AccessConfig:
    """Who holds which role; entries are Matrix user ids or globs like ``@*:example.org``."""

    admins: tuple[str, ...] = ()
    operators: tuple[str, ...] = ()
    viewers: tuple[str, ...] = ()
    scopes: tuple[tuple[str, tuple[str, ...]], ...] = ()  # user glob → service globs
    rooms_only: bool = True  # False: also take commands in direct chats with the bot
    power_levels: tuple[tuple[str, int], ...] = ()  # role → lowest room power level granting it


RETENTION = 90 * 86400.0  # data.retention: how long finished requests and old messages stay


@dataclass(frozen=True)
class Config:
    """The whole, validated configuration."""

    matrix: MatrixConfig
    docker: DockerConfig
    access: AccessConfig
    data_dir: Path
    approvals: ApprovalsConfig = field(default_factory=ApprovalsConfig)
    protected: tuple[str, ...] = ()
    restart_budget: int = 3
    health_wait: float = 120.0
    rebuild: RebuildConfig = field(default_factory=RebuildConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    audit_key_file: Path | None = None
    redact_literals: tuple[str, ...] = field(default=(), repr=False)
    redact_env_files: tuple[Path, ...] = ()
    http_listen: tuple[str, int] | None = None  # /healthz and /metrics (host, port)
    retention: float = RETENTION

    def secrets(self) -> tuple[str, ...]:
        """Every secret value the bot knows, for redaction."""
        found = (self.matrix.password, self.matrix.access_token)
        return tuple(s.value for s in found if s is not None)


def _secret(value: Any) -> Secret:
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a string, got {kind(value)}")
    return Secret(value)


TOP_KEYS = (
    "audit", "redact",
    "matrix", "data_dir", "docker", "access", "approvals", "protected",
    "restart_budget", "health_wait", "rebuild", "alerts", "http", "data",
)  # fmt: skip


def _scopes(r: Reader, raw: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """`access.scopes`: {"@bob:example.org": {services: ["seafile", "planka*"]}}."""
    table = r.section(raw, "access.scopes", tuple(raw) if isinstance(raw, dict) else ())
    globs = string_list(re.compile(r"^[A-Za-z0-9*?\[\]_.-]+$"), "a service name or glob")
    out = []
    for who, entry in table.items():
        where = f"access.scopes.{who}"
        if not USER_GLOB.match(str(who)):
            r.problems.append(f"{where}: expected a user id or glob like @*:example.org")
            continue
        spec = r.section(entry, where, ("services",))
        services = r.get(spec, where, "services", globs, None, required=True)
        if services is not None:
            out.append((str(who), services))
    return tuple(out)


def _power_levels(r: Reader, raw: Any) -> tuple[tuple[str, int], ...]:
    """`access.power_levels`: {operator: 50, admin: 100} (viewer optional)."""
    table = r.section(raw, "access.power_levels", ("viewer", "operator", "admin"))
    level = integer(-(2**53), 2**53)
    return tuple(
        (role, value)
        for role in ("viewer", "operator", "admin")
        if (value := r.get(table, "access.power_levels", role, level)) is not None
    )


def parse_config(raw: Any, environ: Mapping[str, str], base: Path | None = None) -> Config:
    """Validate a parsed YAML document; raise ConfigError listing every problem."""
    r = Reader()
    top = r.section(raw, "", TOP_KEYS)
    if raw is None:
        r.problems.append("the configuration is empty; start from config.example.yaml")
    m = r.section(
        top.get("matrix"),
        "matrix",
        (
            "homeserver",
            "user_id",
            "password",
            "access_token",
            "device_id",
            "command_rooms",
            "alert_room",
            "prefix",
            "encryption",
        ),
    )
    if "matrix" not in top:
        r.problems.append("matrix: required")
    password = r.get(m, "matrix", "password", _secret)
    token = r.get(m, "matrix", "access_token", _secret)
    if environ.get(ENV_PASSWORD):
        password = Secret(environ[ENV_PASSWORD])
    if environ.get(ENV_ACCESS_TOKEN):
        token = Secret(environ[ENV_ACCESS_TOKEN])
    for name, secret, env in (
        ("password", password, ENV_PASSWORD),
        ("access_token", token, ENV_ACCESS_TOKEN),
    ):
        if secret is not None and secret.value.strip() in PLACEHOLDERS:
            r.problems.append(
                f"matrix.{name}: still the placeholder {secret.value!r}; "
                f"set the real value or the environment variable {env}"
            )
    if password is None and token is None and "matrix" in top:
        r.problems.append(
            f"matrix.password: set a password or an access_token "
            f"(or the environment variable {ENV_PASSWORD} / {ENV_ACCESS_TOKEN})"
        )
    rooms_hint = "a room id like !abc:example.org"
    matrix = MatrixConfig(
        homeserver=r.get(m, "matrix", "homeserver", url(("http://", "https://")), "", required=True)
        or "",
        user_id=r.get(
            m,
            "matrix",
            "user_id",
            string(USER_ID, "a user id like @opsbot:example.org"),
            "",
            required=True,
        )
        or "",
        device_id=r.get(
            m, "matrix", "device_id", string(DEVICE_ID, "letters, digits, _ . -"), "OPSBOT"
        )
        or "OPSBOT",
        command_rooms=r.get(
            m, "matrix", "command_rooms", string_list(ROOM_ID, rooms_hint), (), required=True
        )
        or (),
        alert_room=r.get(m, "matrix", "alert_room", string(ROOM_ID, rooms_hint), "", required=True)
        or "",
        password=password,
        access_token=token,
        encryption=r.get(m, "matrix", "encryption", boolean, False) is True,
        prefix=r.get(
            m,
            "matrix",
            "prefix",
            string(re.compile(r"^\S{1,8}$"), "1-8 non-space characters"),
            "!",
        )
        or "!",
    )
    if m.get("command_rooms") == []:
        r.problems.append("matrix.command_rooms: list at least one room")

    d = r.section(top.get("docker"), "docker", ("url", "project", "logs_timeout"))
    docker = DockerConfig(
        url=r.get(d, "docker", "url", url(("unix://", "tcp://", "http://", "https://")), None)
        or DockerConfig.url,
        project=r.get(d, "docker", "project", string(PROJECT, "a compose project name")),
        logs_timeout=r.get(d, "docker", "logs_timeout", duration, None)
        or DockerConfig.logs_timeout,
    )

    a = r.section(
        top.get("access"),
        "access",
        ("admins", "operators", "viewers", "scopes", "rooms_only", "power_levels"),
    )
    users = string_list(USER_GLOB, "a user id or glob like @*:example.org")
    access = AccessConfig(
        admins=r.get(a, "access", "admins", users, ()) or (),
        operators=r.get(a, "access", "operators", users, ()) or (),
        viewers=r.get(a, "access", "viewers", users, ()) or (),
        scopes=_scopes(r, a.get("scopes")),
        rooms_only=r.get(a, "access", "rooms_only", boolean, True) is not False,
        power_levels=_power_levels(r, a.get("power_levels")),
    )
    access_problems = any(p.startswith("access.") for p in r.problems)
    anyone = access.admins or access.operators or access.viewers or access.power_levels
    if not anyone and not access_problems:
        r.problems.append("access: list at least one admin, operator or viewer")

    settings = actions(r, top, base)
    settings["http_listen"] = http_listen(r, top, environ)
    kept = r.section(top.get("data"), "data", ("retention",))
    settings["retention"] = r.get(kept, "data", "retention", duration, None) or RETENTION
    data_dir = Path(r.get(top, "", "data_dir", string(), "./data") or "./data")
    if base is not None and not data_dir.is_absolute():
        data_dir = base / data_dir
    if r.problems:
        raise ConfigError(r.problems)
    return Config(matrix=matrix, docker=docker, access=access, data_dir=data_dir, **settings)


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate the YAML file at ``path``; relative data_dir is relative to the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: not valid YAML: {exc}"]) from None
    env = os.environ if environ is None else environ
    return parse_config(raw, env, base=path.resolve().parent)
