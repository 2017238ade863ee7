"""Human durations: parse `30s`, `10m`, `4h`, `1h30m`, `2d`; format seconds compactly."""

from __future__ import annotations

import re
from typing import Any

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
MAX_SECONDS = 10 * 365 * 86400.0


class DurationError(ValueError):
    """A text that is not a duration."""


def parse_duration(value: Any) -> float:
    """Return seconds for `30s`, `10m`, `4h`, `1h30m`, `2d` (a bare number means seconds)."""
    if isinstance(value, bool):
        raise DurationError(f"expected a duration like 30s, 10m or 4h, got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = re.sub(r"\s+", "", value.lower())  # "1h 30m" and "30 s" are fine
        if re.fullmatch(r"\d+(?:\.\d+)?", text):
            seconds = float(text)
        else:
            pos, seconds = 0, 0.0
            for m in _PART.finditer(text):
                if m.start() != pos:
                    break
                seconds += float(m.group(1)) * _UNITS[m.group(2)]
                pos = m.end()
            if pos != len(text) or not text:
                raise DurationError(f"expected a duration like 30s, 10m or 4h, got {value[:40]!r}")
    else:
        raise DurationError(f"expected a duration like 30s, 10m or 4h, got {type(value).__name__}")
    if not 0 < seconds <= MAX_SECONDS:
        raise DurationError(f"duration must be positive and at most 10 years, got {value!r}")
    return seconds


def format_duration(seconds: float) -> str:
    """Format seconds compactly: `45s`, `12m`, `3h 5m`, `2d 4h`."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        h, m = divmod(s // 60, 60)
        return f"{h}h {m}m" if m else f"{h}h"
    d, h = divmod(s // 3600, 24)
    return f"{d}d {h}h" if h else f"{d}d"
