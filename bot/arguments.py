"""Argument types a command signature may use, and how typed text becomes each of them."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Self

from bot.duration import DurationError, parse_duration

SERVICE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
MAX_REGEX = 200


class Service(str):
    """A service name: compose service or container name, `[A-Za-z0-9][A-Za-z0-9_.-]*`."""

    __slots__ = ()

    @classmethod
    def parse(cls, text: str) -> Self:
        """Validate a typed service name."""
        if not SERVICE_NAME.match(text):
            raise ValueError(
                "service names use letters, digits, `_`, `.` and `-` "
                "and start with a letter or digit"
            )
        return cls(text)


class Duration(float):
    """A positive duration in seconds, typed as `30s`, `10m`, `4h`."""

    __slots__ = ()

    @classmethod
    def parse(cls, text: str) -> Self:
        """Parse a human duration."""
        try:
            return cls(parse_duration(text))
        except DurationError as exc:
            raise ValueError(str(exc)) from None


class Regex:
    """A bounded regular expression typed by the user (case-insensitive)."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern

    @classmethod
    def parse(cls, text: str) -> Regex:
        """Compile a user regex, refusing overly long ones."""
        if len(text) > MAX_REGEX:
            raise ValueError(f"the pattern is longer than {MAX_REGEX} characters")
        try:
            return cls(re.compile(text, re.IGNORECASE))
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None


def _int(text: str) -> int:
    if not re.fullmatch(r"[+-]?\d{1,9}", text):
        raise ValueError(f"`{text[:20]}` is not a whole number")
    return int(text)


class Rest(str):
    """Free text: the rest of the line (e.g. a reason), as the last positional argument."""

    __slots__ = ()


CONVERTERS: dict[Any, Callable[[str], Any]] = {
    Rest: Rest,
    bool: bool,  # a flag without a value: `--no-rollback`
    str: str,
    int: _int,
    Service: Service.parse,
    Duration: Duration.parse,
    Regex: Regex.parse,
}
METAVARS = {
    Rest: "TEXT",
    int: "N",
    Duration: "DURATION",
    Regex: "REGEX",
    str: "TEXT",
    Service: "SERVICE",
}
