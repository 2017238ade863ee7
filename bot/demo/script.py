"""The demo's scripted conversation, printed as the people in the room see it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from bot.demo.stack import DemoStack
from bot.matrix.person import Event, Person, reply_to

WAIT = 120.0  # seconds for any one step
SHOWN_LINES = 24


def _body(event: Event) -> str:
    content = event.get("content", {})
    return str((content.get("m.new_content") or content).get("body", ""))


def _edits_of(event_id: str) -> Callable[[Event], bool]:
    def match(e: Event) -> bool:
        rel = e.get("content", {}).get("m.relates_to") or {}
        return rel.get("rel_type") == "m.replace" and rel.get("event_id") == event_id

    return match


class Script:
    """Plays the conversation: alerts, !status, !logs, an approved !restart, a recovery."""

    def __init__(self, out: Callable[[str], None], room: str, operator: Person,
                 approver: Person, bot: str, stack: DemoStack) -> None:  # fmt: skip
        self.out, self.room, self.stack = out, room, stack
        self.operator, self.approver, self.bot = operator, approver, bot

    def say(self, who: str, text: str) -> None:
        """Print a message the way a chat client lays it out."""
        lines = text.splitlines() or [""]
        more = len(lines) - SHOWN_LINES
        lines = lines[:SHOWN_LINES] + ([f"… ({more} more lines)"] if more > 0 else [])
        self.out(f"  {who}: {lines[0]}")
        for line in lines[1:]:
            self.out(f"  {' ' * len(who)}  {line}")
        self.out("")

    def scene(self, title: str) -> None:
        self.out(f"━━ {title} ━━")

    def latest(self, event_id: str) -> str:
        """The newest text of a message (its last edit, or itself)."""
        seen = self.operator.seen.get(self.room, [])
        versions = [e for e in seen if e.get("event_id") == event_id or _edits_of(event_id)(e)]
        return _body(versions[-1]) if versions else ""

    async def until(self, check: Callable[[], Any], what: str) -> Any:
        """Sync until ``check`` returns something truthy."""
        deadline = time.monotonic() + WAIT
        while not (found := check()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {what} within {WAIT:.0f}s")
            await self.operator.sync()
        return found

    async def command(self, text: str) -> Event:
        """The operator sends ``text``; print it and the bot's threaded reply."""
        self.say("operator", text)
        event_id = await self.operator.send(self.room, text)
        reply = await self.operator.wait_reply(self.room, event_id, WAIT)
        self.say("opsbot", _body(reply))
        return reply

    def alert(self, text: str) -> Event | None:
        seen = self.operator.seen.get(self.room, [])
        alerts = [e for e in seen if "org.opsbot.alert" in e.get("content", {})]
        return next((a for a in alerts if text in self.latest(a["event_id"])), None)

    async def play(self) -> None:
        self.scene("1. One alert: authelia crash-loops, synapse goes down with it, seafile fails")
        alert = await self.until(lambda: self.alert("also affected: synapse"), "cascade alert")
        self.say("opsbot", self.latest(alert["event_id"]))

        self.scene("2. What is wrong? One list call, problems first")
        await self.command("!status")
        self.scene("3. Why is seafile unhealthy? Its health check probes the wrong port")
        await self.command("!status seafile")
        self.scene("4. The logs, with a deadline even when the daemon is slow")
        await self.command("!logs authelia 5")

        self.scene("5. A restart waits for another operator's 👍")
        card = await self.command("!restart litellm")
        self.out("  (the approver reacts 👍 to the card)\n")
        await self.approver.react(self.room, card["event_id"], "👍")
        done = await self.until(
            lambda: "restarted in" in self.latest(card["event_id"]), "restart report"
        )
        self.say("opsbot (card, edited)", self.latest(card["event_id"]))
        del done

        self.scene("6. The fixes go into the templates and are deployed")
        self.out("  (authelia gets its storage password; seafile's health check gets port 8000;\n"
                 "   `compose up -d` recreates what changed)\n")  # fmt: skip
        await asyncio.to_thread(self.stack.fix)
        await self.until(lambda: "✅ resolved" in self.latest(alert["event_id"]), "resolution")
        self.say("opsbot (alert, edited)", self.latest(alert["event_id"]))
        thread = await self.until(
            lambda: next(
                (e for e in self.operator.seen.get(self.room, [])
                 if reply_to(alert["event_id"])(e) and "resolved" in _body(e)), None
            ),
            "resolution reply",
        )  # fmt: skip
        self.say("opsbot (in the alert's thread)", _body(thread))
