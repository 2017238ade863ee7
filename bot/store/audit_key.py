"""The audit chain's key: from OPSBOT_AUDIT_KEY, from audit.key_file, or generated once into
data_dir/audit.key (mode 0600). It is never stored in the database it protects."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from bot.config import Config
from bot.store import Store, chained_rows

log = logging.getLogger(__name__)
ENV_AUDIT_KEY = "OPSBOT_AUDIT_KEY"


class AuditKeyError(Exception):
    """The configured key cannot be read."""


async def open_store(config: Config, environ: Mapping[str, str]) -> Store:
    """Open the store with the audit key; refuse to make up a new key for a chain that
    exists (every row would then fail `verify`)."""
    path = config.data_dir / "opsbot.db"
    return await Store.open(path, audit_key(config, environ, chained=await chained_rows(path)))


def audit_key(config: Config, environ: Mapping[str, str], *, chained: int = 0) -> bytes:
    """The HMAC key for the audit chain; ``chained``: how many chained rows exist already."""
    if environ.get(ENV_AUDIT_KEY):
        return environ[ENV_AUDIT_KEY].encode()
    path = config.audit_key_file or config.data_dir / "audit.key"
    if config.audit_key_file is not None and not path.exists():
        raise AuditKeyError(f"audit.key_file {path} does not exist")
    if chained and not path.exists():
        raise AuditKeyError(
            f"the audit trail in {config.data_dir / 'opsbot.db'} has {chained} chained rows, "
            f"but its key {path} is missing: restore the key (or set {ENV_AUDIT_KEY}). "
            "A new key would make every existing row fail `opsbot audit verify`."
        )
    if path.resolve().is_relative_to(config.data_dir.resolve()):
        log.warning(
            "the audit key %s is in the data directory: whoever can change the database can "
            "read it and forge rows. Keep it elsewhere (audit.key_file, or %s).",
            path,
            ENV_AUDIT_KEY,
        )
    return key_file(path)


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
