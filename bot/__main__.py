"""Command line: `opsbot --config PATH` runs the bot; `opsbot check-config PATH` validates."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence

from bot import app
from bot.config import Config, ConfigError, load_config
from bot.config.actions import ENV_HTTP_LISTEN
from bot.matrix import FatalLoginError
from bot.store.audit import describe
from bot.store.audit_key import AuditKeyError, open_store
from bot.text import redact_cli
from bot.text.literals import literal_secrets
from bot.text.redact import JsonLogFormatter, RedactingFormatter, Redactor

log = logging.getLogger("opsbot")


def check_config(path: str) -> int:
    """Print every problem of the config at ``path``; 0 when it is valid."""
    try:
        cfg = load_config(path, os.environ)
    except ConfigError as exc:
        print(f"{path}: {len(exc.problems)} problem(s):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    from bot.containers.compose_cli import host_problems  # noqa: PLC0415 (only check-config needs it)

    missing = asyncio.run(host_problems(cfg.rebuild))  # the programs !rebuild runs
    if missing:
        print(f"{path}: {len(missing)} problem(s) on this host:", file=sys.stderr)
        for problem in missing:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    rooms = ", ".join(cfg.matrix.command_rooms)
    print(f"{path}: OK — {cfg.matrix.user_id} on {cfg.matrix.homeserver}, commands in {rooms}")
    return 0


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def redact_logs(cfg: Config, log_format: str = "text") -> None:
    """From here on every log line goes through the same redactor as every reply."""
    literals = literal_secrets(cfg.secrets(), cfg.redact_literals, cfg.redact_env_files)
    redactor = Redactor(literals)
    formatter: logging.Formatter = (
        JsonLogFormatter(redactor)
        if log_format == "json"
        else RedactingFormatter(redactor, LOG_FORMAT)
    )
    for handler in logging.getLogger().handlers:
        handler.setFormatter(formatter)


async def _serve(path: str, log_format: str) -> int:
    cfg = load_config(path, os.environ)
    redact_logs(cfg, log_format)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await app.run(cfg, stop)
    except FatalLoginError as exc:
        log.error("cannot log in to %s: %s", cfg.matrix.homeserver, exc)
        return 2
    except AuditKeyError as exc:
        log.error("%s", exc)
        return 1
    return 0


def audit_verify(path: str) -> int:
    """`opsbot audit verify --config PATH`: recompute the audit chain offline."""
    cfg = load_config(path, os.environ)

    async def verify() -> int:
        store = await open_store(cfg, os.environ)
        try:
            verdict = await store.audit.verify()
        finally:
            await store.close()
        print(describe(verdict))
        return 0 if verdict.ok else 3

    return asyncio.run(verify())


def healthcheck(listen: str) -> int:
    """GET the bot's /healthz; print its answer; 0 only on 200."""
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        print(f"opsbot healthcheck: no http.listen to ask (got {listen!r})", file=sys.stderr)
        return 1
    host = host.strip("[]")
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    url = f"http://{f'[{host}]' if ':' in host else host}:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=4) as resp:
            print(resp.read().decode(errors="replace").strip())
            return 0
    except urllib.error.HTTPError as exc:
        print(exc.read().decode(errors="replace").strip())
    except OSError as exc:
        print(f"opsbot healthcheck: {url} not answering: {exc}")
    return 1


def _audit_verify_cli(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="opsbot audit verify")
    parser.add_argument("--config", required=True, help="path to config.yaml")
    try:
        return audit_verify(parser.parse_args(args).config)
    except (ConfigError, AuditKeyError) as exc:
        print(f"cannot verify: {exc}", file=sys.stderr)
        return 1


HEALTHCHECK_HELP = (
    "Exit 0 when the running bot reports itself connected to Matrix and Docker (its /healthz), "
    "1 otherwise; for container HEALTHCHECKs."
)
DEMO_HELP = (
    "A throwaway Synapse, a demo stack and the bot, with a scripted conversation; needs Docker "
    "and the demo extra (pip install 'opsbot[demo]')."
)


def _healthcheck_cli(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="opsbot healthcheck", description=HEALTHCHECK_HELP)
    listen = os.environ.get(ENV_HTTP_LISTEN, "")
    parser.add_argument("--listen", default=listen, help="the bot's http.listen")
    return healthcheck(parser.parse_args(args).listen)


def _demo_cli(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="opsbot demo", description=DEMO_HELP)
    parser.add_argument("--exit", action="store_true", help="exit after the script")
    from bot import demo  # noqa: PLC0415 (only the demo needs it)

    return demo.main(keep_running=not parser.parse_args(args).exit)


def _check_config_cli(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="opsbot check-config")
    parser.add_argument("path", help="the YAML config file to validate")
    return check_config(parser.parse_args(args).path)


def _run_cli(args: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="opsbot",
        description="A Matrix chat-ops bot for Docker Compose stacks. "
        "Also: `opsbot demo`, `opsbot check-config PATH`, `opsbot audit verify --config PATH`, "
        "`opsbot redact --config PATH` (stdin to stdout, redacted).",
    )
    parser.add_argument("--config", required=True, help="path to config.yaml")
    parser.add_argument("--log-level", default=os.environ.get("OPSBOT_LOG_LEVEL", "INFO"))
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=os.environ.get("OPSBOT_LOG_FORMAT", "text"),
        help="json: one JSON object per line, for log shippers",
    )
    opts = parser.parse_args(args)
    logging.basicConfig(level=opts.log_level.upper(), format=LOG_FORMAT)
    logging.getLogger("nio").setLevel(logging.WARNING)
    try:
        return asyncio.run(_serve(opts.config, opts.log_format))
    except ConfigError as exc:
        print(f"{opts.config}: invalid configuration:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1


SUBCOMMANDS: dict[str, Callable[[list[str]], int]] = {
    "healthcheck": _healthcheck_cli,
    "demo": _demo_cli,
    "redact": redact_cli.main,
    "check-config": _check_config_cli,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `opsbot` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:2] == ["audit", "verify"]:
        return _audit_verify_cli(args[2:])
    if args and args[0] in SUBCOMMANDS:
        return SUBCOMMANDS[args[0]](args[1:])
    return _run_cli(args)


if __name__ == "__main__":
    sys.exit(main())
