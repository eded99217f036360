"""Repository-wide pytest setup: quiet TensorFlow, and the notebooks in the `system` tier.

Tiers (markers in pyproject.toml): ``system`` for what runs notebooks, a browser, nbgrader,
a Jupyter kernel, pip or a benchmark script; ``slow`` for a unit test over a few seconds
(and nbgrader on all but the small assignment). ``make test-fast`` leaves both out;
``make test`` runs everything, two test files at a time.
"""

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

NOTEBOOKS = Path(__file__).parent / "notebooks"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(item.path).is_relative_to(NOTEBOOKS):  # each cell, run by nbval
            item.add_marker(pytest.mark.system)
