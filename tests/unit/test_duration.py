"""Specification of bot.duration: human durations in, compact durations out."""

from __future__ import annotations

from typing import Any

import pytest

from bot.text.duration import MAX_SECONDS, DurationError, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30.0),
        ("10m", 600.0),
        ("4h", 14_400.0),
        ("1h30m", 5_400.0),
        ("1h 30m", 5_400.0),
        ("30 s", 30.0),
        ("2d", 172_800.0),
        ("1w", 604_800.0),
        ("500ms", 0.5),
        ("1.5h", 5_400.0),
        ("90", 90.0),
        (" 10M ", 600.0),
        (45, 45.0),
        (2.5, 2.5),
    ],
)
def test_parses(text: Any, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text", ["", "abc", "10x", "h", "s10", "10m5", "-5s", "1h-30m", "10 minutes"]
)
def test_refuses_what_is_not_a_duration(text: str) -> None:
    with pytest.raises(DurationError, match="expected a duration like 30s"):
        parse_duration(text)


@pytest.mark.parametrize("value", [None, True, [], {"s": 1}])
def test_refuses_other_types(value: Any) -> None:
    with pytest.raises(DurationError):
        parse_duration(value)


@pytest.mark.parametrize(
    "value", ["0", "0s", 0, -3, "3651d", "99999d", MAX_SECONDS + 1, float("inf"), float("nan")]
)
def test_refuses_zero_negative_and_huge(value: Any) -> None:
    with pytest.raises(DurationError, match="positive and at most 10 years"):
        parse_duration(value)


def test_ten_years_is_the_largest_accepted() -> None:
    assert parse_duration("3650d") == MAX_SECONDS


def test_error_quotes_at_most_40_characters_of_the_input() -> None:
    with pytest.raises(DurationError) as info:
        parse_duration("x" * 1000)
    assert "x" * 41 not in str(info.value)


def test_is_a_value_error() -> None:
    """Callers that validate many things catch ValueError."""
    assert issubclass(DurationError, ValueError)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (45, "45s"),
        (59.9, "59s"),
        (60, "1m"),
        (750, "12m"),
        (3_600, "1h"),
        (3_660, "1h 1m"),
        (11_100, "3h 5m"),
        (86_400, "1d"),
        (2 * 86_400 + 4 * 3_600, "2d 4h"),
        (-5, "0s"),
    ],
)
def test_formats(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize("text", ["30s", "10m", "4h", "2d"])
def test_single_unit_round_trips(text: str) -> None:
    assert format_duration(parse_duration(text)) == text
