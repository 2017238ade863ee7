"""Run a real, throwaway Synapse homeserver (SQLite, loopback only) as a subprocess.

Used by `opsbot demo` (the demo extra installs Synapse) and by the end-to-end tests."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

SERVER_NAME = "localhost"
START_DEADLINE = 60.0
STOP_GRACE = 15.0
HTTP_TIMEOUT = 10.0

_FAST: dict[str, float] = {"per_second": 1000, "burst_count": 1000}

# Raised even when raise_rate_limits=False, so that test setup (users, rooms,
# invites, joins) never trips a limiter; rc_message keeps Synapse's default.
_SETUP_LIMITS: dict[str, Any] = {
    "rc_login": {"address": _FAST, "account": _FAST, "failed_attempts": _FAST},
    "rc_registration": _FAST,
    "rc_joins": {"local": _FAST, "remote": _FAST},
    "rc_joins_per_room": _FAST,
    "rc_invites": {"per_room": _FAST, "per_user": _FAST, "per_issuer": _FAST},
    "rc_room_creation": _FAST,
}

_ALL_LIMITS: dict[str, Any] = {
    **_SETUP_LIMITS,
    "rc_message": _FAST,
    "rc_media_create": _FAST,
    "rc_admin_redaction": _FAST,
    "rc_3pid_validation": _FAST,
    "rc_third_party_invite": _FAST,
    "rc_key_requests": _FAST,
    "rc_delayed_event_mgmt": _FAST,
    "rc_reports": _FAST,
    "rc_profile": _FAST,
    "rc_user_directory": _FAST,
    "rc_presence": {"per_user": _FAST},
}


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is currently free."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SynapseServer:
    """A Synapse homeserver in `workdir`, keeping its port and database across restarts."""

    def __init__(self, workdir: Path, *, raise_rate_limits: bool = True) -> None:
        self.workdir = Path(workdir)
        self.raise_rate_limits = raise_rate_limits
        self.port = free_port()
        self.secret = secrets.token_hex(16)
        self.config_path = self.workdir / "homeserver.yaml"
        self.log_path = self.workdir / "homeserver.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of the client listener."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def server_name(self) -> str:
        """The homeserver's server_name (the part after the colon in user ids)."""
        return SERVER_NAME

    def config(self) -> dict[str, Any]:
        """Return the homeserver configuration as a dict."""
        d = self.workdir
        cfg: dict[str, Any] = {
            "server_name": SERVER_NAME,
            "pid_file": str(d / "hs.pid"),
            "public_baseurl": f"{self.url}/",
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {"name": "sqlite3", "args": {"database": str(d / "hs.db")}},
            "media_store_path": str(d / "media"),
            "signing_key_path": str(d / "localhost.signing.key"),
            "registration_shared_secret": self.secret,
            "report_stats": False,
            "enable_metrics": False,
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "presence": {"enabled": False},
        }
        cfg.update(_ALL_LIMITS if self.raise_rate_limits else _SETUP_LIMITS)
        return cfg

    def _command(self, *extra: str) -> list[str]:
        return [sys.executable, "-m", "synapse.app.homeserver", "-c", str(self.config_path), *extra]

    def log_tail(self, chars: int = 4000) -> str:
        """Return the end of the homeserver log."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return ""

    def start(self) -> None:
        """Start Synapse and block until /health answers OK (or raise)."""
        if self._proc is not None and self._proc.poll() is None:
            return
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(json.dumps(self.config(), indent=2))
        with self.log_path.open("ab") as log:
            if not (self.workdir / "localhost.signing.key").exists():
                subprocess.run(
                    self._command("--generate-keys"),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    check=True,
                    timeout=START_DEADLINE,
                )
            self._proc = subprocess.Popen(
                self._command(), stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir
            )
        deadline = time.monotonic() + START_DEADLINE
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"synapse exited with {self._proc.returncode}:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=1) as resp:
                    if resp.read() == b"OK":
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"synapse not healthy after {START_DEADLINE}s:\n{self.log_tail()}")

    def stop(self) -> None:
        """Stop Synapse: SIGTERM, then SIGKILL after a grace period."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(STOP_GRACE)

    def restart(self) -> None:
        """Stop and start again (same port, same database)."""
        self.stop()
        self.start()

    def __enter__(self) -> SynapseServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def request(
        self, method: str, path: str, body: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """Make a JSON HTTP request to the homeserver and return the decoded JSON reply."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.url}{path}", data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if token is not None:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT) as resp:
                result: dict[str, Any] = json.loads(resp.read() or b"{}")
                return result
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors="replace")
            raise RuntimeError(f"{method} {path} -> HTTP {e.code}: {detail}") from e

    def register(self, localpart: str, password: str, admin: bool = False) -> dict[str, Any]:
        """Register a user via the shared-secret admin API.

        Returns the JSON reply: user_id, access_token, device_id, home_server.
        """
        path = "/_synapse/admin/v1/register"
        nonce = self.request("GET", path)["nonce"]
        mac = hmac.new(self.secret.encode(), digestmod=hashlib.sha1)
        for part in (nonce, localpart, password):
            mac.update(part.encode() + b"\x00")
        mac.update(b"admin" if admin else b"notadmin")
        body = {
            "nonce": nonce,
            "username": localpart,
            "password": password,
            "admin": admin,
            "mac": mac.hexdigest(),
        }
        return self.request("POST", path, body)

    def override_ratelimit(self, admin_token: str, user_id: str) -> None:
        """Exempt `user_id` from message rate limiting (needs an admin's token)."""
        user = urllib.parse.quote(user_id, safe="")
        self.request(
            "POST",
            f"/_synapse/admin/v1/users/{user}/override_ratelimit",
            {"messages_per_second": 0, "burst_count": 0},
            token=admin_token,
        )
