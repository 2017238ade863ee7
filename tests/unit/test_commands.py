"""Specification of bot.commands: commands declared by signature, bound from chat tokens."""

from __future__ import annotations

import re

import pytest

import commands
from bot.core import Role, UsageError
from bot.framework.arguments import Duration, Regex, Service
from bot.framework.command import Command, Context, Registry, command
from bot.text.reply import Reply


@command(role=Role.VIEWER, example="!logs web 100 --since 10m --grep error")
async def logs(
    ctx: Context,
    service: Service,
    lines: int = 50,
    *,
    since: Duration | None = None,
    grep: Regex | None = None,
) -> Reply:
    """Show a service's log.

    More words that only `!help logs` shows.
    """
    return Reply.text("")


@command(role=Role.ADMIN, name="restart")
async def restart_(ctx: Context, service: Service) -> str:
    """Restart a service."""
    return ""


@command(role=Role.VIEWER)
async def undocumented(ctx: Context) -> str:
    return ""


def usage_error(cmd: Command, *tokens: str) -> str:
    with pytest.raises(UsageError) as info:
        cmd.bind(list(tokens))
    return str(info.value)


class TestDeclaration:
    def test_parameters_come_from_the_signature(self) -> None:
        assert [(p.name, p.kind, p.required, p.flag) for p in logs.params] == [
            ("service", Service, True, False),
            ("lines", int, False, False),
            ("since", Duration, False, True),
            ("grep", Regex, False, True),
        ]

    def test_help_comes_from_the_docstring(self) -> None:
        assert logs.summary == "Show a service's log."
        assert logs.help.endswith("More words that only `!help logs` shows.")
        assert logs.example == "!logs web 100 --since 10m --grep error"
        assert logs.role is Role.VIEWER

    def test_no_docstring_means_empty_help(self) -> None:
        assert (undocumented.summary, undocumented.help, undocumented.params) == ("", "", ())

    def test_name_is_the_function_name_or_given(self) -> None:
        assert logs.name == "logs"
        assert restart_.name == "restart"

    def test_trailing_underscore_is_dropped_from_the_name(self) -> None:
        @command(role=Role.VIEWER)
        async def help_(ctx: Context) -> str:
            return ""

        assert help_.name == "help"

    def test_unsupported_argument_type_is_refused_at_declaration(self) -> None:
        with pytest.raises(TypeError, match="unsupported argument type"):

            @command(role=Role.VIEWER)
            async def bad(ctx: Context, ratio: float) -> str:
                return ""

    def test_usage_line(self) -> None:
        assert logs.usage("!") == "!logs <service> [lines] [--since DURATION] [--grep REGEX]"
        assert restart_.usage("?") == "?restart <service>"

    def test_roles_are_ordered_and_print_lowercase(self) -> None:
        assert Role.VIEWER < Role.OPERATOR < Role.ADMIN
        assert str(Role.OPERATOR) == "operator"


