"""The import graph follows the stage order of ARCHITECTURE.md: no upward import, no cycle."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "patchtool"

# The stages from the bottom up; a module may import its own stage and the ones listed before it.
ORDER = [
    "bottom",
    "vcs",
    "parse",
    "fetch",
    "review",
    "apply",
    "build",
    "testrun",
    "bisection",
    "report",
    "pipeline",
    "cluster",
    "demo",
    "cli",
    "__main__",
]
BOTTOM = {"errors", "config", "proc", "store", "resources", "jsonable", "models", "__init__"}
MAX_MODULES_BESIDE_STAGES = 10
MAX_LINES = 500


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def stage_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in BOTTOM:
        return "bottom"
    return parts[1]


def imports_of(path: Path, module: str) -> Iterator[str]:
    """Every patchtool module `path` imports, at any depth (function-level imports included)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("patchtool"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if not base.startswith("patchtool"):
                continue
            for alias in node.names:  # `from pkg import mod` names a module when mod is one
                sub = f"{base}.{alias.name}"
                yield sub if _exists(sub) else base


def _exists(module: str) -> bool:
    rel = Path(*module.split(".")[1:])
    return (PACKAGE / rel).is_dir() or (PACKAGE / rel).with_suffix(".py").is_file()


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted(root.rglob("*.py")):
        name = module_name(path)
        graph[name] = {m for m in imports_of(path, name) if m != name}
    return graph


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for src, targets in graph.items():
        for dst in targets:
            if ORDER.index(stage_of(dst)) > ORDER.index(stage_of(src)):
                bad.append(f"{src} -> {dst}")
    return sorted(bad)


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle among modules, ignoring a package's own `__init__` re-exports of its children."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt.startswith(node + "."):
                continue  # a package importing its own submodule is not a cycle through it
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_every_stage_is_in_the_order() -> None:
    stages = {stage_of(m) for m in import_graph()}
    assert stages <= set(ORDER), stages - set(ORDER)


def test_no_upward_import() -> None:
    assert upward_imports(import_graph()) == []


def test_no_import_cycle() -> None:
    assert find_cycle(import_graph()) is None


def test_the_checks_catch_a_cycle_and_an_upward_import(tmp_path: Path) -> None:
    # Guard the guard: a planted cycle and a planted upward import must both be seen.
    graph = import_graph()
    graph["patchtool.parse.mail"] = {*graph["patchtool.parse.mail"], "patchtool.report.render"}
    assert "patchtool.parse.mail -> patchtool.report.render" in upward_imports(graph)
    graph["patchtool.report.render"] = {*graph["patchtool.report.render"], "patchtool.report.html"}
    graph["patchtool.report.html"] = {*graph["patchtool.report.html"], "patchtool.report.render"}
    assert find_cycle(graph) is not None


def test_package_listing_reads_as_the_pipeline() -> None:
    modules = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(modules) <= MAX_MODULES_BESIDE_STAGES, modules


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_over_the_size_limit(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) <= MAX_LINES
