"""Settings of mutating commands: approvals, protected services, restart budget, rebuild."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.config import ConfigError, load_config, parse_config

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.yaml"
BASE = {
    "matrix": {
        "homeserver": "https://m.x.org",
        "user_id": "@bot:x.org",
        "password": "pw",
        "command_rooms": ["!r:x.org"],
        "alert_room": "!r:x.org",
    },
    "access": {"admins": ["@a:x.org"]},
}


def problems(**extra: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config({**BASE, **extra}, {}, base=Path("/etc/opsbot"))
    return caught.value.problems


def test_the_example_documents_every_action_setting() -> None:
    cfg = load_config(EXAMPLE, {"OPSBOT_MATRIX_PASSWORD": "x"})
    assert cfg.approvals.timeout == 600 and cfg.approvals.two_person and cfg.approvals.grace == 3
    assert cfg.protected == ("synapse", "postgres", "authelia", "caddy")
    assert cfg.restart_budget == 3 and cfg.health_wait == 120
    assert cfg.rebuild.workdir == Path("/opt/datamancy")
    assert cfg.rebuild.steps[0] == ("./build.sh",)
    assert "{service}" in cfg.rebuild.steps[1] and cfg.rebuild.timeout == 900
    assert cfg.rebuild.rollback is None  # derived from the steps or the installed Compose
    assert (cfg.alerts.loop_exits, cfg.alerts.loop_window) == (3, 300)
    assert cfg.alerts.recovery_hold == 60 and cfg.alerts.repeat_interval == 4 * 3600
    assert cfg.alerts.burst_window == 10 and cfg.alerts.oncall == ("@alice:example.org",)
    assert cfg.alerts.extra_dependencies("synapse") == ("authelia", "postgres")
    assert cfg.alerts.extra_dependencies("seafile") == ()
    assert cfg.audit_key_file == Path("/run/secrets/opsbot_audit_key")
    assert cfg.access.scopes == (("@bob:example.org", ("seafile", "planka*")),)
    assert cfg.access.rooms_only is True and cfg.redact_literals == ()
    assert cfg.redact_env_files[0] == Path("/opt/datamancy/.credentials")


def test_defaults_when_absent() -> None:
    cfg = parse_config(BASE, {})
    assert cfg.approvals.two_person and cfg.restart_budget == 3 and cfg.protected == ()
    assert cfg.rebuild.steps == () and cfg.rebuild.workdir is None


def test_relative_workdir_is_relative_to_the_config_file() -> None:
    cfg = parse_config({**BASE, "rebuild": {"workdir": "stack", "steps": [["make"]]}}, {},
                       base=Path("/etc/opsbot"))  # fmt: skip
    assert cfg.rebuild.workdir == Path("/etc/opsbot/stack")


def test_rollback_is_derived_unless_configured() -> None:
    """No `rebuild.rollback`: None, i.e. Compose as the steps call it or as installed."""
    rebuild = {"workdir": "/x", "steps": [["make"]]}
    assert parse_config({**BASE, "rebuild": rebuild}, {}).rebuild.rollback is None
    rebuild["rollback"] = ["./undo.sh", "{service}"]
    cfg = parse_config({**BASE, "rebuild": rebuild}, {})
    assert cfg.rebuild.rollback == ("./undo.sh", "{service}")


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"approvals": {"timout": "1m"}}, "approvals.timout: unknown key"),
        ({"approvals": {"two_person": "yes"}}, "approvals.two_person: expected true or false"),
        ({"approvals": {"timeout": "soon"}}, "approvals.timeout: expected a duration"),
        ({"restart_budget": -1}, "restart_budget: expected a whole number"),
        ({"protected": ["synapse", "a b"]}, "protected: item 1"),
        ({"rebuild": {"workdir": "/x", "steps": ["./build.sh"]}}, "rebuild.steps: step 0"),
        ({"rebuild": {"workdir": "/x", "steps": "make"}}, "rebuild.steps: expected a list"),
        ({"rebuild": {"steps": [["make"]]}}, "rebuild.workdir: required"),
        ({"rebuild": {"workdir": "/x", "rollback": []}}, "rebuild.rollback: expected a non-empty"),
        ({"alerts": {"restart_loop": {"exits": 1}}}, "alerts.restart_loop.exits: expected"),
        ({"alerts": {"oncall": ["alice"]}}, "alerts.oncall: item 0"),
        ({"alerts": {"dependencies": {"synapse": "authelia"}}}, "alerts.dependencies.synapse"),
        ({"alerts": {"dependencies": 5}}, "alerts.dependencies: expected a mapping, got int"),
        ({"alerts": {"burst": "10s"}}, "alerts.burst: unknown key"),
    ],
)
def test_bad_action_settings_name_their_key(extra: dict[str, Any], expected: str) -> None:
    found = problems(**extra)
    assert any(p.startswith(expected) for p in found), found
