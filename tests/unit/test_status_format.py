"""Specification of !status rendering: the stack overview and one service in depth."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta

import pytest

from bot.containers.inventory import SERVICE_LABEL, ContainerDetail, ContainerInfo, Probe, from_list
from bot.text.redact import Redactor
from bot.text.reply import MAX_BODY, MAX_HTML, esc
from commands.status import describe_detail, overview


def container(cid: str, service: str, status: str, state: str, replica: int = 1) -> ContainerInfo:
    return from_list(
        {
            "Id": cid,
            "Names": [f"/datamancy-{service}-{replica}"],
            "State": state,
            "Status": status,
            "Labels": {SERVICE_LABEL: service},
        }
    )


MIX = [
    container("1", "web", "Up 3 hours (healthy)", "running"),
    container("2", "seafile", "Up 5 minutes (unhealthy)", "running"),
    container("3", "synapse", "Up 2 seconds (health: starting)", "running"),
    container("4", "authelia", "Restarting (1) 3 seconds ago", "restarting"),
    container("5", "redis", "Exited (137) 5 minutes ago", "exited"),
    container("6", "migrate", "Exited (0) 2 hours ago", "exited"),
    container("7", "cron", "Up About a minute", "running"),
    container("8", "worker", "Up 2 hours (healthy)", "running", replica=2),
    container("9", "worker", "Up 2 hours (healthy)", "running", replica=1),
]


class TestOverview:
    def test_summary_line(self) -> None:
        assert overview(MIX).body.splitlines()[0] == (
            "3/9 healthy · 1 unhealthy · 1 starting · 1 restarting · 1 exited · 1 stopped"
            " · 1 without health check"
        )

    def test_problems_come_first_worst_first(self) -> None:
        assert overview(MIX).body.splitlines()[1:6] == [
            "🔴 authelia — restarting (exit 1)",
            "🔴 redis — exited (exit 137, 5m ago)",
            "🟠 seafile — unhealthy · up 5m",
            "🟡 synapse — starting · up 2s",
            "⚪ migrate — exited (exit 0, 2h ago)",
        ]

    def test_healthy_then_no_health_check(self) -> None:
        """Replicas of one service are told apart by their container names."""
        assert overview(MIX).body.splitlines()[6:] == [
            "Healthy (3): datamancy-worker-1 (2h), datamancy-worker-2 (2h), web (3h)",
            "Running without health check (1): cron (~1m)",
        ]

    def test_a_crash_loop_caught_between_restarts_is_still_a_problem(self) -> None:
        """The list call may see a looping service "running" for a moment; the watcher's
        open alert says what it is."""
        caught = [container("1", "authelia", "Up Less than a second", "running"),
                  container("2", "web", "Up 3 hours (healthy)", "running")]  # fmt: skip
        assert (
            overview(caught).body.splitlines()[2]
            == "Running without health check (1): authelia (<1s)"
        )
        lines = overview(caught, frozenset({"authelia"})).body.splitlines()
        assert lines[:2] == [
            "1/2 healthy · 1 restarting",
            "🔴 authelia — crash-looping (alert open) · up <1s",
        ]

    def test_all_healthy(self) -> None:
        body = overview([container("1", "web", "Up 3 hours (healthy)", "running")]).body
        assert body == "1/1 healthy\nHealthy (1): web (3h)"

    def test_html_carries_the_same_content(self) -> None:
        html = overview(MIX).html
        assert html is not None
        assert html.startswith("<b>3/9 healthy · 1 unhealthy")
        assert "<li>🔴 <b>authelia</b> — restarting (exit 1)</li>" in html
        assert "<p><b>Healthy (3):</b> datamancy-worker-1 (2h)" in html
        assert html.index("authelia") < html.index("migrate") < html.index("Healthy")

    def test_html_escapes_service_names(self) -> None:
        """The compose service label is free text that anyone starting a container can set."""
        evil = "<img src=x onerror=alert(1)>"
        html = overview(
            [
                container("1", evil, "Up 5 minutes (unhealthy)", "running"),
                container("2", evil + "&", "Up 3 hours (healthy)", "running"),
            ]
        ).html
        assert html is not None
        assert "<img" not in html
        assert esc(evil) in html

    def test_html_escapes_the_summary(self, monkeypatch: pytest.MonkeyPatch) -> None:
        escaped: list[str] = []

        def recording_esc(text: str) -> str:
            escaped.append(text)
            return esc(text)

        # `commands.status` the attribute is the command; the module is only in sys.modules
        monkeypatch.setattr(importlib.import_module("commands.status"), "esc", recording_esc)
        summary = overview(MIX).body.splitlines()[0]
        assert summary in escaped

    def test_sixty_containers_stay_small(self) -> None:
        states = [
            ("Up 3 hours (healthy)", "running"),
            ("Up 2 days", "running"),
            ("Up 5 minutes (unhealthy)", "running"),
            ("Exited (1) 5 minutes ago", "exited"),
        ]
        sixty = [container(str(i), f"service-{i:02d}", *states[i % len(states)]) for i in range(60)]
        reply = overview(sixty)
        assert reply.body.startswith("15/60 healthy")
        assert len(reply.body.encode("utf-8")) < 4096
        assert reply.html is not None and len(reply.html) < MAX_HTML
        assert len(reply.body) < MAX_BODY
        assert reply.bounded() == reply


def ago(**delta: float) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


def detail(**changes: object) -> ContainerDetail:
    fields: dict[str, object] = {
        "name": "datamancy-seafile-1",
        "service": "seafile",
        "state": "running",
        "health": "unhealthy",
        "failing_streak": 7,
        "probes": (
            Probe(ago(seconds=60), 0, "ok"),
            Probe(
                ago(seconds=30),
                1,
                "wget: can't connect to remote host (127.0.0.1): Connection refused\n"
                "DB_PASSWORD=hunter2hunter2",
            ),
        ),
        "exit_code": 0,
        "oom_killed": False,
        "error": "",
        "restart_count": 3,
        "started_at": ago(hours=3, minutes=5),
        "finished_at": None,
        "image": "seafileltd/seafile-mc:11.0",
        "healthcheck": ("CMD-SHELL", "wget -q --spider http://localhost:8080/ || exit 1"),
        "restart_policy": "unless-stopped",
        "stop_timeout": None,
        "exposed_ports": (80, 8080),
    }
    fields.update(changes)
    return ContainerDetail(**fields)  # type: ignore[arg-type]


class TestDescribeDetail:
    def test_head_line(self) -> None:
        lines = describe_detail(detail(), Redactor())
        assert lines[0] == (
            "`seafile` (container `datamancy-seafile-1`) — running · unhealthy (failing streak 7)"
        )
        assert "restarts: 3 (restart policy: unless-stopped)" in lines
        assert "image: `seafileltd/seafile-mc:11.0`" in lines
        assert "health check: `wget -q --spider http://localhost:8080/ || exit 1`" in lines

    def test_started_time_says_how_long_ago(self) -> None:
        [started] = [
            line for line in describe_detail(detail(), Redactor()) if line.startswith("started")
        ]
        assert started.endswith("Z (3h 5m ago)")

    def test_probe_output_goes_through_the_redactor(self) -> None:
        text = "\n".join(describe_detail(detail(), Redactor()))
        assert "hunter2hunter2" not in text
        assert "[REDACTED:kv-secret]" in text
        assert "Connection refused" in text

    def test_probe_output_is_one_line_and_bounded(self) -> None:
        long = Probe(ago(seconds=1), 1, "line one\nline two " + "x" * 1000)
        lines = describe_detail(detail(probes=(long,)), Redactor())
        [shown] = [line for line in lines if line.startswith("  probe ")]
        assert "line one line two" in shown
        assert shown.endswith("x…")
        assert len(shown) < 400

    def test_only_the_last_three_probes(self) -> None:
        probes = tuple(Probe(ago(seconds=1), 0, f"probe-{i}") for i in range(5))
        text = "\n".join(describe_detail(detail(probes=probes), Redactor()))
        assert "probe-1" not in text
        assert all(f"probe-{i}" in text for i in (2, 3, 4))

    def test_wrong_port_hint(self) -> None:
        hints = [line for line in describe_detail(detail(), Redactor()) if line.startswith("hint:")]
        assert hints == [
            "hint: the health check probes :8080 and the connection is refused — if the app is "
            "up, the probe targets the wrong port (the container exposes :80); fix the health "
            "check in the compose template, not the running container"
        ]

    def test_oom_killed(self) -> None:
        lines = describe_detail(
            detail(
                state="exited",
                health=None,
                failing_streak=0,
                exit_code=137,
                oom_killed=True,
                finished_at=ago(minutes=2),
            ),
            Redactor(),
        )
        assert "exit code: 137 — OOM-killed (out of memory)" in lines
        assert any(line.startswith("finished: ") and line.endswith("(2m ago)") for line in lines)

    def test_engine_error_goes_through_clean(self) -> None:
        lines = describe_detail(
            detail(state="exited", exit_code=1, error="secret=abcdef123456 mount failed"),
            Redactor(),
        )
        [exit_line] = [line for line in lines if line.startswith("exit code:")]
        assert "abcdef123456" not in exit_line
        assert "mount failed" in exit_line

    def test_no_health_check(self) -> None:
        lines = describe_detail(detail(healthcheck=(), health=None, probes=()), Redactor())
        assert "health check: none — only crashes are visible; consider adding one" in lines
        assert not [line for line in lines if line.startswith(("hint:", "  probe"))]

    def test_running_cleanly_has_no_exit_line(self) -> None:
        lines = describe_detail(detail(), Redactor())
        assert not [line for line in lines if line.startswith("exit code")]
