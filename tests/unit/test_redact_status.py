"""`!status <svc>` shows the health check with the passwords compose put in it redacted."""

from __future__ import annotations

from typing import Any

import pytest

from bot.containers.inventory import SERVICE_LABEL, from_inspect
from bot.text.redact import Redactor
from commands.status import describe_detail


def inspected(test: list[str]) -> dict[str, Any]:
    """A running, healthy container as `docker inspect` describes it, with this health check."""
    return {
        "Name": "/stack-cache-1",
        "State": {"Status": "running", "Health": {"Status": "healthy", "Log": []}},
        "Config": {
            "Image": "redis:7",
            "Labels": {SERVICE_LABEL: "cache"},
            "Healthcheck": {"Test": test},
        },
        "HostConfig": {"RestartPolicy": {"Name": "always"}},
    }


@pytest.mark.parametrize(
    ("test", "password", "shown"),
    [
        (["CMD", "redis-cli", "-a", "Zr8dKq2pLw9x", "ping"], "Zr8dKq2pLw9x", "redis-cli -a ["),
        (["CMD-SHELL", "redis-cli -a 'r3dis pa55' ping"], "pa55", "redis-cli -a ["),
        (["CMD-SHELL", "mysqladmin ping -uroot -pM7s3cr3t"], "M7s3cr3t", "ping -uroot -p["),
        (["CMD", "curl", "-fsu", "ops:0ps-pw", "http://localhost/"], "0ps-pw", "-fsu"),
        (["CMD", "curl", "-u", "ops:0ps-pw", "http://localhost/"], "0ps-pw", "-u ops:["),
        (["CMD", "app", "probe", "--db-password", "pw-42"], "pw-42", "--db-password ["),
        (["CMD-SHELL", "PGPASSWORD=pgpw1 pg_isready -h db"], "pgpw1", "pg_isready -h db"),
    ],
)
def test_health_check_passwords_are_never_shown(test: list[str], password: str, shown: str) -> None:
    text = "\n".join(describe_detail(from_inspect(inspected(test)), Redactor()))
    assert password not in text
    assert shown in text and "[REDACTED:" in text
