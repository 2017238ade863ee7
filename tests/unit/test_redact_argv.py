"""Credentials in a command's arguments are redacted argument by argument, tool by tool."""

from __future__ import annotations

import pytest

from bot.text.redact_argv import redact_argv, redact_shell, shown_healthcheck

M = "[REDACTED:cli-password]"

# (argv, what it shows)
REDACTED: list[tuple[list[str], list[str]]] = [
    (["redis-cli", "-a", "Zr8dKq2pLw9x", "ping"], ["redis-cli", "-a", M, "ping"]),
    (["/usr/local/bin/valkey-cli", "-a", "pw1234"], ["/usr/local/bin/valkey-cli", "-a", M]),
    (["mysqladmin", "ping", "-uroot", "-pS3cr3t"], ["mysqladmin", "ping", "-uroot", "-p" + M]),
    (["mariadb-admin", "--password=Mdb-pw", "ping"], ["mariadb-admin", f"--password={M}", "ping"]),
    (["curl", "-u", "admin:Adm1n!", "http://x/"], ["curl", "-u", f"admin:{M}", "http://x/"]),
    (["curl", "-uops:pw99", "x"], ["curl", f"-uops:{M}", "x"]),
    (["curl", "--user=bk:pw99", "x"], ["curl", f"--user=bk:{M}", "x"]),
    (["curl", "--proxy-user", "p:pw99", "x"], ["curl", "--proxy-user", f"p:{M}", "x"]),
    (["http", "-a", "u:pw99", "GET", "x"], ["http", "-a", f"u:{M}", "GET", "x"]),
    (["wget", "--password", "h4ck-me", "http://w/"], ["wget", "--password", M, "http://w/"]),
    (["app", "--x-password=pw99", "--api-key", "k1"], ["app", f"--x-password={M}", "--api-key", M]),
    (["keytool", "-list", "-storepass", "chg1"], ["keytool", "-list", "-storepass", M]),
    (
        ["docker", "run", "-e", "DB_PASSWORD=pw1", "img"],
        ["docker", "run", "-e", f"DB_PASSWORD={M}", "img"],
    ),
    (
        ["docker", "run", "--env=API_TOKEN=t0k", "img"],
        ["docker", "run", f"--env=API_TOKEN={M}", "img"],
    ),
    (["PGPASSWORD=pg-S3cret", "psql", "-h", "db"], [f"PGPASSWORD={M}", "psql", "-h", "db"]),
    (
        ["env", "REDISCLI_AUTH=x1", "redis-cli", "ping"],
        ["env", f"REDISCLI_AUTH={M}", "redis-cli", "ping"],
    ),
    (
        ["mongosh", "-u", "root", "-p", "M0ngo", "--eval", "1"],
        ["mongosh", "-u", "root", "-p", M, "--eval", "1"],
    ),
    (["sshpass", "-pSsh-pw", "ssh", "h"], ["sshpass", "-p" + M, "ssh", "h"]),
    (["ldapwhoami", "-x", "-w", "Ld4p"], ["ldapwhoami", "-x", "-w", M]),
    (["mosquitto_sub", "-P", "Mq-pw", "-t", "x"], ["mosquitto_sub", "-P", M, "-t", "x"]),
    (["docker", "login", "-u", "ci", "-p", "Reg-pw"], ["docker", "login", "-u", "ci", "-p", M]),
    (["timeout", "5", "redis-cli", "-a", "pw12"], ["timeout", "5", "redis-cli", "-a", M]),
    (["java", "-Dssl.keyStorePassword=chg1"], ["java", f"-Dssl.keyStorePassword={M}"]),
    (
        ["curl", "-f", "http://admin:x/y@localhost/health"],
        ["curl", "-f", "http://admin:[REDACTED:url-credentials]@localhost/health"],
    ),
    (
        ["sh", "-c", "redis-cli -a 'r3dis pa55' ping || exit 1"],
        ["sh", "-c", f"redis-cli -a {M} ping || exit 1"],
    ),
]

UNCHANGED = [
    ["pg_isready", "-h", "localhost", "-p", "5432", "-U", "postgres"],
    ["wget", "-q", "-p", "--spider", "http://localhost:8080/"],
    ["docker", "run", "-u", "1000:1000", "-p", "8080:80", "nginx"],
    ["mysqladmin", "ping", "-h", "localhost", "-P3306", "-p"],
    ["curl", "-fsS", "-u", "admin", "http://localhost/"],  # no password: curl asks for one
    ["redis-cli", "--no-auth-warning", "ping"],
    ["docker", "login", "--password-stdin", "-u", "ci", "registry.example.org"],
    ["app", "--token-file", "/run/secrets/token", "--password-file=/run/secrets/pw"],
    ["app", "--password", "--verbose"],  # a flag follows: nothing to hide
    ["healthcheck.sh", "--connect", "--innodb_initialized"],
    ["docker", "run", "-e", "KEYCLOAK_URL=http://kc:8080", "-e", "AUTHELIA_DOMAIN=x.org", "app"],
    ["sh", "-c", "curl -f http://localhost:8080/ || exit 1"],
]


@pytest.mark.parametrize(("argv", "shown"), REDACTED, ids=[" ".join(a) for a, _ in REDACTED])
def test_credential_arguments_are_redacted(argv: list[str], shown: list[str]) -> None:
    assert redact_argv(argv) == shown


@pytest.mark.parametrize("argv", UNCHANGED, ids=[" ".join(a) for a in UNCHANGED])
def test_ordinary_arguments_stay(argv: list[str]) -> None:
    assert redact_argv(argv) == argv


def test_a_shell_line_keeps_its_layout() -> None:
    line = "mysqladmin ping -uroot -p\"Qu0ted pw\" && curl -H 'Authorization: Bearer t0k3n-abc' x"
    assert redact_shell(line) == (
        f"mysqladmin ping -uroot -p{M} && curl -H 'Authorization: Bearer [REDACTED:auth-header]' x"
    )


@pytest.mark.parametrize(
    ("test", "shown"),
    [
        (["CMD", "redis-cli", "-a", "pw1234", "ping"], f"redis-cli -a {M} ping"),
        (["CMD-SHELL", "mysqladmin ping -pS3cr3t || exit 1"], f"mysqladmin ping -p{M} || exit 1"),
        (["NONE"], "NONE"),
        ([], ""),
    ],
)
def test_health_checks_as_shown(test: list[str], shown: str) -> None:
    assert shown_healthcheck(test) == shown


def test_rebuild_transcripts_show_step_arguments_redacted() -> None:
    from bot.containers.steps import StepResult
    from commands.rebuild import _transcript

    step = StepResult(("redis-cli", "-a", "Kq7vXw2mRt9z", "FLUSHALL"), 0)
    [line] = _transcript([step])
    assert "Kq7vXw2mRt9z" not in line and line.startswith("$ redis-cli -a ")
