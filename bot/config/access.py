"""The `access:` section: who holds which role, on which services, from which rooms."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.config.schema import USER_GLOB, Reader, boolean, integer, string_list

KEYS = ("admins", "operators", "viewers", "scopes", "rooms_only", "power_levels")
ROLES = ("viewer", "operator", "admin")
SERVICE_GLOB = re.compile(r"^[A-Za-z0-9*?\[\]_.-]+$")


@dataclass(frozen=True)
class AccessConfig:
    """Who holds which role; entries are Matrix user ids or globs like ``@*:example.org``."""

    admins: tuple[str, ...] = ()
    operators: tuple[str, ...] = ()
    viewers: tuple[str, ...] = ()
    scopes: tuple[tuple[str, tuple[str, ...]], ...] = ()  # user glob → service globs
    rooms_only: bool = True  # False: also take commands in direct chats with the bot
    power_levels: tuple[tuple[str, int], ...] = ()  # role → lowest room power level granting it


def parse_access(r: Reader, raw: Any) -> AccessConfig:
    """The `access:` section; somebody must hold a role, by list or by power level."""
    a = r.section(raw, "access", KEYS)
    users = string_list(USER_GLOB, "a user id or glob like @*:example.org")
    access = AccessConfig(
        admins=r.get(a, "access", "admins", users, ()),
        operators=r.get(a, "access", "operators", users, ()),
        viewers=r.get(a, "access", "viewers", users, ()),
        scopes=_scopes(r, a.get("scopes")),
        rooms_only=r.get(a, "access", "rooms_only", boolean, True),
        power_levels=_power_levels(r, a.get("power_levels")),
    )
    access_problems = any(p.startswith("access.") for p in r.problems)
    anyone = access.admins or access.operators or access.viewers or access.power_levels
    if not anyone and not access_problems:
        r.problems.append("access: list at least one admin, operator or viewer")
    return access


def _scopes(r: Reader, raw: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """`access.scopes`: {"@bob:example.org": {services: ["seafile", "planka*"]}}."""
    table = r.section(raw, "access.scopes", tuple(raw) if isinstance(raw, dict) else ())
    globs = string_list(SERVICE_GLOB, "a service name or glob")
    out = []
    for who, entry in table.items():
        where = f"access.scopes.{who}"
        if not USER_GLOB.match(str(who)):
            r.problems.append(f"{where}: expected a user id or glob like @*:example.org")
            continue
        spec = r.section(entry, where, ("services",))
        services = r.get(spec, where, "services", globs, None, required=True)
        if services is not None:
            out.append((str(who), services))
    return tuple(out)


def _power_levels(r: Reader, raw: Any) -> tuple[tuple[str, int], ...]:
    """`access.power_levels`: {operator: 50, admin: 100} (viewer optional)."""
    table = r.section(raw, "access.power_levels", ROLES)
    level = integer(-(2**53), 2**53)
    return tuple(
        (role, value)
        for role in ROLES
        if (value := r.get(table, "access.power_levels", role, level)) is not None
    )
