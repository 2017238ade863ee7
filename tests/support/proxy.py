"""A TCP front for the Docker socket on 127.0.0.1 that tests can cut and restore, like a
socket proxy being restarted, and that can make chosen requests hang, like `docker logs` on a
daemon under heavy I/O."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

from tests.support.synapse import free_port


class SocketProxy:
    """Forwards 127.0.0.1:port to a unix socket; stop() drops every connection."""

    def __init__(
        self, target: str = "/var/run/docker.sock", *, stall: bytes = b"", stall_for: float = 0.0
    ) -> None:
        """Requests containing ``stall`` (e.g. b"/logs?") wait ``stall_for`` seconds first."""
        self.target = target
        self.stall, self.stall_for = stall, stall_for
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """What to give the bot as docker.url."""
        return f"tcp://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Listen (again) on the same port."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        """Stop listening and cut every open connection."""
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            listener.close()
        with self._lock:
            conns, self._conns = self._conns, set()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.target)
            with self._lock:
                self._conns |= {client, upstream}
            for a, b, outbound in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(target=self._pipe, args=(a, b, outbound), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, outbound: bool) -> None:
        try:
            while data := src.recv(65536):
                if outbound and self.stall and self.stall in data:
                    time.sleep(self.stall_for)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
