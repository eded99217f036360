"""The course's command line: ``python -m tlhelpers COMMAND``.

Commands:
    doctor     which tracks are ready, versions, CPU threads
    ready      exit status 0 if what a track's lessons need is on this machine (``--track``), else 1
    prefetch   download what a track needs (``--track imagenet``) into the Keras cache
    pretrain   retrain the bundled backbone (``--force`` to replace the committed one, ``--out DIR`` elsewhere)
    course     execute every notebook headless into ``build/`` with a summary table
    assignments  ``release SRC DEST [--force]`` student versions; ``check NOTEBOOK`` score a submission
               in a sandbox; ``grade FOLDER --csv FILE`` a folder of them; ``sandbox -- COMMAND`` an
               nbgrader command (autograde) in the sandbox, on this course folder

Example:
    $ python -m tlhelpers doctor
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tlhelpers.i18n import LANGUAGES

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads: keep the CLI readable


def _doctor(args: argparse.Namespace) -> int:
    from tlhelpers.doctor import report

    ready, text = report()
    print(text)
    return 0 if ready else 1


def _ready(args: argparse.Namespace) -> int:
    from tlhelpers.config import current_track
    from tlhelpers.doctor import essentials_ready

    ready, line = essentials_ready(args.track or current_track().name)
    print(line)
    return 0 if ready else 1


def _prefetch(args: argparse.Namespace) -> int:
    from tlhelpers.config import current_track
    from tlhelpers.prefetch import prefetch

    track = args.track or current_track().name
    backbones = tuple(args.backbones.split(",")) if args.backbones else None
    try:
        fetched = prefetch(track, backbones)
    except (ConnectionError, ValueError) as err:
        print(f"prefetch failed: {err}", file=sys.stderr)
        return 2
    print(f"{track} track: fetched {len(fetched)} item(s); everything it needs is cached.")
    return 0


def _pretrain(args: argparse.Namespace) -> int:
    from tlhelpers.config import ASSETS_DIR
    from tlhelpers.pretrain import pretrain

    try:
        manifest = pretrain(epochs=args.epochs, seed=args.seed, out_dir=args.out or ASSETS_DIR, force=args.force)
    except FileExistsError as err:
        print(f"pretrain refused: {err}", file=sys.stderr)
        return 2
    print(f"wrote {manifest['file']}: source-test accuracy {manifest['source_test_accuracy']:.4f}, "
          f"sha256 {manifest['sha256'][:12]}...")
    return 0


def _course(args: argparse.Namespace) -> int:
    from tlhelpers.config import build_dir, current_track
    from tlhelpers.i18n import SOURCE_LANGUAGE, current_language, use_language
    from tlhelpers.runner import run_notebooks, summary

    if args.track:
        os.environ["TL_TRACK"] = args.track
    track = current_track()
    try:
        language = current_language(args.language)
        use_language(language)  # the kernels started from here inherit it
    except ValueError as err:  # TL_LANG or course.toml names an unknown language
        print(err, file=sys.stderr)
        return 2
    folder = Path(args.dir or ("notebooks" if language == SOURCE_LANGUAGE else f"notebooks/{language}"))
    notebooks = args.notebooks or sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        print(f"no notebooks found in {folder}", file=sys.stderr)
        return 2
    print(f"Running {len(notebooks)} notebook(s) in the {track.name} track ({track.profile} profile), "
          f"in {LANGUAGES[language]}")
    out = args.out or (build_dir() if language == SOURCE_LANGUAGE else build_dir() / language)
    results = run_notebooks(notebooks, out)
    print()
    print(summary(results))
    return 0 if all(r.status == "ok" for r in results) else 1


def _assignments_release(args: argparse.Namespace) -> int:
    from tlhelpers.grading import MarkupError, release

    try:
        written = release(args.src, args.dest, force=args.force)
    except (FileExistsError, FileNotFoundError, MarkupError, ValueError) as err:
        print(f"release refused: {err}", file=sys.stderr)
        return 2
    for path, stats in written.items():
        if stats is None:
            print(f"copied   {path}")
        else:
            print(f"released {path}: {stats.solutions} answer cell(s) cleared, {stats.hidden_tests} hidden "
                  f"test region(s) removed, {stats.graded_cells} graded cell(s) worth {stats.points:g} points")
    return 0


def _limits(args: argparse.Namespace):
    from tlhelpers.sandbox import Limits

    return Limits(cell_seconds=args.timeout, notebook_seconds=args.notebook_timeout,
                  memory_bytes=int(args.memory * 2**30), processes=args.processes)


def _grader(args: argparse.Namespace):
    from tlhelpers.sandbox import SandboxUnavailable
    from tlhelpers.sandboxed_grading import Grader

    try:
        return Grader(_limits(args), unsafe=args.unsafe)
    except (SandboxUnavailable, ValueError) as err:
        print(f"grading refused: {err}", file=sys.stderr)
        return None


def _assignments_check(args: argparse.Namespace) -> int:
    from tlhelpers.grading import MarkupError

    grader = _grader(args)
    if grader is None:
        return 2
    others = []  # the other submissions: hidden from each one
    if len(args.notebooks) > 1:
        others.append(Path(os.path.commonpath([Path(n).resolve().parent for n in args.notebooks])))
    status = 0
    for notebook in args.notebooks:
        print(f"running {notebook} in a {'plain process (--unsafe)' if args.unsafe else 'sandbox'} ...", file=sys.stderr, flush=True)
        try:
            report = grader.check(notebook, source=args.source, hide=others)
        except (FileExistsError, FileNotFoundError, MarkupError, ValueError) as err:
            print(f"check failed: {err}", file=sys.stderr)
            status = 2
            continue
        print(report)
        print()
    return status


def _assignments_grade(args: argparse.Namespace) -> int:
    from tlhelpers.sandboxed_grading import grade_folder, write_csv

    out = Path(args.csv)
    if out.exists() and not args.force:
        print(f"grading refused: {str(out)!r} exists (earlier grades?); choose another file, or pass --force", file=sys.stderr)
        return 2
    grader = _grader(args)
    if grader is None:
        return 2

    def show(row) -> None:
        score = "" if row.report is None else f"{row.report.score:g} / {row.report.auto_points:g}  "
        print(f"{row.student}: {score}{row.verdict} ({row.seconds:.0f} s)", flush=True)

    try:
        rows = grade_folder(args.folder, args.assignment, args.source, grader, progress=show, executed=args.executed)
    except FileNotFoundError as err:
        print(f"grading refused: {err}", file=sys.stderr)
        return 2
    write_csv(rows, out, force=args.force)
    print(f"wrote {out}: {len(rows)} row(s)")
    return 0


def _assignments_sandbox(args: argparse.Namespace) -> int:
    from tlhelpers import nbgrader_sandbox
    from tlhelpers.sandbox import SandboxUnavailable

    command_line = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command_line:
        print("sandbox: give the command to run after --, e.g. -- nbgrader autograde a1_freezing", file=sys.stderr)
        return 2
    try:
        return nbgrader_sandbox.run(command_line, _limits(args))
    except (SandboxUnavailable, ValueError) as err:
        print(f"sandbox refused: {err}", file=sys.stderr)
        return 2


def _limit_options(q: argparse.ArgumentParser, unsafe: bool = True) -> None:
    from tlhelpers.sandbox import Limits

    default = Limits()
    q.add_argument("--timeout", type=int, default=default.cell_seconds,
                   help=f"seconds each cell may take (default: {default.cell_seconds})")
    q.add_argument("--notebook-timeout", type=int, default=default.notebook_seconds,
                   help=f"seconds a whole notebook may take (default: {default.notebook_seconds})")
    q.add_argument("--memory", type=float, default=default.memory_bytes / 2**30,
                   help=f"GiB of address space per process (default: {default.memory_bytes / 2**30:g})")
    q.add_argument("--processes", type=int, default=default.processes,
                   help=f"processes and threads in the sandbox (default: {default.processes})")
    if unsafe:
        q.add_argument("--unsafe", action="store_true",
                       help="run submissions without a sandbox, with your rights (only where none can run)")


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run a command; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m tlhelpers", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("doctor", help="which tracks are ready, versions, CPU threads").set_defaults(run=_doctor)

    p = commands.add_parser("ready", help="exit status 0 if what a track's lessons need is on this machine")
    p.add_argument("--track", choices=["offline", "imagenet"], help="default: the active track")
    p.set_defaults(run=_ready)

    p = commands.add_parser("prefetch", help="download what a track needs into the Keras cache")
    p.add_argument("--track", choices=["offline", "imagenet"], help="default: the active track")
    p.add_argument("--backbones", help="comma-separated ImageNet backbones (default: all)")
    p.set_defaults(run=_prefetch)

    p = commands.add_parser("pretrain", help="retrain the bundled backbone on the source classes")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--out", help="folder for fashion_cnn.keras and its manifest (default: the package's assets)")
    p.add_argument("--force", action="store_true", help="replace the existing bundled backbone")
    p.set_defaults(run=_pretrain)

    p = commands.add_parser("course", help="execute the notebooks headless into build/")
    p.add_argument("notebooks", nargs="*", help="default: every NN_*.ipynb in --dir")
    p.add_argument("--dir", help="default: notebooks/ (notebooks/zh/ in Chinese)")
    p.add_argument("--out", help="default: build/ (build/zh/ in Chinese)")
    p.add_argument("--track", choices=["offline", "imagenet"], help="default: course.toml / TL_TRACK")
    p.add_argument("--language", choices=list(LANGUAGES), help="default: course.toml / TL_LANG (zh: the Chinese lessons)")
    p.set_defaults(run=_course)

    p = commands.add_parser("assignments", help="graded assignments without nbgrader: release, check, grade, sandbox")
    steps = p.add_subparsers(dest="step", required=True)
    q = steps.add_parser("release", help="write student versions (no solutions, no hidden tests, no outputs)")
    q.add_argument("src", help="a source notebook, an assignment folder, or a folder of assignments")
    q.add_argument("dest", help="folder to write the student versions to")
    q.add_argument("--force", action="store_true", help="overwrite files that exist in DEST")
    q.set_defaults(run=_assignments_release)
    q = steps.add_parser("check", help="run submissions, each in a sandbox, and print a score per question")
    q.add_argument("notebooks", nargs="+", metavar="NOTEBOOK")
    q.add_argument("--source", help="the source notebook, or a folder to find it in (default: assignments/source, or assignments/zh/source for a notebook in Chinese)")
    _limit_options(q)
    q.set_defaults(run=_assignments_check)
    q = steps.add_parser("grade", help="grade a folder of submissions (one sub-folder per student), each in a sandbox, into a CSV")
    q.add_argument("folder", help="one sub-folder per student, e.g. nbgrader's submitted/")
    q.add_argument("--assignment", help="only notebooks under <student>/ASSIGNMENT/")
    q.add_argument("--source", help="the source notebook, or a folder to find it in (default: assignments/source, or assignments/zh/source for a notebook in Chinese)")
    q.add_argument("--csv", default="grades.csv", help="where to write one row per student (default: grades.csv)")
    q.add_argument("--force", action="store_true", help="replace the CSV if it exists")
    q.add_argument("--executed", help="also write each executed notebook into this folder (never overwrites)")
    _limit_options(q)
    q.set_defaults(run=_assignments_grade)
    q = steps.add_parser("sandbox", help="run nbgrader (e.g. autograde) in the sandbox on this course folder: "
                                         "writable copies of the gradebook, autograded/ and feedback/, written back after")
    q.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    _limit_options(q, unsafe=False)
    q.set_defaults(run=_assignments_sandbox)

    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
