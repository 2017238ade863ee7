"""Services whose health a test switches from the host, and reading the bot's alerts back."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.support.person import Person

SERVE = "exec httpd -f -p 8000 -h /www"


def flagged(
    image: str, name: str, *, needs: str | None = None, loop: bool = False
) -> dict[str, Any]:
    """A service that is healthy while `flags/<needs or name>.ok` exists on the host.

    With ``loop``, it runs while the flag exists and otherwise exits 1 after a second
    (restart: always): removing the flag starts a crash loop, restoring it ends it.
    """
    flag = f"/flags/{needs or name}.ok"
    service: dict[str, Any] = {
        "image": image, "network_mode": "none", "init": False, "stop_grace_period": "1s",
        "volumes": ["./flags:/flags"],
    }  # fmt: skip
    if loop:
        script = (
            f'if [ -f {flag} ]; then echo "{name}: up"; while [ -f {flag} ]; do sleep 1; done; '
        )
        script += f'fi; echo "fatal: {name} cannot start"; sleep 1; exit 1'
        return {**service, "command": ["sh", "-c", script], "restart": "always"}
    check = {"test": ["CMD", "test", "-f", flag], "interval": "1s", "timeout": "1s", "retries": 1}
    return {**service, "command": ["sh", "-c", SERVE], "healthcheck": check}


class Flags:
    """The host side of the stack's `flags/` directory."""

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir / "flags"
        self.dir.mkdir(parents=True, exist_ok=True)

    def up(self, *names: str) -> None:
        for name in names:
            (self.dir / f"{name}.ok").write_text("ok")

    def down(self, *names: str) -> None:
        for name in names:
            (self.dir / f"{name}.ok").unlink(missing_ok=True)


def alert_messages(person: Person, room: str) -> list[dict[str, Any]]:
    """The bot's alert messages (originals, not edits), oldest first."""
    return [e for e in person.seen.get(room, []) if "org.opsbot.alert" in e.get("content", {})]


def latest(person: Person, room: str, event_id: str) -> str:
    """The newest text of a message: its last edit, or itself."""
    text = ""
    for e in person.seen.get(room, []):
        content = e.get("content", {})
        if e.get("event_id") == event_id:
            text = str(content.get("body", ""))
        rel = content.get("m.relates_to") or {}
        if rel.get("rel_type") == "m.replace" and rel.get("event_id") == event_id:
            text = str(content["m.new_content"]["body"])
    return text


async def wait_alert(person: Person, room: str, text: str, timeout: float = 60) -> dict[str, Any]:
    """Wait until some alert reads (in its newest version) like ``text``; return it."""
    deadline = time.monotonic() + timeout
    while True:
        for alert in alert_messages(person, room):
            if text in latest(person, room, alert["event_id"]):
                return alert
        if time.monotonic() > deadline:
            seen = [latest(person, room, a["event_id"]) for a in alert_messages(person, room)]
            raise TimeoutError(f"no alert reading {text!r}; alerts: {seen}")
        await person.sync()
