"""Literal secrets the redactor always replaces: the bot's own, configured ones, and the values
of a deployment's env files (`.env`, `.credentials`)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

SECRET_KEY = re.compile(r"(PASS|SECRET|TOKEN|KEY|CRED|HASH|SALT|PRIVATE|AUTH)", re.IGNORECASE)
LONG_ENOUGH = 16  # any value this long counts, whatever its key is called
SHORTEST = 6  # shorter values would redact ordinary words


def env_file_values(path: Path) -> list[str]:
    """Secret-looking values of `KEY=VALUE` lines: secret-ish key names, or long values."""
    found = []
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip().strip("'\"")
        if len(value) >= LONG_ENOUGH or (len(value) >= SHORTEST and SECRET_KEY.search(key)):
            found.append(value)
    return found


def literal_secrets(
    own: Iterable[str], literals: Iterable[str], env_files: Iterable[Path]
) -> list[str]:
    """Everything to replace literally; an unreadable env file is logged, not fatal."""
    out = [*own, *literals]
    for path in env_files:
        try:
            values = env_file_values(path)
        except OSError as exc:
            log.warning("cannot read redact.env_files entry %s: %s", path, exc.strerror)
            continue
        log.info("redacting %d values from %s", len(values), path)
        out.extend(values)
    return out
