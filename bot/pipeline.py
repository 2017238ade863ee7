"""Runs a rebuild's steps: argument lists (never a shell), streamed output, one deadline."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

KEEP_LINES = 400  # lines of output kept for the report and the audit
TAIL = 15  # lines shown in progress edits and failure reports


@dataclass
class StepResult:
    """How one step ended."""

    argv: tuple[str, ...]
    exit_code: int | None  # None: killed at the deadline, or could not start
    lines: deque[str] = field(default_factory=lambda: deque(maxlen=KEEP_LINES))
    error: str = ""

    @property
    def ok(self) -> bool:
        """Whether the step exited 0."""
        return self.exit_code == 0

    def tail(self, n: int = TAIL) -> str:
        """The last ``n`` lines of output."""
        return "\n".join(list(self.lines)[-n:])


def substitute(argv: Sequence[str], values: Mapping[str, str]) -> tuple[str, ...]:
    """Replace `{service}` / `{project}` in each argument (values were validated before)."""
    out = []
    for arg in argv:
        text = arg
        for key, value in values.items():
            text = text.replace("{" + key + "}", value)
        out.append(text)
    return tuple(out)


async def run_steps(
    steps: Sequence[Sequence[str]],
    workdir: Path,
    seconds: float,
    on_output: Callable[[str], Awaitable[None]],
) -> list[StepResult]:
    """Run steps in order until one fails; all of them share one deadline of ``seconds``."""
    deadline = time.monotonic() + seconds
    results: list[StepResult] = []
    for argv in steps:
        result = StepResult(tuple(argv), None)
        results.append(result)
        await _run_one(result, workdir, deadline, on_output)
        if not result.ok:
            break
    return results


async def _run_one(
    result: StepResult, workdir: Path, deadline: float, on_output: Callable[[str], Awaitable[None]]
) -> None:
    try:
        proc = await asyncio.create_subprocess_exec(
            *result.argv,
            cwd=workdir,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # its own process group, so a timeout kills the whole step
        )
    except OSError as exc:
        result.error = f"could not start `{result.argv[0]}`: {exc.strerror or exc}"
        return
    assert proc.stdout is not None

    async def pump() -> None:
        assert proc.stdout is not None
        async for raw in proc.stdout:
            result.lines.append(raw.decode("utf-8", errors="replace").rstrip("\r\n"))
            await on_output(result.tail())
        await proc.wait()

    try:
        await asyncio.wait_for(pump(), timeout=max(0.0, deadline - time.monotonic()))
        result.exit_code = proc.returncode
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
        result.error = "timed out (the whole rebuild has one deadline: rebuild.timeout)"
