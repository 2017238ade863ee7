"""More Docker engines on this machine, for multi-host tests: each `dockerd` in a network namespace
of its own (so `--bridge none` there cannot delete the default engine's `docker0`), with its own
data root, exec root (and so its own managed containerd), pid file and unix socket.

Images come from the default engine (`docker save | docker -H … load`): there is no registry.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

START_SECONDS = 30.0


def host_interfaces() -> list[str]:
    """The host namespace's network interfaces, by name (to prove an engine left them alone)."""
    return sorted(os.listdir("/sys/class/net"))


class Engine:
    """One extra Docker engine in its own network namespace."""

    def __init__(self, root: Path, name: str) -> None:
        self.name = name
        self.root = root / name
        # unix socket paths are limited to 108 bytes (containerd's own sockets live under the
        # exec root): keep the exec root and the engine's socket short, under /run
        self.run_dir = Path("/run") / f"ob-{name}-{uuid.uuid4().hex[:6]}"
        self.socket = self.run_dir / "docker.sock"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.root / "dockerd.log"

    @property
    def url(self) -> str:
        """The engine's address, as `docker.url` / `docker.hosts[].url` take it."""
        return f"unix://{self.socket}"

    def start(self) -> None:
        """Start the engine and wait until it answers."""
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        (self.run_dir / "exec").mkdir(parents=True, exist_ok=True)
        dockerd = (
            f"exec dockerd --data-root {self.root / 'data'} --exec-root {self.run_dir / 'exec'}"
            f" --pidfile {self.run_dir / 'dockerd.pid'} -H {self.url}"
            f" --containerd-namespace opsbot-{self.name}"
            f" --containerd-plugins-namespace opsbot-{self.name}-plugins"
            " --bridge none --iptables=false --ip6tables=false"
        )
        script = f"ip link set lo up && {dockerd}"
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                ["unshare", "--net", "--fork", "--kill-child", "sh", "-c", script],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_SECONDS
        while not self.answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log = self.log()
                self.stop()
                raise RuntimeError(f"engine {self.name} did not start:\n{log}")
            time.sleep(0.2)

    def docker(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run the docker CLI against this engine."""
        return subprocess.run(
            ["docker", "-H", self.url, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def answers(self) -> bool:
        """Whether the engine answers `docker info`."""
        if not self.socket.exists():
            return False
        try:
            return self.docker("info", timeout=10).returncode == 0
        except subprocess.TimeoutExpired:  # the socket is there before the API answers
            return False

    def load(self, image: str) -> None:
        """Copy ``image`` from the default engine into this one."""
        with subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE) as save:
            loaded = subprocess.run(
                ["docker", "-H", self.url, "load"],
                stdin=save.stdout,
                capture_output=True,
                timeout=120,
                check=False,
            )
        if loaded.returncode != 0 or save.returncode != 0:
            raise RuntimeError(f"could not load {image} into {self.name}: {loaded.stderr!r}")

    def stop(self) -> None:
        """Stop the engine (its containers go with it) and remove its files."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.proc = None
        for mounted in (self.root / "data", self.run_dir):  # what a killed dockerd left mounted
            subprocess.run(["umount", "-R", "-l", str(mounted)], capture_output=True, check=False)
        shutil.rmtree(self.run_dir, ignore_errors=True)
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        """The engine's own log (for failure messages)."""
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""


@contextlib.contextmanager
def engines(root: Path, *names: str) -> Iterator[list[Engine]]:
    """Start an engine per name; always stop them; prove the host's interfaces are untouched."""
    before = host_interfaces()
    started: list[Engine] = []
    try:
        for name in names:
            engine = Engine(root, name)
            started.append(engine)  # stopped below even if it fails to start
            engine.start()
        yield started
    finally:
        for engine in started:
            engine.stop()
        after = host_interfaces()
        if after != before:
            raise AssertionError(f"the host's interfaces changed: {before} → {after}")
