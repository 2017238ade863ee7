"""The house rules that keep the code base navigable, checked mechanically."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*ROOT.glob("bot/**/*.py"), *ROOT.glob("commands/*.py")])
FACADES = {"nio": "bot/matrix/", "docker": "bot/containers/", "aiosqlite": "bot/store/"}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("library", sorted(FACADES))
def test_each_library_has_one_home(library: str) -> None:
    """nio only in the matrix package, docker only in containers, SQL only in the store."""
    users = {str(p.relative_to(ROOT)) for p in SOURCES if library in imported_roots(p)}
    assert users, f"nothing imports {library}?"
    assert {u for u in users if not u.startswith(FACADES[library])} == set()


def test_modules_stay_small() -> None:
    """No module over ~300 lines (a little slack, no more)."""
    sizes = {str(p.relative_to(ROOT)): len(p.read_text().splitlines()) for p in SOURCES}
    assert {name: n for name, n in sizes.items() if n > 310} == {}


def test_ruff_and_mypy_are_clean() -> None:
    """Lint, format and type checks pass (they run in CI through this test)."""
    ruff = shutil.which("ruff")
    assert ruff is not None, "ruff is part of the test extra: pip install -e '.[test]'"
    for cmd in (
        [ruff, "check", "."],
        [ruff, "format", "--check", "."],
        [sys.executable, "-m", "mypy"],
    ):
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"{' '.join(cmd)}:\n{done.stdout}{done.stderr}"
