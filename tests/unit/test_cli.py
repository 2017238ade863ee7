"""The `opsbot` command line: check-config reports every problem with its key path."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from bot.__main__ import main

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.yaml"


def test_check_config_reports_only_the_placeholder_secret(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPSBOT_MATRIX_PASSWORD", raising=False)
    monkeypatch.delenv("OPSBOT_MATRIX_ACCESS_TOKEN", raising=False)
    assert main(["check-config", str(EXAMPLE)]) == 1
    err = capsys.readouterr().err
    assert "1 problem(s)" in err
    assert "matrix.password: still the placeholder 'CHANGE_ME'" in err


def test_check_config_passes_with_the_secret_from_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a host that has the example's workdir and programs (rebuild.workdir: tmp_path)."""
    monkeypatch.setenv("OPSBOT_MATRIX_PASSWORD", "s3cret-from-env")
    for program in (tmp_path / "build.sh", tmp_path / "bin" / "docker"):
        program.parent.mkdir(parents=True, exist_ok=True)
        program.write_text("#!/bin/sh\n")
        program.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    config = tmp_path / "config.yaml"
    config.write_text(EXAMPLE.read_text().replace("/opt/datamancy", str(tmp_path)))
    assert main(["check-config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "OK" in out and "s3cret-from-env" not in out


def test_check_config_lists_every_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "matrix:\n  homeserver: matrix.example.org\n  user_id: opsbot\n  pasword: x\n"
        "docker:\n  logs_timeout: soon\n"
    )
    assert main(["check-config", str(bad)]) == 1
    err = capsys.readouterr().err
    for path in (
        "matrix.homeserver",
        "matrix.user_id",
        "matrix.pasword",
        "docker.logs_timeout",
        "matrix.command_rooms",
        "matrix.alert_room",
        "access",
    ):
        assert f"  - {path}" in err, path


def test_running_with_an_invalid_config_exits_1_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(tmp_path / "missing.yaml")]) == 1
    err = capsys.readouterr().err
    assert "cannot read" in err and "Traceback" not in err


class Health(BaseHTTPRequestHandler):
    answer = 200

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        body = b"ok: connected\n" if self.answer == 200 else b"unhealthy: docker: gone\n"
        self.send_response(self.answer)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.mark.parametrize(("answer", "code", "said"), [(200, 0, "ok"), (503, 1, "docker: gone")])
def test_healthcheck_exits_by_what_healthz_says(
    answer: int, code: int, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    Health.answer = answer
    server = HTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert main(["healthcheck", "--listen", f"0.0.0.0:{server.server_address[1]}"]) == code
    finally:
        server.shutdown()
        server.server_close()
    assert said in capsys.readouterr().out


def test_healthcheck_without_a_listener_fails_clearly(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPSBOT_HTTP_LISTEN", raising=False)
    assert main(["healthcheck"]) == 1
    assert "no http.listen" in capsys.readouterr().err
    assert main(["healthcheck", "--listen", "127.0.0.1:1"]) == 1
    assert "not answering" in capsys.readouterr().out
