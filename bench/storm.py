"""Alert storm and memory: 50 of 200 containers turn unhealthy within 2 s.

Synapse keeps its default message rate limits here, so any 429 is real. Reports the alert
messages (and edits) the storm produced, the time until every broken container was named in the
room, the 429s Synapse returned to the bot, and the bot's memory idle and at its peak.

Run: python -m bench.storm
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.alert_latency import EventLog
from bench.harness import BotProcess, count_429, save, setting
from tests.support.alerts import Flags, alert_messages, flagged
from tests.support.person import Person, describe
from tests.support.stack import ComposeStack, build_busybox_image, many_services, unique_project

TOTAL, BROKEN = 200, 50
SETTLE = 20.0  # seconds of idling before the storm (and before reading idle memory)


def patient(service: dict[str, Any]) -> dict[str, Any]:
    """A 5 s probe timeout: with 50 probes a second on 2 cores, some take over a second to
    start, and a flaky check before the storm would muddle what the storm produced."""
    return {**service, "healthcheck": {**service["healthcheck"], "timeout": "5s"}}


def body_of(event: dict[str, Any]) -> str:
    """The text an event shows: an edit's new content, or the message's body."""
    content = event.get("content", {})
    return str((content.get("m.new_content") or content).get("body", ""))


def named_at(person: Person, room: str, names: list[str], after_ms: int) -> dict[str, int]:
    """For each name: origin_server_ts of the first bot message or edit that names it."""
    found: dict[str, int] = {}
    for event in person.seen.get(room, []):
        if event.get("origin_server_ts", 0) < after_ms or event["sender"] == person.user_id:
            continue
        for name in names:
            if name not in found and name in body_of(event):
                found[name] = int(event["origin_server_ts"])
    return found


async def main() -> None:
    image = build_busybox_image()
    broken = [f"storm{i:02d}" for i in range(1, BROKEN + 1)]
    # the rest run without health checks: only the storm alerts, and their probes add no load
    services = many_services(image, TOTAL - BROKEN, unhealthy_every=10**6, no_healthcheck_every=1)
    services |= {name: patient(flagged(image, name)) for name in broken}
    with tempfile.TemporaryDirectory(prefix="opsbot-bench-stack-") as tmp:
        flags = Flags(Path(tmp))
        flags.up(*broken)
        with ComposeStack(unique_project("opsbot-bench"), services, Path(tmp)) as stack:
            for name in broken:
                stack.wait_for(lambda n=name: stack.health(n) == "healthy", 120, f"{name} up")
            events = EventLog(stack.project)
            try:
                async with setting(stack.project, raise_rate_limits=False) as (server, world):
                    result = await storm(server, world, flags, events, broken)
            finally:
                events.close()
    save("storm", result)


async def storm(
    server: Any, world: Any, flags: Flags, events: EventLog, broken: list[str]
) -> dict[str, Any]:
    """Idle, then break ``broken`` all at once; measure until every one is named."""
    bot = BotProcess(world, alerts={"recovery_hold": "5s"})
    await bot.start()
    alice, room = world.people["alice"], world.room_id
    try:
        await asyncio.sleep(SETTLE)
        idle = bot.memory()
        await alice.sync()
        before = len(alert_messages(alice, room))
        settled = [
            describe(e)[:120] for e in alice.seen.get(room, []) if e["sender"] == world.bot_user
        ]
        start = time.time()
        flags.down(*broken)
        deadline = time.monotonic() + 180
        while len(named := named_at(alice, room, broken, int(start * 1000))) < len(broken):
            assert time.monotonic() < deadline, f"named only {sorted(named)}"
            await alice.sync()
        first_event = min(
            t for n in broken if (t := events.first(n, "health_status: unhealthy", start))
        )
        last_event = max(
            t for n in broken if (t := events.first(n, "health_status: unhealthy", start))
        )
        await asyncio.sleep(5)  # let late edits arrive before counting
        await alice.sync()
        new = alert_messages(alice, room)[before:]
        edits = [
            e
            for e in alice.seen.get(room, [])
            if (e.get("content", {}).get("m.relates_to") or {}).get("rel_type") == "m.replace"
            and e.get("origin_server_ts", 0) >= start * 1000
        ]
        return {
            "containers": TOTAL,
            "broken": len(broken),
            "unhealthy_events_spread_s": round(last_event - first_event, 3),
            "bot_events_before_storm": settled,
            "alert_messages": len(new),
            "edits": len(edits),
            "seconds_until_all_named": round(max(named.values()) / 1000 - first_event, 3),
            "http_429_to_bot": count_429(server, world.bot_user),
            "bot_memory_idle": idle,
            "bot_memory_after_storm": bot.memory(),
        }
    finally:
        bot.stop()


if __name__ == "__main__":
    asyncio.run(main())
