"""Argument types a command signature may use, and how typed text becomes each of them."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol, Self

import re2  # RE2: matching time is linear in the text, whatever the pattern

from bot.text.duration import DurationError, parse_duration

SERVICE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
MAX_REGEX = 200
RE2_MAX_MEM = 1 << 20  # bytes for one compiled pattern and its DFA cache (RE2's default: 8 MiB)
RE2_REFUSES = ("invalid perl operator", "invalid escape sequence")  # (?=…), \1 and the like


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


class Compiled(Protocol):
    """What the bot uses of a compiled RE2 pattern (the binding ships no type hints)."""

    @property
    def pattern(self) -> str:
        """The pattern as typed."""

    def search(self, text: str) -> object | None:
        """A match object where ``text`` matches, else None."""


class Regex:
    """A bounded regular expression typed by the user: RE2 syntax, case-insensitive.

    RE2 guarantees time linear in the text searched, so no pattern can stall the bot the way
    `(a+)+$` stalls a backtracking engine; in exchange it has no backreferences or lookarounds.
    """

    def __init__(self, pattern: Compiled) -> None:
        self.pattern = pattern

    @classmethod
    def parse(cls, text: str) -> Regex:
        """Compile a user regex, refusing overly long ones and what RE2 cannot do."""
        if len(text) > MAX_REGEX:
            raise ValueError(f"the pattern is longer than {MAX_REGEX} characters")
        options = re2.Options()
        options.case_sensitive = False
        options.max_mem = RE2_MAX_MEM
        options.log_errors = False  # a typo is the user's reply, not a line on stderr
        try:
            compiled: Compiled = re2.compile(text, options)
        except re2.error as exc:
            raise ValueError(_explain(exc)) from None
        return cls(compiled)


def _explain(exc: Exception) -> str:
    """A one-line reason from an RE2 compile error (its message arrives as bytes)."""
    reason = exc.args[0] if exc.args else ""
    if isinstance(reason, bytes):
        reason = reason.decode("utf-8", errors="replace")
    reason = str(reason)[:80]
    if reason.startswith(RE2_REFUSES):
        return (
            f"`--grep` uses RE2 syntax: backreferences and lookarounds are not supported ({reason})"
        )
    if reason.startswith("pattern too large"):
        return "the pattern is too large for RE2; use fewer or smaller `{n}` repetitions"
    return f"not a valid regular expression: {reason}"


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
