"""The package's exceptions live in ``tlhelpers/errors.py``, under one base, ``TLHelpersError``."""

from __future__ import annotations

import ast
import builtins
import inspect
from pathlib import Path

from tlhelpers import errors

PACKAGE = Path(errors.__file__).parent
BUILTIN_EXCEPTIONS = {name for name, obj in vars(builtins).items()  # warnings are not errors: they stay where they are
                      if isinstance(obj, type) and issubclass(obj, BaseException) and not issubclass(obj, Warning)}


def _base_name(node: ast.expr) -> str:
    return node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")


def test_no_module_but_errors_defines_an_exception() -> None:
    elsewhere = [
        f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name}"
        for path in PACKAGE.rglob("*.py") if path.name != "errors.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef)
        and any(_base_name(b) in BUILTIN_EXCEPTIONS or _base_name(b).endswith("Error") for b in node.bases)
    ]
    assert not elsewhere, f"exceptions defined outside tlhelpers/errors.py: {elsewhere}"


def test_every_exception_derives_from_the_base_and_a_builtin() -> None:
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass) if c.__module__ == errors.__name__]
    assert len(classes) >= 8
    for cls in classes:
        if cls is not errors.TLHelpersError:
            assert issubclass(cls, errors.TLHelpersError), cls
            assert any(base.__name__ in BUILTIN_EXCEPTIONS and base is not Exception for base in cls.__mro__[1:]), cls
    assert sorted(c.__name__ for c in classes) == sorted(errors.__all__)