class TestBinding:
    def test_positional_only_required(self) -> None:
        assert logs.bind(["web"]) == {"service": "web"}

    def test_positional_and_optional(self) -> None:
        assert logs.bind(["web", "100"]) == {"service": "web", "lines": 100}

    def test_flag_with_separate_value(self) -> None:
        assert logs.bind(["web", "--since", "10m"]) == {"service": "web", "since": 600.0}

    def test_flag_with_equals(self) -> None:
        bound = logs.bind(["web", "--grep=error|fatal"])
        assert isinstance(bound["grep"], Regex)
        assert bound["grep"].pattern.pattern == "error|fatal"

    def test_flags_may_come_first(self) -> None:
        assert logs.bind(["--since", "4h", "web", "7"]) == {
            "service": "web",
            "lines": 7,
            "since": 14_400.0,
        }

    def test_values_have_their_declared_types(self) -> None:
        bound = logs.bind(["web", "5", "--since", "30s"])
        assert type(bound["service"]) is Service
        assert type(bound["lines"]) is int
        assert type(bound["since"]) is Duration

    def test_grep_is_case_insensitive(self) -> None:
        assert logs.bind(["web", "--grep", "error"])["grep"].pattern.search("ERROR: disk full")

    def test_unknown_option_lists_the_known_ones(self) -> None:
        message = usage_error(logs, "web", "--follow")
        assert message == "unknown option `--follow` (options: --since, --grep)"

    def test_unknown_option_on_a_command_without_options(self) -> None:
        assert usage_error(restart_, "web", "--force") == "unknown option `--force` (options: none)"

    def test_option_without_its_value(self) -> None:
        assert usage_error(logs, "web", "--since") == "`--since` needs a value"

    def test_too_many_arguments(self) -> None:
        assert usage_error(logs, "web", "10", "extra") == "too many arguments: `extra`"

    def test_missing_required(self) -> None:
        assert usage_error(logs) == "missing <service>"

    def test_bad_whole_number(self) -> None:
        assert usage_error(logs, "web", "ten") == "[lines]: `ten` is not a whole number"

    @pytest.mark.parametrize("number", ["1e3", "1.5", "9999999999", "--"])
    def test_numbers_are_small_plain_integers(self, number: str) -> None:
        assert "is not a whole number" in usage_error(logs, "web", number)

    @pytest.mark.parametrize("name", ["../etc", "-rf", ".hidden", "web;id", "a" * 129, ""])
    def test_bad_service_name(self, name: str) -> None:
        assert usage_error(logs, name).startswith("<service>: service names use letters")

    @pytest.mark.parametrize("name", ["web", "seafile-mc", "db_1", "datamancy-web-1", "a.b"])
    def test_good_service_names(self, name: str) -> None:
        assert logs.bind([name]) == {"service": name}

    def test_bad_duration(self) -> None:
        message = usage_error(logs, "web", "--since", "soon")
        assert message.startswith("[--since DURATION]: expected a duration like 30s")

    def test_invalid_regex(self) -> None:
        message = usage_error(logs, "web", "--grep", "(unclosed")
        assert message.startswith("[--grep REGEX]: not a valid regular expression")

    def test_too_long_regex(self) -> None:
        message = usage_error(logs, "web", "--grep", "a" * 201)
        assert message == "[--grep REGEX]: the pattern is longer than 200 characters"

    def test_long_junk_is_not_echoed_whole(self) -> None:
        junk = "x" * 500
        assert junk[:41] not in usage_error(logs, "web", "1", junk)
        assert junk[:31] not in usage_error(logs, "web", f"--{junk}")


class TestRegistry:
    registry = Registry([logs, restart_, undocumented])

    def test_lookup_is_case_insensitive(self) -> None:
        assert self.registry.get("LOGS") is logs
        assert self.registry.get("Restart") is restart_

    def test_unknown_name(self) -> None:
        assert self.registry.get("deploy") is None

    def test_iterates_in_registration_order(self) -> None:
        assert [c.name for c in self.registry] == ["logs", "restart", "undocumented"]

    def test_suggests_the_closest_name(self) -> None:
        assert self.registry.suggest("lgos") == "logs"
        assert self.registry.suggest("RESTRAT") == "restart"

    def test_suggests_nothing_for_gibberish(self) -> None:
        assert self.registry.suggest("xyzzy") is None

    def test_duplicate_name_is_an_error(self) -> None:
        with pytest.raises(ValueError, match="'logs' registered twice"):
            Registry([logs, restart_, logs])

    def test_a_command_declared_with_capitals_is_found_in_any_case(self) -> None:
        @command(role=Role.VIEWER, name="Deploy")
        async def deploy(ctx: Context) -> str:
            return ""

        registry = Registry([deploy])
        assert registry.get("deploy") is deploy
        assert registry.get("DEPLOY") is deploy

    def test_names_differing_only_in_case_clash(self) -> None:
        @command(role=Role.VIEWER, name="Logs")
        async def shouting(ctx: Context) -> str:
            return ""

        with pytest.raises(ValueError, match="registered twice"):
            Registry([logs, shouting])


class TestTheRealCommands:
    def test_build_a_registry(self) -> None:
        registry = Registry(commands.ALL)
        assert {c.name for c in registry} >= {"help", "status", "logs", "audit"}

    @pytest.mark.parametrize("cmd", commands.ALL, ids=lambda c: c.name)
    def test_have_a_summary_and_an_example_that_binds(self, cmd: Command) -> None:
        assert cmd.summary
        assert cmd.example.startswith(f"!{cmd.name}")
        # the example is itself valid usage
        cmd.bind(cmd.example.split()[1:])

    @pytest.mark.parametrize("cmd", commands.ALL, ids=lambda c: c.name)
    def test_names_are_valid_command_names(self, cmd: Command) -> None:
        assert re.fullmatch(r"[a-z][a-z0-9_-]{0,31}", cmd.name)

    def test_audit_is_for_admins_only(self) -> None:
        assert Registry(commands.ALL).get("audit").role is Role.ADMIN  # type: ignore[union-attr]
