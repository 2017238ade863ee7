"""Specification of bot.access: who holds which role, by exact id or glob."""

from __future__ import annotations

import pytest

from bot.access import matches, role_of
from bot.config import AccessConfig
from bot.core import Role

ACCESS = AccessConfig(
    admins=("@alice:example.org",),
    operators=("@ops-*:example.org", "@bob:example.org"),
    viewers=("@*:example.org", "@carol:partner.net"),
)


@pytest.mark.parametrize(
    ("user", "role"),
    [
        ("@alice:example.org", Role.ADMIN),
        ("@bob:example.org", Role.OPERATOR),
        ("@ops-night:example.org", Role.OPERATOR),
        ("@dave:example.org", Role.VIEWER),
        ("@carol:partner.net", Role.VIEWER),
        ("@mallory:evil.org", None),
        ("@alice:partner.net", None),
    ],
)
def test_role_of(user: str, role: Role | None) -> None:
    assert role_of(user, ACCESS) == role


def test_highest_role_wins_whatever_the_list_order() -> None:
    """alice also matches the viewers glob; she is still an admin."""
    everyone_viewer = AccessConfig(
        admins=("@alice:example.org",),
        viewers=("@*:example.org", "@alice:example.org"),
    )
    assert role_of("@alice:example.org", everyone_viewer) is Role.ADMIN


def test_nobody_listed_means_nobody_has_a_role() -> None:
    assert role_of("@alice:example.org", AccessConfig()) is None


def test_exact_ids_are_case_sensitive() -> None:
    assert not matches("@Alice:example.org", "@alice:example.org")


class TestServerGlobs:
    @pytest.mark.parametrize(
        "user",
        [
            "@x:evil.org:example.org",  # another server's user whose id ends in the domain
            "@x:example.org.evil",  # a look-alike domain
            "@x:sub.example.org",  # a subdomain is another server
            "@x:example.org:8448",  # so is another port
            "@x:evil.org",
        ],
    )
    def test_domain_glob_does_not_match_other_servers(self, user: str) -> None:
        assert not matches(user, "@*:example.org")

    def test_domain_glob_matches_its_own_users(self) -> None:
        assert matches("@anyone:example.org", "@*:example.org")

    def test_localpart_glob_does_not_reach_into_the_server(self) -> None:
        assert not matches("@alice:evil.org", "@alice*:example.org")
        assert matches("@alice2:example.org", "@alice*:example.org")

    def test_server_with_port(self) -> None:
        assert matches("@x:example.org:8448", "@*:example.org:8448")

    def test_subdomain_glob(self) -> None:
        assert matches("@x:chat.example.org", "@*:*.example.org")
        assert not matches("@x:example.org", "@*:*.example.org")
