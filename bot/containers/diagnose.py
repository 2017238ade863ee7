"""Likely causes read from container state: e.g. a health check probing the wrong port."""

from __future__ import annotations

import re

from bot.containers.inventory import ContainerDetail

_PORT = re.compile(
    r"(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\])(?::(\d{1,5})|\s+(\d{2,5})\b)?"
    r"|--port[= ](\d{1,5})|\bport\s+(\d{1,5})"
)
_REFUSED = (
    "connection refused",
    "can't connect",
    "failed to connect",
    "econnrefused",
    "couldn't connect",
)


def probed_ports(command: str) -> set[int]:
    """Ports a health check command targets (`http://localhost/` counts as 80)."""
    ports: set[int] = set()
    for m in _PORT.finditer(command):
        number = next((g for g in m.groups() if g), None)
        if number is not None:
            ports.add(int(number))
        elif m.group(0) and "://" in command[max(0, m.start() - 8) : m.start()]:
            scheme = command[max(0, m.start() - 8) : m.start()]
            ports.add(443 if "https" in scheme else 80)
    return ports


def probe_hint(detail: ContainerDetail) -> str | None:
    """Explain a failing health check when its output shows a refused connection."""
    if not detail.probes or not detail.healthcheck or detail.probes[-1].exit_code == 0:
        return None
    last = detail.probes[-1].output.lower()
    if not any(marker in last for marker in _REFUSED):
        return None
    ports = sorted(probed_ports(detail.probe_command))
    if not ports:
        return (
            "the health check's connection is refused: the app may be down, or the probe "
            "may target the wrong address"
        )
    where = ", ".join(f":{p}" for p in ports)
    text = (
        f"the health check probes {where} and the connection is refused — if the app is "
        "up, the probe targets the wrong port"
    )
    others = [p for p in detail.exposed_ports if p not in ports]
    if others:
        text += f" (the container exposes {', '.join(f':{p}' for p in others)})"
    return text + "; fix the health check in the compose template, not the running container"
