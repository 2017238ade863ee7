"""Who may decide a request, and how cards read — the approval rules without a homeserver."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.access import role_of
from bot.config import parse_config
from bot.core import Role, now_ms
from bot.framework import cards
from bot.framework.decisions import Verdict, refusal_of
from bot.store import Request

ALICE, BOB, CAROL, EVE, BOT = (
    "@alice:x.org", "@bob:x.org", "@carol:x.org", "@eve:x.org", "@opsbot:x.org",
)  # fmt: skip


def config(two_person: bool = True) -> Any:
    raw = {
        "matrix": {
            "homeserver": "http://127.0.0.1:1",
            "user_id": BOT,
            "password": "pw",
            "command_rooms": ["!r:x.org"],
            "alert_room": "!r:x.org",
        },
        "access": {"admins": [ALICE], "operators": [BOB, "@dave:x.org"], "viewers": [CAROL]},
        "approvals": {"two_person": two_person},
    }
    return parse_config(raw, {}, base=Path("/tmp"))


def request(**changes: Any) -> Request:
    now = int(time.time() * 1000)
    base = Request(
        id="abc234", created_ms=now, expires_ms=now + 60_000, room_id="!r:x.org",
        thread_root="$cmd", command_event_id="$cmd", card_event_id="$card", requester=BOB,
        command="restart", args="web", service="web", summary="restart `web`", warning="",
        approver_role=int(Role.OPERATOR), state="pending",
    )  # fmt: skip
    return replace(base, **changes)


def refusal(req: Request, sender: str, approve: bool = True, two_person: bool = True) -> str:
    cfg = config(two_person)
    who = Verdict(sender, role_of(sender, cfg.access), req.room_id, at_ms=now_ms())
    return refusal_of(req, who, approve, cfg)


@pytest.mark.parametrize("key", ["👍", "👍️", "👍🏽", "✅", "✔️", "☑️"])
def test_approving_keys(key: str) -> None:
    assert cards.verdict(key) is True


@pytest.mark.parametrize("key", ["👎", "👎️", "❌", "✖️", "🚫"])
def test_rejecting_keys(key: str) -> None:
    assert cards.verdict(key) is False


@pytest.mark.parametrize("key", ["👀", "🎉", "", "+1", "👍👍"])
def test_other_keys_mean_nothing(key: str) -> None:
    assert cards.verdict(key) is None


def test_another_operator_or_an_admin_may_approve() -> None:
    assert refusal(request(), "@dave:x.org") == ""
    assert refusal(request(), ALICE) == ""


def test_the_requester_may_not_approve_but_may_withdraw() -> None:
    assert "cannot approve it too" in refusal(request(), BOB)
    assert refusal(request(), BOB, approve=False) == ""
    assert refusal(request(), BOB, two_person=False) == ""


def test_viewers_and_strangers_may_not_decide() -> None:
    assert "needs the operator role" in refusal(request(), CAROL)
    assert "needs the operator role" in refusal(request(), EVE)
    assert "needs the operator role" in refusal(request(), EVE, approve=False)


def test_admin_requests_need_an_admin() -> None:
    protected = request(approver_role=int(Role.ADMIN))
    assert "needs the admin role" in refusal(protected, "@dave:x.org")
    assert refusal(protected, ALICE) == ""


def test_decided_or_expired_requests_take_no_verdict() -> None:
    assert "already running" in refusal(request(state="running"), ALICE)
    assert "already expired" in refusal(request(state="expired"), ALICE)
    old = request(expires_ms=int(time.time() * 1000) - 1)
    assert "has expired" in refusal(old, ALICE)


def test_cards_say_what_happens_and_how_to_decide() -> None:
    pending = cards.render(request(), "!").body
    assert "Approval needed [abc234]: @bob:x.org asks to restart `web`" in pending
    assert "`!approve abc234` / `!deny abc234`" in pending
    assert "an operator or admin, not the requester" in pending
    warned = cards.render(request(warning="I will be offline"), "!").body
    assert "⚠ I will be offline" in warned
    done = cards.render(request(state="succeeded", approver=ALICE, result="ok!"), "!").body
    assert "approved by @alice:x.org" in done and "ok!" in done and "⚠" not in done
    assert "Nothing was done" in cards.render(request(state="expired"), "!").body
