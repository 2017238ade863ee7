"""Specification of bot.diagnose: which port a health check probes, and why it fails."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.containers.diagnose import probe_hint, probed_ports
from bot.containers.inventory import ContainerDetail, Probe

REFUSED = (
    "Connecting to localhost:8080 (127.0.0.1:8080)\n"
    "wget: can't connect to remote host (127.0.0.1): Connection refused"
)


@pytest.mark.parametrize(
    ("command", "ports"),
    [
        ("wget -q --spider http://localhost:8080/health || exit 1", {8080}),
        ("wget -qO- http://0.0.0.0:3000", {3000}),
        ("wget --spider -q localhost:8000", {8000}),
        ("curl -f http://127.0.0.1/", {80}),
        ("curl -f http://localhost", {80}),
        ("curl -fsS https://localhost/healthz", {443}),
        ("curl http://[::1]:9000/", {9000}),
        ("curl -f http://localhost:8080/ && curl -f http://localhost:9090/", {8080, 9090}),
        ("nc -z localhost 5432", {5432}),
        ("nc -z 127.0.0.1 6379", {6379}),
        ("redis-cli --port 6380 ping", {6380}),
        ("curl -f http://web:8080/", set()),  # another host: not a port of this container
        ("pg_isready -U postgres", set()),
    ],
)
def test_probed_ports(command: str, ports: set[int]) -> None:
    assert probed_ports(command) == ports


def detail(
    probes: tuple[Probe, ...],
    healthcheck: tuple[str, ...] = ("CMD-SHELL", "wget -q --spider http://localhost:8080/"),
    exposed_ports: tuple[int, ...] = (80, 8080),
    health: str | None = "unhealthy",
) -> ContainerDetail:
    return ContainerDetail(
        name="datamancy-seafile-1",
        service="seafile",
        state="running",
        health=health,
        failing_streak=len(probes)
        - max((i + 1 for i, p in enumerate(probes) if not p.exit_code), default=0),
        probes=probes,
        exit_code=0,
        oom_killed=False,
        error="",
        restart_count=0,
        started_at=None,
        finished_at=None,
        image="seafileltd/seafile-mc:11.0",
        healthcheck=healthcheck,
        restart_policy="unless-stopped",
        stop_timeout=None,
        exposed_ports=exposed_ports,
    )


def probe(exit_code: int, output: str, second: int = 0) -> Probe:
    return Probe(
        end=datetime(2024, 5, 1, 12, 0, second, tzinfo=UTC), exit_code=exit_code, output=output
    )


class TestProbeHint:
    def test_refused_on_the_probed_port_names_the_other_exposed_ports(self) -> None:
        hint = probe_hint(detail((probe(1, REFUSED),), exposed_ports=(80, 8080)))
        assert hint == (
            "the health check probes :8080 and the connection is refused — if the app is up, "
            "the probe targets the wrong port (the container exposes :80); "
            "fix the health check in the compose template, not the running container"
        )

    def test_refused_without_other_exposed_ports(self) -> None:
        for exposed in ((), (8080,)):
            hint = probe_hint(detail((probe(1, REFUSED),), exposed_ports=exposed))
            assert hint is not None
            assert hint.startswith("the health check probes :8080 and the connection is refused")
            assert "exposes" not in hint

    @pytest.mark.parametrize(
        "output",
        [
            "curl: (7) Failed to connect to localhost port 8080: Connection refused",
            "nc: connect to localhost port 8080 (tcp) failed: Connection refused",
            "Error: connect ECONNREFUSED 127.0.0.1:8080",
        ],
    )
    def test_recognises_refusals_from_common_tools(self, output: str) -> None:
        assert probe_hint(detail((probe(7, output),))) is not None

    def test_refused_when_no_port_can_be_read_from_the_command(self) -> None:
        hint = probe_hint(detail((probe(1, REFUSED),), healthcheck=("CMD", "/app/healthcheck")))
        assert hint is not None
        assert hint.startswith("the health check's connection is refused")

    @pytest.mark.parametrize(
        "output",
        [
            "HTTP request sent, awaiting response... 500 Internal Server Error",
            "curl: (28) Operation timed out after 5000 milliseconds",
            "",
        ],
    )
    def test_none_for_failures_that_are_not_refusals(self, output: str) -> None:
        assert probe_hint(detail((probe(1, output),))) is None

    def test_none_without_a_health_check(self) -> None:
        assert probe_hint(detail((probe(1, REFUSED),), healthcheck=())) is None

    def test_none_when_every_probe_passed(self) -> None:
        assert probe_hint(detail((probe(0, "ok"), probe(0, "ok", 30)), health="healthy")) is None

    def test_none_once_the_latest_probe_passes(self) -> None:
        """A refusal while the app was still starting is history once a later probe passes."""
        probes = (probe(1, REFUSED, 0), probe(0, "ok", 30), probe(0, "ok", 59))
        assert probe_hint(detail(probes, health="healthy")) is None
