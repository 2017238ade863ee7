"""Configuration: YAML + environment → frozen dataclasses; every problem names its key path.

One module per section parses it into its own frozen dataclass (``parse_<section>``); this
module composes them into `Config` and reads the file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.config.access import AccessConfig, parse_access
from bot.config.actions import ApprovalsConfig, RebuildConfig, parse_actions
from bot.config.alerts import AlertsConfig, parse_alerts
from bot.config.data import RETENTION, parse_audit, parse_data
from bot.config.docker import DockerConfig, parse_docker
from bot.config.http import parse_http
from bot.config.matrix import (
    ENV_ACCESS_TOKEN,
    ENV_PASSWORD,
    PLACEHOLDERS,
    MatrixConfig,
    Secret,
    parse_matrix,
)
from bot.config.redact import parse_redact
from bot.config.schema import Reader

__all__ = [
    "ENV_ACCESS_TOKEN",
    "ENV_PASSWORD",
    "PLACEHOLDERS",
    "RETENTION",
    "AccessConfig",
    "AlertsConfig",
    "ApprovalsConfig",
    "Config",
    "ConfigError",
    "DockerConfig",
    "MatrixConfig",
    "RebuildConfig",
    "Secret",
    "load_config",
    "parse_config",
]

TOP_KEYS = (
    "audit", "redact",
    "matrix", "data_dir", "docker", "access", "approvals", "protected",
    "restart_budget", "health_wait", "rebuild", "alerts", "http", "data",
)  # fmt: skip


class ConfigError(Exception):
    """The configuration is invalid; ``problems`` lists each one with its key path."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


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


def parse_config(raw: Any, environ: Mapping[str, str], base: Path | None = None) -> Config:
    """Validate a parsed YAML document; raise ConfigError listing every problem."""
    r = Reader()
    top = r.section(raw, "", TOP_KEYS)
    if raw is None:
        r.problems.append("the configuration is empty; start from config.example.yaml")
    matrix = parse_matrix(r, top.get("matrix"), environ, absent="matrix" not in top)
    docker = parse_docker(r, top.get("docker"))
    access = parse_access(r, top.get("access"))
    actions = parse_actions(r, top, base)
    audit = parse_audit(r, top.get("audit"), base)
    redact = parse_redact(r, top.get("redact"), base)
    alerts = parse_alerts(r, top.get("alerts"))
    http = parse_http(r, top.get("http"), environ)
    data = parse_data(r, top, base)
    if r.problems:
        raise ConfigError(r.problems)
    return Config(
        matrix=matrix, docker=docker, access=access, data_dir=data.data_dir,
        approvals=actions.approvals, protected=actions.protected,
        restart_budget=actions.restart_budget, health_wait=actions.health_wait,
        rebuild=actions.rebuild, alerts=alerts, audit_key_file=audit.key_file,
        redact_literals=redact.literals, redact_env_files=redact.env_files,
        http_listen=http.listen, retention=data.retention,
    )  # fmt: skip


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
