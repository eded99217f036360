"""What the course's benchmarks measured, read from ``benchmarks/results/*.json``.

A lesson that quotes a benchmark prints the number from its JSON (never types it), so the
prose next to a student's own run cannot drift from the measurement. ``make bench`` (or one
``python benchmarks/<name>.py``) writes the files; in the imagenet track a benchmark writes
``<name>-imagenet.json``.

Example:
    >>> isinstance(benchmark_results(), dict)
    True
    >>> crossover_table("offline").columns.tolist()  # doctest: +SKIP
    ['probe', 'fine_tune', 'fine_tune_gain', 'fine_tuned_runs']
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tlhelpers.config import repo_dir
from tlhelpers.i18n import _

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["crossover_table"]


def results_dir() -> Path:
    """``benchmarks/results`` of the course's folder."""
    return repo_dir() / "benchmarks" / "results"


def benchmark_results(folder: str | Path | None = None) -> dict[str, Any]:
    """The JSON files the benchmarks wrote, by file name without ``.json``; ``{}`` if there are none.

    Example:
        >>> isinstance(benchmark_results(), dict)
        True
    """
    folder = results_dir() if folder is None else Path(folder)
    results = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            results[path.stem] = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            warnings.warn(_("skipping {path}: {error}").format(path=path, error=err), stacklevel=2)
    return results


def benchmark(name: str, track: str | None = None, folder: str | Path | None = None) -> dict[str, Any]:
    """One benchmark's full run in ``track`` (default: the active track).

    Raises:
        FileNotFoundError: the benchmark has not run in that track (saying the command), or only a quick run exists.

    Example:
        >>> benchmark("few_shot", "offline")["benchmark"]  # doctest: +SKIP
        'few_shot'
    """
    if track is None:
        from tlhelpers.config import current_track

        track = current_track().name
    stem = name if track == "offline" else f"{name}-{track}"
    path = (results_dir() if folder is None else Path(folder)) / f"{stem}.json"
    command = f"{'' if track == 'offline' else f'TL_TRACK={track} '}python benchmarks/{name}.py"
    if not path.is_file():
        raise FileNotFoundError(_("no results of benchmark {name!r} in the {track} track ({path}); run: {command}").format(
            name=name, track=track, path=path, command=command))
    data = json.loads(path.read_text())
    if data.get("quick"):
        raise FileNotFoundError(_("{path} holds a quick run, whose numbers are not the benchmark; run: {command}").format(
            path=path, command=command))
    return data


def crossover_table(track: str | None = None, folder: str | Path | None = None) -> pd.DataFrame:
    """The few-shot benchmark's probe and fine-tuning per target and budget (medians over seeds).

    Columns ``probe`` and ``fine_tune`` (median test accuracy), ``fine_tune_gain`` (points),
    ``fine_tuned_runs`` (seeds where an epoch beat the probe on validation); indexed by
    ``target`` ("near": the track's target; "far": the one further from the source) and
    ``labels_per_class``. ``table.attrs`` holds the crossover of each target and the seeds.

    Example:
        >>> crossover_table("offline").attrs["crossover"]  # doctest: +SKIP
        {'near': 100, 'far': 5}
    """
    from tlhelpers.tables import shown_frame

    data = benchmark("few_shot", track, folder)
    rows = [{"target": target, "labels_per_class": int(k), "probe": e["strategies"]["probe"]["median"],
             "fine_tune": e["strategies"]["fine_tune"]["median"], "fine_tune_gain": e["fine_tune_gain"],
             "fine_tuned_runs": e["fine_tuned_runs"]}
            for target, curve in data["summary"].items() for k, e in curve["budgets"].items()]
    table = shown_frame(rows).set_index(["target", "labels_per_class"])
    table.attrs = {"crossover": {t: c["crossover"] for t, c in data["summary"].items()},
                   "seeds": len(data["settings"]["seeds"]), "far_target": data["settings"].get("far_target")}
    return table
