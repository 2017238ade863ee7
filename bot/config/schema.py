"""Reading nested YAML mappings with problems collected under their key paths."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar, overload

from bot.text.duration import DurationError, parse_duration

T = TypeVar("T")

ROOM_ID = re.compile(r"^![^\s:]+(?::\S+)?$")  # room v12 ids have no server part
USER_ID = re.compile(r"^@[^:\s]+:\S+$")
USER_GLOB = re.compile(r"^@[^:\s]+:\S+$")
DEVICE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
PROJECT = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
SERVICE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class Reader:
    """Collects problems while reading a nested mapping."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def section(self, raw: Any, path: str, known: tuple[str, ...]) -> Mapping[str, Any]:
        """The raw YAML mapping at ``path`` (empty when absent); unknown keys are problems."""
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            where = f"{path}: expected" if path else "the configuration must be"
            self.problems.append(f"{where} a mapping, got {kind(raw)}")
            return {}
        for key in raw:
            if key not in known:
                where = f"{path}.{key}" if path else str(key)
                self.problems.append(f"{where}: unknown key (known: {', '.join(known)})")
        return raw

    @overload
    def get(self, sec: Mapping[str, Any], path: str, key: str, convert: Callable[[Any], T],
            default: None = None, *, required: bool = False) -> T | None: ...  # fmt: skip

    @overload
    def get(self, sec: Mapping[str, Any], path: str, key: str, convert: Callable[[Any], T],
            default: T, *, required: bool = False) -> T: ...  # fmt: skip

    def get(
        self,
        sec: Mapping[str, Any],
        path: str,
        key: str,
        convert: Callable[[Any], T],
        default: T | None = None,
        *,
        required: bool = False,
    ) -> T | None:
        """``sec[key]`` converted, or ``default``; a failed conversion is a problem."""
        where = f"{path}.{key}" if path else key
        if key not in sec or sec[key] is None:
            if required:
                self.problems.append(f"{where}: required")
            return default
        try:
            return convert(sec[key])
        except ValueError as exc:
            self.problems.append(f"{where}: {exc}")
            return default


def kind(value: Any) -> str:
    return type(value).__name__ if value is not None else "nothing"


def string(pattern: re.Pattern[str] | None = None, hint: str = "") -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"expected a non-empty string, got {kind(value)}")
        if pattern is not None and not pattern.match(value):
            raise ValueError(f"expected {hint}, got {value!r}")
        return value

    return convert


def list_of(item: Callable[[Any], T], what: str) -> Callable[[Any], tuple[T, ...]]:
    """A YAML list whose entries each pass ``item``; errors name the entry (`item 2: …`)."""

    def convert(value: Any) -> tuple[T, ...]:
        if not isinstance(value, list):
            raise ValueError(f"expected a list, got {kind(value)}")
        out = []
        for i, entry in enumerate(value):
            try:
                out.append(item(entry))
            except ValueError as exc:
                raise ValueError(f"{what} {i}: {exc}") from None
        return tuple(out)

    return convert


def string_list(pattern: re.Pattern[str], hint: str) -> Callable[[Any], tuple[str, ...]]:
    """A list of strings matching ``pattern``."""
    return list_of(string(pattern, hint), "item")


def url(schemes: tuple[str, ...]) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        text = string()(value)
        if not text.startswith(schemes):
            raise ValueError(f"expected a URL starting with {' or '.join(schemes)}, got {text!r}")
        return text.rstrip("/")

    return convert


def duration(value: Any) -> float:
    try:
        return parse_duration(value)
    except DurationError as exc:
        raise ValueError(str(exc)) from None


def boolean(value: Any) -> bool:
    """A YAML boolean (true/false), nothing else."""
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {value!r}")
    return value


def integer(low: int, high: int) -> Callable[[Any], int]:
    """A whole number between ``low`` and ``high``."""

    def convert(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"expected a whole number from {low} to {high}, got {value!r}")
        return value

    return convert


def argv(value: Any) -> tuple[str, ...]:
    """A command as an argument list (never a shell string): `["./build.sh", "{service}"]`."""
    if not isinstance(value, list) or not value:
        raise ValueError(f"expected a non-empty list of arguments, got {kind(value)}")
    if not all(isinstance(a, str) and a for a in value):
        raise ValueError("every argument must be a non-empty string")
    return tuple(value)


argv_list = list_of(argv, "step")  # a list of commands, each an argument list


def under(base: Path | None, path: Path) -> Path:
    """``path``, relative to ``base`` (the config file's directory) unless absolute or no base."""
    return base / path if base is not None and not path.is_absolute() else path
