"""The package's layer map (tlhelpers.LAYERS) holds: no upward import, no import loop."""

from __future__ import annotations

import ast
from fnmatch import fnmatch
from pathlib import Path

import pytest

import tlhelpers

PACKAGE = Path(tlhelpers.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The package's modules that ``path`` imports anywhere in it (inside functions too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path.name}: use absolute imports (from tlhelpers.x import ...)")
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "tlhelpers":
            target = node.module.removeprefix("tlhelpers").lstrip(".")
            named = {f"{target}.{a.name}".lstrip(".") for a in node.names}
            found |= {m for m in named if m in modules} or {target}
        elif isinstance(node, ast.Import):
            found |= {a.name.removeprefix("tlhelpers.") for a in node.names if a.name.startswith("tlhelpers.")}
    return {m for m in found if m}


def import_graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(paths) - {""}
    return {name: imports_of(path, modules) - {name} for name, path in paths.items() if name}


def layer_of(module: str, layers=tlhelpers.LAYERS) -> int:
    matches = [i for i, (_, names) in enumerate(layers) if any(fnmatch(module, n) for n in names)]
    if len(matches) != 1:
        raise AssertionError(f"module {module!r} is in {len(matches)} layers of tlhelpers.LAYERS; put it in exactly one")
    return matches[0]


def upward_edges(graph: dict[str, set[str]], layers=tlhelpers.LAYERS) -> list[str]:
    return [f"{a} ({layers[layer_of(a, layers)][0]}) imports {b} ({layers[layer_of(b, layers)][0]})"
            for a, targets in sorted(graph.items()) for b in sorted(targets)
            if layer_of(b, layers) > layer_of(a, layers)]


def find_loop(graph: dict[str, set[str]]) -> list[str] | None:
    """One import loop as a path a -> ... -> a, or None."""
    state: dict[str, str] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return path[path.index(target):] + [target] if target in path else [node, target]
            if target not in state and (loop := visit(target, path + [target])):
                return loop
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (loop := visit(start, [start])):
            return loop
    return None


def test_every_module_is_in_one_layer() -> None:
    for module in import_graph():
        layer_of(module)  # raises with the module's name


def test_no_module_imports_from_a_higher_layer() -> None:
    assert upward_edges(import_graph()) == []


def test_there_is_no_import_loop() -> None:
    assert find_loop(import_graph()) is None


def test_the_graph_sees_imports_inside_functions() -> None:
    graph = import_graph()
    assert "strategies" in graph["budget"]
    assert "backbones" in graph["exercises.assignment_common"]  # imported inside its functions only
    assert {"features", "training", "transfer"} <= graph["recipe"] and "learning_rates" in graph["training"]
    assert "config" in graph["recipe"]  # imported inside default_recipe only


def test_the_checks_catch_an_upward_edge_and_a_loop() -> None:
    layers = (("low", ("a", "b")), ("high", ("c",)))
    assert upward_edges({"a": {"c"}, "c": {"a"}}, layers) == ["a (low) imports c (high)"]
    assert find_loop({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_loop({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    with pytest.raises(AssertionError, match="'d' is in 0 layers"):
        layer_of("d", layers)
