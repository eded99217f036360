"""What every benchmark shares: its catalogue entry, arguments, machine info, tables and JSON.

A benchmark script does its work, then hands the numbers to :meth:`Run.finish`, which
prints the table and writes ``<out>/<name>.json``: the settings, the machine (CPU count,
load average when the run started), library versions, the raw per-run numbers, the
summary, the table, a one-line headline and the targets, each with whether it was met
(computed from the numbers). ``benchmarks/report.py`` reads those files.

Example:
    >>> run = Run("few_shot", parse_args("few_shot", ["--quick"]))  # doctest: +SKIP
    >>> run.finish(settings={}, runs=[], summary={}, columns=["a"], rows=[[1]], headline="")  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before any script imports TensorFlow

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
SCHEMA = 1


@dataclass(frozen=True)
class Info:
    """One benchmark of the catalogue: what it measures and what it is held to."""

    name: str
    title: str
    measures: str
    target: str  # in words; "none" when the benchmark only reports
    imagenet_target: str = ""  # the imagenet track's target, where it differs


# The catalogue, in the order the README lists it (report.py says "not run yet" for a missing JSON).
BENCHMARKS: dict[str, Info] = {
    info.name: info
    for info in (
        Info("few_shot", "Few-shot curve",
             "Test accuracy of scratch, linear probe on cached features and fine-tuning (the course's recipe, "
             "tlhelpers.strategies.compare) at 1 to 300 labels per class to train on (imagenet track: 1 to 100), "
             "plus as many to validate with, 3 seeds each (the seed picks the labelled examples and seeds "
             "training); median with min/max. The pixels column, for reference: the same linear probe on raw "
             "pixels. The recommended strategy: per seed, the transfer strategy with the higher validation "
             "accuracy. Where fine-tuning wins: its gain over the probe per budget and the crossover (the "
             "smallest budget from which it leads by at least 1 point at every larger budget), in the offline "
             "track also on a target further from the source (the images turned 90 degrees).",
             "at 5 and at 20 labels per class the recommended transfer strategy beats scratch and the pixel "
             "probe by at least 8 points each (medians); at 20 labels per class it reaches 0.60, and scratch "
             "is at least 15 points above chance; fine-tuning beats the probe by at least 3 points on the far "
             "target at some budget up to 300 labels per class",
             "the recommended transfer strategy beats scratch by at least 20 points at 5 and at 20 labels per "
             "class, and the pixel probe by at least 15 points at 5 and 20 points at 20 (medians); fine-tuning "
             "beats the probe by at least 3 points at 100 labels per class"),
        Info("finetune_settings", "Fine-tuning depth and learning rate",
             "Validation and test accuracy of the course's fine-tuning recipe (tlhelpers.recipe.fine_tune, from "
             "the linear probe) at each depth and peak learning rate of a small grid, 100 labels per class to "
             "train on and 100 to validate with, 3 seeds; the setting with the best median validation accuracy "
             "is the track's default (tlhelpers.recipe.RECIPES, checked by tests/test_recipe.py).",
             "none (it chooses the default)"),
        Info("cached_features", "Cached features vs frozen base",
             "The same head, seed, epochs and batch size trained twice: on features cached once, and on "
             "images through the frozen base every epoch. Median seconds per epoch (first epoch excluded: "
             "it traces the graph) and test accuracy of each.",
             "cached features at least 20x faster per epoch, test accuracy within 1 point"),
        Info("step_cost", "Head step vs full fine-tune step",
             "Median time of one training step with only the head trainable (frozen base, inference mode) "
             "and with every block unfrozen (BatchNorm frozen, as the course fine-tunes), for the bundled "
             "backbone and one keras.applications backbone with random weights. The Keras transfer-learning "
             "guide reports about 3.9x.",
             "none (reported for reference)"),
        Info("course", "The whole course",
             "Seconds per notebook and in total when every lesson runs headless "
             "(tlhelpers.runner.run_notebooks, as `make course` does), whether each ran without error, and a "
             "calibration: the seconds of a fixed TensorFlow workload on the same machine, which scales the targets "
             "from the reference machine to this one.",
             "every notebook runs, under 600 s in total (on the reference machine; scaled by the calibration)",
             "every notebook runs, under 15 minutes in total, no lesson over 240 s (on the reference machine; scaled "
             "by the calibration)"),
        Info("sandbox_grading", "Grading in a sandbox",
             "Wall-clock seconds to grade a folder of assignment-2 submissions (a third the reference, a third "
             "blank, a third with one wrong answer) with `python -m tlhelpers assignments grade`'s code, each "
             "submission in its own bubblewrap sandbox, and the same folder without the sandbox (--unsafe); "
             "the median seconds per submission; the same scores in both.",
             "the sandbox adds at most 10% to grading 30 submissions of a2 on 2 cores"),
        Info("tuner", "RandomSearch vs Hyperband",
             "Best validation accuracy against fine-tuning epochs spent, for Keras Tuner's RandomSearch and "
             "Hyperband on the same search space (tlhelpers.tuning) and about the same budget of epochs; then "
             "each search's best configuration retrained once and scored on the test split, next to the linear "
             "probe and the track's default recipe on the same labels.",
             "none (reported for comparison)"),
    )
}


# ---- arguments and machine ------------------------------------------------------------------


def parse_args(name: str, argv: Sequence[str] | None = None, keep: bool = False) -> argparse.Namespace:
    """``--quick`` (less work, same table) and ``--out DIR`` (default ``benchmarks/results``).

    ``keep`` adds ``--keep DIR``: a folder for what the run writes that is otherwise deleted.

    Example:
        >>> parse_args("few_shot", ["--quick"]).quick
        True
    """
    info = BENCHMARKS[name]
    parser = argparse.ArgumentParser(prog=f"benchmarks/{name}.py", description=f"{info.title}: {info.measures}")
    parser.add_argument("--quick", action="store_true", help="less work, the same table (finishes in about 2 minutes)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help=f"folder for {name}.json (default: %(default)s)")
    parser.add_argument("--force", action="store_true", help="let a quick run replace the JSON of a full run")
    parser.add_argument("--note", default="", help="a line saved with the results and shown by report.py "
                        "(e.g. where the data came from)")
    if keep:
        parser.add_argument("--keep", type=Path, default=None, help="keep the run's files in this folder")
    return parser.parse_args(argv)


TRACKS = ("offline", "imagenet")


def result_path(out: Path, name: str, track: str) -> Path:
    """Where a run writes its JSON: ``<out>/<name>.json`` in the offline track, ``<name>-<track>.json`` in another.

    Example:
        >>> result_path(Path("r"), "few_shot", "offline").name, result_path(Path("r"), "few_shot", "imagenet").name
        ('few_shot.json', 'few_shot-imagenet.json')
    """
    return Path(out) / (f"{name}.json" if track == "offline" else f"{name}-{track}.json")


def check_not_replacing_full_run(path: Path, quick: bool, force: bool = False) -> None:
    """Refuse (before any work) to let a quick run replace the JSON of a full run.

    Raises:
        SystemExit: ``path`` holds a full run, this run is quick and ``force`` is not set.
    """
    if not quick or force or not path.is_file():
        return
    try:
        previous = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return  # not a result anyone can use: replacing it loses nothing
    if previous.get("quick") is False:
        raise SystemExit(
            f"{path} holds a full run from {previous.get('started', 'an earlier date')}; this quick run would replace it. "
            f"Write the quick run elsewhere with --out DIR (e.g. --out /tmp/bench), or pass --force to replace it."
        )


BUSY_LOAD = 0.5  # a 1-minute load average above half the usable CPUs means others were running


def usable_cpus() -> int:
    """The CPUs this process may run on.

    Example:
        >>> usable_cpus() >= 1
        True
    """
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def settle(seconds: float = 120.0, poll: float = 5.0) -> float:
    """Wait, at most ``seconds``, until the 1-minute load average falls below half the usable CPUs.

    The load average trails by a minute: a benchmark started right after other work would be
    flagged as run on a busy machine though it runs alone. Returns the seconds waited.

    Example:
        >>> settle(seconds=0) >= 0
        True
    """
    if not hasattr(os, "getloadavg"):
        return 0.0
    start = time.perf_counter()
    while os.getloadavg()[0] >= BUSY_LOAD * usable_cpus() and time.perf_counter() - start < seconds:
        time.sleep(poll)
    return time.perf_counter() - start


def machine() -> dict[str, Any]:
    """The machine as the run starts: CPU count, usable CPUs, load averages (1, 5, 15 min), platform.

    Example:
        >>> machine()["cpu_count"] >= 1
        True
    """
    load = os.getloadavg() if hasattr(os, "getloadavg") else (math.nan,) * 3
    return {
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable_cpus(),
        "load_average_at_start": [round(v, 2) for v in load],
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
    }


def versions() -> dict[str, Any]:
    """Versions of the libraries that decide the numbers, the git commit and the bundled backbone's sha256."""
    from importlib.metadata import PackageNotFoundError, version

    found: dict[str, Any] = {}
    for package in ("tensorflow", "keras", "keras-tuner", "numpy", "scikit-learn", "tlhelpers"):
        found[package] = None
        # TensorFlow is installed as `tensorflow-cpu` on a machine without a GPU (see the Makefile)
        for dist in (package, "tensorflow-cpu") if package == "tensorflow" else (package,):
            try:
                found[package] = version(dist)
                break
            except PackageNotFoundError:
                pass
    try:
        found["git_commit"] = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_DIR, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        found["git_commit"] = None
    try:
        from tlhelpers.backbones import bundled_manifest

        found["fashion_cnn_sha256"] = bundled_manifest().get("sha256")
    except Exception:  # a missing manifest must not stop a benchmark that does not use it
        found["fashion_cnn_sha256"] = None
    return found


