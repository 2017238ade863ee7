"""!rebuild: templates → build → deploy for one service, verified, rolled back if it breaks."""

from __future__ import annotations

import shlex
import time
from collections.abc import Awaitable, Callable

from bot.containers.compose_cli import NO_COMPOSE, rollback_command
from bot.containers.inventory import PROJECT_LABEL, ContainerDetail
from bot.containers.settle import Settled, wait_settled
from bot.containers.steps import StepResult, run_steps, substitute
from bot.core import CommandError, Role, UsageError
from bot.framework.arguments import Service
from bot.framework.command import Context, command
from bot.framework.plan import Plan
from bot.text.redact_argv import redact_argv


async def run(ctx: Context, plan: Plan) -> str:
    """Run the planned steps, wait until the service settles, roll back if it does not."""
    rb, name = ctx.config.rebuild, plan.service
    steps = _steps(ctx, name, str(plan.data.get("project", "")))
    if not steps or rb.workdir is None:
        raise CommandError("rebuild is no longer configured: nothing was run")
    container, _ = await ctx.containers.resolve(name)
    before = await ctx.containers.inspect(container)
    started = time.monotonic()
    results = await run_steps(steps, rb.workdir, rb.timeout, _progress(ctx), redact=ctx.redact)
    ctx.details.extend(_transcript(results))
    failed = next((r for r in results if not r.ok), None)
    if failed is not None:
        number = results.index(failed) + 1
        why = failed.error or f"exit {failed.exit_code}"
        raise CommandError(
            f"step {number} `{shlex.join(redact_argv(failed.argv))}` failed ({why}); "
            "nothing after it ran.\n"
            f"Last lines:\n{failed.tail()}"
        )
    await ctx.progress("deployed; waiting for it to become healthy")
    settled = await wait_settled(ctx.containers, name, ctx.config.health_wait, fail_fast=True)
    if settled.ok:
        return f"`{name}` rebuilt and {settled.state} in {time.monotonic() - started:.0f} s"
    problem = _problem(name, settled)
    if plan.data.get("no_rollback"):
        raise CommandError(f"{problem}. Left as it is (--no-rollback).")
    raise CommandError(await _roll_back(ctx, plan, before, problem))


async def _roll_back(ctx: Context, plan: Plan, before: ContainerDetail, problem: str) -> str:
    """Tag the previous image back and recreate the service from it; what happened, in words."""
    rb = ctx.config.rebuild
    if not before.image_id or not before.image or rb.workdir is None:
        return f"{problem}. I cannot roll back: the old image is unknown."
    rollback = await rollback_command(rb)
    if rollback is None:
        return f"{problem}. I cannot roll back: {NO_COMPOSE}."
    await ctx.progress(f"{problem}; rolling back to {before.image_id[7:19]}")
    await ctx.containers.tag(before.image_id, before.image)
    values = {"service": plan.service, "project": str(plan.data.get("project", ""))}
    back = await run_steps(
        [substitute(rollback, values)], rb.workdir, rb.timeout, _progress(ctx), redact=ctx.redact
    )
    ctx.details.extend(_transcript(back))
    if not back[0].ok:
        return f"{problem}. Rolling back failed too: {back[0].error or back[0].tail()}"
    again = await wait_settled(ctx.containers, plan.service, ctx.config.health_wait,
                               fail_fast=True)  # fmt: skip
    return (
        f"{problem}. Rolled back: the previous image ({before.image_id[7:19]}) runs again — "
        f"{again.state}."
    )


@command(role=Role.ADMIN, run=run, example="!rebuild seafile")
async def rebuild(ctx: Context, service: Service, *, no_rollback: bool = False) -> Plan:
    """Rebuild and redeploy a service through the configured pipeline, then verify it.

    Runs `rebuild.steps` in `rebuild.workdir` (e.g. render templates, then compose up with
    --build), showing progress on the approval card. If the new container is not healthy in
    time (unhealthy, exits, or crash-loops), the previous image is put back and the service
    recreated from it, unless `--no-rollback`. Another admin approves first.
    """
    rb = ctx.config.rebuild
    if not rb.steps or rb.workdir is None:
        raise UsageError("rebuild is not configured: set rebuild.workdir and rebuild.steps")
    container, _ = await ctx.containers.resolve(service)
    name = container.service
    project = container.labels.get(PROJECT_LABEL) or ctx.config.docker.project or ""
    steps = _steps(ctx, name, project)
    return Plan(
        summary=f"rebuild `{name}` in {rb.workdir}: "
        + " → ".join(f"`{shlex.join(redact_argv(step))}`" for step in steps),
        service=name,
        approver_role=Role.ADMIN,
        warning="I will be offline while it is rebuilt." if name in ctx.config.protected else "",
        data={"project": project, "no_rollback": no_rollback},
    )


def _steps(ctx: Context, service: str, project: str) -> list[tuple[str, ...]]:
    """The configured steps for ``service`` (from the config, so no step's secret is stored
    with the request)."""
    values = {"service": service, "project": project}
    return [substitute(step, values) for step in ctx.config.rebuild.steps]


def _problem(name: str, settled: Settled) -> str:
    probe = settled.last_probe()
    text = f"`{name}` was rebuilt but is {settled.state}"
    return text + (f" (last probe: {probe})" if probe else "")


def _progress(ctx: Context) -> Callable[[str], Awaitable[None]]:
    async def show(tail: str) -> None:
        await ctx.progress("output:\n" + tail)

    return show


def _transcript(results: list[StepResult]) -> list[str]:
    out = []
    for r in results:
        out.append(f"$ {shlex.join(redact_argv(r.argv))}  → exit {r.exit_code} {r.error}".rstrip())
        out.extend(r.lines)
    return out
