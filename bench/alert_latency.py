"""Alert latency: from the Docker event (`timeNano`) to the alert in the room (`origin_server_ts`).

Each trial breaks a service and waits for the alert, then mends it and waits for the resolution.
Half the trials are health checks turning unhealthy, half are deaths (non-zero exit, no restart
policy). Beside the bot's figures: the detection delay a poller would add on the same event times.

Run: python -m bench.alert_latency        (OPSBOT_BENCH_TRIALS=30 by default: 30 of each kind)
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import docker

from bench.harness import BotProcess, env_flag, save, setting, summary
from tests.support.alerts import Flags, alert_messages, flagged, latest
from tests.support.person import Person
from tests.support.stack import ComposeStack, build_busybox_image, unique_project

POLL_INTERVALS = {"autoheal (5 s)": 5.0, "Uptime Kuma default (60 s)": 60.0}
# every death trial is one more exit of `job`: keep them from counting as a crash loop
ALERTS = {"recovery_hold": "1s", "burst_window": "1s", "restart_loop": {"exits": 100}}


def job(image: str) -> dict[str, Any]:
    """Runs while its flag exists, then exits 3; restart policy "no"."""
    script = 'while [ -f /flags/job.ok ]; do sleep 0.1; done; echo "job: lost its flag"; exit 3'
    return {
        "image": image, "command": ["sh", "-c", script], "network_mode": "none",
        "init": False, "stop_grace_period": "1s", "volumes": ["./flags:/flags"], "restart": "no",
    }  # fmt: skip


class EventLog:
    """Docker events of one project, with their `timeNano`, collected in a thread."""

    def __init__(self, project: str) -> None:
        self.client = docker.from_env()
        filters = {"label": f"com.docker.compose.project={project}", "type": "container"}
        self.stream = self.client.events(decode=True, filters=filters)
        self.seen: list[tuple[str, str, float]] = []  # (service, action, seconds)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for ev in self.stream:
                attrs = ev.get("Actor", {}).get("Attributes", {})
                service = attrs.get("com.docker.compose.service", "")
                self.seen.append((service, ev.get("Action", ""), ev["timeNano"] / 1e9))
        except Exception:  # closed at the end
            return

    def first(self, service: str, action: str, after: float) -> float | None:
        """Time of the first ``action`` of ``service`` at or after ``after``."""
        return next(
            (t for s, a, t in self.seen if s == service and a == action and t >= after), None
        )

    def close(self) -> None:
        self.stream.close()
        self.client.close()


async def new_alert(person: Person, room: str, before: int, text: str) -> dict[str, Any]:
    """The first alert after the ``before`` first ones that reads ``text``."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for alert in alert_messages(person, room)[before:]:
            if text in latest(person, room, alert["event_id"]):
                return alert
        await person.sync()
    seen = [latest(person, room, a["event_id"]) for a in alert_messages(person, room)[before:]]
    raise TimeoutError(f"no alert reading {text!r}; new alerts: {seen}")


async def trial(
    kind: str, stack: ComposeStack, flags: Flags, events: EventLog, person: Person, room: str
) -> tuple[float, float]:
    """Break, time the alert, mend, wait for the resolution.

    Returns (the Docker event's time, the alert's latency after it) in seconds.
    """
    await person.sync()
    before = len(alert_messages(person, room))
    service, action, text = {
        "unhealthy": ("web", "health_status: unhealthy", "web is unhealthy"),
        "died": ("job", "die", "job died"),
    }[kind]
    broke = time.time() - 0.05
    flags.down(service)
    alert = await new_alert(person, room, before, text)
    for _ in range(50):
        if (at := events.first(service, action, broke)) is not None:
            break
        await asyncio.sleep(0.1)
    else:
        raise RuntimeError(f"no {action} event for {service}")
    flags.up(service)
    if kind == "died":
        await asyncio.to_thread(stack.compose, "start", "job")
    deadline = time.monotonic() + 60
    while "✅ resolved" not in latest(person, room, alert["event_id"]):
        assert time.monotonic() < deadline, "the incident did not resolve"
        await person.sync()
    return at, float(alert["origin_server_ts"]) / 1000 - at


def poller_delays(event_times: list[float], interval: float, phase: float) -> list[float]:
    """Detection delay of a poller checking every ``interval`` s from ``phase``, per event."""
    return [(phase - t) % interval for t in event_times]


async def main() -> None:
    trials = env_flag("OPSBOT_BENCH_TRIALS", 30)
    image = build_busybox_image()
    with tempfile.TemporaryDirectory(prefix="opsbot-bench-stack-") as tmp:
        flags = Flags(Path(tmp))
        flags.up("web", "job")
        services = {"web": flagged(image, "web"), "job": job(image)}
        with ComposeStack(unique_project("opsbot-bench"), services, Path(tmp)) as stack:
            stack.wait_for(lambda: stack.health("web") == "healthy", 60, "web healthy")
            events = EventLog(stack.project)
            try:
                async with setting(stack.project) as (_, world):
                    bot = BotProcess(world, alerts=ALERTS)
                    await bot.start()
                    latencies: dict[str, list[float]] = {"unhealthy": [], "died": []}
                    times: list[float] = []
                    try:
                        for _ in range(trials):
                            for kind, values in latencies.items():
                                at, latency = await trial(
                                    kind, stack, flags, events,
                                    world.people["alice"], world.room_id,
                                )  # fmt: skip
                                times.append(at)
                                values.append(latency)
                    finally:
                        bot.stop()
            finally:
                events.close()
    every = latencies["unhealthy"] + latencies["died"]
    rng = random.Random(7)
    polling = {}
    for name, interval in POLL_INTERVALS.items():
        delays = poller_delays(times, interval, rng.uniform(0, interval))
        polling[name] = {"detection_delay": summary(delays), "expected_mean": interval / 2}
    save(
        "alert_latency",
        {
            "trials_per_kind": trials,
            "bot": {
                "all": summary(every),
                **{k: summary(v) for k, v in latencies.items()},
            },
            "polling_same_events": polling,
        },
    )


if __name__ == "__main__":
    asyncio.run(main())
