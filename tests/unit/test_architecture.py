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


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Which of our modules each module imports — at the top, in functions or for type
    checking alike (``from a import b`` imports ``a``, and ``a.b`` when that is a module)."""
    modules = {module_name(p): p for p in SOURCES}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parts, *([base] if base else [])])
                found |= {base, *(f"{base}.{a.name}" for a in node.names)}
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles_type_only_imports_included() -> None:
    """Arrows point one way: commands → framework → facades → store."""
    assert cycles(import_graph()) == []


FACADE_PACKAGES = (
    "bot.core",
    "bot.config",
    "bot.text",
    "bot.store",
    "bot.matrix",
    "bot.containers",
)


def test_facades_never_import_the_framework_or_the_commands() -> None:
    graph = import_graph()
    upward = {
        (name, dep)
        for name, deps in graph.items()
        if name.startswith(FACADE_PACKAGES) and not name.startswith("bot.matrix.person")
        for dep in deps
        if dep.startswith(("bot.framework", "bot.alerts", "commands", "bot.app"))
    }
    assert upward == set()


def test_bot_keeps_about_a_dozen_loose_modules() -> None:
    loose = sorted(p.name for p in (ROOT / "bot").glob("*.py"))
    assert len(loose) <= 12, loose


def test_functions_fit_on_a_screen() -> None:
    """No function over ~60 lines."""
    long = {}
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > 60:
                    long[f"{path.relative_to(ROOT)}:{node.name}"] = size
    assert long == {}
