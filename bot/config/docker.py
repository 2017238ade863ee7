"""The `docker:` section: how the bot reaches the engine and which containers it manages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.config.schema import PROJECT, Reader, duration, string, url

ENGINE_SCHEMES = ("unix://", "tcp://", "http://", "https://")


@dataclass(frozen=True)
class DockerConfig:
    """How the bot reaches the Docker engine and which containers it manages."""

    url: str = "unix:///var/run/docker.sock"
    project: str | None = None
    logs_timeout: float = 10.0


def parse_docker(r: Reader, raw: Any) -> DockerConfig:
    """The `docker:` section; every key is optional."""
    d = r.section(raw, "docker", ("url", "project", "logs_timeout"))
    return DockerConfig(
        url=r.get(d, "docker", "url", url(ENGINE_SCHEMES), DockerConfig.url),
        project=r.get(d, "docker", "project", string(PROJECT, "a compose project name")),
        logs_timeout=r.get(d, "docker", "logs_timeout", duration, DockerConfig.logs_timeout),
    )
