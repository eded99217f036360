"""The benchmarks' results on this machine, if ``make bench`` has written them.

Part of :mod:`tlhelpers.challenges` (lesson 06).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from tlhelpers.config import repo_dir


def benchmark_results(folder: str | Path | None = None) -> dict[str, Any]:
    """The JSON files the benchmarks wrote (``benchmarks/results/*.json``), by name; ``{}``
    if there are none.

    Example:
        >>> isinstance(benchmark_results(), dict)
        True
    """
    folder = repo_dir() / "benchmarks" / "results" if folder is None else Path(folder)
    results = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            results[path.stem] = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            warnings.warn(f"skipping {path}: {err}", stacklevel=2)
    return results
