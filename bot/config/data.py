"""Where the bot keeps its state: `data_dir`, `data.retention` and the `audit.key_file`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config.schema import Reader, duration, string, under

RETENTION = 90 * 86400.0  # data.retention: how long finished requests and old messages stay


@dataclass(frozen=True)
class AuditConfig:
    """The `audit:` section: the file holding the key that signs the audit chain."""

    key_file: Path | None = None


@dataclass(frozen=True)
class DataConfig:
    """Where `opsbot.db` lives and how long what is done stays in it."""

    data_dir: Path
    retention: float = RETENTION


def parse_audit(r: Reader, raw: Any, base: Path | None) -> AuditConfig:
    """The `audit:` section; a relative key file is under ``base``."""
    au = r.section(raw, "audit", ("key_file",))
    key_file = r.get(au, "audit", "key_file", string())
    return AuditConfig(key_file=under(base, Path(key_file)) if key_file else None)


def parse_data(r: Reader, top: Mapping[str, Any], base: Path | None) -> DataConfig:
    """The top-level `data_dir` (default ./data, under ``base``) and the `data:` section."""
    kept = r.section(top.get("data"), "data", ("retention",))
    retention = r.get(kept, "data", "retention", duration, RETENTION)
    data_dir = Path(r.get(top, "", "data_dir", string(), "./data"))
    return DataConfig(data_dir=under(base, data_dir), retention=retention)
