"""Specification of bot.config: YAML + environment → validated, frozen configuration."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import ConfigError, Secret, load_config, parse_config

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.yaml"
PASSWORD = "correct-horse-battery"


def minimal() -> dict[str, Any]:
    """A valid configuration document, as yaml.safe_load would return it."""
    return {
        "matrix": {
            "homeserver": "https://matrix.example.org",
            "user_id": "@opsbot:example.org",
            "password": PASSWORD,
            "command_rooms": ["!ops:example.org"],
            "alert_room": "!alerts:example.org",
        },
        "access": {"admins": ["@alice:example.org"]},
    }


def problems_of(raw: Any, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(raw, environ or {})
    return info.value.problems


def with_change(section: str, key: str, value: Any) -> dict[str, Any]:
    raw = copy.deepcopy(minimal())
    raw.setdefault(section, {})[key] = value
    return raw


class TestExampleFile:
    def test_the_placeholder_password_is_the_only_problem(self) -> None:
        with pytest.raises(ConfigError) as info:
            load_config(EXAMPLE, {})
        assert len(info.value.problems) == 1
        problem = info.value.problems[0]
        assert problem.startswith("matrix.password:")
        assert "placeholder" in problem
        assert "OPSBOT_MATRIX_PASSWORD" in problem

    def test_loads_once_the_password_comes_from_the_environment(self) -> None:
        config = load_config(EXAMPLE, {"OPSBOT_MATRIX_PASSWORD": "x"})
        assert config.matrix.prefix == "!"
        assert config.matrix.device_id == "OPSBOT"
        assert config.matrix.command_rooms == ("!ops:example.org",)
        assert config.matrix.password == Secret("x")
        assert config.docker.logs_timeout == 10.0
        assert config.docker.project == "datamancy"
        assert config.access.admins == ("@alice:example.org",)
        assert config.data_dir == EXAMPLE.parent / "data"

    def test_relative_data_dir_is_relative_to_the_file_not_the_working_directory(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        elsewhere = tmp_path / "cwd"
        elsewhere.mkdir()
        monkeypatch.chdir(elsewhere)
        path = tmp_path / "conf" / "opsbot.yaml"
        path.parent.mkdir()
        path.write_text(yaml.safe_dump({**minimal(), "data_dir": "state"}), encoding="utf-8")
        assert load_config(path, {}).data_dir == tmp_path / "conf" / "state"


class TestUnknownKeys:
    def test_top_level_typo_names_the_key(self) -> None:
        raw = {**minimal(), "acess": {}}
        [problem] = problems_of(raw)
        assert problem.startswith("acess: unknown key")

    def test_nested_typo_names_the_key_path(self) -> None:
        [problem] = problems_of(with_change("matrix", "homeservr", "https://x.org"))
        assert problem.startswith("matrix.homeservr: unknown key")
        assert "homeserver" in problem  # lists the known keys

    def test_every_problem_is_reported_at_once(self) -> None:
        raw = with_change("matrix", "homeservr", "x")
        raw["docker"] = {"url": "ftp://docker", "logs_timeout": "soon"}
        raw["bogus"] = 1
        wheres = [p.split(":", 1)[0] for p in problems_of(raw)]
        assert sorted(wheres) == [
            "bogus",
            "docker.logs_timeout",
            "docker.url",
            "matrix.homeservr",
        ]


class TestBadValues:
    @pytest.mark.parametrize(
        ("section", "key", "value", "where"),
        [
            ("matrix", "command_rooms", ["#ops:example.org"], "matrix.command_rooms"),
            ("matrix", "command_rooms", "!ops:example.org", "matrix.command_rooms"),
            ("matrix", "alert_room", "alerts", "matrix.alert_room"),
            ("matrix", "user_id", "opsbot", "matrix.user_id"),
            ("matrix", "user_id", "@opsbot", "matrix.user_id"),
            ("matrix", "homeserver", "matrix.example.org", "matrix.homeserver"),
            ("matrix", "homeserver", "ftp://matrix.example.org", "matrix.homeserver"),
            ("matrix", "device_id", "has space", "matrix.device_id"),
            ("matrix", "prefix", "too long prefix", "matrix.prefix"),
            ("docker", "url", "ssh://host", "docker.url"),
            ("docker", "logs_timeout", "ten seconds", "docker.logs_timeout"),
            ("docker", "logs_timeout", 0, "docker.logs_timeout"),
            ("docker", "project", "Data Mancy", "docker.project"),
            ("access", "operators", ["bob"], "access.operators"),
        ],
    )
    def test_names_the_key_path(self, section: str, key: str, value: Any, where: str) -> None:
        [problem] = problems_of(with_change(section, key, value))
        assert problem.startswith(f"{where}: ")

    def test_bad_list_item_says_which_item(self) -> None:
        raw = with_change("matrix", "command_rooms", ["!ok:example.org", "#alias:example.org"])
        [problem] = problems_of(raw)
        assert problem.startswith("matrix.command_rooms: item 1:")
        assert "#alias:example.org" in problem

    def test_empty_command_rooms_list(self) -> None:
        [problem] = problems_of(with_change("matrix", "command_rooms", []))
        assert problem == "matrix.command_rooms: list at least one room"

    def test_nobody_in_the_access_lists(self) -> None:
        raw = copy.deepcopy(minimal())
        raw["access"] = {"admins": [], "viewers": []}
        [problem] = problems_of(raw)
        assert problem.startswith("access:")

    def test_missing_required_keys(self) -> None:
        raw = copy.deepcopy(minimal())
        del raw["matrix"]["homeserver"], raw["matrix"]["alert_room"]
        assert sorted(problems_of(raw)) == [
            "matrix.alert_room: required",
            "matrix.homeserver: required",
        ]

    def test_section_that_is_not_a_mapping(self) -> None:
        raw = {**minimal(), "docker": ["unix:///var/run/docker.sock"]}
        [problem] = problems_of(raw)
        assert problem == "docker: expected a mapping, got list"

    @pytest.mark.parametrize("document", [None, [], "matrix", 42])
    def test_document_that_is_not_a_mapping(self, document: Any) -> None:
        problems = problems_of(document)
        assert problems[0].startswith(
            ("the configuration must be a mapping", "the configuration is empty")
        )
        assert "matrix: required" in problems

    @pytest.mark.parametrize("document", [[], "matrix", 42])
    def test_no_problem_has_an_empty_key_path(self, document: Any) -> None:
        problems = problems_of(document)
        assert [p for p in problems if p.startswith(":")] == []


class TestFiles:
    def test_missing_file(self, tmp_path: Path) -> None:
        path = tmp_path / "nope.yaml"
        with pytest.raises(ConfigError) as info:
            load_config(path, {})
        [problem] = info.value.problems
        assert problem.startswith(f"{path}: cannot read")

    def test_invalid_yaml(self, tmp_path: Path) -> None:
        path = tmp_path / "broken.yaml"
        path.write_text("matrix: [unclosed\n", encoding="utf-8")
        with pytest.raises(ConfigError) as info:
            load_config(path, {})
        [problem] = info.value.problems
        assert problem.startswith(f"{path}: not valid YAML")

    def test_empty_file(self, tmp_path: Path) -> None:
        path = tmp_path / "empty.yaml"
        path.write_text("", encoding="utf-8")
        with pytest.raises(ConfigError) as info:
            load_config(path, {})
        assert "matrix: required" in info.value.problems


class TestSecrets:
    def test_access_token_from_the_environment_needs_no_password(self) -> None:
        raw = copy.deepcopy(minimal())
        del raw["matrix"]["password"]
        config = parse_config(raw, {"OPSBOT_MATRIX_ACCESS_TOKEN": "syt_token_value"})
        assert config.matrix.password is None
        assert config.matrix.access_token == Secret("syt_token_value")
        assert config.secrets() == ("syt_token_value",)

    def test_neither_password_nor_token(self) -> None:
        raw = copy.deepcopy(minimal())
        del raw["matrix"]["password"]
        [problem] = problems_of(raw)
        assert problem.startswith("matrix.password: set a password or an access_token")

    def test_environment_overrides_the_file(self) -> None:
        config = parse_config(minimal(), {"OPSBOT_MATRIX_PASSWORD": "from-env"})
        assert config.matrix.password == Secret("from-env")

    def test_placeholder_from_the_environment_is_refused_too(self) -> None:
        [problem] = problems_of(minimal(), {"OPSBOT_MATRIX_PASSWORD": "CHANGE_ME"})
        assert problem.startswith("matrix.password: still the placeholder")

    def test_secrets_lists_every_secret_value(self) -> None:
        raw = with_change("matrix", "access_token", "syt_abc")
        assert set(parse_config(raw, {}).secrets()) == {PASSWORD, "syt_abc"}

    def test_repr_never_shows_a_secret(self) -> None:
        config = parse_config(with_change("matrix", "access_token", "syt_abc"), {})
        for text in (repr(config), str(config), repr(config.matrix), str(config.matrix.password)):
            assert PASSWORD not in text
            assert "syt_abc" not in text


class TestIds:
    def test_room_v12_ids_without_a_server_part_are_accepted(self) -> None:
        raw = with_change("matrix", "command_rooms", ["!abcDEF123"])
        raw["matrix"]["alert_room"] = "!xyz789"
        config = parse_config(raw, {})
        assert config.matrix.command_rooms == ("!abcDEF123",)
        assert config.matrix.alert_room == "!xyz789"

    @pytest.mark.parametrize("room", ["!", "!abc:", "!a b:example.org", "ops:example.org"])
    def test_malformed_room_ids_are_refused(self, room: str) -> None:
        [problem] = problems_of(with_change("matrix", "alert_room", room))
        assert problem.startswith("matrix.alert_room:")

    def test_access_lists_take_globs(self) -> None:
        raw = with_change("access", "viewers", ["@*:example.org"])
        assert parse_config(raw, {}).access.viewers == ("@*:example.org",)

    def test_homeserver_trailing_slash_is_dropped(self) -> None:
        raw = with_change("matrix", "homeserver", "https://matrix.example.org/")
        assert parse_config(raw, {}).matrix.homeserver == "https://matrix.example.org"


class TestHttpListen:
    def test_off_by_default_on_when_set(self) -> None:
        assert parse_config(minimal(), {}).http_listen is None
        raw = {**minimal(), "http": {"listen": "127.0.0.1:9464"}}
        assert parse_config(raw, {}).http_listen == ("127.0.0.1", 9464)

    def test_the_environment_wins(self) -> None:
        raw = {**minimal(), "http": {"listen": "127.0.0.1:9464"}}
        assert parse_config(raw, {"OPSBOT_HTTP_LISTEN": "[::1]:9000"}).http_listen == ("::1", 9000)

    @pytest.mark.parametrize("bad", ["9464", "localhost", "host:0", "host:70000", ":80"])
    def test_a_bad_address_names_the_key(self, bad: str) -> None:
        assert problems_of({**minimal(), "http": {"listen": bad}}) == [
            f"http.listen: expected HOST:PORT, e.g. 127.0.0.1:9464, got {bad!r}"
        ]


def test_data_retention_defaults_to_90_days_and_takes_a_duration() -> None:
    assert parse_config(minimal(), {}).retention == 90 * 86400
    assert parse_config({**minimal(), "data": {"retention": "30d"}}, {}).retention == 30 * 86400
    [problem] = problems_of({**minimal(), "data": {"retention": "soon"}})
    assert problem.startswith("data.retention:")
    [problem] = problems_of({**minimal(), "data": {"retension": "30d"}})
    assert "data.retension" in problem
