"""Compose dependencies: from the `depends_on` label (compose v2) or the compose files (v1)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from bot.containers.inventory import CONFIG_FILES_LABEL, DEPENDS_LABEL, WORKDIR_LABEL

log = logging.getLogger(__name__)


def parse_depends_on_label(label: str | None) -> list[str]:
    """`authelia:service_healthy:false,postgres` → `["authelia", "postgres"]` (sorted)."""
    names = {part.split(":", 1)[0].strip() for part in (label or "").split(",")}
    return sorted(n for n in names if n)


def _from_service(spec: Any) -> set[str]:
    deps = spec.get("depends_on") if isinstance(spec, dict) else None
    if isinstance(deps, list):
        return {str(d) for d in deps}
    if isinstance(deps, dict):
        return {str(d) for d in deps}
    return set()


@functools.lru_cache(maxsize=32)
def _load(path: str, mtime_ns: int) -> Any:
    """A parsed compose file, read once per version (a resync asks for every service)."""
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def dependencies_from_files(files: Iterable[Path], service: str) -> list[str]:
    """The union of `depends_on` for ``service`` across compose files (unreadable files skipped)."""
    found: set[str] = set()
    for path in files:
        try:
            doc = _load(str(path), path.stat().st_mtime_ns)
        except (OSError, yaml.YAMLError) as exc:
            log.info("cannot read compose file %s: %s", path, exc)
            continue
        services = doc.get("services") if isinstance(doc, dict) else None
        if isinstance(services, dict):
            found |= _from_service(services.get(service))
    return sorted(found)


def dependencies(labels: Mapping[str, str], service: str) -> list[str] | None:
    """What ``service`` depends on; None when neither the label nor a compose file tells.

    Blocking (reads files): call it from a worker thread.
    """
    if DEPENDS_LABEL in labels:
        return parse_depends_on_label(labels[DEPENDS_LABEL])
    files_label = labels.get(CONFIG_FILES_LABEL)
    if not files_label:
        return None
    base = Path(labels.get(WORKDIR_LABEL) or "/")
    files = [base / f.strip() for f in files_label.split(",") if f.strip()]
    if not any(f.is_file() for f in files):
        return None
    return dependencies_from_files(files, service)
