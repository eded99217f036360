"""tlhelpers' public face: what the lessons, the assignments and the benchmarks use is in ``__all__``.

Every module they import declares ``__all__``, and every name they take from it (``from
tlhelpers.x import name`` or ``x.name`` after ``from tlhelpers import x``) is listed there;
what is not listed is plumbing a lesson should not reach for.
"""

from __future__ import annotations

import ast
import importlib
import json
from collections import defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CALLERS = ("notebooks/*.ipynb", "notebooks/zh/*.ipynb", "assignments/source/*/*.ipynb",
           "assignments/zh/source/*/*.ipynb", "benchmarks/*.py")


def _sources(path: Path) -> list[str]:
    if path.suffix == ".py":
        return [path.read_text(encoding="utf-8")]
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["\n".join(line for line in "".join(c["source"]).splitlines() if not line.lstrip().startswith(("%", "!")))
            for c in cells if c["cell_type"] == "code"]


def used_names(paths: list[Path]) -> dict[str, dict[str, set[str]]]:
    """module -> name -> the caller files, for every tlhelpers name the callers use."""
    used: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in paths:
        where = str(path.relative_to(REPO))
        aliases: dict[str, str] = {}  # local name -> tlhelpers module
        trees = []
        for source in _sources(path):
            try:
                trees.append(ast.parse(source))
            except SyntaxError:
                continue
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "tlhelpers":
                    for alias in node.names:
                        full = f"{node.module}.{alias.name}"
                        try:
                            importlib.import_module(full)
                            aliases[alias.asname or alias.name] = full  # a module
                        except ImportError:
                            used[node.module][alias.name].add(where)
                elif isinstance(node, ast.Import):
                    for alias in node.names:
                        if alias.name.startswith("tlhelpers.") and alias.asname:
                            aliases[alias.asname] = alias.name
        for tree in trees:
            for node in ast.walk(tree):
                if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                        and node.value.id in aliases and not node.attr.startswith("__")):
                    module = aliases[node.value.id]
                    try:
                        importlib.import_module(f"{module}.{node.attr}")
                    except ImportError:
                        used[module][node.attr].add(where)
    return used


CALLER_FILES = sorted({p for pattern in CALLERS for p in REPO.glob(pattern)})
USED = used_names(CALLER_FILES)


def test_the_callers_are_found() -> None:
    assert len(CALLER_FILES) >= 24 and "tlhelpers.recipe" in USED and "tlhelpers.data" in USED


@pytest.mark.parametrize("module", sorted(USED))
def test_what_lessons_assignments_and_benchmarks_use_is_public(module: str) -> None:
    imported = importlib.import_module(module)
    public = getattr(imported, "__all__", None)
    assert public is not None, f"{module} has no __all__; it is used by {sorted({f for w in USED[module].values() for f in w})}"
    missing = {name: sorted(files)[:2] for name, files in USED[module].items() if name not in public}
    assert not missing, f"{module}.__all__ lacks names its callers use: {missing}"
    assert all(hasattr(imported, name) for name in public), f"{module}.__all__ names something it does not define"
