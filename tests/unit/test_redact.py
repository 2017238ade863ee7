"""Tests for bot.redact: secret redaction and ANSI stripping."""

from __future__ import annotations

import pytest

from bot.text.redact import REDACTIONS, Redactor, strip_ansi

# Built by concatenation so secret scanners do not flag this file; none of these are real.
SYT = "syt_b3BzYm90_AbCdEfGhIjKlMnOpQrSt_1a2B3c"
JWT = "eyJhbGciOiJIUzI1NiJ9" + "." + "eyJzdWIiOiJvcHNib3QifQ" + "." + "c2lnbmF0dXJlc2lnbmF0dXJl"
ARGON2 = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"
BCRYPT = "$2b$12$" + "R9h/cIPz0gi.URNNX3kh2O" + "PST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"
SHA512_CRYPT = "$6$rounds=5000$saltsalt$" + "Zx9" * 28 + "Q0"
GHP = "ghp_" + "x1Y2" * 9
GITHUB_PAT = "github_pat_" + "11ABCDEFG0" * 2 + "ab_" + "Zq9" * 19 + "Zq"
GLPAT = "glpat-" + "Ab3_Cd4-Ef5Gh6Ij7Kl8"
SLACK = "xoxb-" + "123456789012-1234567890123-" + "AbCdEfGhIjKlMnOpQrStUvWx"
AWS = "AKIA" + "IOSFODNN7EXAMPLE"
PEM_BODY = ["MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7", "q3VzZWNyZXRrZXlib2R5bGluZTI="]
PEM = "-----BEGIN PRIVATE KEY-----\n" + "\n".join(PEM_BODY) + "\n-----END PRIVATE KEY-----"

# (id, realistic line, fragments that must vanish, kind of marker expected)
POSITIVE: list[tuple[str, str, list[str], str]] = [
    (
        "postgres-url",
        "could not connect: postgresql://synapse:S3cr3tPa55@db:5432/synapse",
        ["S3cr3tPa55"],
        "url-credentials",
    ),
    (
        "redis-url-no-user",
        "REDIS_URL=redis://:r3d1sPa55w0rd@redis:6379/0",
        ["r3d1sPa55w0rd"],
        "url-credentials",
    ),
    (
        "url-password-with-at",
        "dsn=postgres://app:p@ss@w0rd@db/app",
        ["p@ss", "ss@w0rd"],
        "url-credentials",
    ),
    (
        "query-access-token",
        f"GET /_matrix/client/v3/sync?access_token={SYT}&timeout=30000 HTTP/1.1",
        [SYT, "AbCdEfGhIjKlMnOpQrSt"],
        "matrix-token",
    ),
    (
        "query-api-key",
        "GET /api/v1/status?api_key=0f9e8d7c6b5a4321&format=json 200",
        ["0f9e8d7c6b5a4321"],
        "query-secret",
    ),
    (
        "html-escaped-query",
        '<a href="/x?a=1&amp;token=abcd1234efgh">x</a>',
        ["abcd1234efgh"],
        "query-secret",
    ),
    (
        "auth-bearer-matrix",
        f"Authorization: Bearer {SYT}",
        [SYT, "b3BzYm90", "AbCdEfGhIjKlMnOpQrSt", "1a2B3c"],
        "matrix-token",
    ),
    (
        "auth-bearer-json",
        '{"headers": {"Authorization": "Bearer opaqueTok3n.value-123"}}',
        ["opaqueTok3n.value-123"],
        "auth-header",
    ),
    (
        "auth-basic",
        "proxy-authorization: Basic dXNlcjpwYXNzd29yZA==",
        ["dXNlcjpwYXNzd29yZA=="],
        "auth-header",
    ),
    (
        "bare-bearer",
        "upstream replied 401 to Bearer 0123456789abcdefXYZ",
        ["0123456789abcdefXYZ"],
        "bearer-token",
    ),
    (
        "env-jwt-secret",
        "AUTHELIA_JWT_SECRET=a_very_important_secret_value_123",
        ["a_very_important_secret_value_123"],
        "kv-secret",
    ),
    ("yaml-password-quoted", 'password: "hunter2hunter2"', ["hunter2hunter2"], "kv-secret"),
    ("yaml-password-bare", "  smtp_password: hunter2hunter2", ["hunter2hunter2"], "kv-secret"),
    (
        "quoted-passphrase",
        "passphrase = 'correct horse battery staple'",
        ["correct horse", "staple"],
        "kv-secret",
    ),
    ("json-password", '{"user": "bob", "password": "s3cr3t!"}', ["s3cr3t!"], "kv-secret"),
    ("api-key-header", "X-Api-Key: 9f8e7d6c5b4a", ["9f8e7d6c5b4a"], "kv-secret"),
    ("db-pass-env", "DB_PASS=Tr0ub4dor&3", ["Tr0ub4dor", "&3"], "kv-secret"),
    ("pem-block", f"loaded key:\n{PEM}\nserver started", PEM_BODY, "private-key"),
    ("pem-json-escaped", '{"key": "' + PEM.replace("\n", "\\n") + '"}', PEM_BODY, "private-key"),
    ("jwt", f"session cookie value {JWT} expired", [JWT, "c2lnbmF0dXJlc2lnbmF0dXJl"], "jwt"),
    (
        "argon2id-client-secret",
        f"client_secret: '{ARGON2}'",
        ["argon2id", "65536", "c2FsdHNhbHQ", "aGFzaGhhc2hoYXNo"],
        "argon2-hash",
    ),
    (
        "argon2i-bare",
        "stored " + ARGON2.replace("argon2id", "argon2i"),
        ["aGFzaGhhc2hoYXNo"],
        "argon2-hash",
    ),
    ("bcrypt", f"users.yml: bob {BCRYPT}", [BCRYPT, "PST9/PgBkqquzi"], "bcrypt-hash"),
    ("sha512-crypt", f"hash {SHA512_CRYPT} ok", ["saltsalt", "Zx9Zx9"], "crypt-hash"),
    ("github-classic", f"git clone https://{GHP}@github.com/o/r.git", [GHP], "github-token"),
    ("github-fine-grained", f"GH_PAT {GITHUB_PAT} set", [GITHUB_PAT], "github-token"),
    ("gitlab", f"using {GLPAT} for registry", [GLPAT], "gitlab-pat"),
    ("slack", f"posting with {SLACK}", [SLACK], "slack-token"),
    ("aws", f"aws key {AWS} in use", [AWS], "aws-akid"),
    ("matrix-token-bare", f"logged in, token {SYT} stored", [SYT], "matrix-token"),
]

