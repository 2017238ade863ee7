"""Specification of bot.inventory: Docker's list and inspect JSON → plain dataclasses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.containers.inventory import (
    ONEOFF_LABEL,
    PROJECT_LABEL,
    SERVICE_LABEL,
    from_inspect,
    from_list,
    is_oneoff,
    parse_time,
    shorten_phrase,
)


def listed(status: str, state: str, **labels: str) -> dict[str, Any]:
    """One entry of GET /containers/json as the engine returns it."""
    return {
        "Id": "4f2a9c0d1e3b",
        "Names": ["/datamancy-seafile-1"],
        "Image": "seafileltd/seafile-mc:11.0",
        "State": state,
        "Status": status,
        "Labels": {SERVICE_LABEL: "seafile", PROJECT_LABEL: "datamancy", **labels},
    }


class TestFromList:
    @pytest.mark.parametrize(
        ("status", "state", "health", "exit_code", "uptime", "problem"),
        [
            ("Up 3 hours (healthy)", "running", "healthy", None, "3h", False),
            ("Up 5 minutes (unhealthy)", "running", "unhealthy", None, "5m", True),
            ("Up 2 seconds (health: starting)", "running", "starting", None, "2s", True),
            ("Up About a minute", "running", None, None, "~1m", False),
            ("Up Less than a second", "running", None, None, "<1s", False),
            ("Up About an hour (healthy)", "running", "healthy", None, "~1h", False),
            ("Exited (1) 5 minutes ago", "exited", None, 1, "", True),
            ("Exited (0) 2 hours ago", "exited", None, 0, "", True),
            ("Exited (137) About an hour ago", "exited", None, 137, "", True),
            ("Restarting (1) 3 seconds ago", "restarting", None, 1, "", True),
            ("Created", "created", None, None, "", True),
            ("Up 2 hours (Paused)", "paused", None, None, "2h", True),
        ],
    )
    def test_status_text(
        self,
        status: str,
        state: str,
        health: str | None,
        exit_code: int | None,
        uptime: str,
        problem: bool,
    ) -> None:
        c = from_list(listed(status, state))
        assert (c.state, c.health, c.exit_code, c.uptime, c.problem) == (
            state,
            health,
            exit_code,
            uptime,
            problem,
        )
        assert c.status == status

    def test_names_and_labels(self) -> None:
        c = from_list(listed("Up 3 hours (healthy)", "running"))
        assert (c.id, c.name, c.service) == ("4f2a9c0d1e3b", "datamancy-seafile-1", "seafile")
        assert c.labels[PROJECT_LABEL] == "datamancy"

    def test_without_a_compose_label_the_service_is_the_container_name(self) -> None:
        raw = {"Id": "1", "Names": ["/lonely"], "State": "running", "Status": "Up 1 second"}
        assert from_list(raw).service == "lonely"

    def test_a_stale_health_word_is_ignored_unless_running(self) -> None:
        """Only a running container has a current health."""
        c = from_list(listed("Exited (1) 5 minutes ago (unhealthy)", "exited"))
        assert c.health is None

    def test_very_old_engines_state_object(self) -> None:
        raw = listed("Up 3 hours", "running")
        raw["State"] = {"Status": "running", "Running": True}
        assert from_list(raw).state == "running"

    def test_empty_entry_does_not_crash(self) -> None:
        c = from_list({})
        assert (c.name, c.state, c.health, c.exit_code) == ("", "unknown", None, None)

    def test_is_oneoff(self) -> None:
        assert is_oneoff(listed("Up 1 second", "running", **{ONEOFF_LABEL: "True"}))
        assert not is_oneoff(listed("Up 1 second", "running", **{ONEOFF_LABEL: "False"}))
        assert not is_oneoff(listed("Up 1 second", "running"))
        assert not is_oneoff({"Labels": None})


@pytest.mark.parametrize(
    ("phrase", "short"),
    [
        ("3 hours", "3h"),
        ("1 second", "1s"),
        ("45 seconds", "45s"),
        ("About a minute", "~1m"),
        ("About an hour", "~1h"),
        ("Less than a second", "<1s"),
        ("An hour", "1h"),
        ("2 weeks", "2w"),
        ("5 months", "5mo"),
        ("1 year", "1y"),
        ("something else", "something else"),
    ],
)
def test_shorten_phrase(phrase: str, short: str) -> None:
    assert shorten_phrase(phrase) == short


class TestParseTime:
    def test_nanoseconds_are_cut_to_microseconds(self) -> None:
        assert parse_time("2024-05-01T12:34:56.123456789Z") == datetime(
            2024, 5, 1, 12, 34, 56, 123456, tzinfo=UTC
        )

    def test_whole_seconds_with_z(self) -> None:
        assert parse_time("2024-05-01T12:34:56Z") == datetime(2024, 5, 1, 12, 34, 56, tzinfo=UTC)

    def test_offsets_are_converted_to_utc(self) -> None:
        parsed = parse_time("2024-05-01T12:34:56.5+02:00")
        assert parsed == datetime(2024, 5, 1, 10, 34, 56, 500000, tzinfo=UTC)
        assert parsed is not None and parsed.tzinfo is UTC

    @pytest.mark.parametrize("text", ["0001-01-01T00:00:00Z", "", None, "yesterday"])
    def test_zero_missing_or_garbage_means_never(self, text: str | None) -> None:
        assert parse_time(text) is None


def inspected(**changes: Any) -> dict[str, Any]:
    """GET /containers/{id}/json for a seafile whose health check probes the wrong port."""
    raw: dict[str, Any] = {
        "Id": "4f2a9c0d1e3b" * 5,
        "Name": "/datamancy-seafile-1",
        "RestartCount": 3,
        "State": {
            "Status": "running",
            "Running": True,
            "OOMKilled": False,
            "ExitCode": 0,
            "Error": "",
            "StartedAt": "2024-05-01T12:00:00.123456789Z",
            "FinishedAt": "0001-01-01T00:00:00Z",
            "Health": {
                "Status": "unhealthy",
                "FailingStreak": 7,
                "Log": [
                    {
                        "Start": "2024-05-01T12:10:00.1Z",
                        "End": "2024-05-01T12:10:00.2Z",
                        "ExitCode": 0,
                        "Output": "",
                    },
                    {
                        "Start": "2024-05-01T12:10:30.1Z",
                        "End": "2024-05-01T12:10:30.5Z",
                        "ExitCode": 1,
                        "Output": "wget: can't connect to remote host: Connection refused\n",
                    },
                ],
            },
        },
        "Config": {
            "Image": "seafileltd/seafile-mc:11.0",
            "Labels": {SERVICE_LABEL: "seafile", PROJECT_LABEL: "datamancy"},
            "Healthcheck": {
                "Test": ["CMD-SHELL", "wget -q --spider http://localhost:8080/ || exit 1"],
                "Interval": 30_000_000_000,
            },
            "ExposedPorts": {"80/tcp": {}, "8080/tcp": {}, "8000/tcp": {}, "53/udp": {}},
            "StopTimeout": 30,
        },
        "HostConfig": {"RestartPolicy": {"Name": "unless-stopped", "MaximumRetryCount": 0}},
    }
    raw.update(changes)
    return raw


class TestFromInspect:
    def test_realistic_unhealthy_container(self) -> None:
        d = from_inspect(inspected())
        assert (d.name, d.service, d.state, d.health) == (
            "datamancy-seafile-1",
            "seafile",
            "running",
            "unhealthy",
        )
        assert d.failing_streak == 7
        assert d.restart_count == 3
        assert d.restart_policy == "unless-stopped"
        assert d.stop_timeout == 30
        assert d.image == "seafileltd/seafile-mc:11.0"
        assert d.started_at == datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
        assert d.finished_at is None
        assert d.exposed_ports == (80, 8000, 8080)
        assert d.oom_killed is False

    def test_probes_keep_their_order_exit_code_and_output(self) -> None:
        first, last = from_inspect(inspected()).probes
        assert (first.exit_code, first.output) == (0, "")
        assert first.end == datetime(2024, 5, 1, 12, 10, 0, 200000, tzinfo=UTC)
        assert last.exit_code == 1
        assert "Connection refused" in last.output

    def test_cmd_shell_probe_command(self) -> None:
        d = from_inspect(inspected())
        assert d.healthcheck == ("CMD-SHELL", "wget -q --spider http://localhost:8080/ || exit 1")
        assert d.probe_command == "wget -q --spider http://localhost:8080/ || exit 1"

    def test_cmd_probe_command(self) -> None:
        raw = inspected()
        raw["Config"]["Healthcheck"]["Test"] = ["CMD", "curl", "-fsS", "http://localhost/health"]
        assert from_inspect(raw).probe_command == "curl -fsS http://localhost/health"

    @pytest.mark.parametrize("test", [["NONE"], [], None])
    def test_disabled_or_absent_health_check(self, test: list[str] | None) -> None:
        raw = inspected()
        raw["Config"]["Healthcheck"] = {"Test": test}
        d = from_inspect(raw)
        assert d.healthcheck == ()
        assert d.probe_command == ""

    def test_oom_killed_and_exited(self) -> None:
        raw = inspected()
        raw["State"] = {
            "Status": "exited",
            "OOMKilled": True,
            "ExitCode": 137,
            "Error": "",
            "StartedAt": "2024-05-01T12:00:00Z",
            "FinishedAt": "2024-05-01T13:00:00.5Z",
        }
        d = from_inspect(raw)
        assert (d.state, d.exit_code, d.oom_killed, d.health) == ("exited", 137, True, None)
        assert d.probes == ()
        assert d.failing_streak == 0
        assert d.finished_at == datetime(2024, 5, 1, 13, 0, 0, 500000, tzinfo=UTC)

    def test_minimal_inspect_does_not_crash(self) -> None:
        d = from_inspect({"Name": "/x"})
        assert (d.name, d.service, d.state, d.restart_policy) == ("x", "x", "unknown", "no")
        assert d.exposed_ports == ()