# ---- numbers --------------------------------------------------------------------------------


def spread(values: Iterable[float]) -> dict[str, float]:
    """Median, min, max and count of ``values``.

    Example:
        >>> spread([0.5, 0.7, 0.6])
        {'median': 0.6, 'min': 0.5, 'max': 0.7, 'n': 3}
    """
    values = list(values)
    if not values:
        raise ValueError("spread() needs at least one value")
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


@dataclass
class Target:
    """A target, the measured value and whether it was met (``None``: not measured or not judged in this run).

    ``judged=False`` records the value without a verdict, for a quick run whose shortened
    training makes the number meaningless as a test of the target.

    Example:
        >>> Target("speed-up", ">=", 20, value=25.0, unit="x").met
        True
    """

    description: str
    comparison: str  # ">=" or "<="
    threshold: float
    value: float | None = None
    unit: str = ""
    note: str = ""
    judged: bool = True

    @property
    def met(self) -> bool | None:
        if not self.judged or self.value is None or (isinstance(self.value, float) and math.isnan(self.value)):
            return None
        checks = {">=": lambda v, t: v >= t, "<=": lambda v, t: v <= t, "<": lambda v, t: v < t}
        if self.comparison not in checks:
            raise ValueError(f"unknown comparison {self.comparison!r}; choose one of: {', '.join(checks)}")
        return bool(checks[self.comparison](self.value, self.threshold))

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "met": self.met}


