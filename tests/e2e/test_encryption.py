"""Encrypted rooms (matrix.encryption, the e2e extra): nio to nio against the real Synapse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.config import parse_config
from tests.support.person import Person
from tests.support.stack import ComposeStack
from tests.support.synapse import SynapseServer
from tests.support.world import BotRunner


async def encrypted_room(
    synapse: SynapseServer, stack: ComposeStack, tmp_path: Path, name: str
) -> tuple[Person, str, Any]:
    """alice, an encrypted room she created, and a function making the bot's runner."""
    tag = tmp_path.name[-8:].replace("_", "").lower()
    reg = synapse.register(f"{name}-alice-{tag}", "pw")
    bot_pw = f"bot-pw-for-{name}"
    bot = synapse.register(f"{name}-bot-{tag}", bot_pw)
    alice = Person(synapse.url, reg["user_id"], reg["access_token"], reg["device_id"],
                   store_path=tmp_path / "alice-store")  # fmt: skip
    await alice.start()
    room = await alice.create_room("secret ops", invite=[bot["user_id"]], encrypted=True)

    def runner() -> BotRunner:
        return BotRunner(parse_config({
            "matrix": {"homeserver": synapse.url, "user_id": bot["user_id"], "password": bot_pw,
                       "device_id": f"OPSBOT{name.upper()}", "command_rooms": [room],
                       "alert_room": room, "encryption": True},
            "access": {"admins": [reg["user_id"]]},
            "docker": {"project": stack.project},
            "data_dir": str(tmp_path / "data"),
        }, {}))  # fmt: skip

    return alice, room, runner


async def test_commands_and_replies_in_an_encrypted_room(
    synapse: SynapseServer, stack: ComposeStack, tmp_path: Path
) -> None:
    alice, room, make_runner = await encrypted_room(synapse, stack, tmp_path, "e2e")
    runner = make_runner()
    try:
        await runner.start()
        for _ in range(3):  # learn the bot's device keys before encrypting to it
            await alice.sync()
        command = await alice.send(room, "!logs authelia 5")
        reply = await alice.wait_reply(room, command, timeout=60)
        assert reply["content"]["msgtype"] == "m.notice"
        assert "level=fatal" in reply["content"]["body"]
        for event_id in (command, reply["event_id"]):  # what the homeserver holds: ciphertext
            on_server = synapse.request(
                "GET",
                f"/_matrix/client/v3/rooms/{room}/event/{event_id}",
                token=alice.client.access_token,
            )
            assert on_server["type"] == "m.room.encrypted", on_server
            assert "level=fatal" not in str(on_server["content"])
        assert (tmp_path / "data" / "crypto" / "pickle.key").stat().st_mode & 0o777 == 0o600
        long_logs = await alice.send(room, "!logs litellm 100")
        attachment = await alice.wait_for(
            lambda e: (
                e.get("content", {}).get("msgtype") == "m.file"
                and e["content"].get("m.relates_to", {}).get("event_id") == long_logs
            ),
            room,
            timeout=60,
        )
        assert attachment["content"]["file"]["url"].startswith("mxc://")  # encrypted media
        assert "url" not in attachment["content"] and "key" in attachment["content"]["file"]
    finally:
        await runner.stop()
        await alice.close()


async def test_a_message_it_cannot_decrypt_gets_an_explanation(
    synapse: SynapseServer, stack: ComposeStack, tmp_path: Path
) -> None:
    """A client that encrypts without sharing its key with the bot's device: the bot asks for
    the key, retries, and then says in the thread why it cannot answer."""
    alice, room, make_runner = await encrypted_room(synapse, stack, tmp_path, "utd")
    await alice.sync()
    # alice's first message shares its room key with the devices she knows: none of the bot's
    await alice.send(room, "hello, nobody yet")
    runner = make_runner()
    try:
        await runner.start()
        command = await alice.send(room, "!status")  # same session: the bot has no key for it
        explained = await alice.wait_for(
            lambda e: (
                "could not decrypt" in str(e.get("content", {}).get("body", ""))
                and (e["content"].get("m.relates_to") or {}).get("event_id") == command
            ),
            room,
            timeout=90,
        )
        assert "OPSBOTUTD" in explained["content"]["body"]
    finally:
        await runner.stop()
        await alice.close()
