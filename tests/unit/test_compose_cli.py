"""The Compose CLI comes from the steps or from what is installed (v1 or v2); check-config
finds every program a rebuild needs, or says which is missing, with its key path."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.config.actions import RebuildConfig
from bot.containers.compose_cli import V1, V2, host_problems, installed, rollback_command

V2_DOCKER = (
    '[ "$1 $2" = "compose version" ] && exit 0\necho "unknown command: docker $1" >&2\nexit 1\n'
)
V1_DOCKER = "echo \"unknown shorthand flag: 'p' in -p\" >&2\nexit 125\n"  # no plugin
UP = ("up", "-d", "--no-deps", "--force-recreate", "--no-build", "{service}")


def stub(directory: Path, name: str, body: str = "exit 0\n") -> Path:
    """An executable shell script ``name`` in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


@pytest.mark.parametrize(
    ("programs", "expected"),
    [
        ({"docker": V1_DOCKER, "docker-compose": "exit 0\n"}, V1),  # Debian: compose 1.29 only
        ({"docker": V2_DOCKER}, V2),
        ({"docker": V2_DOCKER, "docker-compose": "exit 0\n"}, V2),
        ({"docker": V1_DOCKER}, None),
        ({}, None),
    ],
    ids=["v1-only", "v2-only", "both", "docker-without-compose", "neither"],
)
async def test_the_installed_compose_is_found(
    tmp_path: Path, programs: dict[str, str], expected: tuple[str, ...] | None
) -> None:
    for name, body in programs.items():
        stub(tmp_path / "bin", name, body)
    (tmp_path / "bin").mkdir(exist_ok=True)
    assert await installed(str(tmp_path / "bin")) == expected


async def test_the_answer_is_cached(tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    stub(tmp_path / "bin", "docker", f"echo x >> {calls}\n" + V2_DOCKER)
    assert await installed(str(tmp_path / "bin")) == V2
    assert await installed(str(tmp_path / "bin")) == V2
    assert calls.read_text() == "x\n"


async def test_detection_does_not_block_the_event_loop(tmp_path: Path) -> None:
    """The probe answers only once a task on this loop has run (gives up after ~5 s)."""
    flag = tmp_path / "flag"
    wait = f"for i in $(seq 100); do [ -f {flag} ] && exit 0; sleep 0.05; done\nexit 1\n"
    stub(tmp_path / "bin", "docker", wait)

    async def raise_flag() -> None:
        await asyncio.sleep(0.1)
        flag.touch()

    helper = asyncio.create_task(raise_flag())
    assert await installed(str(tmp_path / "bin")) == V2
    await helper


async def test_the_default_rollback_uses_compose_as_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stub(tmp_path / "bin", "docker", V1_DOCKER)
    stub(tmp_path / "bin", "docker-compose")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    rb = RebuildConfig(workdir=tmp_path, steps=(("./build.sh",),))
    assert await rollback_command(rb) == ("docker-compose", "-p", "{project}", *UP)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert await rollback_command(rb) is None


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ([["docker", "compose", "-p", "{project}", "up", "-d", "--build", "{service}"]],
         ("docker", "compose", "-p", "{project}", *UP)),
        ([["sh", "render.sh"], ["/usr/bin/docker-compose", "-f", "a.yml", "build"],
          ["/usr/bin/docker-compose", "-f", "a.yml", "--env-file", ".e", "up", "{service}"]],
         ("/usr/bin/docker-compose", "-f", "a.yml", "--env-file", ".e", "-p", "{project}", *UP)),
        ([["docker-compose", "--project-name=x", "build", "{service}"]],
         ("docker-compose", "-p", "{project}", *UP)),
    ],
)  # fmt: skip
async def test_the_default_rollback_calls_compose_as_the_steps_do(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    steps: list[list[str]],
    expected: tuple[str, ...],
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-installed"))
    rb = RebuildConfig(workdir=tmp_path, steps=tuple(tuple(s) for s in steps))
    assert await rollback_command(rb) == expected


async def test_a_configured_rollback_is_used_as_is(tmp_path: Path) -> None:
    rb = RebuildConfig(workdir=tmp_path, steps=(("make",),), rollback=("./undo.sh", "{service}"))
    assert await rollback_command(rb) == ("./undo.sh", "{service}")


async def test_every_missing_program_is_named_with_its_key(tmp_path: Path) -> None:
    bin_dir, work = tmp_path / "bin", tmp_path / "work"
    stub(bin_dir, "docker", V1_DOCKER)  # no Compose at all
    stub(work, "render.sh")
    (work / "notes.txt").write_text("not a program")
    rb = RebuildConfig(
        workdir=work,
        steps=(("./render.sh",), ("templater", "x"), ("/nowhere/build",), ("./notes.txt",)),
    )
    assert await host_problems(rb, str(bin_dir)) == [
        "rebuild.steps[1]: executable 'templater' not found on PATH",
        "rebuild.steps[2]: executable '/nowhere/build' not found",
        f"rebuild.steps[3]: '{work / 'notes.txt'}' is not executable",
        "rebuild.rollback: the default rollback needs Docker Compose, but neither "
        "`docker compose` nor `docker-compose` works here; install one or set rebuild.rollback",
    ]
    explicit = RebuildConfig(workdir=tmp_path / "gone", steps=(("docker", "compose", "up"),),
                             rollback=("./undo.sh",))  # fmt: skip
    assert await host_problems(explicit, str(bin_dir)) == [
        f"rebuild.workdir: {tmp_path / 'gone'} is not a directory",
        f"rebuild.rollback: executable './undo.sh' not found in {tmp_path / 'gone'}",
    ]


async def test_a_complete_host_has_no_problems(tmp_path: Path) -> None:
    stub(tmp_path / "bin", "docker-compose")
    stub(tmp_path / "bin", "templater")
    stub(tmp_path / "work", "build.sh")
    rb = RebuildConfig(workdir=tmp_path / "work", steps=(("./build.sh",), ("templater",)))
    assert await host_problems(rb, str(tmp_path / "bin")) == []
    assert await host_problems(RebuildConfig(), str(tmp_path / "bin")) == []  # no rebuild


def test_check_config_reports_missing_programs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stub(tmp_path / "bin", "docker", V1_DOCKER)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    (tmp_path / "work").mkdir()
    config = tmp_path / "config.yaml"
    config.write_text(
        "matrix: {homeserver: 'https://m.x.org', user_id: '@bot:x.org', password: pw,\n"
        "         command_rooms: ['!r:x.org'], alert_room: '!r:x.org'}\n"
        "access: {admins: ['@a:x.org']}\n"
        "rebuild: {workdir: work, steps: [[./build.sh], [templater, '{service}']]}\n"
    )
    assert main(["check-config", str(config)]) == 1
    err = capsys.readouterr().err
    assert f"rebuild.steps[0]: executable './build.sh' not found in {tmp_path / 'work'}" in err
    assert "rebuild.steps[1]: executable 'templater' not found on PATH" in err
    assert "rebuild.rollback: the default rollback needs Docker Compose" in err
    stub(tmp_path / "work", "build.sh")
    stub(tmp_path / "bin", "templater")
    stub(tmp_path / "bin", "docker-compose")
    assert main(["check-config", str(config)]) == 0
    assert "OK" in capsys.readouterr().out
