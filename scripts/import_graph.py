#!/usr/bin/env python3
"""The structure of kbapp drawn from its imports (issue 16: "no cycles").

    python3 scripts/import_graph.py [--verbose]

Prints which capability package imports which (at module level, inside functions, for type
checking only), the pairs that import each other, and the import cycles between modules: for
top-level imports, for every import run time can meet, and counting ``TYPE_CHECKING`` imports
too. The pairs are allowed when the import-linter contracts in ``pyproject.toml`` say which way
each goes module by module (docs/architecture.md); a cycle between modules is not.
"""

from __future__ import annotations

import argparse
import ast
import itertools
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("documents", "sync", "lifecycle", "cosourcing", "trust", "search", "ui", "cli")

Edge = tuple[str, str, str]  # (kind, importer, imported): kind is top, lazy or type


def modules(root: Path) -> dict[str, Path]:
    found = {}
    for path in sorted((root / "kbapp").rglob("*.py")):
        name = ".".join(path.relative_to(root).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def imports(known: dict[str, Path]) -> list[Edge]:
    def owner(name: str) -> str:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name

    edges: list[Edge] = []
    for module, path in known.items():

        def visit(node: ast.AST, kind: str, module: str = module) -> None:
            for child in ast.iter_child_nodes(node):
                inner = kind
                if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) and kind == "top":
                    inner = "lazy"
                if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                    inner = "type"
                names: list[str] = []
                if isinstance(child, ast.Import):
                    names = [alias.name for alias in child.names]
                elif isinstance(child, ast.ImportFrom) and child.module and not child.level:
                    names = [f"{child.module}.{alias.name}" for alias in child.names]
                for name in names:
                    target = owner(name) if name.startswith("kbapp") else ""
                    if target and target != module and not module.startswith(target + "."):
                        edges.append((inner, module, target))
                visit(child, inner)

        visit(ast.parse(path.read_text(encoding="utf-8")), "top")
    return edges


def package(module: str) -> str | None:
    parts = module.split(".")
    return f"kbapp.{parts[1]}" if len(parts) > 1 and parts[1] in PACKAGES else None


def cycles(edges: list[Edge], kinds: set[str]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for kind, source, target in edges:
        if kind in kinds:
            graph[source].add(target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []
    sys.setrecursionlimit(10_000)

    def strong(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                strong(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in list(graph):
        if node not in index:
            strong(node)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="list the imports of each pair")
    args = parser.parse_args()
    edges = imports(modules(ROOT))
    between: dict[tuple[str, str], list[Edge]] = defaultdict(list)
    for edge in edges:
        source, target = package(edge[1]), package(edge[2])
        if source and target and source != target:
            between[(source, target)].append(edge)
    print("package -> package: imports at module level / inside functions / for types only")
    for (source, target), found in sorted(between.items()):
        kinds = Counter(kind for kind, _, _ in found)
        print(f"  {source:18} -> {target:18} {kinds['top']:3} {kinds['lazy']:3} {kinds['type']:3}")
    print("packages that import each other:")
    names = sorted({source for source, _ in between})
    for first, second in itertools.combinations(names, 2):
        if (first, second) in between and (second, first) in between:
            print(f"  {first} <-> {second}")
            if args.verbose:
                for kind, source, target in between[(first, second)] + between[(second, first)]:
                    print(f"      {kind:4} {source} -> {target}")
    broken = False
    for label, kinds in (
        ("top-level imports", {"top"}),
        ("run time (top level and inside functions)", {"top", "lazy"}),
        ("every import, TYPE_CHECKING too", {"top", "lazy", "type"}),
    ):
        found = cycles(edges, kinds)
        print(f"module cycles, {label}: {len(found)}")
        for component in found:
            print("  ", " ".join(component))
        broken = broken or (bool(found) and kinds == {"top"})
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
