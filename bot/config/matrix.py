"""The `matrix:` section: homeserver, identity, rooms, credentials (the environment wins)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.config.schema import (
    DEVICE_ID,
    ROOM_ID,
    USER_ID,
    Reader,
    boolean,
    kind,
    string,
    string_list,
    url,
)

ENV_PASSWORD = "OPSBOT_MATRIX_PASSWORD"
ENV_ACCESS_TOKEN = "OPSBOT_MATRIX_ACCESS_TOKEN"
PLACEHOLDERS = ("CHANGE_ME", "CHANGEME", "changeme", "change-me")
KEYS = (
    "homeserver", "user_id", "password", "access_token", "device_id",
    "command_rooms", "alert_room", "prefix", "encryption",
)  # fmt: skip
ROOMS_HINT = "a room id like !abc:example.org"
HOMESERVER = url(("http://", "https://"))
USER = string(USER_ID, "a user id like @opsbot:example.org")
DEVICE = string(DEVICE_ID, "letters, digits, _ . -")
ROOM = string(ROOM_ID, ROOMS_HINT)
ROOMS = string_list(ROOM_ID, ROOMS_HINT)
PREFIX = string(re.compile(r"^\S{1,8}$"), "1-8 non-space characters")


@dataclass(frozen=True)
class Secret:
    """A secret string that never shows in repr, str or logs."""

    value: str = field(repr=False)

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


@dataclass(frozen=True)
class MatrixConfig:
    """How the bot reaches its homeserver and where it listens."""

    homeserver: str
    user_id: str
    command_rooms: tuple[str, ...]
    alert_room: str
    device_id: str = "OPSBOT"  # keep it stable across restarts (and the crypto store)
    password: Secret | None = None
    access_token: Secret | None = None
    prefix: str = "!"
    encryption: bool = False  # work in encrypted rooms (the e2e extra)


def parse_matrix(
    r: Reader, raw: Any, environ: Mapping[str, str], *, absent: bool = False
) -> MatrixConfig:
    """The `matrix:` section; ``absent``: the key is missing from the document altogether."""
    m = r.section(raw, "matrix", KEYS)
    if absent:
        r.problems.append("matrix: required")
    password, token = _credentials(r, m, environ, absent)
    config = MatrixConfig(
        homeserver=r.get(m, "matrix", "homeserver", HOMESERVER, "", required=True),
        user_id=r.get(m, "matrix", "user_id", USER, "", required=True),
        device_id=r.get(m, "matrix", "device_id", DEVICE, "OPSBOT"),
        command_rooms=r.get(m, "matrix", "command_rooms", ROOMS, (), required=True),
        alert_room=r.get(m, "matrix", "alert_room", ROOM, "", required=True),
        password=password,
        access_token=token,
        encryption=r.get(m, "matrix", "encryption", boolean, False),
        prefix=r.get(m, "matrix", "prefix", PREFIX, "!"),
    )
    if m.get("command_rooms") == []:
        r.problems.append("matrix.command_rooms: list at least one room")
    return config


def _credentials(
    r: Reader, m: Mapping[str, Any], environ: Mapping[str, str], absent: bool
) -> tuple[Secret | None, Secret | None]:
    """`matrix.password` and `matrix.access_token`, each overridden by its environment variable."""
    password = r.get(m, "matrix", "password", _secret)
    token = r.get(m, "matrix", "access_token", _secret)
    if environ.get(ENV_PASSWORD):
        password = Secret(environ[ENV_PASSWORD])
    if environ.get(ENV_ACCESS_TOKEN):
        token = Secret(environ[ENV_ACCESS_TOKEN])
    for name, secret, env in (
        ("password", password, ENV_PASSWORD),
        ("access_token", token, ENV_ACCESS_TOKEN),
    ):
        if secret is not None and secret.value.strip() in PLACEHOLDERS:
            r.problems.append(
                f"matrix.{name}: still the placeholder {secret.value!r}; "
                f"set the real value or the environment variable {env}"
            )
    if password is None and token is None and not absent:
        r.problems.append(
            f"matrix.password: set a password or an access_token "
            f"(or the environment variable {ENV_PASSWORD} / {ENV_ACCESS_TOKEN})"
        )
    return password, token


def _secret(value: Any) -> Secret:
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a string, got {kind(value)}")
    return Secret(value)
