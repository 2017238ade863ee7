"""Matrix event JSON: the content the bot sends (notices, threads, edits, reactions, files) and
the commands and reactions it reads. Plain dicts, no client library."""

from __future__ import annotations

import re
from typing import Any

from bot.core import Message, Reaction
from bot.text.reply import Attachment, Reply

HTML = "org.matrix.custom.html"


_ROOM_PING = re.compile(r"@(room)\b", re.IGNORECASE)


def defuse(text: str) -> str:
    """Make `@room` in quoted text (logs, probe output) unable to ping the whole room."""
    return _ROOM_PING.sub("@\u2060\\1", text)


def thread_relation(thread_root: str, reply_to: str) -> dict[str, Any]:
    """`m.relates_to` for a message in the thread rooted at ``thread_root``."""
    return {
        "rel_type": "m.thread",
        "event_id": thread_root,
        "is_falling_back": True,
        "m.in_reply_to": {"event_id": reply_to},
    }


def message(
    reply: Reply,
    relation: dict[str, Any] | None = None,
    *,
    msgtype: str = "m.notice",
    mentions: list[str] | None = None,
) -> dict[str, Any]:
    """Message content with a plain body, HTML if any, and explicit (usually empty) mentions."""
    content: dict[str, Any] = {"msgtype": msgtype, "body": defuse(reply.body)}
    if reply.html is not None:
        content["format"] = HTML
        content["formatted_body"] = defuse(reply.html)
    content["m.mentions"] = {"user_ids": mentions} if mentions else {}
    if relation is not None:
        content["m.relates_to"] = relation
    return content


def edit(event_id: str, reply: Reply, *, msgtype: str = "m.notice") -> dict[str, Any]:
    """An `m.replace` edit of ``event_id``: the full new content plus a `* ` fallback."""
    new = message(reply, msgtype=msgtype)
    content = {**new, "body": f"* {defuse(reply.body)}", "m.new_content": new}
    content.pop("formatted_body", None)
    content.pop("format", None)
    if reply.html is not None:
        content["format"] = HTML
        content["formatted_body"] = f"* {defuse(reply.html)}"
    content["m.relates_to"] = {"rel_type": "m.replace", "event_id": event_id}
    return content


def reaction(target: str, key: str) -> dict[str, Any]:
    """An `m.reaction` content annotating ``target`` with ``key``."""
    return {"m.relates_to": {"rel_type": "m.annotation", "event_id": target, "key": key}}


def file_message(
    att: Attachment, url: str, relation: dict[str, Any], keys: dict[str, Any] | None = None
) -> dict[str, Any]:
    """An `m.file` message pointing at uploaded media (encrypted media: with its ``keys``)."""
    content: dict[str, Any] = {
        "msgtype": "m.file",
        "body": att.filename,
        "filename": att.filename,
        "info": {"mimetype": att.mimetype, "size": len(att.data)},
        "m.mentions": {},
        "m.relates_to": relation,
    }
    if keys:
        content["file"] = {**keys, "url": url}
    else:
        content["url"] = url
    return content


def parse_command(
    room_id: str, source: dict[str, Any], prefix: str, not_before_ms: int
) -> Message | None:
    """A command from a person's `m.text` event, or None (edits, notices, old events…)."""
    content = source.get("content") or {}
    relates = content.get("m.relates_to") or {}
    ts = int(source.get("origin_server_ts") or 0)
    if (
        ts < not_before_ms
        or content.get("msgtype") != "m.text"
        or relates.get("rel_type") == "m.replace"
        or "m.new_content" in content
    ):
        return None
    body = strip_reply_fallback(str(content.get("body", ""))).strip()
    if not body.startswith(prefix):
        return None
    event_id, sender = str(source.get("event_id", "")), str(source.get("sender", ""))
    thread = relates.get("event_id") if relates.get("rel_type") == "m.thread" else None
    return Message(room_id, event_id, sender, body, str(thread or event_id), ts)


def parse_reaction(room_id: str, source: dict[str, Any]) -> Reaction | None:
    """A well-formed annotation, or None."""
    relates = (source.get("content") or {}).get("m.relates_to") or {}
    if relates.get("rel_type") != "m.annotation":
        return None
    target, key = relates.get("event_id"), relates.get("key")
    if not isinstance(target, str) or not isinstance(key, str):
        return None
    return Reaction(
        room_id=room_id,
        event_id=str(source.get("event_id", "")),
        sender=str(source.get("sender", "")),
        target=target,
        key=key,
        ts_ms=int(source.get("origin_server_ts") or 0),
    )


def strip_reply_fallback(body: str) -> str:
    """Drop the `> <@user> quoted` lines older clients put in front of a reply."""
    lines = body.split("\n")
    if not lines or not lines[0].startswith("> "):
        return body
    while lines and lines[0].startswith(">"):
        lines.pop(0)
    return "\n".join(lines)