# ---- output ---------------------------------------------------------------------------------


def cell(value: Any) -> str:
    """How a table shows a value: floats with 3 significant decimals, ``None`` as a dash.

    Example:
        >>> [cell(0.71234), cell(12.0), cell(None), cell("ok")]
        ['0.712', '12.000', '-', 'ok']
    """
    if value is None:
        return "-"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.3f}"
    return str(value)


def format_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table, numbers right-aligned.

    Example:
        >>> print(format_table(["k", "acc"], [[5, 0.7]]))
        k    acc
        5  0.700
    """
    text = [[cell(v) for v in row] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in text)]) for i, c in enumerate(columns)]
    numeric = [bool(rows) and all(isinstance(row[i], (int, float)) or row[i] is None for row in rows) for i in range(len(columns))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)).rstrip()

    return "\n".join([line(columns), *(line(r) for r in text)])


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """The same table in Markdown.

    Example:
        >>> print(markdown_table(["k", "acc"], [[5, 0.7]]))
        | k | acc |
        |---|---|
        | 5 | 0.700 |
    """
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v).replace("|", "\\|") for v in row) + " |" for row in rows]
    return "\n".join(lines)


def write_json(path: Path, payload: dict[str, Any]) -> Path:
    """Write ``payload`` as JSON through a temporary file, so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=_jsonable) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):  # NumPy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON: {value!r}")


