"""Who may do what: map a Matrix user id to a role through the configured ids and globs."""

from __future__ import annotations

from fnmatch import fnmatchcase

from bot.config import AccessConfig
from bot.core import Role


def matches(user_id: str, pattern: str) -> bool:
    """Whether ``user_id`` matches ``pattern``; localpart and server are matched separately.

    Splitting at the first colon keeps `@*:example.org` from matching `@x:evil.org:example.org`.
    """
    user_local, _, user_server = user_id.partition(":")
    pat_local, _, pat_server = pattern.partition(":")
    return fnmatchcase(user_local, pat_local) and fnmatchcase(user_server, pat_server)


CREATOR_LEVEL = 2**53  # room v12 creators outrank every power level


def role_of(user_id: str, access: AccessConfig, level: int | None = None) -> Role | None:
    """The highest role ``user_id`` holds — from the access lists, or from their power level
    in the room (when ``access.power_levels`` is set and the level is known) — or None."""
    found = [
        role
        for role, patterns in (
            (Role.ADMIN, access.admins),
            (Role.OPERATOR, access.operators),
            (Role.VIEWER, access.viewers),
        )
        if any(matches(user_id, p) for p in patterns)
    ]
    if level is not None:
        found += [Role[name.upper()] for name, least in access.power_levels if level >= least]
    return max(found) if found else None


def room_level(user_id: str, version: str, creators: set[str], listed: int) -> int:
    """A user's effective power level. From room version 12 on, the creators (the create
    event's sender and `additional_creators`) are not in `m.room.power_levels` at all, yet
    outrank everyone; earlier versions use the listed level only."""
    privileged = version.isdigit() and int(version) >= 12
    return CREATOR_LEVEL if privileged and user_id in creators else listed


def scope_of(user_id: str, access: AccessConfig) -> tuple[str, ...] | None:
    """The service globs ``user_id`` may act on, or None when not restricted."""
    globs = [g for who, services in access.scopes if matches(user_id, who) for g in services]
    return tuple(dict.fromkeys(globs)) if globs else None


def in_scope(user_id: str, service: str, access: AccessConfig) -> bool:
    """Whether ``user_id`` may act on ``service`` (`all` is in no limited scope)."""
    scope = scope_of(user_id, access)
    return scope is None or (service != "all" and any(fnmatchcase(service, g) for g in scope))
