"""The redactor's rules: hashes, tokens, URLs, command-line credentials, key/value pairs.

Each rule names lowercase literals that every one of its matches contains (its triggers), so the
redactor runs it only on the lines that hold one, or, when every match starts with a trigger
(`anchored`), only where one starts. Every quantifier that can be retried from many
start positions is bounded or anchored at the start of a run, so a pass stays linear-ish on
adversarial megabyte inputs.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from bot.text.private_keys import KEY_BODY, key_body
from bot.text.vendor_tokens import VENDOR_KINDS, VENDOR_PATTERN, VENDOR_TRIGGERS

__all__ = ["RULES", "SECRET_OPTION", "Rule"]


@dataclass(frozen=True)
class Rule:
    """Replace each match (or only its `secret*` group) by ``[REDACTED:<kind>]``."""

    kind: str
    pattern: re.Pattern[str]
    triggers: tuple[str, ...] = ()  # () = no literal to look for: the rule runs on everything
    anchored: bool = False  # every match starts with a trigger: try it only there
    check: Callable[[re.Match[str]], bool] | None = None  # a match failing it stays as it is
    kinds: Mapping[str, str] = field(default_factory=dict)  # kind by match.lastgroup


_R = r"(?!\[REDACTED:)"  # a secret never starts with an existing marker, so markers stay put
_KEYS = (
    r"pass(?:word|wd|phrase)?|pwd|secret|token|credentials?|cookie|sess(?:ion)?[_-]?id"
    r"|(?:api|access|private|auth|signing|encryption|master)[_-]?key"
)
_KEY_STARTS = ("pass", "pwd", "secret", "token", "credential", "cookie", "sess", "api", "access",
               "private", "auth", "signing", "encryption", "master")  # fmt: skip
# no leading \b so `DB_PASSWORD` and `X-Api-Key` match; then optional closing quote, separator
_KEY_NAME = rf"(?i:(?:{_KEYS})[\w.-]{{0,20}}(?<![_.-]file)(?<![_.-]path))"  # not PASSWORD_FILE
_KV_SEP = r"[\"']?[ \t]{0,32}(?:=>|:=|=|:)[ \t]{0,32}"
_AUTH = r"(?i:\b(?:proxy-)?authorization)[\"']?[ \t]{0,32}[:=][ \t]{0,32}[\"']?"
_TOKEN = r"[A-Za-z0-9._~+/=-]"
_ARG = r"(?:\"[^\"\n]{1,256}\"|'[^'\n]{1,256}'|[^\s'\"<>]{1,256})"  # one shell word
_GAP = r"[^\n|;&]{0,400}?[ \t]"  # from a client's name to one of its flags, on the same command


def _tool(names: str, flag: str, group: str) -> str:
    """A client, later one of its flags, then the flag's value as group ``group``."""
    return rf"{names}\b{_GAP}{flag}{_R}(?P<{group}>{_ARG})"


_CLI = "|".join(
    (
        _tool(r"\b(?i:redis|valkey|keydb)-cli", r"-a[ \t]{1,16}", "secret"),
        _tool(r"\b(?i:mysql\w{0,12}|mariadb(?:-\w{1,12})?)", "-p", "secret2"),  # -pSECRET only
        _tool(r"\bmongo\w{0,12}", r"(?:-p|--password)[ \t]{1,16}(?!-)", "secret3"),
        _tool(r"\bsshpass", r"-p[ \t]{0,16}", "secret4"),
        _tool(r"\bldap\w{2,16}", r"-w[ \t]{1,16}", "secret5"),
        _tool(r"\bmosquitto_\w{2,8}", r"-P[ \t]{1,16}", "secret6"),
        _tool(
            r"\b(?:docker|podman|nerdctl|helm[ \t]{1,8}registry)[ \t]{1,8}login",
            r"-p[ \t]{1,16}",
            "secret7",
        ),
        # curl -u user:pw, -fsu user:pw, --user=user:pw, --proxy-user 'u:pw'; the user stays
        r"\bcurl\b" + _GAP + r"(?:-[A-Za-z]{0,8}[uU][ \t]{0,16}|--(?:proxy-)?user(?:=|[ \t]{1,16}))"
        r"(?:\"[^\s:\"]{0,128}:" + _R + r"(?P<secret8>[^\"\n]{1,256})\""
        r"|'[^\s:']{0,128}:" + _R + r"(?P<secret9>[^'\n]{1,256})'"
        r"|[^\s:'\"]{0,128}:" + _R + r"(?P<secret10>[^\s'\"]{1,256}))",
    )
)
SECRET_OPTION = (  # --password, --db-password, -storepass, --api-key (not --password-file)
    r"--?(?!no-)(?:[A-Za-z0-9]{1,24}[-_.]){0,4}"
    r"(?i:[a-z0-9]{0,16}(?:password|passwd|passphrase|secret|token)|pass|pwd|auth|credentials?"
    r"|apikey|authkey|(?:api|auth|access|secret|private|license)[-_]?key|storepass|keypass"
    r"|passin|passout|requirepass|masterauth)"
)
_OPTION_NAME = r"(?<![\w-])" + SECRET_OPTION + r"(?![\w-])"
_ENV_NAME = (
    r"(?<![\w.-])[A-Z][A-Z0-9_]{0,64}"
    r"(?:PASSWORD|PASSWD|PASSPHRASE|_PASS|_PW|_PWD|SECRET|TOKEN|_KEY|_AUTH|CREDENTIALS?|_PSK|APIKEY)"
)
_QUERY_KEYS = (
    r"access_token|refresh_token|id_token|token|private_token|api[_-]?key|apikey|key|password"
    r"|passwd|secret|client_secret|sig|signature|auth|jwt|session_?id|sid"
    r"|x-(?:amz|goog)-(?:signature|credential|security-token)|awsaccesskeyid"
)
_USER = re.compile(r"[\w.@+-]{1,128}")