class Run:
    """One benchmark run: notes the start (time, machine load), then writes the JSON once done.

    Example:
        >>> run = Run("course", parse_args("course", ["--quick"]))  # doctest: +SKIP
    """

    def __init__(self, name: str, args: argparse.Namespace) -> None:
        from tlhelpers.config import current_track

        self.info = BENCHMARKS[name]
        self.args = args
        self.track = current_track().name
        self.path = result_path(args.out, name, self.track)
        check_not_replacing_full_run(self.path, args.quick, getattr(args, "force", False))
        if not args.quick:
            waited = settle()
            if waited >= 1:
                print(f"waited {waited:.0f} s for the machine's load average to settle", flush=True)
        self.started = datetime.now(timezone.utc)
        self.machine = machine()
        self._t0 = time.perf_counter()
        mode = "quick" if args.quick else "full"
        print(f"{self.info.title} ({mode} run, {self.track} track); load average at start: "
              f"{self.machine['load_average_at_start']}", flush=True)

    def finish(
        self,
        settings: dict[str, Any],
        runs: list[dict[str, Any]],
        summary: dict[str, Any],
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        headline: str,
        targets: Sequence[Target] = (),
    ) -> Path:
        """Print the table and the targets; write the JSON (:func:`result_path`); return its path."""
        if getattr(self.args, "note", ""):
            settings = {**settings, "note": self.args.note}
        targets = [t.to_json() for t in targets]
        verdicts = [t["met"] for t in targets]
        met = None if not targets or None in verdicts else all(verdicts)
        payload = {
            "schema": SCHEMA,
            "benchmark": self.info.name,
            "track": self.track,
            "title": self.info.title,
            "measures": self.info.measures,
            "quick": bool(self.args.quick),
            "started": self.started.isoformat(timespec="seconds"),
            "seconds": round(time.perf_counter() - self._t0, 2),
            "machine": self.machine,
            "versions": versions(),
            "settings": settings,
            "runs": runs,
            "summary": summary,
            "table": {"columns": list(columns), "rows": [list(r) for r in rows]},
            "headline": headline,
            "targets": targets,
            "met": met,
        }
        print()
        print(format_table(columns, rows))
        print()
        print(headline)
        for t in targets:
            verdict = {True: "met", False: "NOT MET"}.get(t["met"], "not judged" if not t["judged"] else "not measured")
            value = "-" if t["value"] is None else f"{t['value']:.3g}{t['unit']}"
            print(f"target: {t['description']} ({t['comparison']} {t['threshold']:g}{t['unit']}): {value}, {verdict}"
                  + (f" ({t['note']})" if t["note"] else ""))
        path = write_json(self.path, payload)
        print(f"wrote {path} in {payload['seconds']:.0f} s", flush=True)
        return path


if __name__ == "__main__":  # pragma: no cover
    sys.exit("benchmarks/common.py is a library; run one of the benchmarks, e.g. python benchmarks/few_shot.py --quick")
