"""Per-service scopes: what a user may act on, enforced once in the dispatcher."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.access import in_scope, scope_of
from bot.config import ConfigError, parse_config
from bot.core import Message, Role
from bot.framework.arguments import Service
from bot.framework.command import Context, command
from bot.store import Store
from bot.text.redact import Redactor
from bot.text.reply import Reply
from tests.unit import fakes

BOB, ALICE = "@bob:x.org", "@alice:x.org"


def config(**access: object) -> object:
    raw = {
        "matrix": {"homeserver": "http://h", "user_id": "@bot:x.org", "password": "pw",
                   "command_rooms": ["!r:x.org"], "alert_room": "!r:x.org"},
        "access": {"admins": [ALICE], "operators": [BOB], **access},
    }  # fmt: skip
    return parse_config(raw, {})


SCOPED = {"scopes": {BOB: {"services": ["seafile", "planka*"]}}}


def test_scopes_limit_only_the_users_they_name() -> None:
    access = config(**SCOPED).access  # type: ignore[attr-defined]
    assert scope_of(BOB, access) == ("seafile", "planka*")
    assert in_scope(BOB, "planka-db", access) and not in_scope(BOB, "authelia", access)
    assert not in_scope(BOB, "all", access)
    assert scope_of(ALICE, access) is None and in_scope(ALICE, "authelia", access)


@pytest.mark.parametrize(
    ("scopes", "expected"),
    [
        ({"bob": {"services": ["x"]}}, "access.scopes.bob: expected a user id"),
        ({BOB: {"service": ["x"]}}, f"access.scopes.{BOB}.service: unknown key"),
        ({BOB: {"services": "x"}}, f"access.scopes.{BOB}.services: expected a list"),
        ({BOB: {"services": ["a b"]}}, f"access.scopes.{BOB}.services: item 0"),
    ],
)
def test_bad_scopes_name_their_key(scopes: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config(scopes=scopes)
    assert any(p.startswith(expected) for p in caught.value.problems), caught.value.problems


@command(role=Role.OPERATOR, example="!poke web")
async def poke(ctx: Context, service: Service) -> str:
    """Touch a service."""
    return f"poked {service}"


async def test_out_of_scope_is_refused_named_audited_and_rate_limited(tmp_path: Path) -> None:
    cfg = config(**SCOPED)
    store = await Store.open(tmp_path / "db", b"k" * 32)
    sent: list[str] = []

    async def send(msg: Message, reply: Reply) -> str:
        sent.append(reply.body)
        return "$r"

    d = fakes.dispatcher(cfg, [poke], store, send, redact=Redactor())
    try:
        await d.handle(Message("!r:x.org", "$1", BOB, "!poke planka-web", "$1", 0))
        assert sent == ["poked planka-web"]
        for i in range(6):
            await d.handle(Message("!r:x.org", f"$x{i}", BOB, "!poke authelia", f"$x{i}", 0))
        refusals = sent[1:]
        assert len(refusals) == 3  # then silence: no reply storm
        assert (
            refusals[0] == "`!poke authelia` is outside your scope (seafile, planka*); ask an admin"
        )
        rows = await store.audit.recent(6)
        assert [r.outcome for r in rows] == ["denied"] * 6
        assert rows[0].details == "outside scope: authelia"
    finally:
        await store.close()


def test_power_levels_grant_roles_and_v12_creators_outrank_everyone() -> None:
    from bot.access import CREATOR_LEVEL, role_of, room_level

    access = config(power_levels={"operator": 50, "admin": 100}).access  # type: ignore[attr-defined]
    assert role_of("@x:x.org", access, 50) == Role.OPERATOR
    assert role_of("@x:x.org", access, 100) == Role.ADMIN
    assert role_of("@x:x.org", access, 49) is None
    assert role_of(BOB, access, 0) == Role.OPERATOR  # the lists still count
    assert role_of(BOB, access, 100) == Role.ADMIN  # the higher of the two wins
    creators = {"@founder:x.org", "@cofounder:x.org"}
    assert room_level("@founder:x.org", "12", creators, 0) == CREATOR_LEVEL
    assert room_level("@cofounder:x.org", "12", creators, 0) == CREATOR_LEVEL
    assert room_level("@founder:x.org", "11", creators, 0) == 0  # older rooms: listed level
    assert room_level("@x:x.org", "12", creators, 50) == 50
    no_levels = config().access  # type: ignore[attr-defined]
    assert role_of("@x:x.org", no_levels, 100) is None  # levels only count when configured
