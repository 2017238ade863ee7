"""What /metrics and /healthz report: Prometheus metrics and the two connections' health.

Counters that components keep anyway (alerts raised, sync failures, Docker reconnects, the
outbox) are read when scraped; only command outcomes and latency are recorded as they happen.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


@dataclass
class Readings:
    """Values read from the running components at each scrape."""

    alerts: Mapping[str, int] = field(default_factory=dict)  # incidents announced, by kind
    outbox_depth: int = 0
    sync_failures: int = 0
    docker_connects: int = 0


class _Pulled(Collector):
    def __init__(self) -> None:
        self.readings = Readings()

    def collect(self) -> Iterator[Metric]:
        r = self.readings
        alerts = CounterMetricFamily(
            "opsbot_alerts", "Incidents announced, by kind", labels=["kind"]
        )
        for kind in ("unhealthy", "crashloop", "died"):
            alerts.add_metric([kind], r.alerts.get(kind, 0))
        yield alerts
        yield GaugeMetricFamily(
            "opsbot_outbox_depth", "Events waiting for the homeserver", value=r.outbox_depth
        )
        yield CounterMetricFamily(
            "opsbot_sync_failures", "Failed /sync rounds (homeserver unreachable or erroring)",
            value=r.sync_failures,
        )  # fmt: skip
        yield CounterMetricFamily(
            "opsbot_docker_connects", "Docker event stream (re)connections", value=r.docker_connects
        )


class Metrics:
    """One registry per bot (several bots may share a process in tests)."""

    def __init__(self, read: Callable[[], Awaitable[Readings]]) -> None:
        self.read = read
        self.registry = CollectorRegistry()
        self.commands = Counter(
            "opsbot_commands", "Commands handled, by name and outcome",
            ["command", "outcome"], registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "opsbot_command_seconds", "Time from receiving a command to its reply",
            ["command"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self._pulled = _Pulled()
        self.registry.register(self._pulled)

    def command(self, name: str, outcome: str, seconds: float) -> None:
        """Record one handled command (``name`` must be a known command or "unknown")."""
        self.commands.labels(name, outcome).inc()
        self.latency.labels(name).observe(seconds)

    async def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        self._pulled.readings = await self.read()
        return generate_latest(self.registry)
