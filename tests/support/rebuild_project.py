"""A compose project deployed the way the incident report says to: templates → build → deploy.

`templates/` holds the source of truth; `render.sh` copies it to the deployed `compose.yaml` and
`Dockerfile`; compose builds the image from a local busybox base. Tests edit only templates.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path
from typing import Any

import docker

from tests.support.stack import default_compose_cmd

RENDER = "set -e\ncp templates/compose.yaml compose.yaml\ncp templates/Dockerfile Dockerfile\n"
SERVE = ["httpd", "-f", "-p", "8000", "-h", "/www"]


class RebuildProject:
    """One service, `app`, built from `templates/` into `compose.yaml` + an image of its own."""

    def __init__(self, workdir: Path, project: str, base_image: str) -> None:
        self.workdir = workdir
        self.project = project
        self.base_image = base_image
        self.image = f"{project}-app:latest"
        self.compose_cmd = default_compose_cmd()
        self.api = docker.APIClient()
        (workdir / "templates").mkdir(parents=True, exist_ok=True)
        (workdir / "render.sh").write_text(RENDER)
        self.revision = 0
        self.write(probe_port=80, command=SERVE)  # the incident: the probe checks the wrong port

    def write(self, *, probe_port: int, command: list[str]) -> None:
        """Edit the templates (the only place a fix may be made)."""
        self.revision += 1
        service: dict[str, Any] = {
            "build": {"context": "."},
            "image": self.image,
            "network_mode": "none",
            "stop_grace_period": "1s",
            "healthcheck": {
                "test": ["CMD", "wget", "-q", "-O", "/dev/null", f"http://127.0.0.1:{probe_port}/"],
                "interval": "1s",
                "timeout": "1s",
                "retries": 2,
            },
        }
        compose = {"version": "2.4", "services": {"app": service}}
        (self.workdir / "templates" / "compose.yaml").write_text(json.dumps(compose, indent=2))
        dockerfile = (
            f"FROM {self.base_image}\nLABEL org.opsbot.test.revision={self.revision}\n"
            f"CMD {json.dumps(command)}\n"
        )
        (self.workdir / "templates" / "Dockerfile").write_text(dockerfile)

    def steps(self) -> list[list[str]]:
        """The `rebuild.steps` for this project."""
        up = ["up", "-d", "--build", "--no-deps", "--force-recreate", "{service}"]
        return [["sh", "render.sh"], [*self.compose_cmd, "-p", "{project}", *up]]

    def scripted_steps(self) -> list[list[str]]:
        """`rebuild.steps` as one script, like a real `./build.sh`: the config names no Compose
        CLI, so the bot must find one itself to roll back."""
        up = "up -d --build --no-deps --force-recreate"
        compose = shlex.join(self.compose_cmd)
        script = f'set -e\nsh render.sh\n{compose} -p "$1" {up} "$2"\n'
        (self.workdir / "deploy.sh").write_text(script)
        return [["sh", "deploy.sh", "{project}", "{service}"]]

    def _compose(self, *args: str) -> None:
        cmd = [*self.compose_cmd, "-p", self.project, *args]
        done = subprocess.run(
            cmd, cwd=self.workdir, capture_output=True, text=True, timeout=180, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{cmd} failed:\n{done.stderr}")

    def up(self) -> None:
        """Render and deploy the current templates."""
        subprocess.run(["sh", "render.sh"], cwd=self.workdir, check=True, timeout=30)
        self._compose("up", "-d", "--build")

    def down(self) -> None:
        """Remove the project's containers and the images it built."""
        self._compose("down", "-v", "-t", "1", "--rmi", "all")

    def container(self) -> dict[str, Any]:
        """`docker inspect` of the app container (LookupError while there is none)."""
        labels = [f"com.docker.compose.project={self.project}", "com.docker.compose.service=app"]
        found = self.api.containers(all=True, filters={"label": labels})
        if not found:
            raise LookupError("no app container")
        result: dict[str, Any] = self.api.inspect_container(found[0]["Id"])
        return result
