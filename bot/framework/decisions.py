"""Who may decide an approval request, where and when: the one check of every decision."""

from __future__ import annotations

from dataclasses import dataclass

from bot.access import in_scope
from bot.config import Config
from bot.core import Role, now_ms
from bot.store import Request


@dataclass(frozen=True)
class Verdict:
    """Who decides a request, with the role they hold where they decide it."""

    sender: str
    role: Role | None
    room_id: str
    event_id: str = ""  # the approving reaction, if it was one
    at_ms: int = 0


def refusal_of(req: Request, who: Verdict, approve: bool, cfg: Config) -> str:
    """Why ``who`` may not decide ``req`` (the one role check of a decision), or ""."""
    sender = who.sender
    if who.room_id != req.room_id:
        return f"request `{req.id}` belongs to another room: decide it there"
    if req.state != "pending":
        return f"request `{req.id}` is already {req.state}"
    if who.at_ms >= req.expires_ms or now_ms() >= req.expires_ms:
        return f"request `{req.id}` has expired"
    if not approve and sender == req.requester:
        return ""  # the requester may always withdraw their own request
    needed = Role(req.approver_role)
    if who.role is None or who.role < needed:
        return f"{sender} may not decide request `{req.id}`: it needs the {needed} role"
    if not in_scope(sender, req.service, cfg.access):
        return f"{sender} may not decide request `{req.id}`: `{req.service}` is outside their scope"
    if approve and cfg.approvals.two_person and sender == req.requester:
        return f"{sender} asked for request `{req.id}` and cannot approve it too"
    return ""
