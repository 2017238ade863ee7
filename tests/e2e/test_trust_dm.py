"""A viewer's own direct chat makes no admin: power levels count only in the command rooms.

With `access.rooms_only: false` the bot answers direct chats, and with `access.power_levels` a
power level grants a role. A direct chat's creator holds power 100 there, so if levels counted in
every room any viewer could make themselves admin by opening one.
"""

from __future__ import annotations

from typing import Any

from tests.support.person import Event
from tests.support.world import World


async def ask(person: Any, room_id: str, text: str, timeout: float = 30.0) -> str:
    """Send a command and return the body of the bot's reply (the first in its thread)."""
    event_id = await person.send(room_id, text)
    return str((await person.wait_reply(room_id, event_id, timeout=timeout))["content"]["body"])


async def test_power_in_a_direct_chat_grants_no_role(world: World) -> None:
    """Carol, a viewer, holds power 100 both in her DM with the bot and (raised by the admin) in
    the command room: she is an admin in the command room only."""
    alice, carol = world.people["alice"], world.people["carol"]
    levels = await alice.client.room_get_state_event(world.room_id, "m.room.power_levels")
    content = dict(levels.content)
    content["users"] = {**content.get("users", {}), carol.user_id: 100}
    await alice.client.room_put_state(world.room_id, "m.room.power_levels", content)
    ids = {name: p.user_id for name, p in world.people.items()}
    await world.bot(
        access={
            "admins": [ids["alice"]],
            "operators": [ids["bob"]],
            "viewers": [ids["carol"]],
            "rooms_only": False,
            "power_levels": {"operator": 50, "admin": 100},
        }
    )

    dm = await carol.create_room("just us", invite=[world.bot_user])

    def bot_joined(event: Event) -> bool:
        return (event.get("type"), event.get("state_key")) == (
            "m.room.member",
            world.bot_user,
        ) and (event.get("content", {}).get("membership") == "join")

    await carol.wait_for(bot_joined, dm, timeout=30)  # a viewer's DM invite is accepted
    assert await ask(carol, dm, "!audit") == "`!audit` needs the admin role; you are a viewer."
    refused = await ask(carol, dm, "!silence all 7d")
    assert refused == "`!silence` needs the operator role; you are a viewer."
    assert "No silences." in await ask(alice, world.room_id, "!silences")

    # The same power level in the command room, set by its admin, does make her an admin.
    audit = await ask(carol, world.room_id, "!audit")
    assert audit.startswith("Last ")
    assert f"{carol.user_id} !silence all 7d → denied" in audit
