"""The demo's stack: the incident report in five containers, driven with the compose CLI.

authelia crash-loops on a broken configuration and synapse (which depends on it) goes unhealthy
with it; seafile's health check probes the wrong port; litellm has no health check; db is fine.
Fixing authelia's configuration (a file in ``config/``) mends both.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.demo.images import busybox_image

IMAGE = "opsbot-demo-busybox:latest"
APPLETS = ("sh", "httpd", "wget", "sleep", "echo", "test", "[", "cat", "touch", "true", "false")
FIXED = "/config/authelia.fixed"
AUTHELIA = (
    f"if test -f {FIXED}; then echo 'level=info msg=\"authelia: configuration OK, listening on "
    f":9091\"'; exec httpd -f -p 9091 -h /www; fi; "
    "echo 'level=info msg=\"starting authelia\"'; "
    "echo 'level=fatal msg=\"Can'\"'\"'t continue due to the errors loading the configuration\" "
    'error="storage: postgres: password must be set"\'; sleep 1; exit 1'
)


class DemoError(Exception):
    """Something the demo needs is missing; the message says what."""


def compose_command() -> list[str]:
    """`docker compose` where the plugin exists, else `docker-compose`."""
    if shutil.which("docker") is None:
        raise DemoError("the demo needs Docker: the `docker` command is not installed")
    plugin = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
    if plugin.returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    raise DemoError("the demo needs Docker Compose (`docker compose` or `docker-compose`)")


def _check(port: int) -> dict[str, Any]:
    return {
        "test": ["CMD", "wget", "-q", "-O", "/dev/null", f"http://127.0.0.1:{port}/"],
        "interval": "2s", "timeout": "2s", "retries": 2,
    }  # fmt: skip


def services(image: str, seafile_probe: int = 80) -> dict[str, Any]:
    """Compose `services:` of the demo stack (no network, nothing published)."""
    base = {"image": image, "network_mode": "none", "init": False, "stop_grace_period": "1s"}
    config = {"volumes": ["./config:/config"]}
    return {
        "db": {**base, "command": ["httpd", "-f", "-p", "5432", "-h", "/www"],
               "healthcheck": _check(5432)},
        "authelia": {**base, **config, "command": ["sh", "-c", AUTHELIA], "restart": "always"},
        "synapse": {
            **base, **config, "depends_on": ["authelia", "db"],
            "command": ["httpd", "-f", "-p", "8008", "-h", "/www"],
            # healthy only while authelia's configuration is sound (it would be: "can log in")
            "healthcheck": {"test": ["CMD", "test", "-f", FIXED], "interval": "2s",
                            "timeout": "2s", "retries": 1},
        },
        "seafile": {**base, "command": ["httpd", "-f", "-p", "8000", "-h", "/www"],
                    "healthcheck": _check(seafile_probe)},  # serves on 8000
        "litellm": {**base, "command": ["sh", "-c", "echo 'litellm: proxy up'; exec sleep 1d"]},
    }  # fmt: skip


class DemoStack:
    """A compose project in ``workdir``."""

    def __init__(self, project: str, workdir: Path, compose: list[str]) -> None:
        self.project, self.workdir, self.compose_cmd = project, workdir, compose
        self.file = workdir / "compose.yaml"
        (workdir / "config").mkdir(parents=True, exist_ok=True)

    def compose(self, *args: str, timeout: float = 180) -> str:
        cmd = [*self.compose_cmd, "-p", self.project, "-f", str(self.file), *args]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise DemoError(f"{shlex.join(cmd)} failed:\n{done.stderr.strip()}")
        return done.stdout

    def up(self, seafile_probe: int = 80) -> None:
        """Make the image and start the stack (again: recreate what the template changed)."""
        image = busybox_image(IMAGE, APPLETS, {"www/index.html": b"<h1>opsbot demo</h1>\n"})
        spec = {"version": "2.4", "services": services(image, seafile_probe)}
        self.file.write_text(json.dumps(spec, indent=2))
        self.compose("up", "-d")

    def down(self) -> None:
        """Remove the containers (and the project's networks and volumes)."""
        if self.file.exists():
            self.compose("down", "-v", "--remove-orphans", "-t", "1")

    def fix(self) -> None:
        """The operator's fixes, made in the templates and deployed: authelia's configuration
        becomes valid, and seafile's health check probes the port seafile serves on."""
        (self.workdir / "config" / Path(FIXED).name).write_text("storage password set\n")
        self.up(seafile_probe=8000)

    def inspect(self, service: str, template: str) -> str:
        """``docker inspect -f template`` of the service's container ("" if none)."""
        cid = self.compose("ps", "-q", service).strip()
        if not cid:
            return ""
        out = subprocess.run(["docker", "inspect", "-f", template, cid], capture_output=True,
                             text=True, check=False)  # fmt: skip
        return out.stdout.strip()

    def settle(self) -> None:
        """Wait until the stack shows the incident: every health check has spoken."""
        health = "{{if .State.Health}}{{.State.Health.Status}}{{end}}"
        for service, status in (("db", "healthy"), ("seafile", "unhealthy"),
                                ("synapse", "unhealthy")):  # fmt: skip

            def reached(s: str = service, st: str = status) -> bool:
                return self.inspect(s, health) == st

            self.wait_for(reached, f"{service} {status}")
        self.wait_for(lambda: self.inspect("authelia", "{{.RestartCount}}") not in ("", "0"),
                      "authelia crash-looping")  # fmt: skip

    def wait_for(self, predicate: Callable[[], bool], what: str, timeout: float = 120) -> None:
        """Poll until ``predicate`` holds."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise DemoError(f"the demo stack did not get there: {what}")
            time.sleep(0.5)
