"""Private keys: PEM/PGP/OpenSSH blocks from their BEGIN line, and key bodies whose BEGIN line
is out of sight (a log tail, a window of a file)."""

from __future__ import annotations

import re

__all__ = ["KEY_BODY", "key_body", "redact_pem_blocks"]

_PEM_BEGIN = re.compile(r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----")
_PEM_END = re.compile(r"-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----")
_PEM_HEADERS = re.compile(r"[^\n]*\n(?:[^\n]*(?:Proc-Type|DEK-Info):[^\n]*\n)+[ \t\r]*\n")
_BLANK_LINE = re.compile(r"\n[ \t\r]*\n")
_PEM_MARKER = "[REDACTED:private-key]"

_B64_LINE = r"[A-Za-z0-9+/]{40,76}={0,2}"
_EOL = r"(?=[ \t\r]{0,4}(?:\n|\\[rn]|[\"',]|\Z))"  # a key line ends here, maybe JSON-escaped
_KEY_SEP = r"[ \t\r]{0,4}(?:\n|(?:\\r)?\\n)[ \t]{0,16}"
_KEY_SPLIT = re.compile(_KEY_SEP)
_PUBLIC = re.compile(r"-----BEGIN (?![A-Z ]{0,40}PRIVATE)")
_HEX = re.compile(r"[0-9a-fA-F\s\\n]*")

KEY_BODY = (  # a run of base64 lines (64 wide in PEM, 70 in OpenSSH), maybe JSON-escaped
    rf"(?<![A-Za-z0-9+/=]){_B64_LINE}{_EOL}(?:{_KEY_SEP}{_B64_LINE}{_EOL})*"
    rf"(?:{_KEY_SEP}[A-Za-z0-9+/]{{1,76}}={{0,2}}{_EOL})?"
    rf"(?P<end>{_KEY_SEP}-----END[ A-Z0-9_-]{{0,100}}PRIVATE KEY(?: BLOCK)?-----)?"
)


def key_body(match: re.Match[str]) -> bool:
    """Whether a run of base64 lines is a private key's body (its BEGIN line out of sight)."""
    if match.group("end"):
        return True
    before = match.string[max(0, match.start() - 120) : match.start()]
    lines = _KEY_SPLIT.split(match.group(0))
    full = lines if len(lines[-1]) == len(lines[0]) else lines[:-1]
    return (
        len(full) >= 3
        and len(full[0]) in (64, 70, 76)
        and all(len(line) == len(full[0]) for line in full)
        and _HEX.fullmatch(match.group(0)) is None
        and _PUBLIC.search(before) is None  # a certificate or public key: nothing to hide
    )


def _truncated_key_end(text: str, body: int, limit: int) -> int:
    """End of a private key without END marker: the next blank line, next key or end of text."""
    headers = _PEM_HEADERS.match(text, body, limit)  # RFC 1421 headers precede a blank line
    blank = _BLANK_LINE.search(text, headers.end() if headers else body, limit)
    return blank.start() if blank else limit


def redact_pem_blocks(text: str) -> str:
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
