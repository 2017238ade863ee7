"""Runs a rebuild's steps: argument lists (never a shell), output read in chunks, one deadline."""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import signal
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

KEEP_LINES = 400  # lines of output kept for the report and the audit
CONTEXT_LINES = 200  # older lines, kept only so a secret that began above the window is seen whole
TAIL = 15  # lines shown in progress edits and failure reports
LINE_MAX = 4096  # characters of one line shown; a longer line ends in " …"
LINE_KEEP = 2 * LINE_MAX  # characters of one line kept until it is redacted
CHUNK = 65536  # bytes read at a time: a line may be longer than any buffer
PROGRESS_EVERY = 1.0  # seconds between progress reports while a step prints
INLINE_REDACT = 16384  # characters redacted on the event loop; more go to a worker thread
CUT = " …"

Redact = Callable[[str], str]
Progress = Callable[[str], Awaitable[None]]


@dataclass
class StepResult:
    """How one step ended."""

    argv: tuple[str, ...]
    exit_code: int | None  # None: killed at the deadline, or could not start
    lines: list[str] = field(default_factory=list)  # redacted: the last KEEP_LINES, each capped
    error: str = ""

    @property
    def ok(self) -> bool:
        """Whether the step exited 0."""
        return self.exit_code == 0

    def tail(self, n: int = TAIL) -> str:
        """The last ``n`` lines of (redacted) output."""
        return "\n".join(self.lines[-n:])


class Output:
    """The newest raw lines a step printed, split from chunks here, each bounded in length."""

    def __init__(self) -> None:
        self.lines: deque[str] = deque(maxlen=KEEP_LINES + CONTEXT_LINES)
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._partial: list[str] = []
        self._size = 0
        self._cut = False

    def feed(self, data: bytes, *, final: bool = False) -> None:
        """Add a chunk of output; ``final`` flushes the last, unterminated line."""
        *complete, rest = self._decoder.decode(data, final=final).split("\n")
        for piece in complete:
            self._add(piece)
            self._end_line()
        self._add(rest)
        if final and (self._partial or self._cut):
            self._end_line()

    def text(self) -> str:
        """The kept output as one text, the unterminated last line included."""
        return "\n".join([*self.lines, "".join(self._partial)] if self._partial else self.lines)

    def _add(self, piece: str) -> None:
        room = LINE_KEEP - self._size
        if len(piece) > room:
            piece, self._cut = piece[:room], True
        if piece:
            self._partial.append(piece)
            self._size += len(piece)

    def _end_line(self) -> None:
        line = "".join(self._partial).rstrip("\r")
        self.lines.append(line + CUT if self._cut else line)
        self._partial, self._size, self._cut = [], 0, False


async def redacted_tail(text: str, redact: Redact, n: int = KEEP_LINES) -> list[str]:
    """Redact ``text`` whole, then keep its last ``n`` lines, each capped at LINE_MAX."""
    if not text:
        return []
    clean = await asyncio.to_thread(redact, text) if len(text) > INLINE_REDACT else redact(text)
    lines = clean.split("\n")[-n:]
    return [line if len(line) <= LINE_MAX else line[:LINE_MAX] + CUT for line in lines]


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
    on_output: Progress,
    *,
    redact: Redact,
) -> list[StepResult]:
    """Run steps in order until one fails; all of them share one deadline of ``seconds``.

    ``on_output`` gets the redacted tail of the running step's output now and then; every
    result's ``lines`` are redacted. A step's whole process group is killed when it ends, at
    the deadline, and when this is cancelled or fails.
    """
    deadline = asyncio.get_running_loop().time() + seconds
    results: list[StepResult] = []
    for argv in steps:
        result = StepResult(tuple(argv), None)
        results.append(result)
        await _run_one(result, workdir, deadline, on_output, redact)
        if not result.ok:
            break
    return results


async def _run_one(
    result: StepResult, workdir: Path, deadline: float, on_output: Progress, redact: Redact
) -> None:
    try:
        proc = await asyncio.create_subprocess_exec(
            *result.argv,
            cwd=workdir,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # its own process group, killed whole when the step ends
        )
    except OSError as exc:
        result.error = f"could not start `{result.argv[0]}`: {exc.strerror or exc}"
        return
    output = Output()
    try:
        async with asyncio.timeout_at(deadline):
            await _pump(proc, output, on_output, redact)
            result.exit_code = await proc.wait()
    except TimeoutError:
        result.error = "timed out (the whole rebuild has one deadline: rebuild.timeout)"
    finally:
        await _kill_group(proc)
    output.feed(b"", final=True)
    result.lines = await redacted_tail(output.text(), redact)
    await on_output(result.tail())


async def _pump(
    proc: asyncio.subprocess.Process, output: Output, on_output: Progress, redact: Redact
) -> None:
    """Read the step's output until EOF, reporting its redacted tail at most every second."""
    assert proc.stdout is not None
    loop = asyncio.get_running_loop()
    shown = loop.time() - PROGRESS_EVERY
    while chunk := await proc.stdout.read(CHUNK):
        output.feed(chunk)
        if loop.time() - shown >= PROGRESS_EVERY:
            await on_output("\n".join(await redacted_tail(output.text(), redact, TAIL)))
            shown = loop.time()


async def _kill_group(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL the step's process group (whatever it left behind), then reap the step."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    if proc.returncode is None:
        await asyncio.shield(proc.wait())
