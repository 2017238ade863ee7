"""The scripted Matrix user lives in bot.matrix.person (the demo uses it too)."""

from bot.matrix.person import Event, Person, Predicate, describe, reply_to

__all__ = ["Event", "Person", "Predicate", "describe", "reply_to"]