def user_colon_password(match: re.Match[str]) -> bool:
    """Whether a base64 word decodes to ``user:password`` (Basic credentials without header)."""
    try:
        text = base64.b64decode(match.group(0), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    user, colon, password = text.partition(":")
    return (
        bool(colon and password)
        and password.isprintable()
        and not password[0].isspace()
        and _USER.fullmatch(user) is not None
    )


def _rule(
    kind: str,
    pattern: str,
    triggers: tuple[str, ...] = (),
    *,
    anchored: bool = False,
    check: Callable[[re.Match[str]], bool] | None = None,
) -> Rule:
    return Rule(kind, re.compile(pattern), triggers, anchored, check)


# Applied in order. Hashes come before kv-secret so that a hash containing `,`/`=`/`$` is
# replaced whole rather than cut at its first comma; tokens come before the generic rules so
# their markers name them.
RULES: tuple[Rule, ...] = (
    _rule("private-key", KEY_BODY, check=key_body),  # BEGIN line out of sight
    _rule(
        "argon2-hash",
        r"\$argon2(?:id|i|d)\$(?:v=\d{1,10}\$)?[a-z]{1,8}=[^$\s,]{1,64}"
        r"(?:,[a-z]{1,8}=[^$\s,]{1,64}){0,8}\$[A-Za-z0-9+/=.-]{1,1024}(?:\$[A-Za-z0-9+/=.-]{1,1024})?",
        ("$argon2",),
        anchored=True,
    ),
    _rule("bcrypt-hash", r"\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}", ("$2",), anchored=True),
    # sha256/512-crypt, yescrypt, scrypt, pbkdf2 (e.g. Authelia's other hash formats)
    _rule(
        "crypt-hash",
        r"\$(?:[567y]|pbkdf2(?:-sha\d{1,3})?|scrypt)\$[^\s$'\"]{1,256}"
        r"(?:\$[^\s$'\"]{1,1024}){1,4}",
        ("$5$", "$6$", "$7$", "$y$", "$pbkdf2", "$scrypt$"),
        anchored=True,
    ),
    _rule(
        "jwt",
        r"(?<![A-Za-z0-9_-])ey[A-Za-z0-9_-]{10,}\.ey[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*={0,2}",
        (".ey",),
    ),
    Rule("vendor-token", VENDOR_PATTERN, VENDOR_TRIGGERS, anchored=True, kinds=VENDOR_KINDS),
    _rule("twilio-key", r"\bSK[0-9a-fA-F]{32}\b", ("sk",), anchored=True),
    _rule(  # 123456789:AA…, also inside https://api.telegram.org/bot<token>/sendMessage
        "telegram-bot-token", r"(?:(?<=/bot)|(?<![\w:]))\d{5,16}:AA[\w-]{32,40}(?![\w-])", (":aa",)
    ),
    _rule(
        "webhook-url",  # the URL is the credential: Slack, Discord, Teams, Mattermost
        r"(?i:hooks\.slack\.com/(?:services|workflows|triggers)/)"
        + _R
        + r"(?P<secret>[A-Za-z0-9/_+-]{20,200})"
        r"|(?i:discord(?:app)?\.com/api(?:/v\d{1,2})?/webhooks/)"
        + _R
        + r"(?P<secret2>\d{5,30}/[\w-]{20,200})"
        r"|(?i:\.office\.com/webhook(?:b2)?/)" + _R + r"(?P<secret3>[^\s\"'<>]{20,500})"
        r"|/hooks/" + _R + r"(?P<secret4>[a-z0-9]{26})(?![A-Za-z0-9])",
        ("hooks.slack.com", "discord", ".office.com/webhook", "/hooks/"),
        anchored=True,
    ),
    # The user may be empty (redis://:pw@host) but never holds `[`, so a marker's `:` is no
    # separator. The password may hold `/` and `@`: it runs to the first `@` before a host
    # (and port) that ends the authority; `host:8080/` is a port, not a password.
    _rule(
        "url-credentials",
        r"(?i)\b[a-z][a-z0-9+.-]{1,15}://[^\s:/@\[\]]{0,64}:"
        + _R
        + r"(?!\d{1,5}(?:[/?#\s\"'<>]|\Z))(?P<secret>[^\s\"<>]{1,128}?)"
        r"@(?=(?:[\w.-]{1,253}|\[[0-9a-f:.]{2,64}\])(?::\d{1,5})?(?:[/?#\s\"'<>),;\]]|\Z))",
        ("://",),
    ),
    _rule(
        "auth-header",
        _AUTH + r"(?:(?i:bearer|basic|token|digest)[ \t]{1,32})?"
        r"(?!\[REDACTED:|(?i:bearer|basic|token|digest)\b)(?P<secret>" + _TOKEN + r"{4,})",
        ("authorization", "proxy-authorization"),
        anchored=True,
    ),
    _rule(
        "bearer-token",
        r"(?i:\bbearer)[ \t]{1,32}" + _R + r"(?P<secret>" + _TOKEN + r"{8,})",
        ("bearer",),
        anchored=True,
    ),
    _rule(
        "query-secret",  # also presigned URLs: AWS X-Amz-Signature, GCS, Azure SAS sig=
        r"[?&#;](?i:" + _QUERY_KEYS + r")=" + _R + r"(?P<secret>[^&\s\"'<>]{4,})",
        ("key", "token", "pass", "secret", "sig", "auth", "jwt", "sid", "sess", "x-amz-cred"),
    ),
    _rule(
        "basic-auth",  # docker config.json `auths`, .npmrc `_auth`: base64 user:password
        r"(?i:\"(?:auth|identitytoken)\")[ \t]{0,8}:[ \t]{0,8}\""
        + _R
        + r"(?P<secret>[A-Za-z0-9+/=_.-]{4,4096})\""
        r"|(?<![\w-])_auth[ \t]{0,8}=[ \t]{0,8}" + _R + r"(?P<secret2>[A-Za-z0-9+/=]{4,4096})",
        ('"auth"', '"identitytoken"', "_auth"),
        anchored=True,
    ),
    _rule(
        "basic-auth",  # any base64 word that decodes to user:password
        r"(?<![A-Za-z0-9+/=_-])(?:[A-Za-z0-9+/]{4}){2,256}"
        r"(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?(?![A-Za-z0-9+/=_-])",
        check=user_colon_password,
    ),
    _rule(
        "cli-password",
        _CLI,
        (
            "redis-cli",
            "valkey-cli",
            "keydb-cli",
            "mysql",
            "mariadb",
            "mongo",
            "sshpass",
            "ldap",
            "mosquitto_",
            "docker",
            "podman",
            "nerdctl",
            "helm",
            "curl",
        ),
        anchored=True,
    ),
    _rule(
        "cli-password",  # --password pw, --db-password=pw, -storepass pw, --api-key=…
        _OPTION_NAME
        + r"(?:="
        + _R
        + r"(?P<secret>"
        + _ARG
        + r")|[ \t]{1,16}(?!-)"
        + _R
        + r"(?P<secret2>"
        + _ARG
        + r"))",
        ("pass", "pwd", "secret", "token", "auth", "credential", "key"),
    ),
    _rule(
        "kv-secret",  # environment assignments: POSTGRES_PASSWORD=x, -e API_KEY=x (any length)
        _ENV_NAME + r"=" + _R + r"(?!\\(?:\s|\Z))(?P<secret>" + _ARG + r")",
        ("pass", "_pw", "secret", "token", "_key", "_auth", "credential", "_psk", "apikey"),
    ),
    _rule(
        "kv-secret",
        _KEY_NAME + r"(?:"
        # YAML: the value on the (indented) line after `password:` or `token: |`
        r"[\"']?[ \t]{0,8}:[ \t]{0,8}(?:[|>][+-]?[1-9]?[ \t]{0,8})?\r?\n(?:[ \t]{0,64}\r?\n)?"
        r"[ \t]{1,64}" + _R + r"(?!-[ \t]|#)(?![^\n]{0,1024}?:(?:[ \t]|\r?\n|\Z))"
        r"(?P<secret>\S[^\r\n]{0,1023})"
        # shell/dotenv: `KEY=\` continued or `KEY="` opened, the value on the next line
        r"|[ \t]{0,8}=(?:[\"']|\\)[ \t]{0,8}\r?\n[ \t]{0,64}"
        + _R
        + r"(?P<secret2>\S[^\r\n]{0,1023})"
        # a quoted value may contain spaces and ends at the matching quote
        r"|"
        + _KV_SEP
        + r"(?P<q>[\"'])"
        + _R
        + r"(?P<secret3>(?:\\.|(?!(?P=q))[^\\\r\n]){1,1024})(?P=q)"
        # a bare value (maybe after an HTML-escaped quote); `token: Bearer abc…` keeps the scheme
        r"|" + _KV_SEP + r"(?:[\"']|&quot;|&#x?27;|&#39;)?(?:(?i:bearer|basic|token)[ \t]{1,8})?"
        r"(?!\[REDACTED:|(?i:bearer|basic|token)\b)(?P<secret4>[^\s\"',;<>]{6,}))",
        _KEY_STARTS,
        anchored=True,
    ),
)
