"""The one explicit registry of chat commands."""

from __future__ import annotations

from bot.framework.command import Command
from commands.approve import approve, deny
from commands.audit import audit
from commands.help import help_
from commands.logs import logs
from commands.rebuild import rebuild
from commands.restart import restart
from commands.silence import silence, silences, unsilence
from commands.status import status

ALL: tuple[Command, ...] = (
    help_, status, logs, restart, rebuild, approve, deny, silence, silences, unsilence, audit,
)  # fmt: skip
