"""What every benchmark needs: a Synapse, a world of people, the bot as a real process, stats.

Synapse, the people and the containers come from the test support code (``tests/support``), so a
benchmark runs against exactly what the end-to-end tests prove correct.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from tests.support.person import Person
from tests.support.synapse import SynapseServer
from tests.support.world import World, make_world

RESULTS = Path(__file__).parent / "results"
READY_LINE = "connected to "


def summary(values: Sequence[float]) -> dict[str, float]:
    """n, median, p95 (nearest rank) and max of ``values``."""
    ordered = sorted(values)
    if not ordered:
        return {"n": 0}
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
    return {
        "n": len(ordered),
        "median": round(statistics.median(ordered), 4),
        "p95": round(p95, 4),
        "max": round(ordered[-1], 4),
    }


def save(name: str, result: dict[str, Any]) -> None:
    """Write ``bench/results/<name>.json`` and print it."""
    RESULTS.mkdir(exist_ok=True)
    result = {"bench": name, "at": time.strftime("%Y-%m-%d %H:%M:%S"), **result}
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


class BotProcess:
    """opsbot run as its own process (`python -m bot --config`), as in production."""

    def __init__(self, world: World, **config: Any) -> None:
        world.data_dir.mkdir(parents=True, exist_ok=True)
        self.config_path = world.data_dir / "config.yaml"
        self.config_path.write_text(yaml.safe_dump(world.raw_config(**config)))
        self.log_path = world.data_dir / "bot.log"
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self, timeout: float = 60.0) -> None:
        """Start the bot and wait until it has synced with the homeserver."""
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "--config", str(self.config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while READY_LINE not in self.log():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the bot did not start:\n{self.log()[-3000:]}")
            await asyncio.sleep(0.1)

    def log(self) -> str:
        """Everything the bot logged so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def memory(self) -> dict[str, float]:
        """Current and peak resident set size in MB (from /proc)."""
        assert self.proc is not None
        fields = {}
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = round(int(value.split()[0]) / 1024, 1)
        return {"rss_mb": fields["VmRSS"], "peak_rss_mb": fields["VmHWM"]}

    def stop(self) -> None:
        """SIGTERM, as the container runtime would; OPSBOT_BENCH_LOG=1 prints the bot's log."""
        if os.environ.get("OPSBOT_BENCH_LOG"):
            print(self.log(), file=sys.stderr)
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@contextlib.asynccontextmanager
async def setting(
    project: str | None, *, raise_rate_limits: bool = True
) -> AsyncIterator[tuple[SynapseServer, World]]:
    """A throwaway Synapse and a world (people, command room) managing ``project``."""
    with tempfile.TemporaryDirectory(prefix="opsbot-bench-") as tmp:
        server = SynapseServer(Path(tmp) / "hs", raise_rate_limits=raise_rate_limits)
        server.start()
        try:
            world = await make_world(server, Path(tmp), project)
            try:
                yield server, world
            finally:
                await world.close()
        finally:
            server.stop()


async def ask(person: Person, room: str, text: str, timeout: float = 60) -> tuple[float, str]:
    """Send a command; return (seconds between the command and the reply by server time, reply)."""
    event_id = await person.send(room, text)
    sent = next(
        (e for e in person.seen.get(room, []) if e.get("event_id") == event_id), None
    ) or await person.wait_for(lambda e: e.get("event_id") == event_id, room, timeout)
    reply = await person.wait_reply(room, event_id, timeout)
    latency = (reply["origin_server_ts"] - sent["origin_server_ts"]) / 1000
    return latency, str(reply["content"].get("body", ""))


async def round_trip(person: Person, room: str) -> float:
    """Wall time of one message send to the homeserver (a client's round trip)."""
    start = time.perf_counter()
    await person.send(room, "(benchmark round trip)")
    return time.perf_counter() - start


def wall(argv: Sequence[str]) -> float:
    """Wall time of a command (stdout discarded)."""
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def count_429(server: SynapseServer, user_id: str) -> dict[str, int]:
    """Requests of ``user_id`` that Synapse answered with 429, by kind (from its access log)."""
    pattern = re.compile(rf"\{{{re.escape(user_id)}\}}.* 429 \"(\w+) (\S+)")
    kinds: dict[str, int] = {}
    for line in server.log_tail(10**9).splitlines():
        if found := pattern.search(line):
            method, path = found.groups()
            kind = f"{method} {re.sub(r'/rooms/[^/]+/', '/rooms/…/', path).split('/send/')[0]}"
            kind = re.sub(r"/(send|state|redact)/.*", r"/\1/…", kind)
            kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def env_flag(name: str, default: int) -> int:
    """An integer knob from the environment (e.g. OPSBOT_BENCH_TRIALS)."""
    return int(os.environ.get(name, default))
