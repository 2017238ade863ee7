"""Build opsbot's Docker image here, where no image registry is reachable.

The base is made locally: `debootstrap` of Debian (python3, python3-venv) imported with
`docker import`. The image installs wheels built on the host (`pip wheel`), so the build itself
needs no network either. Both are cached by tag (the base) and content (the image build).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BASE = "opsbot-test-base:bookworm"
IMAGE = "opsbot-test-image:latest"
SUITE = "bookworm"  # Python 3.11, like the host whose wheels the image installs
SOURCES = Path("/etc/apt/sources.list.d/debian.sources")


def _run(*cmd: str, timeout: float = 900, **kwargs: object) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False,
                          **kwargs)  # type: ignore[call-overload]  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return str(done.stdout)


def _mirror() -> str:
    """The Debian mirror apt uses here (deb.debian.org if none is configured)."""
    if SOURCES.exists():
        found = re.search(r"^URIs:\s*(\S+/debian)\s*$", SOURCES.read_text(), re.M)
        if found:
            return found.group(1)
    return "http://deb.debian.org/debian"


def exists(tag: str) -> bool:
    """Whether the local Docker engine has an image called ``tag``."""
    return subprocess.run(["docker", "image", "inspect", tag], capture_output=True,
                          check=False).returncode == 0  # fmt: skip


def base_image() -> str:
    """Debian + python3 + venv, made with debootstrap (once per machine)."""
    if exists(BASE):
        return BASE
    if shutil.which("debootstrap") is None:
        raise RuntimeError("debootstrap is needed to make the base image (apt-get install it)")
    with tempfile.TemporaryDirectory(prefix="opsbot-rootfs-") as tmp:
        root = Path(tmp) / "rootfs"
        _run("debootstrap", "--variant=minbase", "--include=python3,python3-venv",
             SUITE, str(root), _mirror())  # fmt: skip
        with subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE) as tar:
            _run("docker", "import", "-", BASE, stdin=tar.stdout)
    return BASE


def opsbot_image() -> str:
    """opsbot's Dockerfile, built on the local base with host-built wheels."""
    base = base_image()
    wheels = ROOT / "build" / "wheels"
    shutil.rmtree(wheels, ignore_errors=True)
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--wheel-dir", str(wheels), f"{ROOT}[e2e]")
    _run("docker", "build", "-q", "-t", IMAGE, "--build-arg", f"BASE_IMAGE={base}",
         "--build-arg", "WHEELS=build/wheels", str(ROOT))  # fmt: skip
    return IMAGE
