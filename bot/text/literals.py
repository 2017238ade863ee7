"""Literal secrets the redactor always replaces: the bot's own, configured ones, and the values
of a deployment's env files (`.env`, `.credentials`)."""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote, quote_plus

log = logging.getLogger(__name__)

SECRET_KEY = re.compile(r"(PASS|SECRET|TOKEN|KEY|CRED|HASH|SALT|PRIVATE|AUTH)", re.IGNORECASE)
LONG_ENOUGH = 16  # any value this long counts, whatever its key is called
SHORTEST = 6  # shorter values would redact ordinary words
# what percent-encoders leave alone: nothing, paths, JS encodeURIComponent, JS encodeURI
_URL_SAFE = ("", "/", "!'()*", "!#$&'()*+,/:;=?@")
_PERCENT = re.compile(r"%[0-9A-F]{2}")
_UNICODE_ESCAPE = re.compile(r"\\u[0-9a-f]{4}")


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


def encoded_forms(secret: str) -> set[str]:
    """``secret`` as HTML, URLs (percent-encoded, `+` for space) and JSON (`\\"`, `\\/`,
    `\\uXXXX`, Go's `\\u0026`; JSON inside JSON) may spell it, and as it is."""
    url = {f(secret, safe=safe) for safe in _URL_SAFE for f in (quote, quote_plus)}
    url |= {_PERCENT.sub(lambda m: m.group(0).lower(), u) for u in url}
    ascii_json, utf8_json = json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]
    go_json = utf8_json.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    upper_hex = _UNICODE_ESCAPE.sub(lambda m: "\\u" + m.group(0)[2:].upper(), ascii_json)
    js = {ascii_json, utf8_json, go_json, upper_hex}
    js |= {j.replace("/", "\\/") for j in js}
    js |= {json.dumps(j)[1:-1] for j in js}
    markup = {html.escape(secret), html.escape(secret, quote=False)}
    markup |= {m.replace("&#x27;", "&#39;") for m in markup} | {html.escape(j) for j in js}
    return {secret} | url | js | markup
