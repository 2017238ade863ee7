"""Registry-free images: a static busybox binary and a few symlinks, imported with the docker
CLI. Where no static busybox is installed, the `busybox` image is pulled instead."""

from __future__ import annotations

import hashlib
import io
import shutil
import struct
import subprocess
import tarfile
import time
from pathlib import Path

CONTENT_LABEL = "org.opsbot.test.content"
PT_INTERP = 3  # an ELF program header naming the dynamic loader: absent in static binaries


class ImageError(Exception):
    """The image could not be made; the message says what to install or allow."""


def is_static_elf(path: Path) -> bool:
    """True for a 64-bit little-endian ELF executable without a dynamic loader."""
    try:
        data = path.read_bytes()
    except OSError:
        return False
    if data[:6] != b"\x7fELF\x02\x01":
        return False
    phoff, = struct.unpack_from("<Q", data, 0x20)  # fmt: skip
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    types = (struct.unpack_from("<I", data, phoff + i * phentsize)[0] for i in range(phnum))
    return PT_INTERP not in types


def static_busybox() -> Path | None:
    """An installed static busybox (Debian: busybox-static), if there is one."""
    for candidate in (shutil.which("busybox"), "/bin/busybox", "/usr/bin/busybox"):
        if candidate and is_static_elf(Path(candidate)):
            return Path(candidate)
    return None


def _tar(busybox: bytes, applets: tuple[str, ...], files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:

        def add(name: str, kind: bytes, mode: int, data: bytes = b"", link: str = "") -> None:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.size, info.linkname = kind, mode, len(data), link
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(data) if data else None)

        add("bin", tarfile.DIRTYPE, 0o755)
        add("bin/busybox", tarfile.REGTYPE, 0o755, busybox)
        for applet in applets:
            add(f"bin/{applet}", tarfile.SYMTYPE, 0o777, link="busybox")
        add("tmp", tarfile.DIRTYPE, 0o1777)
        for name in sorted({str(Path(f).parent) for f in files} - {"."}):
            add(name, tarfile.DIRTYPE, 0o755)
        for name, data in files.items():
            add(name, tarfile.REGTYPE, 0o644, data)
    return buf.getvalue()


def _docker(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["docker", *args], input=stdin, capture_output=True, check=False)


def busybox_image(tag: str, applets: tuple[str, ...], files: dict[str, bytes] | None = None) -> str:
    """Make ``tag`` from the host's static busybox (idempotent: an image whose content label
    matches is reused), else pull `busybox`. Returns ``tag``."""
    files = files or {}
    busybox = static_busybox()
    if busybox is None:
        pulled = _docker("pull", "-q", "busybox:stable")
        if pulled.returncode != 0:
            raise ImageError(
                "no static busybox here and no registry to pull `busybox` from: "
                "install one (Debian/Ubuntu: apt-get install busybox-static)"
            )
        _docker("tag", "busybox:stable", tag)
        return tag
    binary = busybox.read_bytes()
    parts = [binary, *(f"{k}\0".encode() + v for k, v in sorted(files.items()))]
    parts.append(" ".join(applets).encode() + b"\x00PATH=/bin")
    digest = hashlib.sha256(b"".join(parts)).hexdigest()[:16]
    label = _docker(
        "image", "inspect", "-f", f'{{{{index .Config.Labels "{CONTENT_LABEL}"}}}}', tag
    )
    if label.returncode == 0 and label.stdout.decode().strip() == digest:
        return tag
    made = _docker(
        "import", "--change", "ENV PATH=/bin", "--change", f"LABEL {CONTENT_LABEL}={digest}",
        "-", tag, stdin=_tar(binary, applets, files),
    )  # fmt: skip
    if made.returncode != 0:
        raise ImageError(f"docker import failed: {made.stderr.decode(errors='replace').strip()}")
    return tag
