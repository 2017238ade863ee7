"""Builds every service from Config and runs them until stopped; clean shutdown."""

from __future__ import annotations

import asyncio
import logging

from bot.access import role_of
from bot.approvals import Approvals
from bot.commands import Registry, Role
from bot.config import Config
from bot.containers import Containers
from bot.dispatch import Dispatcher
from bot.matrix import Chat
from bot.redact import Redactor
from bot.store import Store
from commands import ALL

log = logging.getLogger(__name__)


async def run(
    config: Config,
    stop: asyncio.Event | None = None,
    *,
    ready: asyncio.Event | None = None,
    backoff_cap: float = 60.0,
) -> None:
    """Run the bot until ``stop`` is set (or forever); ``ready`` is set once it is listening."""
    stop = stop or asyncio.Event()
    ready = ready or asyncio.Event()
    store = await Store.open(config.data_dir / "opsbot.db")
    containers = Containers(config.docker)
    redact = Redactor(literals=config.secrets())
    chat = Chat(
        config.matrix,
        store,
        may_invite=lambda user: role_of(user, config.access) == Role.ADMIN,
        backoff_cap=backoff_cap,
        ready=ready,
    )
    approvals = Approvals(config, store, chat, redact, config.matrix.user_id)
    dispatcher = Dispatcher(config, Registry(ALL), containers, store, redact, chat.reply, approvals)
    # wire the incoming side now that every handler exists
    chat.on_message = dispatcher.submit
    chat.on_reaction = approvals.on_reaction
    chat.on_redaction = approvals.on_redaction
    approvals.execute = dispatcher.execute
    keeper = asyncio.create_task(approvals.run(ready), name="approvals")
    try:
        if not await containers.ping():
            log.warning("Docker engine not reachable at %s yet; commands say so", config.docker.url)
        await chat.run(stop)
    finally:
        keeper.cancel()
        await asyncio.gather(keeper, return_exceptions=True)
        await approvals.close()
        await dispatcher.close()
        await chat.close()
        await containers.close()
        await store.close()
        log.info("stopped")
