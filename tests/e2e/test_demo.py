"""`opsbot demo` run as a person would run it (no terminal, no stdin), and interrupted."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

DEMO = [sys.executable, "-m", "bot", "demo"]
ROOT = Path(__file__).resolve().parents[2]
DEMO_USER = "opsbot-demo-user"


def demo_leftovers() -> tuple[list[str], list[str]]:
    """Containers of any demo project, and demo temp directories, that still exist."""
    out = subprocess.run(
        ["docker", "ps", "-aq", "--filter", "label=com.docker.compose.project"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    projects = []
    for cid in out:
        label = subprocess.run(
            ["docker", "inspect", "-f", '{{index .Config.Labels "com.docker.compose.project"}}',
             cid], capture_output=True, text=True, check=False,
        ).stdout.strip()  # fmt: skip
        if label.startswith("opsbot-demo-"):
            projects.append(label)
    dirs = [p.name for p in Path(tempfile.gettempdir()).glob("opsbot-demo-*")]
    return projects, dirs


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2):
            return True
    except (OSError, urllib.error.URLError):
        return False


def test_the_demo_plays_the_script_and_leaves_nothing_behind() -> None:
    before = demo_leftovers()
    done = subprocess.run([*DEMO, "--exit"], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=900, check=False)  # fmt: skip
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    for seen in (
        "authelia is crash-looping",  # the alert, with its root cause …
        "also affected: synapse, which depends on it",  # … and what it takes down
        "Can't continue due to the errors loading the configuration",  # log evidence
        "operator: !status",
        "the health check probes :80 and the connection is refused",  # !status seafile
        "`authelia` — last 5 lines",  # !logs
        "Approval needed",  # !restart card …
        "(the approver reacts 👍 to the card)",
        "`litellm` restarted in",  # … and its report
        "✅ resolved after",  # the alert resolved once the templates were fixed
    ):
        assert seen in out, f"{seen!r} missing from:\n{out}"
    # !status agrees with the alert even when it catches authelia between two restarts
    assert re.search(r"🔴 authelia — (crash-looping \(alert open\)|restarting)", out), out
    url = re.search(r"homeserver: (http://127\.0\.0\.1:\d+)", out)
    assert url and re.search(r"operator\s+@operator-\w+:localhost\s+password: \S+", out)
    assert "Synapse stopped, demo stack and files removed" in out
    assert not answers(url.group(1))
    assert demo_leftovers() == before


def test_ctrl_c_stops_the_demo_and_cleans_up() -> None:
    before = demo_leftovers()
    proc = subprocess.Popen(DEMO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)  # fmt: skip
    assert proc.stdout is not None
    lines = []
    deadline = time.monotonic() + 600
    for line in proc.stdout:  # until the bot is in the room, mid-demo
        lines.append(line)
        if "opsbot is in the room" in line:
            break
        assert time.monotonic() < deadline, "".join(lines)
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=120)
    out = "".join(lines) + rest
    assert proc.returncode == 130, out
    assert "removing the demo stack" in out and "stopped: everything was removed" in out
    url = re.search(r"Synapse on (http://127\.0\.0\.1:\d+)", out)
    assert url and not answers(url.group(1))
    assert demo_leftovers() == before


def test_a_user_in_the_docker_group_can_run_the_demo() -> None:
    """Nothing in the demo needs root: a plain user in the `docker` group runs it whole."""
    if os.geteuid() != 0:
        pytest.skip("these tests already run as a non-root user: the demo tests above prove it")
    if sys.prefix != sys.base_prefix:
        pytest.skip("run from a virtualenv: this test needs the plain interpreter to copy")
    if subprocess.run(["id", DEMO_USER], capture_output=True, check=False).returncode != 0:
        subprocess.run(["useradd", "--no-create-home", "--groups", "docker",
                        "--shell", "/usr/sbin/nologin", DEMO_USER], check=True)  # fmt: skip
    scratch = Path(tempfile.mkdtemp(prefix="opsbot-demo-user-", dir="/var/tmp"))
    try:
        scratch.chmod(0o755)
        home = scratch / "home"
        home.mkdir()
        shutil.chown(home, DEMO_USER, DEMO_USER)
        # This interpreter may live where other users cannot reach (root's home): hard links
        # outside it are a view of the same files, with the packages installed for the tests.
        python = scratch / "python"
        subprocess.run(["cp", "-al", sys.base_prefix, str(python)], check=True)
        exe = python / Path(sys.executable).relative_to(sys.base_prefix)
        env = {
            "HOME": str(home),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            # its libpython too (the binary's rpath points into the unreachable original)
            "LD_LIBRARY_PATH": str(python / "lib"),
        }
        done = subprocess.run(
            ["runuser", "-u", DEMO_USER, "--", str(exe), "-m", "bot", "demo", "--exit"],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=900, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        assert "✅ resolved after" in done.stdout and "files removed" in done.stdout
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
