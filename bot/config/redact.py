"""The `redact:` section: the operator's own secrets, besides the patterns the bot knows."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.config.schema import Reader, string_list, under


@dataclass(frozen=True)
class RedactConfig:
    """Literal secrets, and env files whose secret-looking values are hidden too."""

    literals: tuple[str, ...] = field(default=(), repr=False)
    env_files: tuple[Path, ...] = ()


def parse_redact(r: Reader, raw: Any, base: Path | None) -> RedactConfig:
    """The `redact:` section; relative env files are under ``base``."""
    rd = r.section(raw, "redact", ("literals", "env_files"))
    literals: tuple[str, ...] = r.get(
        rd, "redact", "literals", string_list(re.compile(r"^.{4,}$"), "4+ characters"), ()
    )
    files: tuple[str, ...] = r.get(
        rd, "redact", "env_files", string_list(re.compile(r"^\S+$"), "a path"), ()
    )
    return RedactConfig(
        literals=literals,
        env_files=tuple(under(base, Path(f)) for f in files),
    )
