"""One typed parser per section of the configuration, composed by `parse_config`."""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.config import TOP_KEYS, ConfigError, parse_config
from bot.config.access import AccessConfig, parse_access
from bot.config.actions import ActionsConfig, ApprovalsConfig, RebuildConfig, parse_actions
from bot.config.alerts import AlertsConfig, parse_alerts
from bot.config.data import AuditConfig, DataConfig, parse_audit, parse_data
from bot.config.docker import DockerConfig, parse_docker
from bot.config.http import HttpConfig, parse_http
from bot.config.matrix import parse_matrix
from bot.config.redact import RedactConfig, parse_redact
from bot.config.schema import Reader

PACKAGE = Path(__file__).resolve().parents[2] / "bot" / "config"
BASE = Path("/etc/opsbot")
MINIMAL = {
    "matrix": {
        "homeserver": "https://m.x.org",
        "user_id": "@bot:x.org",
        "password": "pw",
        "command_rooms": ["!r:x.org"],
        "alert_room": "!r:x.org",
    },
    "access": {"admins": ["@a:x.org"]},
}

SECTIONS: list[tuple[str, Callable[[Reader, Any], object], object]] = [
    ("docker", parse_docker, DockerConfig()),
    ("approvals", lambda r, raw: parse_actions(r, {"approvals": raw}, BASE), ActionsConfig()),
    ("rebuild", lambda r, raw: parse_actions(r, {"rebuild": raw}, BASE), ActionsConfig()),
    ("alerts", parse_alerts, AlertsConfig()),
    ("audit", lambda r, raw: parse_audit(r, raw, BASE), AuditConfig()),
    ("redact", lambda r, raw: parse_redact(r, raw, BASE), RedactConfig()),
    ("http", lambda r, raw: parse_http(r, raw, {}), HttpConfig()),
]


@pytest.mark.parametrize(("key", "parse", "default"), SECTIONS, ids=[s[0] for s in SECTIONS])
def test_an_absent_section_is_its_typed_default(
    key: str, parse: Callable[[Reader, Any], object], default: object
) -> None:
    r = Reader()
    assert parse(r, None) == default
    assert r.problems == []


@pytest.mark.parametrize(("key", "parse", "default"), SECTIONS, ids=[s[0] for s in SECTIONS])
def test_a_section_that_is_not_a_mapping_names_its_key(
    key: str, parse: Callable[[Reader, Any], object], default: object
) -> None:
    r = Reader()
    assert parse(r, ["x"]) == default
    assert r.problems == [f"{key}: expected a mapping, got list"]


@pytest.mark.parametrize("key", TOP_KEYS)
def test_every_top_level_key_reaches_its_parser(key: str) -> None:
    """A wrong value under any top-level key is reported under that key: nothing is dropped."""
    raw = {**copy.deepcopy(MINIMAL), key: [0]}
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, {})
    assert any(p.startswith(f"{key}: ") or p.startswith(f"{key}.") for p in caught.value.problems)


def test_matrix_absent_is_required_once_and_asks_for_no_password() -> None:
    r = Reader()
    parse_matrix(r, None, {}, absent=True)
    assert "matrix: required" in r.problems
    assert not any(p.startswith("matrix.password") for p in r.problems)


def test_matrix_credentials_come_from_the_environment_first() -> None:
    r = Reader()
    matrix = parse_matrix(r, MINIMAL["matrix"], {"OPSBOT_MATRIX_ACCESS_TOKEN": "syt_x"})
    assert r.problems == []
    assert matrix.access_token is not None and matrix.access_token.value == "syt_x"
    assert (matrix.prefix, matrix.device_id, matrix.encryption) == ("!", "OPSBOT", False)


def test_access_without_anyone_is_a_problem_but_power_levels_count() -> None:
    r = Reader()
    assert parse_access(r, None) == AccessConfig()
    assert r.problems == ["access: list at least one admin, operator or viewer"]
    r = Reader()
    assert parse_access(r, {"power_levels": {"operator": 50}}).power_levels == (("operator", 50),)
    assert r.problems == []


def test_actions_gather_approvals_rebuild_and_the_top_level_limits() -> None:
    r = Reader()
    top = {
        "approvals": {"two_person": False},
        "rebuild": {"workdir": "stack", "steps": [["make"]]},
        "protected": ["postgres"],
        "restart_budget": 0,
        "health_wait": "1m",
    }
    assert parse_actions(r, top, BASE) == ActionsConfig(
        approvals=ApprovalsConfig(two_person=False),
        protected=("postgres",),
        restart_budget=0,  # zero is a budget, not "unset"
        health_wait=60.0,
        rebuild=RebuildConfig(workdir=BASE / "stack", steps=(("make",),)),
    )
    assert r.problems == []


def test_alert_dependencies_that_are_not_a_mapping_are_a_problem_not_a_crash() -> None:
    r = Reader()
    assert parse_alerts(r, {"dependencies": 5}).dependencies == ()
    assert r.problems == ["alerts.dependencies: expected a mapping, got int"]


def test_paths_are_relative_to_the_config_file_unless_absolute() -> None:
    r = Reader()
    assert parse_audit(r, {"key_file": "key"}, BASE) == AuditConfig(key_file=BASE / "key")
    redact = parse_redact(r, {"env_files": ["/abs/.env", "rel/.env"]}, BASE)
    assert redact.env_files == (Path("/abs/.env"), BASE / "rel/.env")
    assert parse_data(r, {"data_dir": "state"}, BASE) == DataConfig(data_dir=BASE / "state")
    assert parse_data(r, {}, None) == DataConfig(data_dir=Path("./data"))
    assert r.problems == []


def test_http_listen_from_the_environment_wins() -> None:
    r = Reader()
    raw = {"listen": "127.0.0.1:9464"}
    assert parse_http(r, raw, {}) == HttpConfig(listen=("127.0.0.1", 9464))
    assert parse_http(r, raw, {"OPSBOT_HTTP_LISTEN": "[::1]:9000"}).listen == ("::1", 9000)
    assert r.problems == []


SUBMODULES = sorted(p for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
PARSING = sorted(p for p in PACKAGE.glob("*.py") if p.name != "schema.py")


@pytest.mark.parametrize("path", SUBMODULES, ids=lambda p: p.name)
def test_section_modules_import_siblings_not_the_package(path: Path) -> None:
    """Only `bot/config/__init__.py` composes; a section module never imports it (no cycle)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert "bot.config.schema" in imported or path.name == "schema.py"
    assert "bot.config" not in imported


@pytest.mark.parametrize("path", PARSING, ids=lambda p: p.name)
def test_each_parser_returns_a_dataclass_never_a_dict(path: Path) -> None:
    """Each parser returns its own dataclass, never a `dict[str, Any]` to splat into Config."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    returns = {
        n.name: ast.unparse(n.returns)
        for n in ast.walk(tree)
        if isinstance(n, ast.FunctionDef) and n.name.startswith("parse_") and n.returns
    }
    assert returns, f"{path.name} parses nothing"
    assert {name: r for name, r in returns.items() if not r.endswith("Config")} == {}
