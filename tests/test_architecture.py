"""The package's shape: imports only go down the layers, with no cycle and no borrowed privates.

The graph counts every import of a ``swisbayes`` module, including those inside functions and
under ``TYPE_CHECKING``: a lazy import still couples two modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "swisbayes"

LAYERS: dict[str, int] = {
    "_base": 0,
    "data": 1, "stats": 1,
    "priors": 2, "decision": 2, "economics": 2,
    "spec": 3,
    "families": 4, "plots": 4,
    "inference": 5,
    "evidence": 6,
    "workflows": 7,
    "report": 8,
    "api": 9, "cli": 9, "__main__": 9, "": 9,
}
"""Layer of each subpackage (``""`` is the facade ``swisbayes/__init__.py``); see DESIGN.md."""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _target(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")[: None if is_package else -1]
    base = base[: len(base) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def _imports(module: str) -> list[tuple[str, str | None]]:
    """(imported swisbayes module, imported name or None) for every import in ``module``."""
    path = MODULES[module]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(a.name, None) for a in node.names if a.name.split(".")[0] == "swisbayes"]
        elif isinstance(node, ast.ImportFrom):
            target = _target(module, node, path.name == "__init__.py")
            if target.split(".")[0] != "swisbayes":
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.append((sub, None) if sub in MODULES else (target, alias.name))
    return found


def _layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS[parts[1] if len(parts) > 1 else ""]


GRAPH = {m: {t for t, _ in _imports(m) if t != m and t in MODULES} for m in MODULES}


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in GRAPH:
        if v not in index:
            visit(v)
    return found


def test_every_subpackage_has_a_layer():
    assert {m.split(".")[1] if "." in m else "" for m in MODULES} <= set(LAYERS)


def test_no_import_cycle():
    assert _cycles() == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_never_go_up_a_layer(module: str):
    up = sorted(t for t in GRAPH[module]
                if _layer(t) > _layer(module) and not module.startswith(t + "."))
    assert up == [], f"{module} (layer {_layer(module)}) imports a higher layer: {up}"


def test_no_module_borrows_another_modules_private_names():
    borrowed = sorted((m, t, name) for m in MODULES for t, name in _imports(m)
                      if name and name.startswith("_") and not name.startswith("__") and t != m)
    assert borrowed == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_says_what_it_is_for(module: str):
    doc = ast.get_docstring(ast.parse(MODULES[module].read_text(encoding="utf-8")))
    assert doc, f"{module} has no docstring"


def test_the_checker_finds_a_cycle_and_an_upward_import(monkeypatch: pytest.MonkeyPatch):
    graph = {"swisbayes._base.a": {"swisbayes.report.b"},
             "swisbayes.report.b": {"swisbayes._base.a"}}
    monkeypatch.setattr(__import__(__name__, fromlist=["GRAPH"]), "GRAPH", graph)
    assert _cycles() == [["swisbayes._base.a", "swisbayes.report.b"]]
    assert _layer("swisbayes.report.b") > _layer("swisbayes._base.a")
