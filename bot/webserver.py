"""The optional HTTP listener (``http.listen``): /healthz for orchestrators, /metrics for
Prometheus. Plain aiohttp (already under matrix-nio); nothing else is served."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

log = logging.getLogger(__name__)

Health = Callable[[], list[str]]  # what is wrong; empty when all is well
Exposition = Callable[[], Awaitable[bytes]]
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def app_for(health: Health, metrics: Exposition) -> web.Application:
    """The two routes."""

    async def healthz(_: web.Request) -> web.Response:
        problems = health()
        if problems:
            return web.Response(status=503, text="unhealthy: " + "; ".join(problems) + "\n")
        return web.Response(text="ok: connected to Matrix and Docker\n")

    async def scrape(_: web.Request) -> web.Response:
        return web.Response(body=await metrics(), headers={"Content-Type": CONTENT_TYPE})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", scrape)
    return app


async def serve(listen: tuple[str, int], health: Health, metrics: Exposition) -> None:
    """Answer on ``listen`` until cancelled."""
    runner = web.AppRunner(app_for(health, metrics), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, listen[0], listen[1]).start()
        log.info("serving /healthz and /metrics on %s:%d", *listen)
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
