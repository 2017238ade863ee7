"""Docker's event stream, read in its own thread into an asyncio queue."""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

import docker

from bot.config import DockerConfig
from bot.containers import API_TIMEOUT, reason
from bot.containers.inventory import PROJECT_LABEL

EVENT_ACTIONS = ["create", "start", "restart", "die", "kill", "stop", "oom", "destroy",
                 "health_status"]  # fmt: skip
# markers the event stream puts between events: (re)connected, stream ended, cannot connect
CONNECTED, LOST, DOWN = "connected", "lost", "down"


class EventStream:
    """Docker's event stream, read in its own thread into an asyncio queue.

    The stream can end silently (a daemon or proxy restart), so it is reopened with capped
    backoff, and every (re)connect puts a ``CONNECTED`` marker in the queue: the daemon keeps
    only a short event history, so the reader must re-read the state of all containers then.
    An ended stream puts ``LOST``; a failed connect puts ``DOWN`` with the reason.
    """

    def __init__(self, cfg: DockerConfig, queue: asyncio.Queue[tuple[str, Any]]) -> None:
        self.cfg = cfg
        self.queue = queue
        self.loop = asyncio.get_running_loop()
        self._stop = threading.Event()
        self._stream: Any = None
        self._thread = threading.Thread(target=self._run, name="docker-events", daemon=True)

    def start(self) -> None:
        """Start reading."""
        self._thread.start()

    def stop(self) -> None:
        """Stop reading (closes the stream, which unblocks the thread)."""
        self._stop.set()
        self.drop()

    def drop(self) -> None:
        """Close the current stream as a dropped connection would; it is reopened."""
        stream = self._stream
        if stream is not None:
            stream.close()

    def _post(self, kind: str, item: Any) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, (kind, item))

    def _run(self) -> None:
        backoff = 0.5
        filters: dict[str, Any] = {"type": ["container"], "event": EVENT_ACTIONS}
        if self.cfg.project:
            filters["label"] = [f"{PROJECT_LABEL}={self.cfg.project}"]
        while not self._stop.is_set():
            api = None
            try:
                socket_path = self.cfg.url.removeprefix("unix://")
                if socket_path != self.cfg.url and not os.path.exists(socket_path):
                    raise FileNotFoundError(f"{socket_path}: No such file or directory")
                api = docker.APIClient(base_url=self.cfg.url, version="auto", timeout=API_TIMEOUT)
                self._stream = api.events(decode=True, filters=filters)
                self._post(CONNECTED, None)
                backoff = 0.5
                for raw in self._stream:  # ends silently when the connection drops
                    self._post("event", raw)
                if not self._stop.is_set():
                    self._post(LOST, "the event stream ended")
            except Exception as exc:  # connection refused, proxy 403, daemon restarting…
                self._post(DOWN, f"Docker engine unreachable at {self.cfg.url}: {reason(exc)}")
            finally:
                self._stream = None
                if api is not None:
                    api.close()
            if self._stop.wait(backoff):
                return
            backoff = min(backoff * 2, 30.0)
