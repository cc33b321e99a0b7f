"""The layers import only downward: modeling < risk_stratification < contracts < app; no module
imports itself back through a cycle, and none imports another module's private names."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {"modeling": 0, "risk_stratification": 1, "contracts": 2, "app": 3}


def _imports(path: Path) -> list[tuple[str, int]]:
    """(module imported, line) for every import in a file, at any depth (inside functions too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node.lineno))
    return found


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _project_files() -> list[Path]:
    return [f for pkg in LAYERS for f in sorted((ROOT / pkg).rglob("*.py"))]


def test_no_layer_imports_a_higher_one():
    upward = []
    for f in _project_files():
        layer = LAYERS[f.relative_to(ROOT).parts[0]]
        for name, line in _imports(f):
            top = name.split(".")[0]
            if top in LAYERS and LAYERS[top] > layer:
                upward.append(f"{f.relative_to(ROOT)}:{line} imports {name}")
    assert upward == []


def test_the_check_sees_an_upward_import(tmp_path):
    bad = tmp_path / "x.py"
    bad.write_text("def f():\n    from contracts.specs import preset\n")
    assert _imports(bad) == [("contracts.specs", 2)]


def test_no_import_cycle_between_modules():
    modules = {_module(f): f for f in _project_files()}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for m, f in modules.items():
        for name, _ in _imports(f):
            # "from a.b import c" names module a.b (or package a.b); a name inside it is not a module
            target = name if name in modules else name.rsplit(".", 1)[0]
            if target in modules and target != m and not m.startswith(target + "."):
                graph[m].add(target)
    cycles = _cycles(graph)
    assert cycles == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_module_imports_another_modules_private_names():
    private = []
    for f in _project_files():
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                top = node.module.split(".")[0]
                private += [
                    f"{f.relative_to(ROOT)}:{node.lineno} imports {node.module}.{alias.name}"
                    for alias in node.names
                    if top in LAYERS and alias.name.startswith("_") and alias.name != "__version__"
                ]
    assert private == []


def test_the_cycle_check_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]


def test_no_page_is_named_like_a_package():
    # Streamlit runs a page with its folder on sys.path: a page called contracts.py would be
    # imported in place of the contracts package
    pages = {p.stem for p in (ROOT / "app" / "pages").glob("*.py")}
    assert pages.isdisjoint(LAYERS)
