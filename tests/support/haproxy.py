"""A least-privilege Docker socket proxy like linuxserver/socket-proxy, run with Debian's
haproxy on 127.0.0.1, with the same switches (CONTAINERS, ALLOW_LOGS, ALLOW_RESTARTS, …)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from tests.support.synapse import free_port

MINIMAL = {
    "CONTAINERS": True, "ALLOW_LOGS": True, "ALLOW_RESTARTS": True, "EVENTS": True,
    "PING": True, "VERSION": True, "POST": False,
}  # fmt: skip
API = r"^(/v[\d\.]+)?"


def config(port: int, switches: dict[str, bool], socket_path: str) -> str:
    """haproxy.cfg following linuxserver's rule order: the ALLOW_* rules come before the POST
    check, so a restart can be allowed while every other write stays forbidden."""
    rules = []
    if switches.get("ALLOW_RESTARTS"):
        action = f"{API}/containers/[a-zA-Z0-9_.-]+/(stop|restart|kill)$"
        rules.append(f"http-request allow if {{ path_reg {action} }}")
    if not switches.get("ALLOW_LOGS"):
        rules.append(f"http-request deny if {{ path_reg {API}/containers/[a-zA-Z0-9_.-]+/logs$ }}")
    if not switches.get("POST"):
        rules.append("http-request deny unless METH_GET || METH_HEAD")
    for switch, path in (("CONTAINERS", "containers"), ("EVENTS", "events"),
                         ("PING", "_ping"), ("VERSION", "version")):  # fmt: skip
        if switches.get(switch):
            rules.append(f"http-request allow if {{ path_reg {API}/{path} }}")
    rules.append("http-request deny")
    body = "\n    ".join(rules)
    return f"""global
    maxconn 200
defaults
    mode http
    timeout connect 5s
    timeout client 10m
    timeout server 10m
    timeout http-request 10s
frontend docker
    bind 127.0.0.1:{port}
    {body}
    default_backend dockersocket
backend dockersocket
    server socket {socket_path}
"""


class HaproxySocketProxy:
    """Runs haproxy in the foreground; ``url`` is what the bot uses as docker.url."""

    def __init__(self, workdir: Path, switches: dict[str, bool],
                 socket_path: str = "/var/run/docker.sock") -> None:  # fmt: skip
        self.port = free_port()
        self.file = workdir / f"haproxy-{self.port}.cfg"
        self.file.write_text(config(self.port, switches, socket_path))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
        subprocess.run([binary, "-c", "-q", "-f", str(self.file)], check=True, timeout=30)
        quiet = subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [binary, "-db", "-f", str(self.file)], stdout=quiet, stderr=quiet
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"haproxy did not start ({self.file})") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None
