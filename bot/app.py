"""Builds every service from Config (constructor injection only) and runs them until stopped."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.alerts import Alerts
from bot.audit import Audit
from bot.config import Config
from bot.containers import Containers
from bot.core import Reaction
from bot.framework.approvals import Approvals
from bot.framework.command import Registry
from bot.framework.dispatcher import Dispatcher
from bot.framework.runner import Runner
from bot.matrix import Chat, Inbound, Link
from bot.matrix.events import message
from bot.metrics import Metrics, Readings
from bot.store import Store
from bot.store.audit_key import open_store
from bot.tasks import TaskSet, every
from bot.text.literals import literal_secrets as literals_of
from bot.text.redact import Redactor
from bot.text.reply import Reply
from bot.webserver import serve
from commands import ALL

log = logging.getLogger(__name__)
DAY = 86_400.0


@dataclass
class Bot:
    """Every long-lived service, built once."""

    config: Config
    store: Store
    containers: Containers
    link: Link
    audit: Audit
    alerts: Alerts
    approvals: Approvals
    dispatcher: Dispatcher
    chat: Chat
    metrics: Metrics
    background: TaskSet


async def build(config: Config, ready: asyncio.Event, backoff_cap: float) -> Bot:
    """Construct the services, each from what it needs; nothing is wired afterwards."""
    store = await open_store(config, os.environ)
    containers = Containers(config.docker)
    redact = Redactor(
        literals_of(config.secrets(), config.redact_literals, config.redact_env_files)
    )
    link = Link(config.matrix, store, config.access, backoff_cap=backoff_cap,
                store_dir=config.data_dir)  # fmt: skip

    async def post(reply: Reply) -> int:  # a notice in the alert room, through the outbox
        return await link.queue(config.matrix.alert_room, message(reply))

    audit = Audit(store, redact, post, config.matrix.prefix)
    alerts = Alerts(config, containers, store, link.queue, audit, redact)
    runner = Runner(config, Registry(ALL), containers, store, redact, alerts=alerts)
    approvals = Approvals(config, store, link, audit, runner.execute,
                          bot_user=config.matrix.user_id, after_action=audit.anchor)  # fmt: skip
    chat: Chat | None = None

    async def readings() -> Readings:
        syncs = chat.sync_failures if chat else 0
        return Readings(alerts.raised, await store.outbox.size(), syncs, alerts.connects)

    metrics = Metrics(readings)
    dispatcher = Dispatcher(config, runner, approvals, audit, link.reply, metrics.command)
    background = TaskSet("background")

    def on_reaction(reaction: Reaction) -> None:
        approvals.on_reaction(reaction)
        background.spawn(alerts.on_reaction(reaction), f"ack {reaction.event_id}")

    inbound = Inbound(dispatcher.submit, on_reaction, approvals.on_redaction)
    chat = Chat(link, inbound, config.access, backoff_cap=backoff_cap, ready=ready)
    return Bot(config, store, containers, link, audit, alerts, approvals, dispatcher, chat,
               metrics, background)  # fmt: skip


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
    bot = await build(config, ready, backoff_cap)
    bot.background.spawn(bot.approvals.run(ready), "approvals")
    bot.background.spawn(bot.alerts.run(), "watcher")
    housekeeping(bot)
    if config.http_listen is not None:
        bot.background.spawn(serve(config.http_listen, health_of(bot), bot.metrics.exposition),
                             "http")  # fmt: skip
    try:
        if not await bot.containers.ping():
            log.warning("Docker engine not reachable at %s yet; commands say so", config.docker.url)
        await bot.chat.run(stop)
    finally:
        await shutdown(bot)


def health_of(bot: Bot) -> Callable[[], list[str]]:
    """What /healthz reports: nothing while connected to Matrix and Docker."""

    def health() -> list[str]:
        problems = [] if bot.chat.connected else [f"matrix: {bot.chat.down_reason}"]
        docker = bot.alerts.docker_problem()
        if docker is not None:
            problems.append(f"docker: {docker}")
        return problems

    return health


def housekeeping(bot: Bot) -> None:
    """The audit trail checked at start and its head posted daily; old records forgotten."""

    async def prune() -> None:
        before = int(time.time() * 1000) - int(bot.config.retention * 1000)
        log.info("retention: forgot %s", await bot.store.prune(before))

    bot.background.spawn(bot.audit.check(), "audit check")
    bot.background.spawn(every(DAY, bot.audit.anchor, "daily audit head"), "audit head")
    bot.background.spawn(every(DAY, prune, "retention"), "retention")


async def shutdown(bot: Bot) -> None:
    """Stop every task; queue the alert edits the throttle still holds; close everything."""
    await bot.background.close()
    try:  # held alert edits go into the outbox: delivered now or after the restart
        await bot.alerts.flush(all_held=True)
    except Exception:
        log.exception("could not queue the held alert edits")
    await bot.approvals.close()
    await bot.dispatcher.close()
    await bot.chat.close()
    await bot.containers.close()
    await bot.store.close()
    log.info("stopped")
