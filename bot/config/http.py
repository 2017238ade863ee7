"""The `http:` section: where /healthz and /metrics answer ($OPSBOT_HTTP_LISTEN wins)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.config.schema import Reader, string

ENV_HTTP_LISTEN = "OPSBOT_HTTP_LISTEN"
LISTEN = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$")
HINT = "HOST:PORT, e.g. 127.0.0.1:9464"


@dataclass(frozen=True)
class HttpConfig:
    """The bot's own HTTP endpoint; off unless ``listen`` is set."""

    listen: tuple[str, int] | None = None  # (host, port)


def parse_http(r: Reader, raw: Any, environ: Mapping[str, str]) -> HttpConfig:
    """``http.listen: HOST:PORT`` (or $OPSBOT_HTTP_LISTEN): where /healthz and /metrics answer."""
    h = r.section(raw, "http", ("listen",))
    value = environ.get(ENV_HTTP_LISTEN) or r.get(h, "http", "listen", string(LISTEN, HINT))
    if not value:
        return HttpConfig()
    found = LISTEN.match(value)
    if found is None or not 0 < int(found.group(2)) < 65536:
        r.problems.append(f"http.listen: expected {HINT}, got {value!r}")
        return HttpConfig()
    return HttpConfig(listen=(found.group(1).strip("[]"), int(found.group(2))))
