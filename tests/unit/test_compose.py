"""Specification of bot.compose: what a service depends on, from its labels or compose files."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.containers.compose import dependencies, dependencies_from_files, parse_depends_on_label
from bot.containers.inventory import CONFIG_FILES_LABEL, DEPENDS_LABEL, WORKDIR_LABEL

BASE_FILE = """\
services:
  seafile:
    image: seafileltd/seafile-mc:11.0
    depends_on: [db, memcached]
  db:
    image: mariadb:10.11
  memcached:
    image: memcached:1.6
"""

OVERRIDE_FILE = """\
services:
  seafile:
    depends_on:
      authelia:
        condition: service_healthy
      db:
        condition: service_started
"""


class TestLabel:
    def test_compose_v2_format(self) -> None:
        label = "authelia:service_healthy:false,postgres:service_started:true"
        assert parse_depends_on_label(label) == ["authelia", "postgres"]

    def test_names_only_sorted_and_deduplicated(self) -> None:
        assert parse_depends_on_label("redis, db,redis") == ["db", "redis"]

    @pytest.mark.parametrize("label", ["", None, " , "])
    def test_empty(self, label: str | None) -> None:
        assert parse_depends_on_label(label) == []


class TestFiles:
    def test_list_and_mapping_forms_are_merged_across_files(self, tmp_path: Path) -> None:
        base = tmp_path / "compose.yaml"
        override = tmp_path / "compose.override.yaml"
        base.write_text(BASE_FILE, encoding="utf-8")
        override.write_text(OVERRIDE_FILE, encoding="utf-8")
        assert dependencies_from_files([base, override], "seafile") == [
            "authelia",
            "db",
            "memcached",
        ]

    def test_service_without_depends_on(self, tmp_path: Path) -> None:
        base = tmp_path / "compose.yaml"
        base.write_text(BASE_FILE, encoding="utf-8")
        assert dependencies_from_files([base], "db") == []
        assert dependencies_from_files([base], "not-in-the-file") == []

    def test_unreadable_files_are_skipped_and_logged(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        base = tmp_path / "compose.yaml"
        base.write_text(BASE_FILE, encoding="utf-8")
        broken = tmp_path / "broken.yaml"
        broken.write_text("services: [unclosed\n", encoding="utf-8")
        missing = tmp_path / "missing.yaml"
        with caplog.at_level(logging.INFO, logger="bot.containers.compose"):
            found = dependencies_from_files([missing, broken, base], "seafile")
        assert found == ["db", "memcached"]
        logged = caplog.text
        assert str(missing) in logged
        assert str(broken) in logged

    def test_odd_documents_are_ignored(self, tmp_path: Path) -> None:
        odd = tmp_path / "odd.yaml"
        odd.write_text("- just\n- a list\n", encoding="utf-8")
        empty = tmp_path / "empty.yaml"
        empty.write_text("", encoding="utf-8")
        assert dependencies_from_files([odd, empty], "seafile") == []


class TestDependencies:
    def test_label_wins(self, tmp_path: Path) -> None:
        (tmp_path / "compose.yaml").write_text(BASE_FILE, encoding="utf-8")
        labels = {
            DEPENDS_LABEL: "authelia:service_healthy:false",
            CONFIG_FILES_LABEL: str(tmp_path / "compose.yaml"),
        }
        assert dependencies(labels, "seafile") == ["authelia"]

    def test_empty_label_means_no_dependencies(self) -> None:
        assert dependencies({DEPENDS_LABEL: ""}, "seafile") == []

    def test_compose_files_relative_to_the_working_dir(self, tmp_path: Path) -> None:
        (tmp_path / "compose.yaml").write_text(BASE_FILE, encoding="utf-8")
        (tmp_path / "compose.override.yaml").write_text(OVERRIDE_FILE, encoding="utf-8")
        labels = {
            CONFIG_FILES_LABEL: "compose.yaml, compose.override.yaml",
            WORKDIR_LABEL: str(tmp_path),
        }
        assert dependencies(labels, "seafile") == ["authelia", "db", "memcached"]

    def test_absolute_compose_file_paths(self, tmp_path: Path) -> None:
        (tmp_path / "compose.yaml").write_text(BASE_FILE, encoding="utf-8")
        labels = {CONFIG_FILES_LABEL: str(tmp_path / "compose.yaml"), WORKDIR_LABEL: "/elsewhere"}
        assert dependencies(labels, "seafile") == ["db", "memcached"]

    def test_unknown_when_neither_label_nor_file(self) -> None:
        assert dependencies({}, "seafile") is None

    def test_unknown_when_no_listed_file_exists(self, tmp_path: Path) -> None:
        labels = {CONFIG_FILES_LABEL: "compose.yaml", WORKDIR_LABEL: str(tmp_path)}
        assert dependencies(labels, "seafile") is None
