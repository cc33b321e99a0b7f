"""The package's import graph: no module imports another's private names, and no cycles (an
import inside a function counts)."""

from __future__ import annotations

import ast
from pathlib import Path

import risk_stratification

ROOT = Path(risk_stratification.__file__).parent


def import_graph() -> tuple[dict[str, set[str]], list[tuple[str, str, str]]]:
    modules = {}
    for path in ROOT.rglob("*.py"):
        parts = ("risk_stratification", *path.relative_to(ROOT).with_suffix("").parts)
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    edges: dict[str, set[str]] = {name: set() for name in modules}
    private = []
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module in modules:
                edges[name].add(node.module)
                for alias in node.names:
                    if f"{node.module}.{alias.name}" in modules:
                        edges[name].add(f"{node.module}.{alias.name}")
                    elif alias.name.startswith("_"):
                        private.append((name, node.module, alias.name))
            elif isinstance(node, ast.Import):
                edges[name] |= {a.name for a in node.names if a.name in modules}
        edges[name].discard(name)
    return edges, private


def test_no_module_imports_another_modules_private_names():
    assert import_graph()[1] == []


def test_no_import_cycles():
    edges, _ = import_graph()
    cycles = []

    def visit(module: str, path: tuple[str, ...]) -> None:
        for target in edges[module]:
            if target in path:
                cycles.append((*path[path.index(target) :], target))
            elif target not in done:
                visit(target, (*path, target))
        done.add(module)

    done: set[str] = set()
    for module in edges:
        if module not in done:
            visit(module, (module,))
    assert cycles == []
