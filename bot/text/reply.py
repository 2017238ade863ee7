"""What the bot says: a reply with a plain body and matching HTML, optionally a file."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass

# One Matrix event must stay below 64 KiB of UTF-8 JSON; body and formatted_body together
# stay well under it (sizes are measured as JSON-encoded UTF-8 bytes).
MAX_BODY = 24_000
MAX_HTML = 32_000


@dataclass(frozen=True)
class Attachment:
    """A file sent with a reply (e.g. a long, redacted log)."""

    filename: str
    data: bytes
    mimetype: str = "text/plain"


@dataclass(frozen=True)
class Reply:
    """A message: plain ``body`` for every client, ``html`` for rich ones."""

    body: str
    html: str | None = None
    attachment: Attachment | None = None

    @classmethod
    def text(cls, body: str) -> Reply:
        """A reply whose HTML is the escaped body with inline `code` spans rendered."""
        return cls(body=body, html=inline(body))

    def bounded(self) -> Reply:
        """The reply cut to Matrix size limits (never an oversized event)."""
        body = self.body
        if json_size(body) > MAX_BODY:
            note = "\n… (message cut: too long)"
            while json_size(body) > MAX_BODY - json_size(note):
                body = body[: len(body) * 9 // 10]
            body += note
        markup = self.html
        if markup is not None and json_size(markup) > MAX_HTML:
            markup = None  # cutting HTML would break tags; fall back to the plain body
        return Reply(body=body, html=markup, attachment=self.attachment)


def json_size(text: str) -> int:
    """Bytes ``text`` takes in an event: JSON-escaped, UTF-8 encoded."""
    return len(json.dumps(text, ensure_ascii=False).encode()) - 2  # without the quotes


def esc(text: str) -> str:
    """HTML-escape text (quotes included)."""
    return html.escape(text, quote=True)


def code(text: str) -> str:
    """An inline code span, escaped."""
    return f"<code>{esc(text)}</code>"


def pre(text: str) -> str:
    """A preformatted block, escaped."""
    return f"<pre><code>{esc(text)}</code></pre>"


def inline(body: str) -> str:
    """Escape ``body`` and render `backtick` spans as <code> and line breaks as <br>."""
    parts = body.split("`")
    if len(parts) % 2 == 0:  # an unbalanced backtick stays literal
        last = parts.pop()
        parts[-1] = parts[-1] + "`" + last
    html_parts = (code(p) if i % 2 else esc(p) for i, p in enumerate(parts))
    return "".join(html_parts).replace("\n", "<br>")
