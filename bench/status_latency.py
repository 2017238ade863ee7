"""`!status` latency with 50 and 200 containers, beside `docker ps -a` and a homeserver round trip.

Run: python -m bench.status_latency        (OPSBOT_BENCH_TRIALS=30 by default)
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from bench.harness import BotProcess, ask, env_flag, round_trip, save, setting, summary, wall
from tests.support.stack import ComposeStack, build_busybox_image, many_services, unique_project

SIZES = (50, 200)
DOCKER_PS = ["docker", "ps", "-a", "--format", "{{.Names}} {{.Status}}"]


async def measure(size: int, trials: int) -> dict[str, Any]:
    """Start ``size`` containers and the bot; time ``!status`` and the baselines in turns."""
    image = build_busybox_image()
    with tempfile.TemporaryDirectory(prefix="opsbot-bench-stack-") as tmp:
        # 30 s health checks: 200 containers probing every second would load the daemon
        # more than anything measured here.
        services = many_services(image, size, interval="30s")
        stack = ComposeStack(unique_project("opsbot-bench"), services, Path(tmp))
        with stack:
            stack.wait_for(lambda: stack.health("svc005") == "unhealthy", 180, "an unhealthy one")
            async with setting(stack.project) as (_, world):
                bot = BotProcess(world)
                await bot.start()
                try:
                    return await _trials(world.people["carol"], world.room_id, trials, bot)
                finally:
                    bot.stop()


async def _trials(person: Any, room: str, trials: int, bot: BotProcess) -> dict[str, Any]:
    status, docker_ps, rtt = [], [], []
    await ask(person, room, "!status")  # warm-up: first connections, caches
    body = ""
    for _ in range(trials):
        latency, body = await ask(person, room, "!status")
        status.append(latency)
        docker_ps.append(await asyncio.to_thread(wall, DOCKER_PS))
        rtt.append(await round_trip(person, room))
    return {
        "status": summary(status),
        "docker_ps": summary(docker_ps),
        "round_trip": summary(rtt),
        "reply_first_line": body.splitlines()[0] if body else "",
        "bot_memory": bot.memory(),
    }


async def main() -> None:
    trials = env_flag("OPSBOT_BENCH_TRIALS", 30)
    results = {f"containers_{size}": await measure(size, trials) for size in SIZES}
    save("status_latency", {"trials": trials, **results})


if __name__ == "__main__":
    asyncio.run(main())
