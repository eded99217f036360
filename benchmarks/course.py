"""The whole course: seconds per notebook and in total, run headless as ``make course`` runs it.

Every ``notebooks/NN_*.ipynb`` is executed in order by
:func:`tlhelpers.runner.run_notebooks` (each in a fresh kernel, in the active track),
writing the executed copies into a temporary folder that is deleted afterwards (so
``build/`` is left alone). ``--quick`` runs only a small subset (see ``QUICK``).

Targets: every notebook runs without error; the whole course under 600 s in the offline
track, under 20 minutes in the imagenet track with no lesson over 5 minutes.

Run: ``python benchmarks/course.py [--quick] [--out DIR]``
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from common import REPO_DIR, Run, Target, parse_args

NAME = "course"
# track -> (seconds for the whole course, seconds for any one lesson or None)
TARGETS = {"offline": (600.0, None), "imagenet": (1200.0, 300.0)}
NOTEBOOK_DIR = REPO_DIR / "notebooks"
QUICK = ("02_*.ipynb",)  # a machinery check: the lightest lesson


def notebooks(quick: bool) -> list[Path]:
    """The course's notebooks in order (``NN_name.ipynb``), or the quick subset."""
    patterns = QUICK if quick else ("[0-9][0-9]_*.ipynb",)
    found = sorted({p for pattern in patterns for p in NOTEBOOK_DIR.glob(pattern)})
    if not found:
        raise SystemExit(f"no notebooks matching {', '.join(patterns)} in {NOTEBOOK_DIR}")
    return found


def main(argv: list[str] | None = None) -> int:
    args = parse_args(NAME, argv)
    run = Run(NAME, args)
    from tlhelpers.config import current_track
    from tlhelpers.runner import run_notebooks

    track = current_track()
    paths = notebooks(args.quick)
    with tempfile.TemporaryDirectory(prefix="bench_course_") as out:
        results = run_notebooks(paths, out, timeout=300 if args.quick else 1200)
    runs = [{"notebook": r.notebook, "status": r.status, "seconds": round(r.seconds, 2), "error": r.error} for r in results]
    total = sum(r.seconds for r in results)
    failed = [r.notebook for r in results if r.status != "ok"]
    summary = {"total_seconds": total, "notebooks": len(results), "failed": failed}
    rows = [[r.notebook, r.status, r.seconds] for r in results] + [["total", "FAILED" if failed else "ok", total]]
    scope = "quick subset" if args.quick else "whole course"
    headline = f"{scope}: {len(results)} notebook(s) in {total:.0f} s" + (f", FAILED: {', '.join(failed)}" if failed else ", all ran")
    course_limit, lesson_limit = TARGETS[track.name]
    note = "the quick run covers a subset of the notebooks" if args.quick else ""
    targets = [Target("seconds for the whole course", "<", course_limit, total, " s", judged=not args.quick, note=note)]
    if lesson_limit:
        slowest = max(r.seconds for r in results)
        targets.append(Target("seconds for the slowest lesson", "<=", lesson_limit, slowest, " s", judged=not args.quick))
    targets.append(Target("notebooks that failed", "<=", 0, len(failed), ""))
    settings = {"notebooks": [p.name for p in paths], "track": track.name, "profile": track.profile,
                "runner": "tlhelpers.runner.run_notebooks (nbclient, one kernel per notebook, HTML export included)"}
    run.finish(settings, runs, summary, ["notebook", "status", "seconds"], rows, headline, targets)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
