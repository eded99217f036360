"""Grading a class of a2 submissions, each in a sandbox, against the same without one.

Makes ``submissions`` copies of assignment 2 in a temporary folder (one sub-folder per
student: a third the reference solution, a third the blank student version, a third with
a wrong answer to question 3), then grades the folder twice with
:func:`tlhelpers.sandboxed_grading.grade_folder`: in the sandbox (bubblewrap, limits) and
with ``unsafe=True`` (the same runner as a plain process), after an untimed warm-up
of one submission each way. Each pass also runs the reference solution once (the
evidence keys). Both passes must give every student the same
score. Reported: wall-clock seconds of each pass, the median seconds per submission, and
the sandbox's overhead. A calibration (a 20-million-step Python loop; about 1.2 s on the
reference machine) is timed at the start, so a busy machine shows.

Run: ``python benchmarks/sandbox_grading.py [--quick] [--out DIR]``
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path

from common import REPO_DIR, Run, Target, parse_args

NAME = "sandbox_grading"
ASSIGNMENT = "a2_preprocessing"
SETTINGS = {"full": {"submissions": 30}, "quick": {"submissions": 3}}


def calibration() -> float:
    """Seconds for ``s += i`` over 20 million steps in this Python."""
    start = time.perf_counter()
    s = 0
    for i in range(20_000_000):
        s += i
    return time.perf_counter() - start


def make_class(folder: Path, count: int) -> Path:
    """``count`` students' a2 submissions: reference, blank and one wrong answer, in turn."""
    import nbformat

    from tlhelpers.grading import grade_id, release_notebook

    source = REPO_DIR / "assignments" / "source" / ASSIGNMENT / "preprocessing.ipynb"
    reference = nbformat.read(source, as_version=4)
    blank, _ = release_notebook(reference)
    wrong = nbformat.from_dict(reference)
    for cell in wrong.cells:
        if grade_id(cell) == "a2_wrong_pipelines":
            cell.source = 'wrong_pipelines = {"B", "C"}'
    for n in range(count):
        target = folder / f"student{n:02d}" / ASSIGNMENT / source.name
        target.parent.mkdir(parents=True)
        nbformat.write((reference, blank, wrong)[n % 3], target)
    return folder


def main(argv: list[str] | None = None) -> int:
    args = parse_args(NAME, argv)
    run = Run(NAME, args)
    from tlhelpers.sandbox import Limits
    from tlhelpers.sandboxed_grading import Grader, grade_folder

    s = SETTINGS["quick" if args.quick else "full"]
    loop_seconds = calibration()
    print(f"calibration: 20 million Python steps in {loop_seconds:.2f} s", flush=True)
    passes, runs = {}, []
    with tempfile.TemporaryDirectory(prefix="tl-bench-grading-") as tmp:
        folder = make_class(Path(tmp) / "submitted", s["submissions"])
        warm = make_class(Path(tmp) / "warm-up", 1)
        for mode in ("sandbox", "no sandbox"):  # untimed: imports and file caches warm for both passes alike
            grade_folder(warm, ASSIGNMENT, grader=Grader(Limits(), unsafe=mode == "no sandbox"))
        for mode in ("sandbox", "no sandbox"):
            grader = Grader(Limits(), unsafe=mode == "no sandbox")
            start = time.perf_counter()
            rows = grade_folder(folder, ASSIGNMENT, grader=grader)
            passes[mode] = {"seconds": time.perf_counter() - start, "rows": rows}
            print(f"{mode}: {len(rows)} submissions in {passes[mode]['seconds']:.1f} s", flush=True)
            runs += [{"mode": mode, "student": r.student, "verdict": r.verdict, "score": r.report.score if r.report else None,
                      "seconds": round(r.seconds, 2)} for r in rows]
    scores = {mode: [r.report.score if r.report else None for r in p["rows"]] for mode, p in passes.items()}
    same = scores["sandbox"] == scores["no sandbox"]
    total = {mode: p["seconds"] for mode, p in passes.items()}
    per = {mode: statistics.median(r.seconds for r in p["rows"]) for mode, p in passes.items()}
    overhead = 100 * (total["sandbox"] / total["no sandbox"] - 1)
    rows = [[mode, len(passes[mode]["rows"]), round(total[mode], 1), round(per[mode], 2)] for mode in passes]
    rows.append(["sandbox overhead (%)", None, round(overhead, 1), round(100 * (per["sandbox"] / per["no sandbox"] - 1), 1)])
    return 0 if run.finish(
        settings={**s, "assignment": ASSIGNMENT, "calibration_seconds": round(loop_seconds, 2),
                  "same_scores_in_both_modes": same, "limits": Limits().__dict__},
        runs=runs,
        summary={"seconds": total, "median_seconds_per_submission": per, "overhead_percent": overhead, "same_scores": same},
        columns=["grading", "submissions", "seconds in all", "median seconds per submission"],
        rows=rows,
        headline=(f"{s['submissions']} a2 submissions: {total['sandbox']:.0f} s in the sandbox, {total['no sandbox']:.0f} s "
                  f"without ({overhead:+.1f}%); {per['sandbox']:.1f} s per submission; "
                  f"{'same' if same else 'DIFFERENT'} scores; calibration loop {loop_seconds:.2f} s"),
        targets=[Target("the sandbox's overhead on grading 30 submissions of a2", "<=", 10, value=overhead, unit="%",
                        judged=not args.quick)],
    ) and same else 1


if __name__ == "__main__":
    raise SystemExit(main())
