"""The approval card: one message per request, edited in place as the request moves."""

from __future__ import annotations

import time

from bot.core import Role
from bot.store import Request
from bot.text.duration import format_duration
from bot.text.reply import Reply

APPROVE_KEYS = ("👍", "✅", "✔", "☑", "🆗")
REJECT_KEYS = ("👎", "❌", "✖", "🚫")
SEED_KEYS = ("👍", "👎")  # pre-seeded on every card so one click suffices
_MODIFIERS = {"\ufe0f", "\ufe0e", *(chr(c) for c in range(0x1F3FB, 0x1F400))}


def normalize(key: str) -> str:
    """Strip variation selectors and skin tones: 👍️ and 👍🏽 are 👍."""
    return "".join(ch for ch in key if ch not in _MODIFIERS).strip()


def verdict(key: str) -> bool | None:
    """True for an approving reaction, False for a rejecting one, None otherwise."""
    plain = normalize(key)
    if plain in APPROVE_KEYS:
        return True
    if plain in REJECT_KEYS:
        return False
    return None


def _clock(ms: int) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(ms / 1000)) + " UTC"


def render(
    req: Request, prefix: str, *, two_person: bool = True, grace: float = 0.0, note: str = ""
) -> Reply:
    """The card for ``req`` in its current state."""
    role = Role(req.approver_role)
    what = req.summary
    lines: list[str]
    if req.state == "pending":
        now_ms = int(time.time() * 1000)
        left = format_duration(max(0, req.expires_ms - now_ms) / 1000)
        lines = [
            f"🔐 Approval needed [{req.id}]: {req.requester} asks to {what}.",
            f"Approve: react 👍 or ✅ · reject: react 👎 or ❌ "
            f"(or `{prefix}approve {req.id}` / `{prefix}deny {req.id}`).",
            f"Who may approve: {_approvers(role)}"
            + (", not the requester." if two_person else "."),
            f"Expires at {_clock(req.expires_ms)} (in {left}).",
        ]
    elif req.state == "approved":
        wait = f" in {format_duration(grace)}" if grace >= 1 else ""
        lines = [
            f"✅ [{req.id}] approved by {req.approver}: {what}{wait}.",
            "Remove your reaction to withdraw the approval before it starts.",
        ]
    elif req.state == "running":
        lines = [f"⏳ [{req.id}] running (approved by {req.approver}): {what}."]
    elif req.state == "succeeded":
        lines = [
            f"✅ [{req.id}] done (asked by {req.requester}, approved by {req.approver}).",
            req.result,
        ]
    elif req.state == "failed":
        lines = [
            f"❌ [{req.id}] failed (asked by {req.requester}, approved by {req.approver}).",
            req.result,
        ]
    elif req.state == "rejected":
        lines = [f"🚫 [{req.id}] rejected by {req.approver}: {what}. Nothing was done."]
    else:  # expired
        lines = [f"⌛ [{req.id}] expired: nobody approved in time to {what}. Nothing was done."]
    if req.warning and req.state in ("pending", "approved", "running"):
        lines.append(f"⚠ {req.warning}")
    if note:
        lines.append(note)
    return Reply.text("\n".join(line for line in lines if line))


def _approvers(role: Role) -> str:
    return "an admin" if role >= Role.ADMIN else "an operator or admin"
