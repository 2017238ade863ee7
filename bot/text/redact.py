"""Secret redaction and terminal-escape stripping for every text that leaves the bot."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from bot.text.literals import encoded_forms
from bot.text.private_keys import redact_pem_blocks
from bot.text.secret_patterns import RULES, Rule

__all__ = ["REDACTIONS", "Redactor", "strip_ansi"]

_MAX_PASSES = 4
_MIN_LITERAL = 4

REDACTIONS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (rule.kind, rule.pattern) for rule in RULES
)

_ANSI = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"  # CSI, 7- and 8-bit: colours, cursor moves, erase line
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?"  # OSC/DCS/..
    r"|\x1b[ -/]*[0-~]"  # other escapes: charset selection, keypad mode, save/restore cursor
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_ansi(text: str) -> str:
    """Remove ANSI/VT100 escape sequences and control characters other than \\n and \\t.

    CSI (``\\x1b[31m``, ``\\x1b[2K``), OSC/DCS/APC strings (``\\x1b]0;title\\x07``; an
    unterminated one is dropped up to the end of its line), two-byte escapes, the C0 controls
    (including ``\\r`` and lone ESC), DEL and the C1 range U+0080-U+009F are all removed.
    """
    return _CONTROL.sub("", _ANSI.sub("", text))


def _replacer(rule: Rule) -> Callable[[re.Match[str]], str]:
    """A ``re.sub`` callback replacing the matched `secret*` group, or the whole match."""
    groups = [name for name in rule.pattern.groupindex if name.startswith("secret")]

    def replace(match: re.Match[str]) -> str:
        if rule.check is not None and not rule.check(match):
            return match.group(0)
        marker = f"[REDACTED:{rule.kinds.get(match.lastgroup or '', rule.kind)}]"
        for name in groups:
            if match.start(name) >= 0:
                s, start, end = match.string, match.start(name), match.end(name)
                return s[match.start() : start] + marker + s[end : match.end()]
        return marker

    return replace


def _trie(words: Iterable[str]) -> str:
    """A regex for any of ``words``, the longest first, with common prefixes factored out: far
    faster to search than a flat alternation of hundreds of strings."""
    ordered = sorted(set(words))
    first, last = (ordered[0], ordered[-1]) if ordered else ("", "")  # sorted: these differ most
    same = (i for i, (a, b) in enumerate(zip(first, last, strict=False)) if a != b)
    prefix = first[: next(same, min(len(first), len(last)))]
    if prefix:
        rest = [word[len(prefix) :] for word in ordered if len(word) > len(prefix)]
        if not rest:
            return re.escape(prefix)
        optional = "?" if len(rest) < len(ordered) else ""
        return f"{re.escape(prefix)}(?:{_trie(rest)}){optional}"
    heads: dict[str, list[str]] = {}
    for word in ordered:
        heads.setdefault(word[0], []).append(word)
    return "|".join(_trie(group) for group in heads.values()) or "(?!)"


_RULES = tuple((rule, _replacer(rule), re.compile(_trie(rule.triggers))) for rule in RULES)


def _lines_with(text: str, low: str, triggers: re.Pattern[str]) -> list[tuple[int, int]]:
    """Spans of the lines that hold a trigger, merged when they touch."""
    spans: list[tuple[int, int]] = []
    hit = triggers.search(low)
    while hit is not None:
        start = text.rfind("\n", 0, hit.start()) + 1
        end = text.find("\n", hit.end())
        end = len(text) if end < 0 else end
        if spans and start <= spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
        hit = triggers.search(low, end)
    return spans


def _apply(rule: Rule, replace: Callable[[re.Match[str]], str], triggers: re.Pattern[str],
           text: str, low: str | None) -> str:  # fmt: skip
    """Apply one rule: where its matches start (anchored), on the lines holding a trigger, or
    (no triggers, or no usable lowercase copy ``low``) everywhere."""
    if not rule.triggers or low is None:
        return rule.pattern.sub(replace, text)
    out: list[str] = []
    pos = 0
    if rule.anchored:
        hit = triggers.search(low)
        while hit is not None:
            match = rule.pattern.match(text, hit.start())
            if match is not None:
                out += (text[pos : match.start()], replace(match))
                pos = match.end()
            hit = triggers.search(low, max(pos, hit.start() + 1))
    else:
        for start, end in _lines_with(text, low, triggers):
            out += (text[pos:start], rule.pattern.sub(replace, text[start:end]))
            pos = end
    out.append(text[pos:])
    return "".join(out)


class Redactor:
    """Replaces secrets in text with [REDACTED:<kind>] markers.

    Applies, in order: the configured literal secrets, private key blocks, then `REDACTIONS`.
    It errs towards over-redaction (``token: expired`` loses its value), and is idempotent:
    passes are repeated until the text stops changing, so ``r(r(x)) == r(x)``.
    """

    def __init__(self, literals: Iterable[str] = ()) -> None:
        """Remember exact secret strings (e.g. the bot's password) to always replace.

        Strings shorter than 4 characters are ignored; longer literals win over their prefixes.
        Each also matches as HTML, URLs and JSON spell it (see `encoded_forms`).
        """
        forms = {f for s in literals if len(s) >= _MIN_LITERAL for f in encoded_forms(s)}
        self._literals: re.Pattern[str] | None = None
        if forms:
            # Existing markers are matched (and kept) first so a literal like "REDACTED" or
            # "secret" can never eat into a marker.
            self._literals = re.compile(rf"(\[REDACTED:[a-z0-9-]{{1,32}}\])|(?:{_trie(forms)})")

    def __call__(self, text: str) -> str:
        """Return `text` with every recognised secret replaced by a marker."""
        for _ in range(_MAX_PASSES):
            redacted = self._pass(text)
            if redacted == text:
                break
            text = redacted
        return text

    def _pass(self, text: str) -> str:
        """Apply every rule once."""
        if self._literals is not None:
            text = self._literals.sub(lambda m: m.group(1) or "[REDACTED:literal]", text)
        text = redact_pem_blocks(text)
        low: str | None = text.lower()
        for rule, replace, triggers in _RULES:
            redacted = _apply(rule, replace, triggers, text, low)
            if redacted != text:
                text = redacted
                low = text.lower()
            if low is not None and len(low) != len(text):  # lower() moved offsets: run everywhere
                low = None
        return text


class RedactingFormatter(logging.Formatter):
    """A log formatter that passes every line (tracebacks included) through a Redactor."""

    def __init__(self, redact: Redactor, fmt: str) -> None:
        super().__init__(fmt)
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        """The formatted record, redacted."""
        return self.redact(super().format(record))


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line for log shippers; every text field redacted before encoding
    (a secret escaped inside JSON would no longer match its pattern)."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        """``{"ts", "level", "logger", "message"[, "exception"]}`` on a single line."""
        line: dict[str, str] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": self.redact(record.getMessage()),
        }
        if record.exc_info:
            line["exception"] = self.redact(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)
