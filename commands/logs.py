"""!logs: the last lines of a service's log, redacted, under a hard deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from bot.containers import LogText
from bot.core import Role, UsageError
from bot.framework.arguments import Duration, Regex, Service
from bot.framework.command import Context, command
from bot.text.duration import format_duration
from bot.text.redact import strip_ansi
from bot.text.reply import Attachment, Reply, code, esc, pre

MAX_LINES = 2000
GREP_WINDOW = 5000  # lines searched by --grep
KEY_CONTEXT = 200  # lines read before the window and redacted with it: a key's BEGIN line
INLINE_LINES = 40
INLINE_BYTES = 16_000
LINE_CHARS = 400  # inline lines are cut here; the attachment keeps them whole
GREP_LINE_CHARS = 16_384  # --grep searches this much of each line
GREP_SECONDS = 5.0


@command(role=Role.VIEWER, example="!logs seafile 100 --since 10m --grep error")
async def logs(
    ctx: Context,
    service: Service,
    lines: int = 50,
    *,
    since: Duration | None = None,
    grep: Regex | None = None,
) -> Reply:
    """Show the last lines of a service's log, with secrets redacted.

    Default 50 lines, at most 2000. `--since 10m` keeps only recent output; `--grep REGEX`
    keeps matching lines (RE2 syntax, case-insensitive) from the last 5000. More than 40
    lines or 16 KB come as a file, with the last lines inline. If Docker is slow to answer,
    you get what arrived before the deadline.
    """
    if not 1 <= lines <= MAX_LINES:
        raise UsageError(f"lines must be between 1 and {MAX_LINES}")
    container, _ = await ctx.containers.resolve(service)
    deadline = ctx.config.docker.logs_timeout
    window = GREP_WINDOW if grep else lines
    result = await ctx.containers.logs(
        container,
        tail=window + KEY_CONTEXT,
        since=time.time() - since if since else None,
        deadline=deadline,
    )
    # Megabytes of text to clean, redact and search: a worker thread's job, not the loop's.
    found = await asyncio.to_thread(_select, result.text, ctx.redact, window, grep)
    if found is None:
        raise UsageError(
            f"the pattern took longer than {GREP_SECONDS:.0f} s to search; simplify it"
        )
    found = found[-lines:]

    what = f"`{container.service}` — last {len(found)} line{'s' if len(found) != 1 else ''}"
    if since:
        what += f" from the last {format_duration(since)}"
    if grep is not None:
        what += f" matching `{grep.pattern.pattern}`"
    return await _reply(container.service, what, found, _notes(result, deadline))


def _notes(result: LogText, deadline: float) -> list[str]:
    """What the reader should know about how complete the log is."""
    notes = []
    if result.timed_out:
        notes.append(
            f"⚠ Docker did not finish sending the log within {format_duration(deadline)} "
            "(the daemon may be under I/O load): this is what arrived."
        )
    if result.cut:
        notes.append("⚠ the log was cut at 4 MB.")
    return notes


async def _reply(service: str, what: str, found: list[str], notes: list[str]) -> Reply:
    """The lines inline (the last ones, when there are many) and all of them as a file."""
    if not found:
        return Reply.text("\n".join([f"{what}: nothing.", *notes]))
    shown, attachment = await asyncio.to_thread(_layout, found, service)
    if attachment is not None:
        notes.append(f"Showing the last {len(shown)} lines; the full output is attached.")
    inline = "\n".join(_cut(line) for line in shown)
    body = "\n".join([what + ":", inline, *notes])
    html = (
        f"<p>{esc(what).replace('`', '')}:</p>".replace(esc(service), code(service), 1)
        + pre(inline)
        + "".join(f"<p>{esc(n)}</p>" for n in notes)
    )
    return Reply(body=body, html=html, attachment=attachment)


def _select(
    raw: str, redact: Callable[[str], str], window: int, grep: Regex | None
) -> list[str] | None:
    """Blocking: the last ``window`` lines, then those ``grep`` finds (None: it ran too long).

    The whole text is redacted before it is cut: a truncated secret no longer matches its
    pattern, and a private key whose BEGIN line lies just before the window is still a key.
    """
    found = redact(strip_ansi(raw)).splitlines()[-window:]
    return found if grep is None else _grep(found, grep, time.monotonic() + GREP_SECONDS)


def _grep(lines: list[str], regex: Regex, stop: float) -> list[str] | None:
    """The lines ``regex`` finds in their first GREP_LINE_CHARS characters; None past ``stop``.

    RE2's time is linear in the text, but its factor grows with the pattern (`.{0,999}x`):
    the clock, read between lines, bounds any search. RE2 releases the GIL while it matches.
    """
    found = []
    for line in lines:
        if regex.pattern.search(line[:GREP_LINE_CHARS]) is not None:
            found.append(line)
        if time.monotonic() > stop:
            return None
    return found


def _layout(found: list[str], service: str) -> tuple[list[str], Attachment | None]:
    """Blocking: the lines shown inline and, when not all of them fit, the file with all."""
    full = "\n".join(found)
    if len(found) <= INLINE_LINES and len(full.encode()) <= INLINE_BYTES:
        return found, None
    attachment = Attachment(f"{service}.log", (full + "\n").encode())
    return _tail_within(found, INLINE_LINES, INLINE_BYTES // 2), attachment


def _tail_within(lines: list[str], count: int, max_bytes: int) -> list[str]:
    out: list[str] = []
    size = 0
    for line in reversed(lines[-count:]):
        size += len(_cut(line).encode()) + 1
        if out and size > max_bytes:
            break
        out.append(line)
    return out[::-1]


def _cut(line: str) -> str:
    return line if len(line) <= LINE_CHARS else line[:LINE_CHARS] + " …"
