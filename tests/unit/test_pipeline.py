"""Rebuild steps run as argument lists, stop at the first failure, and share one deadline;
output is read in chunks, redacted whole before it is cut, and no step outlives its run."""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path

import pytest

from bot.containers.steps import CUT, LINE_MAX, Output, StepResult, run_steps, substitute
from bot.text.redact import Redactor

REDACT = Redactor()


async def _ignore(text: str) -> None:
    return None


def alive_in_group(pgid: int) -> list[int]:
    """Processes of group ``pgid`` that still run (zombies waiting to be reaped don't count)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            alive.append(int(stat.parent.name))
    return alive


async def assert_group_gone(pgid: int) -> None:
    """Within 10 s (polling /proc: there is nothing to wait on)."""
    for _ in range(200):
        alive = alive_in_group(pgid)
        if not alive:
            return
        await asyncio.sleep(0.05)
    assert alive == [], f"process group {pgid} still runs"


def first_line(result: StepResult) -> int:
    return int(result.lines[0])


def test_substitution_is_per_argument_and_never_a_shell() -> None:
    argv = substitute(
        ["compose", "-p", "{project}", "up", "{service}"], {"service": "a b;c", "project": "p"}
    )
    assert argv == ("compose", "-p", "p", "up", "a b;c")


async def test_steps_run_in_order_until_one_fails(tmp_path: Path) -> None:
    seen: list[str] = []

    async def show(tail: str) -> None:
        seen.append(tail)

    steps = [["true"], ["sh", "-c", "echo one"], ["sh", "-c", "echo two >&2; exit 4"], ["true"]]
    results = await run_steps(steps, tmp_path, 30, show, redact=REDACT)
    assert [r.exit_code for r in results] == [0, 0, 4]
    assert results[0].lines == [] and results[1].lines == ["one"]
    assert results[2].tail() == "two" and not results[2].ok
    assert "one" in seen


async def test_a_missing_program_is_a_clear_failure(tmp_path: Path) -> None:
    [result] = await run_steps([["./no-such-build.sh"]], tmp_path, 30, _ignore, redact=REDACT)
    assert not result.ok and "could not start `./no-such-build.sh`" in result.error


async def test_the_deadline_kills_the_whole_step(tmp_path: Path) -> None:
    [result] = await run_steps(
        [["sh", "-c", "echo $$; sleep 30 & wait"]], tmp_path, 1, _ignore, redact=REDACT
    )
    assert result.exit_code is None and "timed out" in result.error
    await assert_group_gone(first_line(result))


async def test_a_megabyte_line_is_read_and_cut(tmp_path: Path) -> None:
    """A line far over asyncio's 64 KiB line limit neither crashes the step nor is kept whole."""
    code = "print('x' * 1_000_000); print('é' * 70_000); print('done')"
    [result] = await run_steps([[sys.executable, "-c", code]], tmp_path, 60, _ignore, redact=REDACT)
    assert result.ok, result.error
    assert result.lines == ["x" * LINE_MAX + CUT, "é" * LINE_MAX + CUT, "done"]


async def test_whatever_a_finished_step_left_running_is_killed(tmp_path: Path) -> None:
    step = ["sh", "-c", "echo $$; sleep 60 >/dev/null 2>&1 &"]
    [result] = await run_steps([step], tmp_path, 30, _ignore, redact=REDACT)
    assert result.ok
    await assert_group_gone(first_line(result))


async def test_cancelling_a_run_kills_the_step(tmp_path: Path) -> None:
    """The bot shutting down mid-rebuild leaves no build behind."""
    started: asyncio.Queue[int] = asyncio.Queue()

    async def show(tail: str) -> None:
        started.put_nowait(int(tail.splitlines()[0]))

    step = ["sh", "-c", "echo $$; sleep 60 & sleep 60; wait"]
    task = asyncio.create_task(run_steps([step], tmp_path, 60, show, redact=REDACT))
    pgid = await asyncio.wait_for(started.get(), 10)
    assert alive_in_group(pgid)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await assert_group_gone(pgid)


async def test_a_failing_progress_report_kills_the_step(tmp_path: Path) -> None:
    seen: list[int] = []

    async def show(tail: str) -> None:
        seen.append(int(tail.splitlines()[0]))
        raise RuntimeError("card edit failed")

    with pytest.raises(RuntimeError):
        await run_steps([["sh", "-c", "echo $$; sleep 60"]], tmp_path, 60, show, redact=REDACT)
    await assert_group_gone(seen[0])


KEY_BODY = [f"MIIEvQIBADANBgkqhkiG9w0BAQEFAASC{i:02d}" + "Kq3xYz09AbCdEfGh" * 2 for i in range(30)]
PEM = ["-----BEGIN PRIVATE KEY-----", *KEY_BODY, "-----END PRIVATE KEY-----"]


async def test_output_is_redacted_whole_before_the_tail_is_cut(tmp_path: Path) -> None:
    """The tail (15 lines) starts inside the key body; the key is still recognised."""
    script = tmp_path / "leak.sh"
    script.write_text("".join(f"echo '{line}'\n" for line in [*PEM, *"abcde"]) + "exit 1\n")
    shown: list[str] = []

    async def show(tail: str) -> None:
        shown.append(tail)

    [result] = await run_steps([["sh", "leak.sh"]], tmp_path, 30, show, redact=REDACT)
    assert not result.ok
    assert result.tail().splitlines() == ["[REDACTED:private-key]", *"abcde"]
    everything = "\n".join([*result.lines, *shown])
    assert shown and not any(body[:32] in everything for body in KEY_BODY)


async def test_megabytes_are_redacted_off_the_event_loop(tmp_path: Path) -> None:
    threads: list[tuple[int, bool]] = []

    def redact(text: str) -> str:
        threads.append((len(text), threading.current_thread() is threading.main_thread()))
        return REDACT(text)

    code = "import sys\nfor i in range(300): print(str(i) * 3000)"
    [result] = await run_steps([[sys.executable, "-c", code]], tmp_path, 60, _ignore, redact=redact)
    assert result.ok and result.lines[-1].startswith("299299")
    assert threads and all(not on_loop for size, on_loop in threads if size > 100_000)
    assert any(size > 100_000 for size, _ in threads)


def test_lines_are_split_from_chunks_here() -> None:
    """Chunk borders may fall inside a line, a CRLF pair or a UTF-8 character."""
    out = Output()
    data = "one\r\ntwo ü\nthree".encode()
    for i in range(len(data)):
        out.feed(data[i : i + 1])
    out.feed(b"", final=True)
    assert list(out.lines) == ["one", "two ü", "three"]
