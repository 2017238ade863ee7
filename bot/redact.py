"""Secret redaction and terminal-escape stripping for every text that leaves the bot."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

__all__ = ["REDACTIONS", "Redactor", "strip_ansi"]

_R = r"(?!\[REDACTED:)"  # a secret never starts with an existing marker, so markers stay put
_MAX_PASSES = 4
_MIN_LITERAL = 4

_KEYS = (
    r"pass(?:word|wd|phrase)?|pwd|secret|token|credentials?|cookie|sess(?:ion)?[_-]?id"
    r"|(?:api|access|private|auth|signing|encryption|master)[_-]?key"
)
# key name, optional closing quote, separator; no leading \b so `DB_PASSWORD` and `X-Api-Key` match.
_KV = rf"(?i)(?:{_KEYS})[\w.-]{{0,20}}[\"']?[ \t]{{0,32}}(?:=>|:=|=|:)[ \t]{{0,32}}"
_AUTH = r"(?i)\b(?:proxy-)?authorization[\"']?[ \t]{0,32}[:=][ \t]{0,32}[\"']?"
_TOKEN = r"[A-Za-z0-9._~+/=-]"

# (kind, pattern), applied in order. Where a pattern has a group named `secret` only that group
# is replaced (the key name stays visible), otherwise the whole match. Every quantifier that can
# be retried from many start positions is bounded or anchored at the start of a run, so a pass
# is linear-ish even on adversarial megabyte inputs. Hashes come before kv-secret so that a hash
# containing `,`/`=`/`$` is replaced whole rather than cut at its first comma.
_SPECS: tuple[tuple[str, str], ...] = (
    (
        "argon2-hash",
        r"\$argon2(?:id|i|d)\$(?:v=\d{1,10}\$)?[a-z]{1,8}=[^$\s,]{1,64}"
        r"(?:,[a-z]{1,8}=[^$\s,]{1,64}){0,8}\$[A-Za-z0-9+/=.-]{1,1024}(?:\$[A-Za-z0-9+/=.-]{1,1024})?",
    ),
    ("bcrypt-hash", r"\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}"),
    # sha256/512-crypt, yescrypt, scrypt, pbkdf2 (e.g. Authelia's other hash formats)
    (
        "crypt-hash",
        r"\$(?:[567y]|pbkdf2(?:-sha\d{1,3})?|scrypt)\$[^\s$'\"]{1,256}"
        r"(?:\$[^\s$'\"]{1,1024}){1,4}",
    ),
    ("jwt", r"(?<![A-Za-z0-9_-])ey[A-Za-z0-9_-]{10,}\.ey[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*={0,2}"),
    # synapse syt_/syr_ and matrix-authentication-service mat_/mar_/mct_/mcr_ tokens
    (
        "matrix-token",
        r"\b(?:sy[tr]_[A-Za-z0-9+/=-]{1,400}_[A-Za-z0-9]{20}_[A-Za-z0-9]{6}"
        r"|m(?:at|ar|ct|cr)_[A-Za-z0-9]{30}_[A-Za-z0-9]{6})\b",
    ),
    ("github-token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_\w{82,251})\b"),
    ("gitlab-pat", r"\bgl(?:pat|ptt|dt|rt|ft|cbt|imt|soat)-[\w.-]{20,255}"),
    ("slack-token", r"\bxox[abeoprs]-[0-9A-Za-z-]{10,255}"),
    ("aws-akid", r"\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b"),
    # The user may be empty (redis://:pw@host) but never holds `[`, so a marker's `:` is no
    # separator; the password runs to the last `@` before a `/` (unescaped `@` in passwords).
    (
        "url-credentials",
        r"(?i)\b[a-z][a-z0-9+.-]{1,15}://[^\s:/@\[\]]{0,64}:" + _R + r"(?P<secret>[^\s/]{1,128})@",
    ),
    (
        "auth-header",
        _AUTH + r"(?:(?:bearer|basic|token|digest)[ \t]{1,32})?"
        r"(?!\[REDACTED:|(?:bearer|basic|token|digest)\b)(?P<secret>" + _TOKEN + r"{4,})",
    ),
    ("bearer-token", r"(?i)\bbearer[ \t]{1,32}" + _R + r"(?P<secret>" + _TOKEN + r"{8,})"),
    (
        "query-secret",
        r"(?i)[?&#;](?:access_token|refresh_token|id_token|token|api[_-]?key|key|"
        r"password|passwd|secret|client_secret|sig|signature|auth|jwt|session_?id|sid)="
        + _R
        + r"(?P<secret>[^&\s\"'<>]{4,})",
    ),
    # quoted value: may contain spaces, ends at the matching quote
    (
        "kv-secret",
        _KV + r"(?P<q>[\"'])" + _R + r"(?P<secret>(?:\\.|(?!(?P=q))[^\\\r\n]){1,1024})(?P=q)",
    ),
    # bare value (maybe after an HTML-escaped quote); `token: Bearer abc...` keeps the scheme
    (
        "kv-secret",
        _KV + r"(?:[\"']|&quot;|&#x?27;|&#39;)?(?:(?:bearer|basic|token)[ \t]{1,8})?"
        r"(?!\[REDACTED:|(?:bearer|basic|token)\b)(?P<secret>[^\s\"',;<>]{6,})",
    ),
)
REDACTIONS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern)) for kind, pattern in _SPECS
)

_PEM_BEGIN = re.compile(r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----")
_PEM_END = re.compile(r"-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----")
_PEM_HEADERS = re.compile(r"[^\n]*\n(?:[^\n]*(?:Proc-Type|DEK-Info):[^\n]*\n)+[ \t\r]*\n")
_BLANK_LINE = re.compile(r"\n[ \t\r]*\n")
_PEM_MARKER = "[REDACTED:private-key]"

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


def _replacer(kind: str) -> Callable[[re.Match[str]], str]:
    """Build a ``re.sub`` callback replacing the `secret` group, or the whole match, by a marker."""
    marker = f"[REDACTED:{kind}]"

    def replace(match: re.Match[str]) -> str:
        if "secret" not in match.re.groupindex or match.start("secret") < 0:
            return marker
        s = match.string
        return (
            s[match.start() : match.start("secret")] + marker + s[match.end("secret") : match.end()]
        )

    return replace


_RULES = tuple((pattern, _replacer(kind)) for kind, pattern in REDACTIONS)


def _truncated_key_end(text: str, body: int, limit: int) -> int:
    """End of a private key without END marker: the next blank line, next key or end of text."""
    headers = _PEM_HEADERS.match(text, body, limit)  # RFC 1421 headers precede a blank line
    blank = _BLANK_LINE.search(text, headers.end() if headers else body, limit)
    return blank.start() if blank else limit


def _redact_private_keys(text: str) -> str:
    """Replace each PEM/PGP/OpenSSH private key block, complete or truncated, by one marker.

    A block runs from its BEGIN line to the matching END line. If there is no END line before the
    next BEGIN (a truncated key is still a secret), it runs to the next blank line, or to the end
    of the text. Every search resumes where the previous one stopped, so this is linear.
    """
    begin = _PEM_BEGIN.search(text)
    if begin is None:
        return text
    out: list[str] = []
    pos = 0
    end: re.Match[str] | None = None
    no_more_ends = False
    while begin is not None:
        body = begin.end()
        nxt = _PEM_BEGIN.search(text, body)
        if not no_more_ends and (end is None or end.start() < body):
            end = _PEM_END.search(text, body)
            no_more_ends = end is None
        if end is not None and end.start() >= body and (nxt is None or end.start() < nxt.start()):
            stop = end.end()
        else:
            stop = _truncated_key_end(text, body, nxt.start() if nxt else len(text))
        out += (text[pos : begin.start()], _PEM_MARKER)
        pos = stop
        begin = nxt if nxt is None or nxt.start() >= stop else _PEM_BEGIN.search(text, stop)
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
        """
        kept = sorted({s for s in literals if len(s) >= _MIN_LITERAL}, key=lambda s: (-len(s), s))
        self._literals: re.Pattern[str] | None = None
        if kept:
            # Existing markers are matched (and kept) first so a literal like "REDACTED" or
            # "secret" can never eat into a marker.
            alternatives = "|".join(re.escape(s) for s in kept)
            self._literals = re.compile(rf"(\[REDACTED:[a-z0-9-]{{1,32}}\])|(?:{alternatives})")

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
        text = _redact_private_keys(text)
        for pattern, replace in _RULES:
            text = pattern.sub(replace, text)
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
