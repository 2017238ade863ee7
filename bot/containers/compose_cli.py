"""The programs `!rebuild` runs: the Compose CLI of this host (v1 or v2), the default rollback
built from it, and a check that every configured program exists."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from bot.config.actions import RebuildConfig

V2 = ("docker", "compose")  # the Compose plugin
V1 = ("docker-compose",)  # the standalone Python program (Debian's docker-compose 1.29)
ROLLBACK_UP = ("up", "-d", "--no-deps", "--force-recreate", "--no-build", "{service}")
PROBE_SECONDS = 20.0
NO_COMPOSE = (
    "the default rollback needs Docker Compose, but neither `docker compose` nor "
    "`docker-compose` works here; install one or set rebuild.rollback"
)

_installed: dict[str, tuple[str, ...]] = {}  # PATH → the Compose CLI found there


async def installed(path: str | None = None) -> tuple[str, ...] | None:
    """`docker compose` if `docker compose version` works, else `docker-compose` if on PATH.

    Cached per PATH; "none" is not cached, so installing Compose needs no restart.
    """
    path = os.environ.get("PATH", os.defpath) if path is None else path
    if path in _installed:
        return _installed[path]
    docker = shutil.which("docker", path=path)
    found: tuple[str, ...]
    if docker is not None and await _succeeds(docker, "compose", "version"):
        found = V2
    elif shutil.which("docker-compose", path=path) is not None:
        found = V1
    else:
        return None
    _installed[path] = found
    return found


async def _succeeds(*argv: str) -> bool:
    """Whether ``argv`` exits 0 within PROBE_SECONDS (killed if it does not)."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
    except OSError:
        return False
    try:
        async with asyncio.timeout(PROBE_SECONDS):
            return await proc.wait() == 0
    except TimeoutError:
        return False
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await asyncio.shield(proc.wait())


def compose_in(steps: Sequence[Sequence[str]]) -> tuple[str, ...] | None:
    """How the steps call Compose: the CLI with the global options (`-f`, `-p`, `--env-file` …)
    of the step that runs `up`, else the bare CLI of the first step that uses Compose."""
    calls = [(n, tuple(step)) for step in steps if (n := _cli_length(step))]
    for n, step in calls:
        if "up" in step[n:]:
            return step[: step.index("up", n)]
    return calls[0][1][: calls[0][0]] if calls else None


def _cli_length(step: Sequence[str]) -> int:
    """2 for `docker compose …`, 1 for `docker-compose …`, 0 for anything else."""
    name = Path(step[0]).name if step else ""
    if name == "docker-compose":
        return 1
    return 2 if name == "docker" and len(step) > 1 and step[1] == "compose" else 0


def default_rollback(compose: Sequence[str]) -> tuple[str, ...]:
    """`<compose> -p {project} up -d --no-deps --force-recreate --no-build {service}`."""
    named = any(a in ("-p", "--project-name") or a.startswith("--project-name=") for a in compose)
    return (*compose, *(() if named else ("-p", "{project}")), *ROLLBACK_UP)


async def rollback_command(rebuild: RebuildConfig) -> tuple[str, ...] | None:
    """`rebuild.rollback` as configured; else the default rollback with Compose as the steps
    call it, else as installed here; None when there is no Compose at all."""
    if rebuild.rollback is not None:
        return rebuild.rollback
    compose = compose_in(rebuild.steps) or await installed()
    return default_rollback(compose) if compose is not None else None


async def host_problems(rebuild: RebuildConfig, path: str | None = None) -> list[str]:
    """What keeps `!rebuild` from working on this host, each with its key path."""
    workdir = rebuild.workdir
    if not rebuild.steps or workdir is None:
        return []
    found = [] if workdir.is_dir() else [f"rebuild.workdir: {workdir} is not a directory"]
    for i, step in enumerate(rebuild.steps):
        found += missing_program(f"rebuild.steps[{i}]", step[0], workdir, path)
    if rebuild.rollback is not None:
        found += missing_program("rebuild.rollback", rebuild.rollback[0], workdir, path)
    elif compose_in(rebuild.steps) is None and await installed(path) is None:
        found.append(f"rebuild.rollback: {NO_COMPOSE}")
    return found


def missing_program(key: str, program: str, workdir: Path, path: str | None) -> list[str]:
    """A problem when ``program`` (absolute, relative to ``workdir``, or on PATH) is missing."""
    if "{" in program:
        return []  # substituted per service: cannot be checked ahead
    if "/" not in program:
        if shutil.which(program, path=path) is None:
            return [f"{key}: executable '{program}' not found on PATH"]
        return []
    where = Path(program) if Path(program).is_absolute() else workdir / program
    if not where.is_file():
        place = "" if Path(program).is_absolute() else f" in {workdir}"
        return [f"{key}: executable '{program}' not found{place}"]
    if not os.access(where, os.X_OK):
        return [f"{key}: '{where}' is not executable"]
    return []
