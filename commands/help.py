"""!help: what the bot can do for you, generated from the command definitions."""

from __future__ import annotations

from bot.core import Role
from bot.framework.command import Context, command
from bot.text.reply import Reply, code, esc


@command(role=Role.VIEWER, name="help", example="!help logs")
async def help_(ctx: Context, topic: str | None = None) -> Reply:
    """List the commands you may use, or show how to use one."""
    prefix = ctx.config.matrix.prefix
    if topic is None:
        mine = [c for c in ctx.registry if c.role <= ctx.role]
        lines = [f"{c.usage(prefix)} — {c.summary}" for c in mine]
        body = f"Commands you can use (`{prefix}help <command>` for details):\n"
        html = esc(body.replace("`", "")).replace("\n", "<br>") + "<ul>"
        html += "".join(f"<li>{code(c.usage(prefix))} — {esc(c.summary)}</li>" for c in mine)
        return Reply(body=body + "\n".join(lines), html=html + "</ul>")
    name = topic.removeprefix(prefix).lower()
    cmd = ctx.registry.get(name)
    if cmd is None:
        guess = ctx.registry.suggest(name)
        hint = f" — did you mean `{prefix}help {guess}`?" if guess else ""
        return Reply.text(f"no command `{prefix}{name[:32]}`{hint}")
    details = cmd.help.split("\n", 1)[1].strip() if "\n" in cmd.help else ""
    parts = [f"`{cmd.usage(prefix)}`", cmd.summary]
    if details:
        parts.append(details)
    parts.append(
        f"Needs the {cmd.role} role"
        + (f"; you are {ctx.role.article()}." if ctx.role < cmd.role else ".")
    )
    if cmd.example:
        parts.append(f"Example: `{cmd.example}`")
    return Reply.text("\n".join(parts))
