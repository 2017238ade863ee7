"""Build a registry-free busybox test image and run small Docker Compose stacks with it."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import docker
import docker.errors

from bot.demo.images import busybox_image

T = TypeVar("T")

DEFAULT_IMAGE = "opsbot-test-busybox:latest"
APPLETS = (
    "sh", "httpd", "wget", "sleep", "echo", "cat", "date", "seq", "true", "false",
    "rm", "touch", "test", "[", "kill", "yes", "head", "dd",
)  # fmt: skip
POLL_INTERVAL = 0.2
INDEX_HTML = b"<h1>opsbot test</h1>\n"

AUTHELIA_SCRIPT = (
    "echo 'level=info msg=\"starting authelia\"'; "
    'echo "level=fatal msg=\\"Can\'t continue due to the errors loading the configuration\\""; '
    "echo 'storage password=hunter2hunter2 connecting to "
    "postgres://authelia:S3cretPassw0rd@db/authelia'; "
    "sleep 1; exit 1"
)


# Prints more than one screen of log (so !logs attaches a file), then idles.
LITELLM_SCRIPT = (
    'for i in $$(seq 1 120); do echo "litellm: request $$i served"; done; exec sleep 100000'
)


def default_compose_cmd() -> list[str]:
    """Return $OPSBOT_TEST_COMPOSE (shlex-split), else docker-compose, else docker compose."""
    env = os.environ.get("OPSBOT_TEST_COMPOSE")
    if env:
        return shlex.split(env)
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return ["docker", "compose"]


def unique_project(prefix: str = "opsbot-test") -> str:
    """Return a compose project name that is unique to this call."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def build_busybox_image(tag: str = DEFAULT_IMAGE) -> str:
    """The tiny registry-free test image (made like the demo's); returns its tag."""
    return busybox_image(tag, APPLETS, {"www/index.html": INDEX_HTML})


class ComposeStack:
    """A compose project written to `workdir/compose.yaml` and driven through the compose CLI."""

    def __init__(
        self,
        project: str,
        services_yaml: dict[str, Any],
        workdir: Path,
        compose_cmd: Sequence[str] | None = None,
    ) -> None:
        self.project = project
        self.services = services_yaml
        self.workdir = Path(workdir)
        self.compose_cmd = list(compose_cmd) if compose_cmd is not None else default_compose_cmd()
        self.file = self.workdir / "compose.yaml"
        self.api = docker.APIClient()
        self.workdir.mkdir(parents=True, exist_ok=True)
        # JSON is valid YAML; 2.4 is the newest v2 format (healthcheck start_period, init).
        self.file.write_text(json.dumps({"version": "2.4", "services": services_yaml}, indent=2))

    def compose(self, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        """Run `<compose> -p <project> -f <file> ARGS`, raising with its stderr on failure."""
        cmd = [*self.compose_cmd, "-p", self.project, "-f", str(self.file), *args]
        # compose v1 nests parallel steps under one global limit and deadlocks once a project
        # has more services than the limit (64 by default); a higher limit avoids that.
        env = {"COMPOSE_PARALLEL_LIMIT": "1024", **os.environ}
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, check=False, env=env
        )
        if proc.returncode != 0:
            raise RuntimeError(f"{shlex.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
        return proc

    def up(self) -> None:
        """Create and start all services in the background."""
        self.compose("up", "-d", timeout=120.0 + 2.0 * len(self.services))

    def down(self) -> None:
        """Remove containers, volumes and networks of the project."""
        self.compose("down", "-v", "--remove-orphans", "-t", "1")

    def __enter__(self) -> ComposeStack:
        self.up()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.down()

    def container(self, service: str) -> dict[str, Any]:
        """Return `docker inspect` of the service's container (LookupError if there is none)."""
        labels = [
            f"com.docker.compose.project={self.project}",
            f"com.docker.compose.service={service}",
        ]
        found = self.api.containers(all=True, filters={"label": labels})
        if not found:
            raise LookupError(f"no container for service {service!r} in {self.project}")
        result: dict[str, Any] = self.api.inspect_container(found[0]["Id"])
        return result

    def health(self, service: str) -> str | None:
        """Return the service's health status ("starting", "healthy", "unhealthy") or None."""
        health = self.container(service)["State"].get("Health")
        return None if health is None else str(health["Status"])

    def logs(self, service: str) -> str:
        """Return the service container's combined stdout/stderr."""
        out: bytes = self.api.logs(self.container(service)["Id"], stdout=True, stderr=True)
        return out.decode(errors="replace")

    def wait_for(
        self, predicate: Callable[[], T], timeout: float = 30.0, what: str = "condition"
    ) -> T:
        """Poll `predicate` every 0.2 s until it returns a truthy value (returned) or time runs out.

        A LookupError from the predicate (container not created yet) counts as "not yet".
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = predicate()
                if value:
                    return value
            except LookupError:
                pass
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{self.project}: {what} not met within {timeout}s")
            time.sleep(POLL_INTERVAL)


def _service(image: str, command: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "image": image,
        "command": command,
        "network_mode": "none",
        "init": False,
        "stop_grace_period": "1s",
        **extra,
    }


def _httpd(name: str, port: int) -> list[str]:
    return ["sh", "-c", f'echo "{name}: starting"; exec httpd -f -p {port} -h /www']


def _healthcheck(
    port: int, start_period: str | None = None, interval: str = "1s"
) -> dict[str, Any]:
    check: dict[str, Any] = {
        "test": ["CMD", "wget", "-q", "-O", "/dev/null", f"http://127.0.0.1:{port}/"],
        "interval": interval,
        "timeout": "1s",
        "retries": 2,
    }
    if start_period is not None:
        check["start_period"] = start_period
    return check


def incident_stack_services(image: str) -> dict[str, Any]:
    """Return compose `services:` reproducing the incident (unhealthy, crash-looping, ...)."""
    return {
        "web": _service(image, _httpd("web", 8080), healthcheck=_healthcheck(8080)),
        # Serves on 8000 but probes 80: "wget: can't connect to remote host ... refused".
        "seafile": _service(image, _httpd("seafile", 8000), healthcheck=_healthcheck(80, "0s")),
        "authelia": _service(image, ["sh", "-c", AUTHELIA_SCRIPT], restart="always"),
        "litellm": _service(
            image,
            ["sh", "-c", LITELLM_SCRIPT],
            depends_on=["web"],
        ),
        "synapse": _service(
            image,
            _httpd("synapse", 8008),
            healthcheck=_healthcheck(8008),
            depends_on=["authelia"],
        ),
    }


def many_services(
    image: str,
    n: int,
    unhealthy_every: int = 5,
    no_healthcheck_every: int = 7,
    interval: str = "1s",
) -> dict[str, Any]:
    """Return `n` services svc001..: mostly healthy httpd, every k-th unhealthy or unchecked.

    ``interval`` is the health-check period (raise it for hundreds of containers).
    """
    services: dict[str, Any] = {}
    for i in range(1, n + 1):
        name = f"svc{i:03d}"
        if i % no_healthcheck_every == 0:
            services[name] = _service(image, ["sh", "-c", f'echo "{name}: up"; exec sleep 100000'])
        elif i % unhealthy_every == 0:
            services[name] = _service(
                image, _httpd(name, 8000), healthcheck=_healthcheck(80, "0s", interval)
            )
        else:
            services[name] = _service(
                image, _httpd(name, 8000), healthcheck=_healthcheck(8000, None, interval)
            )
    return services
