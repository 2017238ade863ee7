"""`!logs` under load, and `!status` while a `!logs` hangs.

1. A container whose json log is over 1 GiB: `!logs` beside `docker logs --tail 50`, first on a
   quiet machine, then with heavy disk I/O in parallel (two `dd` writers with O_DIRECT).
2. A daemon whose log requests hang (a proxy in front of the socket holds every `/logs` request
   for 60 s, as `docker logs` did in the incident): the reply must still come, at the deadline.
3. Meanwhile `!status` is asked: its latency must stay near its idle value.

Run: python -m bench.logs_load        (OPSBOT_BENCH_TRIALS=10 by default)
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.harness import BotProcess, ask, env_flag, save, setting, summary, wall
from tests.support.proxy import SocketProxy
from tests.support.stack import ComposeStack, build_busybox_image, unique_project

GIB = 1 << 30
LINE = "opsbot benchmark filler line: the quick brown fox jumps over the lazy dog 0123456789"
DEADLINE = "5s"


def big(image: str) -> dict[str, Any]:
    """Writes ~0.8 GB of text (over 1 GiB of json log), then idles."""
    script = f'yes "{LINE}" | head -c 800000000; echo "big: done"; exec sleep 100000'
    return {"image": image, "command": ["sh", "-c", script], "network_mode": "none",
            "init": False, "stop_grace_period": "1s"}  # fmt: skip


def log_size(stack: ComposeStack) -> int:
    """Size of the big container's json log file, once it has finished writing (else 0)."""
    container = stack.container("big")
    last = stack.api.logs(container["Id"], tail=3).decode(errors="replace")
    return Path(container["LogPath"]).stat().st_size if "big: done" in last else 0


@contextlib.contextmanager
def disk_io(workdir: Path) -> Iterator[None]:
    """Two writers of direct (uncached) I/O for as long as the block runs."""
    writers = [
        subprocess.Popen(
            [
                "sh",
                "-c",
                f"while :; do dd if=/dev/zero of={workdir}/io{i} bs=1M count=2048 "
                f"oflag=direct 2>/dev/null; done",
            ],
            start_new_session=True,
        )
        for i in range(2)
    ]
    try:
        yield
    finally:
        for w in writers:
            subprocess.run(["pkill", "-g", str(w.pid)], check=False)
            w.wait()


async def logs_trials(person: Any, room: str, container: str, trials: int) -> dict[str, Any]:
    bot, baseline = [], []
    for _ in range(trials):
        latency, body = await ask(person, room, "!logs big")
        assert "big" in body or LINE[:20] in body, body
        bot.append(latency)
        baseline.append(
            await asyncio.to_thread(wall, ["docker", "logs", "--tail", "50", container])
        )
    return {"logs": summary(bot), "docker_logs_tail_50": summary(baseline)}


async def hung_trials(person: Any, room: str, trials: int) -> dict[str, Any]:
    """`!logs` against a hanging daemon while `!status` is asked three times."""
    logs, status, replies = [], [], set()
    for _ in range(trials):
        slow = asyncio.create_task(ask(person, room, "!logs big", timeout=90))
        await asyncio.sleep(0.5)
        for _ in range(3):
            status.append((await ask(person, room, "!status"))[0])
        latency, body = await slow
        logs.append(latency)
        replies.add(" / ".join(body.splitlines()[:2])[:200])
    return {"logs": summary(logs), "status_meanwhile": summary(status), "replies": sorted(replies)}


async def main() -> None:
    trials = env_flag("OPSBOT_BENCH_TRIALS", 10)
    image = build_busybox_image()
    result: dict[str, Any] = {"trials": trials, "deadline": DEADLINE}
    with tempfile.TemporaryDirectory(prefix="opsbot-bench-stack-", dir="/var/tmp") as tmp:
        services = {"big": big(image)}
        with ComposeStack(unique_project("opsbot-bench"), services, Path(tmp)) as stack:
            size = stack.wait_for(lambda: log_size(stack), 300, "1 GiB of log")
            assert size >= GIB, f"the log is only {size} bytes"
            result["json_log_bytes"] = size
            name = stack.container("big")["Name"].lstrip("/")
            proxy = SocketProxy(stall=b"/logs?", stall_for=60.0)
            proxy.start()
            async with setting(stack.project) as (_, world):
                carol, room = world.people["carol"], world.room_id
                bot = BotProcess(world, docker={"logs_timeout": DEADLINE})
                await bot.start()
                try:
                    await ask(carol, room, "!logs big")  # warm-up
                    result["quiet"] = await logs_trials(carol, room, name, trials)
                    with disk_io(Path(tmp)):
                        result["disk_io"] = await logs_trials(carol, room, name, trials)
                finally:
                    bot.stop()
                world.data_dir = world.data_dir.with_name("data-hung")
                hung = BotProcess(world, docker={"logs_timeout": DEADLINE, "url": proxy.url})
                await hung.start()
                try:
                    idle = [(await ask(carol, room, "!status"))[0] for _ in range(trials)]
                    result["status_idle"] = summary(idle)
                    result["hung_daemon"] = await hung_trials(carol, room, trials)
                finally:
                    hung.stop()
                    proxy.stop()
    save("logs_load", result)


if __name__ == "__main__":
    asyncio.run(main())
