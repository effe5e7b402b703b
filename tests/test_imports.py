"""Imports follow the flow (DESIGN.md "The flow"), with no cycle, not even a hidden one.

Every module of pmm is parsed with `ast`; every import counts, including those inside functions
(which hide a cycle from Python but not from a reader: the two modules still cannot be understood
or changed apart). Two checks:

- no cycle between modules;
- between packages, imports go down the layers only: the kernel (errors < i18n < conventions <
  access) < framework, members < store < measure < assessment < scoring < analysis < publish <
  web and the CLI shell.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "pmm"

# The layer of each top-level unit of pmm (a package or a module directly under pmm); a unit may
# import units of lower layers only. `access` (principals and the one policy) is part of the
# kernel: the store and every service import it.
LAYERS: list[set[str]] = [
    {"pmm"}, {"errors"}, {"i18n"}, {"conventions", "terminal", "remote"}, {"access"},  # kernel
    {"framework", "members"},
    {"store"},
    {"measure"},
    {"assessment"},
    {"scoring"},
    {"analysis"},
    {"publish"},
    {"cli_text"},
    {"web", "cli"},
    {"__main__"},
]
RANK = {unit: i for i, units in enumerate(LAYERS) for unit in units}


def modules(root: Path) -> dict[str, Path]:
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = ["pmm", *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def import_graph(root: Path) -> dict[str, dict[str, int]]:
    """module → {imported pmm module: line}, counting imports anywhere in the module."""
    known = modules(root)
    graph: dict[str, dict[str, int]] = defaultdict(dict)

    def resolve(name: str) -> str | None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    for module, path in known.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from .x import y
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                # `from pkg import sub` imports the module pkg.sub; `from mod import name`, mod
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                           for a in node.names]
            for target in targets:
                resolved = resolve(target) if target.startswith("pmm") else None
                if resolved and resolved != module:
                    graph[module].setdefault(resolved, node.lineno)
    return graph


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    nodes = sorted(set(graph) | {t for targets in graph.values() for t in targets})
    for start in nodes:
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, {}))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, {})))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "pmm"


def describe(graph: dict[str, dict[str, int]], component: list[str]) -> str:
    edges = [f"  {a} -> {b} (line {graph[a][b]})" for a in component
             for b in sorted(graph.get(a, {})) if b in component]
    return " / ".join(component) + ":\n" + "\n".join(edges)


def against_the_flow(graph: dict[str, dict[str, int]]) -> list[str]:
    problems = []
    for module, targets in sorted(graph.items()):
        for target, line in sorted(targets.items()):
            a, b = unit(module), unit(target)
            if a == b:
                continue
            if a not in RANK or b not in RANK:
                missing = a if a not in RANK else b
                problems.append(f"{module}:{line} imports {target}: place {missing} in LAYERS")
            elif RANK[b] >= RANK[a]:
                problems.append(f"{module}:{line} imports {target}: {b} is not below {a}")
    return problems


def test_no_import_cycle_between_modules() -> None:
    graph = import_graph(SRC)
    found = cycles(graph)
    assert not found, "import cycles:\n" + "\n".join(describe(graph, c) for c in found)


def test_imports_follow_the_layers() -> None:
    problems = against_the_flow(import_graph(SRC))
    assert not problems, "imports against the flow:\n" + "\n".join(problems)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A small pmm with a cycle hidden in a function and an import against the flow."""
    root = tmp_path / "pmm"
    for folder in ("framework", "assessment", "store"):
        (root / folder).mkdir(parents=True)
        (root / folder / "__init__.py").write_text("", encoding="utf-8")
    (root / "__init__.py").write_text("", encoding="utf-8")
    (root / "errors.py").write_text("", encoding="utf-8")
    (root / "assessment" / "a.py").write_text(
        "from pmm.assessment import b\nfrom pmm.errors import PmmError\n", encoding="utf-8")
    (root / "assessment" / "b.py").write_text(
        "def f():\n    from pmm.assessment.a import g\n", encoding="utf-8")
    (root / "framework" / "model.py").write_text(
        "def f():\n    from pmm.store import models\n", encoding="utf-8")
    (root / "store" / "models.py").write_text("from . import other\n", encoding="utf-8")
    (root / "store" / "other.py").write_text("", encoding="utf-8")
    return root


def test_the_checks_find_hidden_cycles_and_imports_against_the_flow(tree: Path) -> None:
    graph = import_graph(tree)
    assert cycles(graph) == [["pmm.assessment.a", "pmm.assessment.b"]]
    assert graph["pmm.store.models"] == {"pmm.store.other": 1}  # relative import resolved
    assert against_the_flow(graph) == [
        "pmm.framework.model:2 imports pmm.store.models: store is not below framework"]
