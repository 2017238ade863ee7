"""The bot's neutral types: roles, user-facing errors, and the messages and reactions the chat
layer hands over. Imports nothing of the bot, so every package may use them."""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass


def now_ms() -> int:
    """Wall-clock milliseconds (what Matrix timestamps and the store use)."""
    return int(time.time() * 1000)


class Role(enum.IntEnum):
    """What a user may do; each role includes the ones below it."""

    VIEWER = 1
    OPERATOR = 2
    ADMIN = 3

    def __str__(self) -> str:
        return self.name.lower()

    def article(self) -> str:
        """The role with its article: "a viewer", "an operator", "an admin"."""
        return f"an {self}" if str(self)[0] in "aeiou" else f"a {self}"


class CommandError(Exception):
    """A failure the user should read as-is (no traceback); recorded with ``outcome``."""

    outcome = "error"


class UsageError(CommandError):
    """The command was used wrongly: bad argument, unknown service, bad number."""

    outcome = "usage-error"


@dataclass(frozen=True)
class Message:
    """A command message as the chat layer hands it over."""

    room_id: str
    event_id: str
    sender: str
    body: str
    thread_root: str  # the event the reply thread hangs off
    ts_ms: int
    power: int | None = None  # the sender's power level in the room, when roles use it


@dataclass(frozen=True)
class Reaction:
    """An `m.reaction` annotation: ``sender`` put ``key`` on ``target``."""

    room_id: str
    event_id: str
    sender: str
    target: str
    key: str
    ts_ms: int
    power: int | None = None  # the sender's power level in the room, when roles use it
