"""Builds every service from Config and runs them until stopped; clean shutdown."""

from __future__ import annotations

import asyncio
import logging
import os
import time

from bot.alerting import Alerter
from bot.approvals import Approvals
from bot.audit_key import open_store
from bot.commands import Registry
from bot.config import Config
from bot.containers import Containers
from bot.dispatch import Dispatcher
from bot.events import Reaction
from bot.literals import literal_secrets as literals_of
from bot.matrix import Chat
from bot.metrics import Metrics, Readings
from bot.redact import Redactor
from bot.store import Store
from bot.tasks import TaskSet, every
from bot.watcher import Watcher
from bot.webserver import serve
from commands import ALL

log = logging.getLogger(__name__)
DAY = 86_400.0


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
    store = await open_store(config, os.environ)
    containers = Containers(config.docker)
    redact = Redactor(
        literals_of(config.secrets(), config.redact_literals, config.redact_env_files)
    )
    chat = Chat(
        config.matrix,
        store,
        config.access,
        backoff_cap=backoff_cap,
        ready=ready,
        store_dir=config.data_dir,
    )
    approvals = Approvals(config, store, chat, redact, config.matrix.user_id)
    dispatcher = Dispatcher(config, Registry(ALL), containers, store, redact, chat.reply, approvals)
    # wire the incoming side now that every handler exists
    alerter = Alerter(config, store, chat.queue)
    watcher = Watcher(config, containers, store, alerter, redact)
    background = TaskSet("background")

    def on_reaction(reaction: Reaction) -> None:
        approvals.on_reaction(reaction)
        background.spawn(alerter.on_reaction(reaction), f"ack {reaction.event_id}")

    chat.on_message = dispatcher.submit
    chat.on_reaction = on_reaction
    chat.on_redaction = approvals.on_redaction
    approvals.execute = dispatcher.execute
    approvals.after_action = alerter.anchor  # privileged actions publish the audit head
    background.spawn(approvals.run(ready), "approvals")
    housekeeping(background, config, store, alerter)
    background.spawn(watcher.run(), "watcher")
    if config.http_listen is not None:

        def health() -> list[str]:
            problems = [] if chat.connected else [f"matrix: {chat.down_reason}"]
            if watcher.docker_down is not None or not watcher.summarized:
                problems.append(f"docker: {watcher.down_reason}")
            return problems

        async def readings() -> Readings:
            depth = await store.outbox.size()
            return Readings(alerter.raised, depth, chat.sync_failures, watcher.connects)

        metrics = Metrics(readings)
        dispatcher.observe = metrics.command
        background.spawn(serve(config.http_listen, health, metrics.exposition), "http")
    try:
        if not await containers.ping():
            log.warning("Docker engine not reachable at %s yet; commands say so", config.docker.url)
        await chat.run(stop)
    finally:
        await background.close()
        try:  # held alert edits go into the outbox: delivered now or after the restart
            await alerter.flush(all_held=True)
        except Exception:
            log.exception("could not queue the held alert edits")
        await approvals.close()
        await dispatcher.close()
        await chat.close()
        await containers.close()
        await store.close()
        log.info("stopped")


def housekeeping(background: TaskSet, config: Config, store: Store, alerter: Alerter) -> None:
    """The audit trail checked at start and its head posted daily; old records forgotten."""

    async def prune() -> None:
        before = int(time.time() * 1000) - int(config.retention * 1000)
        log.info("retention: forgot %s", await store.prune(before))

    background.spawn(alerter.check_audit(), "audit check")
    background.spawn(every(DAY, alerter.anchor, "daily audit head"), "audit head")
    background.spawn(every(DAY, prune, "retention"), "retention")
