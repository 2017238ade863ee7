"""A Docker daemon that stalls mid-log cannot hang `!logs`: the deadline closes the stream.

The daemon here is a small HTTP server speaking the few Engine API calls the facade makes, so
the real docker-py client, its streaming and the facade's deadline are all exercised.
"""

from __future__ import annotations

import json
import struct
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.config import DockerConfig
from bot.containers import Containers, DockerUnavailable

CID = "c0ffee" * 10 + "abcd"
LABELS = {"com.docker.compose.service": "authelia", "com.docker.compose.project": "stack"}


def frame(text: str) -> bytes:
    """One multiplexed stdout frame, as the daemon sends for non-TTY containers."""
    data = text.encode()
    return struct.pack(">BxxxL", 1, len(data)) + data


class StallingDaemon(BaseHTTPRequestHandler):
    """Answers version/list/inspect, then sends two log lines and never finishes."""

    protocol_version = "HTTP/1.1"
    release = threading.Event()
    silent = False  # True: log requests get no answer at all, not even headers

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""

    def _json(self, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path.endswith("/version"):
            self._json({"ApiVersion": "1.41", "Version": "20.10.24"})
        elif path.endswith("/containers/json"):
            entry = {
                "Id": CID,
                "Names": ["/stack-authelia-1"],
                "State": "restarting",
                "Status": "Restarting (1) 2 seconds ago",
                "Labels": LABELS,
            }
            self._json([entry])
        elif path.endswith(f"/containers/{CID}/json"):
            self._json({"Id": CID, "Config": {"Tty": False, "Labels": LABELS}, "State": {}})
        elif path.endswith(f"/containers/{CID}/logs"):
            if self.silent:
                self.release.wait(30)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.docker.raw-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for line in ("level=info msg=starting\n", "level=fatal msg=config broken\n"):
                chunk = frame(line)
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.flush()
            self.release.wait(30)  # the daemon is "under I/O load": nothing more comes
        else:
            self.send_error(404)


@pytest.fixture
def daemon() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), StallingDaemon)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{server.server_address[1]}"
    StallingDaemon.release.set()
    server.shutdown()
    server.server_close()
    StallingDaemon.release.clear()
    StallingDaemon.silent = False


async def test_stalled_log_stream_returns_what_arrived(daemon: str) -> None:
    containers = Containers(DockerConfig(url=daemon, logs_timeout=1.0))
    target, _ = await containers.resolve("authelia")
    result = await containers.logs(target, tail=50, since=None, deadline=1.0)
    assert result.timed_out
    assert "level=fatal msg=config broken" in result.text
    await containers.close()


async def test_a_log_request_that_gets_no_answer_ends_at_the_deadline(daemon: str) -> None:
    """As `docker logs` under I/O load: the daemon takes the request and says nothing. That is
    the deadline, not "Docker unreachable", and other requests are not disturbed."""
    StallingDaemon.silent = True
    containers = Containers(DockerConfig(url=daemon, logs_timeout=1.0))
    target, _ = await containers.resolve("authelia")
    client = containers._client
    result = await containers.logs(target, tail=50, since=None, deadline=1.0)
    assert (result.timed_out, result.text) == (True, "")
    assert containers._client is client  # the shared client was not reset
    assert [c.service for c in await containers.listing()] == ["authelia"]
    await containers.close()


async def test_unreachable_engine_is_a_clear_error() -> None:
    containers = Containers(DockerConfig(url="unix:///nonexistent/docker.sock"))
    with pytest.raises(
        DockerUnavailable, match=r"Docker engine unreachable at unix:///nonexistent"
    ):
        await containers.listing()
    assert not await containers.ping()
