"""The audit chain's key: from OPSBOT_AUDIT_KEY, from audit.key_file, or generated once into
data_dir/audit.key (mode 0600). It is never stored in the database it protects."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from bot.config import Config

log = logging.getLogger(__name__)
ENV_AUDIT_KEY = "OPSBOT_AUDIT_KEY"


class AuditKeyError(Exception):
    """The configured key cannot be read."""


def audit_key(config: Config, environ: Mapping[str, str]) -> bytes:
    """The HMAC key for the audit chain."""
    if environ.get(ENV_AUDIT_KEY):
        return environ[ENV_AUDIT_KEY].encode()
    if config.audit_key_file is None:
        return key_file(config.data_dir / "audit.key")
    if not config.audit_key_file.exists():
        raise AuditKeyError(f"audit.key_file {config.audit_key_file} does not exist")
    return key_file(config.audit_key_file)


def key_file(path: Path) -> bytes:
    """The key kept in ``path``, generated there (mode 0600) the first time."""
    try:
        key = path.read_bytes().strip()
    except FileNotFoundError:
        return _generate(path)
    except OSError as exc:
        raise AuditKeyError(f"cannot read the key {path}: {exc.strerror}") from None
    if len(key) < 16:
        raise AuditKeyError(f"the key in {path} is shorter than 16 bytes")
    return key


def _generate(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
    log.warning("generated the key %s; keep a copy outside this machine", path)
    return key
