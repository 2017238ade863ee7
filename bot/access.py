"""Who may do what: map a Matrix user id to a role through the configured ids and globs."""

from __future__ import annotations

from fnmatch import fnmatchcase

from bot.commands import Role
from bot.config import AccessConfig


def matches(user_id: str, pattern: str) -> bool:
    """Whether ``user_id`` matches ``pattern``; localpart and server are matched separately.

    Splitting at the first colon keeps `@*:example.org` from matching `@x:evil.org:example.org`.
    """
    user_local, _, user_server = user_id.partition(":")
    pat_local, _, pat_server = pattern.partition(":")
    return fnmatchcase(user_local, pat_local) and fnmatchcase(user_server, pat_server)


def role_of(user_id: str, access: AccessConfig) -> Role | None:
    """The highest role ``user_id`` holds, or None for a stranger."""
    for role, patterns in (
        (Role.ADMIN, access.admins),
        (Role.OPERATOR, access.operators),
        (Role.VIEWER, access.viewers),
    ):
        if any(matches(user_id, p) for p in patterns):
            return role
    return None


def scope_of(user_id: str, access: AccessConfig) -> tuple[str, ...] | None:
    """The service globs ``user_id`` may act on, or None when not restricted."""
    globs = [g for who, services in access.scopes if matches(user_id, who) for g in services]
    return tuple(dict.fromkeys(globs)) if globs else None


def in_scope(user_id: str, service: str, access: AccessConfig) -> bool:
    """Whether ``user_id`` may act on ``service`` (`all` is in no limited scope)."""
    scope = scope_of(user_id, access)
    return scope is None or (service != "all" and any(fnmatchcase(service, g) for g in scope))
