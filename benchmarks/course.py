"""The whole course: seconds per notebook and in total, run headless as ``make course`` runs it.

Every ``notebooks/NN_*.ipynb`` is executed in order by
:func:`tlhelpers.runner.run_notebooks` (each in a fresh kernel, in the active track),
writing the executed copies into a temporary folder that is deleted afterwards. The
kernels' ``build/`` (saved models, tuner projects) is a fresh temporary folder too
(``TL_BUILD_DIR``), so a timed run reuses nothing and the course's ``build/`` is left alone. ``--quick`` runs only a small subset (see ``QUICK``).

Targets: every notebook runs without error; the whole course under 600 s in the offline
track, under 15 minutes in the imagenet track with no lesson over 240 s, on a machine like
the reference (2 CPU cores). Machines differ several-fold in speed, so the run also times a
fixed TensorFlow workload (:func:`calibrate`: MobileNetV2's forward pass at 96 px, before
and after the lessons) and judges the times against the targets scaled by how much slower
or faster than the reference's that workload ran (:data:`REFERENCE_CALIBRATION`).

Run: ``python benchmarks/course.py [--quick] [--out DIR] [--keep DIR]`` (``--keep``: write the
executed notebooks there, to read what the timed run printed).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from common import REPO_DIR, Run, Target, parse_args

NAME = "course"
# track -> (seconds for the whole course, seconds for any one lesson or None), on the reference machine
TARGETS = {"offline": (600.0, None), "imagenet": (900.0, 240.0)}
# Seconds of calibrate() on the reference machine: 2 cores on which a 20-million-step Python loop
# (`for i in range(20_000_000): s += i`) took 1.45 s; the mean of its whole-course runs on 2026-12-06
# (offline 2.40 s, imagenet 2.62 s).
REFERENCE_CALIBRATION = 2.5
NOTEBOOK_DIR = REPO_DIR / "notebooks"
QUICK = ("02_*.ipynb",)  # a machinery check: the lightest lesson


def notebooks(quick: bool) -> list[Path]:
    """The course's notebooks in order (``NN_name.ipynb``), or the quick subset."""
    patterns = QUICK if quick else ("[0-9][0-9]_*.ipynb",)
    found = sorted({p for pattern in patterns for p in NOTEBOOK_DIR.glob(pattern)})
    if not found:
        raise SystemExit(f"no notebooks matching {', '.join(patterns)} in {NOTEBOOK_DIR}")
    return found


def calibrate(repeats: int = 3) -> float:
    """Median seconds of a fixed TensorFlow workload: MobileNetV2 (random weights) on 1,024 images at 96 px.

    The same work on every machine, timed after one untimed pass (tracing), so the ratio of
    two machines' figures says how much faster one runs the course's kind of work.
    """
    import statistics
    import time

    import keras
    import numpy as np

    model = keras.applications.MobileNetV2(weights=None, input_shape=(96, 96, 3), include_top=False)
    x = np.random.default_rng(0).uniform(-1, 1, (1024, 96, 96, 3)).astype("float32")
    model.predict(x[:32], batch_size=32, verbose=0)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict(x, batch_size=32, verbose=0)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cell_seconds(executed: Path, at_least: float = 2.0) -> dict[str, float]:
    """Seconds of each code cell that ran for ``at_least`` seconds, by cell id, from nbclient's timestamps.

    The lessons quote them before their long cells (``<!-- q:cell_time.<id> -->``, see
    ``benchmarks/quotes.py``).
    """
    from datetime import datetime

    import nbformat

    seconds = {}
    for cell in nbformat.read(executed, as_version=4).cells:
        timing = cell.metadata.get("execution", {})
        if cell.cell_type == "code" and "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            start, end = (datetime.fromisoformat(timing[k].replace("Z", "+00:00"))
                          for k in ("iopub.execute_input", "shell.execute_reply"))
            if (end - start).total_seconds() >= at_least:
                seconds[cell.id] = round((end - start).total_seconds(), 1)
    return seconds


def main(argv: list[str] | None = None) -> int:
    args = parse_args(NAME, argv, keep=True)
    run = Run(NAME, args)
    from tlhelpers.config import current_track
    from tlhelpers.runner import run_notebooks

    track = current_track()
    paths = notebooks(args.quick)
    before = calibrate()
    with tempfile.TemporaryDirectory(prefix="bench_course_") as scratch:
        out = Path(args.keep or scratch)
        os.environ["TL_BUILD_DIR"] = str(Path(scratch) / "build")  # the kernels' build/: nothing reused, nothing left
        results = run_notebooks(paths, out, timeout=300 if args.quick else 1200)
        cells = {r.notebook: cell_seconds(out / r.notebook) for r in results}
    calibration = round((before + calibrate()) / 2, 3)  # the machine's speed around the run
    scale = round(calibration / REFERENCE_CALIBRATION, 3)
    runs = [{"notebook": r.notebook, "status": r.status, "seconds": round(r.seconds, 2), "error": r.error,
             "cell_seconds": cells[r.notebook]} for r in results]
    total = sum(r.seconds for r in results)
    failed = [r.notebook for r in results if r.status != "ok"]
    summary = {"total_seconds": total, "notebooks": len(results), "failed": failed, "calibration_seconds": calibration,
               "reference_calibration_seconds": REFERENCE_CALIBRATION, "speed_scale": scale}
    rows = [[r.notebook, r.status, r.seconds] for r in results] + [["total", "FAILED" if failed else "ok", total]]
    scope = "quick subset" if args.quick else "whole course"
    headline = (f"{scope}: {len(results)} notebook(s) in {total:.0f} s" + (f", FAILED: {', '.join(failed)}" if failed else ", all ran")
                + f"; this machine ran the calibration workload in {calibration:.1f} s, the reference in "
                  f"{REFERENCE_CALIBRATION:.1f} s (targets scaled by {scale:.2f})")
    course_limit, lesson_limit = TARGETS[track.name]
    note = "the quick run covers a subset of the notebooks" if args.quick else ""
    scaled = f"{course_limit:g} s on the reference machine, times {scale:.2f} for this one's speed"
    targets = [Target(f"seconds for the whole course ({scaled})", "<", round(course_limit * scale, 1), total, " s",
                      judged=not args.quick, note=note)]
    if lesson_limit:
        slowest = max(r.seconds for r in results)
        targets.append(Target(f"seconds for the slowest lesson ({lesson_limit:g} s on the reference machine, scaled)",
                              "<=", round(lesson_limit * scale, 1), slowest, " s", judged=not args.quick))
    targets.append(Target("notebooks that failed", "<=", 0, len(failed), ""))
    settings = {"notebooks": [p.name for p in paths], "track": track.name, "profile": track.profile,
                "runner": "tlhelpers.runner.run_notebooks (nbclient, one kernel per notebook, HTML export included)"}
    run.finish(settings, runs, summary, ["notebook", "status", "seconds"], rows, headline, targets)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
