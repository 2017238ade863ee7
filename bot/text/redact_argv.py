"""Credentials in a command's arguments (health checks, rebuild steps), redacted argument by
argument: the well-known clients' password flags, `--*password*`-like options, secret-looking
`NAME=VALUE` assignments, then every pattern the redactor knows (URLs with credentials, tokens)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from pathlib import PurePosixPath

from bot.text.redact import Redactor
from bot.text.secret_patterns import SECRET_OPTION

__all__ = ["redact_argv", "redact_shell", "shown_healthcheck"]

MARK = "[REDACTED:cli-password]"
_PATTERNS = Redactor()
_OPTION = re.compile(SECRET_OPTION)
_ASSIGNMENT = re.compile(
    r"(?P<keep>(?:-[eD]|--(?:env|build-arg|set|set-string)=)?(?P<name>[A-Za-z_][\w.-]{0,128})=)"
    r"(?P<value>.+)",
    re.DOTALL,
)
_SECRET_NAME = re.compile(  # DB_PASSWORD, JWT_SECRET, MYSQL_PWD, REDISCLI_AUTH; not KEYCLOAK_URL
    r"(?i)password|passwd|passphrase|secret|token|credential"
    r"|(?:^|[_.-])(?:pass|pw|pwd|(?:api|auth)?key|auth|psk)$"
)
_CLUSTER = re.compile(r"-[A-Za-z]{2,9}")
_SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "ksh"})
_WRAPPERS = frozenset({"env", "exec", "nohup", "time", "command", "sudo", "nice", "timeout"})
_SEPARATORS = frozenset({"&&", "||", ";", "|", "&", "(", ")"})
_SHELL_WORD = re.compile(  # an operator, or a word: bare, escaped and quoted parts
    r"(?P<op>&&|\|\||[|;&()<>])"
    r"|(?P<word>(?:[^\s'\"\\|;&()<>]{1,256}|\\.|'[^']{0,1024}'|\"(?:[^\"\\]|\\.){0,1024}\"){1,64})"
)
_LONGEST_SHELL = 65_536  # a longer "command" is no health check: only the text patterns apply
# Flags whose next argument is the password, by client (the program's name or its prefix).
_NEXT: tuple[tuple[str, frozenset[str]], ...] = (
    ("redis-cli", frozenset({"-a"})),
    ("valkey-cli", frozenset({"-a"})),
    ("keydb-cli", frozenset({"-a"})),
    ("mongo", frozenset({"-p"})),
    ("sshpass", frozenset({"-p"})),
    ("ldap", frozenset({"-w"})),
    ("mosquitto_", frozenset({"-P"})),
    ("docker login", frozenset({"-p"})),
    ("podman login", frozenset({"-p"})),
)
_GLUED = ("mysql", "mariadb", "sshpass")  # -pSECRET (a lone -p makes them prompt)
_USER_PASS: tuple[tuple[str, frozenset[str]], ...] = (  # user:password, the user stays
    ("curl", frozenset({"-u", "--user", "-U", "--proxy-user"})),
    ("http", frozenset({"-a", "--auth"})),  # HTTPie: http, https
    ("xh", frozenset({"-a", "--auth"})),
)


def _flags(program: str, table: tuple[tuple[str, frozenset[str]], ...]) -> frozenset[str]:
    return next((flags for name, flags in table if program.startswith(name)), frozenset())


def _user_pass(value: str) -> str:
    user, colon, password = value.partition(":")
    return f"{user}:{MARK}" if colon and password else value


def _one(arg: str, program: str) -> tuple[str, str]:
    """One argument redacted; and what the next one is: "secret", "user:pass", "shell" or ""."""
    option, eq, value = arg.partition("=")
    user_flags = _flags(program, _USER_PASS)
    glued = next((f for f in user_flags if len(f) == 2 and arg.startswith(f) and arg != f), "")
    assignment = _ASSIGNMENT.fullmatch(arg)
    if arg.startswith("-") and _OPTION.fullmatch(option):
        return (f"{option}={MARK}", "") if eq else (arg, "secret")
    if arg in user_flags or (_CLUSTER.fullmatch(arg) and f"-{arg[-1]}" in user_flags):
        return arg, "user:pass"  # -u, or a cluster ending in it: curl -fsu user:pw
    if option in user_flags and eq:
        return f"{option}={_user_pass(value)}", ""
    if glued:
        return glued + _user_pass(arg[2:]), ""
    if arg in _flags(program, _NEXT):
        return arg, "secret"
    if program.startswith(_GLUED) and arg.startswith("-p") and len(arg) > 2:
        return "-p" + MARK, ""
    if assignment and _SECRET_NAME.search(assignment.group("name")):
        return assignment.group("keep") + MARK, ""
    if program in _SHELLS and re.fullmatch(r"-[a-z]*c", arg):
        return arg, "shell"
    return _PATTERNS(arg), ""


def redact_argv(argv: Sequence[str]) -> list[str]:
    """``argv`` with each credential argument replaced by a marker, the rest unchanged."""
    out: list[str] = []
    program = pending = ""
    for arg in argv:
        if pending == "secret" and not (arg.startswith("-") and len(arg) > 1):
            out.append(MARK)
        elif pending == "user:pass":
            out.append(_user_pass(arg))
        elif pending == "shell":
            out.append(redact_shell(arg))
        elif arg in _SEPARATORS:
            out.append(arg)
            program = ""
        elif not program and not (_ASSIGNMENT.fullmatch(arg) or arg.startswith("-")):
            name = PurePosixPath(arg).name
            program = "" if name in _WRAPPERS or name.isdigit() else name
            out.append(_PATTERNS(arg))
        elif program in ("docker", "podman") and arg == "login":
            program = f"{program} login"
            out.append(arg)
        else:
            shown, pending = _one(arg, program)
            out.append(shown)
            continue
        pending = ""
    return out


def _quoted(word: str) -> str:
    return shlex.quote(word) if re.search(r"[\s'\"]", word) else word


def redact_shell(command: str) -> str:
    """A shell command line with its credential arguments redacted, its layout kept."""
    if len(command) > _LONGEST_SHELL:
        return _PATTERNS(command)
    spans = list(_SHELL_WORD.finditer(command))
    words = []
    for m in spans:
        try:
            words.append(m.group("op") or " ".join(shlex.split(m.group("word"))))
        except ValueError:  # cannot happen for a matched word; keep it as written
            words.append(m.group(0))
    out: list[str] = []
    pos = 0
    for m, word, shown in zip(spans, words, redact_argv(words), strict=True):
        out += (command[pos : m.start()], m.group(0) if shown == word else _quoted(shown))
        pos = m.end()
    out.append(command[pos:])
    return "".join(out)


def shown_healthcheck(test: Sequence[str]) -> str:
    """A Docker health check `Test` as a person would type it, credentials redacted."""
    if not test:
        return ""
    kind, *args = test
    if kind == "CMD-SHELL":
        return redact_shell(" ".join(args))
    return " ".join(redact_argv(args if kind == "CMD" else test))
