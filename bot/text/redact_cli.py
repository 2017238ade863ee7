"""`opsbot redact --config PATH`: stdin to stdout through the bot's own redactor, so an operator
can try its rules on a real log before trusting the bot with it."""

from __future__ import annotations

import argparse
import io
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import TextIO

from bot.config import ConfigError, load_config
from bot.text.literals import literal_secrets
from bot.text.redact import Redactor, strip_ansi

CHUNK = 1 << 20  # redact in pieces of about 1 MiB that end at a blank line…
MAX_CHUNK = 8 << 20  # …or at any line end once a piece is this long
DESCRIPTION = (
    "Read text on stdin and write it to stdout with every secret the bot would redact replaced "
    "by a [REDACTED:<kind>] marker: the built-in patterns, redact.literals, the values in "
    "redact.env_files and the bot's own Matrix credentials (from the config or the "
    "environment), each also as HTML, URLs and JSON spell it. Terminal escapes are removed "
    "first, as for !logs. Exit 0; an invalid config is reported like check-config does (exit 1)."
)
EXAMPLE = "example: docker logs seafile 2>&1 | opsbot redact --config config.yaml | less"


def report(path: str, problems: Sequence[str]) -> None:
    """Print a config's problems the way `opsbot check-config` does."""
    print(f"{path}: {len(problems)} problem(s):", file=sys.stderr)
    for problem in problems:
        print(f"  - {problem}", file=sys.stderr)


def chunks(lines: Iterable[str]) -> Iterator[str]:
    """Lines grouped in pieces of about CHUNK characters that end at a blank line, so a key
    block or a `password:` and its value on the next line stay in one piece."""
    piece: list[str] = []
    size = 0
    for line in lines:
        piece.append(line)
        size += len(line)
        if (size >= CHUNK and not line.strip()) or size >= MAX_CHUNK:
            yield "".join(piece)
            piece, size = [], 0
    if piece:
        yield "".join(piece)


def _lenient(stream: TextIO) -> TextIO:
    """UTF-8, and bytes that are not pass through unchanged instead of stopping the command."""
    if isinstance(stream, io.TextIOWrapper):
        stream.reconfigure(encoding="utf-8", errors="surrogateescape")
    return stream


def main(argv: Sequence[str]) -> int:
    """`opsbot redact --config PATH` (``argv`` without the sub-command)."""
    parser = argparse.ArgumentParser(prog="opsbot redact", description=DESCRIPTION, epilog=EXAMPLE)
    parser.add_argument("--config", required=True, help="path to config.yaml")
    path = parser.parse_args(argv).config
    try:
        cfg = load_config(path, os.environ)
    except ConfigError as exc:
        report(path, exc.problems)
        return 1
    redact = Redactor(literal_secrets(cfg.secrets(), cfg.redact_literals, cfg.redact_env_files))
    source, sink = _lenient(sys.stdin), _lenient(sys.stdout)
    try:
        for piece in chunks(source):
            sink.write(redact(strip_ansi(piece)))
        sink.flush()
    except BrokenPipeError:  # the reader went away (`| head`): nothing left to do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
