"""`!rebuild`: its plan needs configured steps and shows them substituted, secrets redacted
(`run` takes them from the config); its run runs them in order in the workdir, names the step that
failed, verifies the service through Docker and rolls back to the previous image unless told
not to."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.core import CommandError, Role, UsageError
from bot.framework.arguments import Service
from bot.framework.command import Context
from bot.framework.plan import Plan
from bot.store import Store
from commands.rebuild import rebuild
from tests.unit import fakes
from tests.unit.fakes import FakeDocker, FakeService

OLD_IMAGE = "sha256:" + "ab12cd34ef56" + "0" * 52
STEPS = [
    ["docker", "compose", "-p", "{project}", "build", "{service}"],
    ["./render", "--password=hunter2hunter2", "{service}"],
]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(tmp_path / "opsbot.db")
    yield store
    await store.close()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "work").mkdir()
    return tmp_path / "work"


def docker() -> FakeDocker:
    return FakeDocker(FakeService("web", image="example/web:2", image_id=OLD_IMAGE),
                      FakeService("matrix"))  # fmt: skip


def ctx_of(store: Store, containers: FakeDocker, workdir: Path | None, **rebuild: Any) -> Context:
    section = {"workdir": str(workdir), **rebuild} if workdir else rebuild
    config = fakes.make_config(workdir, protected=["matrix"], rebuild=section)
    return fakes.context(config, store, containers)


async def plan_of(ctx: Context, service: str, *, no_rollback: bool = False) -> Plan:
    result = await rebuild.handler(ctx, Service(service), no_rollback=no_rollback)
    assert isinstance(result, Plan)
    return result


def planned(*, no_rollback: bool = False) -> Plan:
    """A plan as `rebuild` makes it for `web` (the steps come from the config)."""
    data = {"project": "stack", "no_rollback": no_rollback}
    return Plan("rebuild `web`", "web", Role.ADMIN, data=data)


class TestPlan:
    async def test_without_configured_steps_it_refuses(self, store: Store) -> None:
        with pytest.raises(UsageError, match="rebuild is not configured"):
            await plan_of(ctx_of(store, docker(), None), "web")

    async def test_the_summary_shows_the_substituted_steps_with_secrets_redacted(
        self, store: Store, workdir: Path
    ) -> None:
        plan = await plan_of(ctx_of(store, docker(), workdir, steps=STEPS), "stack-web-1")
        assert plan.summary.startswith(f"rebuild `web` in {workdir}: ")
        assert "`docker compose -p stack build web` → `./render " in plan.summary
        assert "[REDACTED:cli-password]" in plan.summary and "hunter2" not in plan.summary
        assert (plan.service, plan.approver_role, plan.warning) == ("web", Role.ADMIN, "")

    async def test_the_plan_keeps_no_step_secret(self, store: Store, workdir: Path) -> None:
        """Run takes the steps from the config; the stored plan holds no password."""
        plan = await plan_of(ctx_of(store, docker(), workdir, steps=STEPS), "web")
        assert plan.data == {"project": "stack", "no_rollback": False}

    async def test_no_rollback_is_part_of_the_plan(self, store: Store, workdir: Path) -> None:
        ctx = ctx_of(store, docker(), workdir, steps=STEPS)
        assert (await plan_of(ctx, "web", no_rollback=True)).data["no_rollback"] is True

    async def test_a_protected_service_warns_that_the_bot_goes_away(
        self, store: Store, workdir: Path
    ) -> None:
        plan = await plan_of(ctx_of(store, docker(), workdir, steps=STEPS), "matrix")
        assert plan.warning == "I will be offline while it is rebuilt."

    async def test_an_unknown_service_is_a_usage_error(self, store: Store, workdir: Path) -> None:
        with pytest.raises(UsageError, match="no service `wbe`"):
            await plan_of(ctx_of(store, docker(), workdir, steps=STEPS), "wbe")


class TestRun:
    async def test_runs_the_steps_in_the_workdir_and_reports_healthy(
        self, store: Store, workdir: Path
    ) -> None:
        containers, said = docker(), []
        ctx = ctx_of(store, containers, workdir, steps=[["touch", "first"], ["touch", "second"]])
        ctx.progress = lambda text: asyncio.sleep(0, said.append(text))
        result = await rebuild.run(ctx, planned())
        assert str(result).startswith("`web` rebuilt and healthy in ")
        assert (workdir / "first").exists() and (workdir / "second").exists()
        assert "$ touch first  → exit 0" in ctx.details and containers.calls == []
        assert said[-1] == "deployed; waiting for it to become healthy"

    async def test_a_failing_step_is_named_and_nothing_after_it_runs(
        self, store: Store, workdir: Path
    ) -> None:
        containers = docker()
        steps = [["true"], ["sh", "-c", "echo boom; exit 3"], ["touch", "never"]]
        ctx = ctx_of(store, containers, workdir, steps=steps)
        with pytest.raises(CommandError) as failed:
            await rebuild.run(ctx, planned())
        assert str(failed.value) == (
            "step 2 `sh -c 'echo boom; exit 3'` failed (exit 3); nothing after it ran.\n"
            "Last lines:\nboom"
        )
        assert not (workdir / "never").exists() and containers.calls == []

    async def test_a_step_that_cannot_start_says_so(self, store: Store, workdir: Path) -> None:
        ctx = ctx_of(store, docker(), workdir, steps=[["./missing"]])
        with pytest.raises(CommandError, match=r"step 1 `\./missing` failed \(could not start"):
            await rebuild.run(ctx, planned())

    async def test_the_failure_report_redacts_the_step(self, store: Store, workdir: Path) -> None:
        ctx = ctx_of(store, docker(), workdir, steps=[["false", "--password=hunter2hunter2"]])
        with pytest.raises(CommandError) as failed:
            await rebuild.run(ctx, planned())
        assert "hunter2" not in str(failed.value) + "\n".join(ctx.details)

    async def test_nothing_runs_once_rebuild_is_no_longer_configured(
        self, store: Store, workdir: Path
    ) -> None:
        ctx = ctx_of(store, docker(), workdir)
        with pytest.raises(CommandError, match="rebuild is no longer configured"):
            await rebuild.run(ctx, planned())

    async def test_unhealthy_after_the_steps_rolls_back_to_the_previous_image(
        self, store: Store, workdir: Path
    ) -> None:
        containers = docker()
        containers["web"].status = "unhealthy"  # what the steps deployed
        containers["web"].then = {"tag": "healthy"}  # the old image, recreated, is fine
        ctx = ctx_of(store, containers, workdir, steps=[["true"]],
                     rollback=["touch", "rolled-back-{service}-{project}"])  # fmt: skip
        with pytest.raises(CommandError) as failed:
            await rebuild.run(ctx, planned())
        assert str(failed.value) == (
            "`web` was rebuilt but is unhealthy. Rolled back: the previous image "
            "(ab12cd34ef56) runs again — healthy."
        )
        assert containers.calls == [("tag", OLD_IMAGE, "example/web:2")]
        assert (workdir / "rolled-back-web-stack").exists()

    async def test_no_rollback_leaves_a_broken_service_as_it_is(
        self, store: Store, workdir: Path
    ) -> None:
        containers = docker()
        containers["web"].status = "exited"
        ctx = ctx_of(
            store, containers, workdir, steps=[["true"]], rollback=["touch", "rolled-back"]
        )
        with pytest.raises(CommandError) as failed:
            await rebuild.run(ctx, planned(no_rollback=True))
        assert str(failed.value) == (
            "`web` was rebuilt but is exited (code 1). Left as it is (--no-rollback)."
        )
        assert containers.calls == [] and not (workdir / "rolled-back").exists()

    async def test_a_failed_rollback_is_reported(self, store: Store, workdir: Path) -> None:
        containers = docker()
        containers["web"].status = "restarting"
        ctx = ctx_of(store, containers, workdir, steps=[["true"]], rollback=["false"])
        with pytest.raises(CommandError, match=r"crash-looping .*Rolling back failed too"):
            await rebuild.run(ctx, planned())

    async def test_without_the_old_image_it_cannot_roll_back(
        self, store: Store, workdir: Path
    ) -> None:
        containers = docker()
        containers["web"].status, containers["web"].image_id = "unhealthy", ""
        ctx = ctx_of(
            store, containers, workdir, steps=[["true"]], rollback=["touch", "rolled-back"]
        )
        with pytest.raises(CommandError, match="I cannot roll back: the old image is unknown"):
            await rebuild.run(ctx, planned())
        assert containers.calls == [] and not (workdir / "rolled-back").exists()
