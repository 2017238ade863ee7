"""The only package that talks to Docker: an async facade with deadlines and name resolution
(the event stream lives in ``stream``)."""

from __future__ import annotations

import asyncio
import difflib
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import docker
import docker.errors
import requests.exceptions
from urllib3.exceptions import ReadTimeoutError

from bot.config import DockerConfig
from bot.containers import compose
from bot.containers.inventory import (
    PROJECT_LABEL,
    ContainerDetail,
    ContainerInfo,
    from_inspect,
    from_list,
    is_oneoff,
)
from bot.core import CommandError, UsageError

log = logging.getLogger(__name__)
T = TypeVar("T")

API_TIMEOUT = 10.0  # seconds per request for list, inspect and ping
MAX_LOG_BYTES = 4_000_000
LOG_READERS = 2  # never add a burst of log reads to a daemon already short of I/O


class DockerUnavailable(CommandError):
    """The Docker engine could not be reached (or answered with an error)."""


class UnknownService(UsageError):
    """No container matches the name the user typed."""


@dataclass(frozen=True)
class LogText:
    """Log output read under a deadline."""

    text: str
    timed_out: bool
    cut: bool  # stopped at the size limit


class Containers:
    """Async access to the containers of one compose project (or all containers)."""

    def __init__(self, cfg: DockerConfig) -> None:
        self.cfg = cfg
        self._client: docker.APIClient | None = None
        self._lock = threading.Lock()
        self._log_slots = asyncio.Semaphore(LOG_READERS)

    # -- plumbing -------------------------------------------------------------------------

    def _api(self) -> docker.APIClient:
        with self._lock:
            if self._client is None:
                socket_path = self.cfg.url.removeprefix("unix://")
                if socket_path != self.cfg.url and not os.path.exists(socket_path):
                    raise FileNotFoundError(f"{socket_path}: No such file or directory")
                self._client = docker.APIClient(
                    base_url=self.cfg.url, version="auto", timeout=API_TIMEOUT
                )
            return self._client

    def _reset(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    async def _call(
        self,
        func: Callable[[docker.APIClient], T],
        what: str = "container listings",
        need: str = "CONTAINERS",
    ) -> T:
        """Run a blocking docker-py call in a worker thread; map failures to clear errors
        (``what``/``need`` name the request and the socket-proxy switch it needs)."""

        def run() -> T:
            return func(self._api())

        try:
            return await asyncio.to_thread(run)
        except docker.errors.NotFound:
            raise
        except docker.errors.APIError as exc:
            status = exc.status_code
            why = exc.explanation or str(exc)
            if status == 403:  # a socket proxy that does not allow this request
                raise CommandError(f"the Docker proxy refuses {what} (403): allow {need}") from exc
            raise DockerUnavailable(f"Docker engine error at {self.cfg.url}: {why}") from exc
        except (
            docker.errors.DockerException,
            requests.exceptions.RequestException,
            OSError,
        ) as exc:
            self._reset()
            raise DockerUnavailable(
                f"Docker engine unreachable at {self.cfg.url}: {reason(exc)}"
            ) from exc

    async def close(self) -> None:
        """Release the HTTP connections."""
        await asyncio.to_thread(self._reset)

    # -- queries --------------------------------------------------------------------------

    async def ping(self) -> bool:
        """Whether the engine answers."""
        try:
            return bool(await self._call(lambda api: api.ping()))
        except CommandError:
            return False

    async def listing(self) -> list[ContainerInfo]:
        """Every managed container, from ONE list call (no inspect)."""
        filters = {"label": [f"{PROJECT_LABEL}={self.cfg.project}"]} if self.cfg.project else {}
        raw = await self._call(lambda api: api.containers(all=True, filters=filters))
        return [from_list(c) for c in raw if not is_oneoff(c)]

    async def resolve(self, name: str) -> tuple[ContainerInfo, list[ContainerInfo]]:
        """The container for a service or container name, plus the full listing it came from."""
        everything = await self.listing()
        for field in ("service", "name"):
            hits = [c for c in everything if getattr(c, field) == name]
            if hits:
                hits.sort(key=lambda c: (c.state != "running", c.name))
                return hits[0], everything
        known = sorted({c.service for c in everything})
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = f" — did you mean `{close[0]}`?" if close else " — see `!status` for the list"
        raise UnknownService(f"no service `{name}`{hint}")

    async def inspect(self, container: ContainerInfo) -> ContainerDetail:
        """One container in depth (one inspect call)."""
        try:
            raw = await self._call(lambda api: api.inspect_container(container.id))
        except docker.errors.NotFound:
            raise UnknownService(
                f"`{container.service}` disappeared while I looked at it"
            ) from None
        return from_inspect(raw)

    async def restart(self, container: ContainerInfo, stop_timeout: int) -> None:
        """Restart with the container's own stop grace period (not docker-py's 10 s)."""
        await self._call(
            lambda api: api.restart(container.id, timeout=stop_timeout),
            "restarts",
            "ALLOW_RESTARTS",
        )

    async def tag(self, image_id: str, name: str) -> None:
        """Point the image name ``name`` (`repo[:tag]`) at ``image_id`` again."""
        repo, tag = name, "latest"
        if ":" in name.rsplit("/", 1)[-1]:
            repo, tag = name.rsplit(":", 1)
        await self._call(
            lambda api: api.tag(image_id, repo, tag, force=True), "image tags", "IMAGES and POST"
        )

    async def dependencies(self, detail: ContainerDetail) -> list[str] | None:
        """Compose dependencies of a container (label, else its compose files)."""
        return await asyncio.to_thread(compose.dependencies, detail.labels, detail.service)

    def _logs_of(
        self, api: docker.APIClient, cid: str, tail: int, since: float | None, deadline: float
    ) -> tuple[bytes, bool, bool]:
        """Blocking: read logs through a client of their own whose timeout is the deadline, so
        a hung log request neither waits for the shared client's timeout nor resets it."""
        own = docker.APIClient(base_url=self.cfg.url, version=api.api_version, timeout=deadline)
        try:
            return _read_logs(own, cid, tail, since, deadline)
        finally:
            own.close()

    async def logs(
        self, container: ContainerInfo, *, tail: int, since: float | None, deadline: float
    ) -> LogText:
        """The last ``tail`` log lines, read under a hard deadline (partial output on timeout)."""
        async with self._log_slots:
            try:
                data, timed_out, cut = await asyncio.wait_for(
                    self._call(
                        lambda api: self._logs_of(api, container.id, tail, since, deadline),
                        "logs",
                        "ALLOW_LOGS",
                    ),
                    timeout=deadline + API_TIMEOUT + 5,
                )
            except TimeoutError:
                return LogText(text="", timed_out=True, cut=False)
            except docker.errors.NotFound:
                raise UnknownService(f"`{container.service}` disappeared") from None
        return LogText(text=data.decode("utf-8", errors="replace"), timed_out=timed_out, cut=cut)


def _read_logs(
    api: docker.APIClient, cid: str, tail: int, since: float | None, deadline: float
) -> tuple[bytes, bool, bool]:
    """Blocking: stream logs, closing the stream from a timer when the deadline passes.

    ``api``'s own timeout should be the deadline too: a daemon that never even answers the
    request (no headers) is caught by it, as the timer has no stream to close yet.
    """
    kwargs: dict[str, Any] = {"stream": True, "follow": False, "tail": int(tail)}  # int, never str
    if since is not None:
        kwargs["since"] = int(since)
    try:
        stream = api.logs(cid, **kwargs)
    except requests.exceptions.Timeout:
        return b"", True, False  # not a byte within the deadline: hung, not unreachable
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        stream.close()  # shuts the socket; the loop below ends

    timer = threading.Timer(deadline, expire)
    timer.daemon = True
    timer.start()
    chunks: list[bytes] = []
    size, cut = 0, False
    try:
        for chunk in stream:
            chunks.append(chunk)
            size += len(chunk)
            if size >= MAX_LOG_BYTES:
                cut = True
                break
    except Exception as exc:  # close() from the timer surfaces as a socket error
        if not expired.is_set() and not _is_timeout(exc):
            raise
        expired.set()
        log.debug("log stream closed at deadline: %s", exc)
    finally:
        timer.cancel()
        stream.close()
    return b"".join(chunks), expired.is_set(), cut


def _is_timeout(exc: BaseException) -> bool:
    """A read that waited longer than the client's timeout, however the layers wrap it."""
    while exc is not None:
        if isinstance(exc, TimeoutError | requests.exceptions.Timeout | ReadTimeoutError):
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return False


def reason(exc: BaseException) -> str:
    """A short, single-line reason for a connection failure."""
    text = str(exc) or type(exc).__name__
    for marker in (
        "Connection refused",
        "No such file or directory",
        "Permission denied",
        "timed out",
        "Name or service not known",
    ):
        if marker.lower() in text.lower():
            return marker
    return text.splitlines()[0][:200]