NEGATIVE = [
    "GET /health 200 OK 0.003s",
    'level=info msg="Startup complete"',
    "Listening on [::]:9091",
    "2024-05-01T12:00:00Z INFO [main] Connected to postgres://db:5432/synapse",
    "Container opsbot-synapse-1  Started",
    "@opsbot:example.org joined !room:example.org",
    "mail sent to admin@example.org via smtp.example.org:587",
    "GET /_matrix/client/v3/sync?since=s123_456&timeout=30000 HTTP/1.1 200",
    "max_tokens=4096, tests passed: 42",
    "uses the m.login.password flow",
    "http://[::1]:8080/metrics scraped in 12ms",
    "",
]


@pytest.mark.parametrize(
    ("line", "secrets", "kind"), [c[1:] for c in POSITIVE], ids=[c[0] for c in POSITIVE]
)
def test_secret_is_redacted(line: str, secrets: list[str], kind: str) -> None:
    out = Redactor()(line)
    for secret in secrets:
        assert secret not in out
    assert "[REDACTED:" in out
    assert f"[REDACTED:{kind}]" in out


@pytest.mark.parametrize("line", NEGATIVE)
def test_ordinary_lines_pass_unchanged(line: str) -> None:
    assert Redactor()(line) == line


@pytest.mark.parametrize("line", [c[1] for c in POSITIVE] + NEGATIVE)
def test_idempotent(line: str) -> None:
    redact = Redactor(literals=["hunter2hunter2", "REDACTED", "secret"])
    once = redact(line)
    assert redact(once) == once


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("password=hunter2hunter2", "password=[REDACTED:kv-secret]"),
        (
            "postgresql://synapse:S3cr3tPa55@db:5432/synapse",
            "postgresql://synapse:[REDACTED:url-credentials]@db:5432/synapse",
        ),
        (f"Authorization: Bearer {SYT}", "Authorization: Bearer [REDACTED:matrix-token]"),
        (f"client_secret: '{ARGON2}'", "client_secret: '[REDACTED:argon2-hash]'"),
        ("?access_token=abcdefgh&timeout=3", "?access_token=[REDACTED:query-secret]&timeout=3"),
        (f"before\n{PEM}\nafter", "before\n[REDACTED:private-key]\nafter"),
    ],
)
def test_key_names_and_context_stay_visible(line: str, expected: str) -> None:
    assert Redactor()(line) == expected


