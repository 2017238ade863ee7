"""Rebuild steps run as argument lists, stop at the first failure, and share one deadline."""

from __future__ import annotations

from pathlib import Path

from bot.pipeline import run_steps, substitute


async def _ignore(text: str) -> None:
    return None


def test_substitution_is_per_argument_and_never_a_shell() -> None:
    argv = substitute(
        ["compose", "-p", "{project}", "up", "{service}"], {"service": "a b;c", "project": "p"}
    )
    assert argv == ("compose", "-p", "p", "up", "a b;c")


async def test_steps_run_in_order_until_one_fails(tmp_path: Path) -> None:
    seen: list[str] = []

    async def show(tail: str) -> None:
        seen.append(tail)

    steps = [["sh", "-c", "echo one"], ["sh", "-c", "echo two >&2; exit 4"], ["echo", "three"]]
    results = await run_steps(steps, tmp_path, 30, show)
    assert [r.exit_code for r in results] == [0, 4]
    assert results[1].tail() == "two" and not results[1].ok
    assert seen[0] == "one"


async def test_a_missing_program_is_a_clear_failure(tmp_path: Path) -> None:
    [result] = await run_steps([["./no-such-build.sh"]], tmp_path, 30, _ignore)
    assert not result.ok and "could not start `./no-such-build.sh`" in result.error


async def test_the_deadline_kills_the_whole_step(tmp_path: Path) -> None:
    [result] = await run_steps(
        [["sh", "-c", "echo started; sleep 30 & wait"]], tmp_path, 1, _ignore
    )
    assert result.exit_code is None and "timed out" in result.error
    assert result.tail() == "started"
