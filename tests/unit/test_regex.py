"""`--grep` patterns run on RE2: no pattern can stall the bot, and what RE2 refuses is a usage
error that says why."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.core import UsageError
from bot.framework.arguments import Regex
from commands.logs import logs

# Catastrophic backtracking: a backtracking engine needs ~2**5000 steps to fail on this line.
MATCH_IN_A_CHILD = """
from bot.framework.arguments import Regex
regex = Regex.parse("(a+)+$")
print(regex.pattern.search("a" * 5000 + "!") is None, regex.pattern.search("xAAA") is not None)
"""


def test_a_catastrophic_pattern_is_answered_promptly() -> None:
    """`(a+)+$` on 5000 `a` and a `!`: RE2 answers at once (Python's `re` never would). The
    match runs in a child process, so a hang fails this test instead of hanging the suite."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", MATCH_IN_A_CHILD],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("matching `(a+)+$` did not finish within 20 s")
    assert done.stdout.split() == ["True", "True"]  # no match there; case-insensitive match here


@pytest.mark.parametrize(
    "pattern",
    [r"(a)\1", r"(?P<x>a)(?P=x)", r"(?=error)", r"(?!debug)", r"(?<=user=)\w+", r"(?<!no )err"],
)
def test_backreferences_and_lookarounds_are_a_usage_error(pattern: str) -> None:
    with pytest.raises(UsageError) as refused:
        logs.bind(["web", "--grep", pattern])
    assert str(refused.value).startswith(
        "[--grep REGEX]: `--grep` uses RE2 syntax: "
        "backreferences and lookarounds are not supported ("
    )


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("(unclosed", "[--grep REGEX]: not a valid regular expression: missing ): (unclosed"),
        ("a" * 201, "[--grep REGEX]: the pattern is longer than 200 characters"),
        (
            r".{0,1000}x" * 10,  # RE2's program for this outgrows the memory it may use
            "[--grep REGEX]: the pattern is too large for RE2; "
            "use fewer or smaller `{n}` repetitions",
        ),
    ],
)
def test_other_bad_patterns_are_a_usage_error(pattern: str, reason: str) -> None:
    with pytest.raises(UsageError) as refused:
        logs.bind(["web", "--grep", pattern])
    assert str(refused.value) == reason


def test_patterns_are_case_insensitive_and_keep_their_text() -> None:
    regex = Regex.parse(r"fatal|panic: \d+")
    assert regex.pattern.pattern == r"fatal|panic: \d+"  # `!logs` prints it back
    assert regex.pattern.search("level=FATAL msg=boom")
    assert regex.pattern.search("Panic: 42")
    assert not regex.pattern.search("all good")