def test_literals_longest_first_and_short_ones_ignored() -> None:
    redact = Redactor(literals=["opsbot-pass", "opsbot-pass-extended", "", "abc"])
    out = redact("login opsbot-pass-extended then opsbot-pass, abc stays")
    assert out == "login [REDACTED:literal] then [REDACTED:literal], abc stays"


def test_literal_with_regex_metacharacters() -> None:
    assert (
        Redactor(literals=["p.ss(w)rd*+?"])("pw is p.ss(w)rd*+? ok")
        == "pw is [REDACTED:literal] ok"
    )


def test_literal_cannot_eat_into_markers() -> None:
    redact = Redactor(literals=["REDACTED", "kv-secret"])
    assert redact("password=hunter2hunter2") == "password=[REDACTED:kv-secret]"


@pytest.mark.parametrize(
    "line",
    [f"https://{GHP}@github.com/o/r.git", "https://xopsbot-pass@host", "s://opsbot-pass:x@h"],
)
def test_markers_inside_urls_are_stable(line: str) -> None:
    redact = Redactor(literals=["opsbot-pass"])
    once = redact(line)
    assert "opsbot-pass" not in once
    assert redact(once) == once
    assert "[[" not in once


def test_truncated_private_key_is_redacted_up_to_blank_line() -> None:
    text = "key:\n-----BEGIN RSA PRIVATE KEY-----\n" + PEM_BODY[0] + "\n\nnext log line"
    assert Redactor()(text) == "key:\n[REDACTED:private-key]\n\nnext log line"


def test_truncated_private_key_without_blank_line_runs_to_end() -> None:
    text = "-----BEGIN OPENSSH PRIVATE KEY-----\n" + "\n".join(PEM_BODY) + "\napp-1 | more"
    assert Redactor()(text) == "[REDACTED:private-key]"


def test_encrypted_legacy_key_headers_do_not_end_truncated_block() -> None:
    text = (
        "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
        "DEK-Info: AES-128-CBC,0011\n\n" + PEM_BODY[0] + "\n\nafter"
    )
    out = Redactor()(text)
    assert PEM_BODY[0] not in out
    assert out.endswith("\n\nafter")


def test_every_kind_is_named() -> None:
    assert all(kind and pattern.pattern for kind, pattern in REDACTIONS)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("\x1b[31merror\x1b[0m", "error"),
        ("\x1b[2K\x1b[1Gprogress 50%", "progress 50%"),
        ("\x1b[38;5;196mred\x1b[m", "red"),
        ("\x1b]0;window title\x07text", "text"),
        ("\x1b]8;;http://example.org\x1b\\link\x1b]8;;\x1b\\", "link"),
        ("\x1b(Bcharset\x1b=", "charset"),
        ("a\tb\nc\r\n", "a\tb\nc\n"),
        ("\x00bell\x07\x08 back", "bell back"),
        ("lone escape \x1b", "lone escape "),
        ("\x9b1mc1 csi", "c1 csi"),
        ("plain text, héllo ✓ [::]:9091", "plain text, héllo ✓ [::]:9091"),
    ],
)
def test_strip_ansi(raw: str, clean: str) -> None:
    assert strip_ansi(raw) == clean


ADVERSARIAL = {
    "plain": "a" * 1_000_000,
    "pem-no-end": "-----BEGIN PRIVATE KEY-----" + "A" * 1_000_000,
    "many-pem-begins": "-----BEGIN PRIVATE KEY-----\n" * 40_000,
    "kv-repeat": "password=" * 100_000,
    "kv-open-quotes": 'password: "' * 100_000,
    "jwt-prefixes": "ey-" * 333_333,
    "matrix-prefixes": "syt_-" * 200_000,
    "url-prefixes": "http://a:" * 100_000,
    "argon2-prefixes": "$argon2id$v=19$m=1," * 50_000,
    "spaces-after-key": "password" + " " * 1_000_000,
    "auth-headers": "Authorization: Bearer " * 40_000,
    "dots": "a." * 500_000,
    "csi-unterminated": "\x1b[" + "0" * 1_000_000,
}


@pytest.mark.parametrize("text", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_adversarial_inputs_finish(text: str) -> None:
    assert isinstance(Redactor(literals=["opsbot-pass"])(text), str)
    assert isinstance(strip_ansi(text), str)


def test_truncated_key_at_end_of_huge_text_is_gone() -> None:
    out = Redactor()("-----BEGIN PRIVATE KEY-----" + "A" * 1_000_000)
    assert out == "[REDACTED:private-key]"
