"""A mutating command's plan: what will happen, to what, and who may approve it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.core import Role


@dataclass(frozen=True)
class Plan:
    """What the approval card announces, and everything `run` needs once it is approved.

    It is stored with the request (``data`` as JSON), so an approved plan runs the same after
    a restart of the bot."""

    summary: str  # e.g. "restart `seafile` (container `stack-seafile-1`)"
    service: str
    approver_role: Role
    warning: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)  # JSON-able facts for `run`

    def data_json(self) -> str:
        """``data`` as stored with the request."""
        return json.dumps(dict(self.data), sort_keys=True)

    @classmethod
    def stored(
        cls, summary: str, service: str, approver_role: int, warning: str, data_json: str
    ) -> Plan:
        """The plan of a stored request."""
        return cls(summary, service, Role(approver_role), warning, json.loads(data_json or "{}"))
