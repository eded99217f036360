"""Grading that a hostile notebook cannot escape: each submission in its own sandbox, with limits.

For each submission, :func:`check_submission`:

1. puts back the teacher's locked cells (:func:`tlhelpers.grading.load_submission`), here, outside;
2. copies the submission's folder and the assignment's other files (never its notebooks)
   into a fresh temporary folder, the only place the sandbox can write;
3. runs the notebook there with :mod:`tlhelpers.cell_runner` inside a
   :mod:`tlhelpers.sandbox`: read-only system, no network, the teacher's home, the
   course's folder (solutions included) and the submissions' folders hidden, limits on
   memory and processes, a time limit per cell and per notebook; the runner streams each
   finished cell back, so a notebook stopped half-way keeps the cells it completed;
4. scores the cells with nbgrader's rules (:func:`tlhelpers.grading.score`); a graded cell
   the notebook never reached scores 0 (``not run``);
5. judges again, here, every check that publishes its evidence (:mod:`tlhelpers.evidence`):
   the keys must be those the teacher's reference solution published in that cell (found
   by running the source notebook once, in the same sandbox) and each must pass the
   grader's own judge (``JUDGES`` in :mod:`tlhelpers.exercises.assignment_checks`), with
   its own constants, its own copy of the backbones and the test labels, and the facts the
   runner measured outside the kernel: the submission's files before any of its code ran,
   and the seconds each cell took. A graded cell the kernel reported as passed that fails
   this scores 0 as ``tampered``: student code that replaced the checks, their expected
   values or the kernel's error reporting gains nothing;
6. names what went wrong in the report's ``verdicts``: :data:`TIMED_OUT`,
   :data:`OUT_OF_MEMORY`, :data:`TOO_MANY_PROCESSES`, :data:`NETWORK`, :data:`KERNEL_DIED`,
   :data:`STOPPED`, :data:`TAMPERED`.

:func:`grade_folder` does that for a folder of submissions (one sub-folder per student)
and :func:`write_csv` writes one row per student. Printed text never counts: scores come
from the cells' errors and the evidence only.

Example:
    >>> report = check_submission("submitted/alice/a2_preprocessing/preprocessing.ipynb")  # doctest: +SKIP
    >>> report.verdicts                                                                   # doctest: +SKIP
    []
"""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import pwd
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import nbformat
from nbformat import NotebookNode

from tlhelpers import evidence, sandbox
from tlhelpers.config import PACKAGE_DIR, current_track, find_config
from tlhelpers.grading import (
    SKIPPED_NAMES,
    CheckReport,
    QuestionScore,
    Submission,
    _atomic_write,
    _meta,
    is_grade,
    load_submission,
    score,
)

__all__ = ["Grader", "grade_folder"]

TIMED_OUT = "timed out"
OUT_OF_MEMORY = "out of memory"
TOO_MANY_PROCESSES = "too many processes"
NETWORK = "tried the network"
KERNEL_DIED = "kernel died"
STOPPED = "stopped early"
TAMPERED = "tampered with the tests"
#: The most a submission's folder may hold: it is copied into the sandbox.
MAX_FOLDER_BYTES = 500 << 20
#: Folders never hidden: the system the sandbox runs on.
SYSTEM = {Path(p) for p in ("/", "/usr", "/bin", "/sbin", "/lib", "/lib64", "/etc", "/var", "/opt", "/dev", "/proc",
                            "/sys", "/tmp", "/run", "/srv", "/boot", "/mnt", "/media")}

_NETWORK_ERRORS = ("Network is unreachable", "Connection refused", "Name or service not known",
                   "Temporary failure in name resolution", "No address associated with hostname")


def limit_verdict(output: dict[str, Any]) -> str | None:
    """Which limit a cell's error output shows it ran into, or ``None``.

    Example:
        >>> limit_verdict({"output_type": "error", "ename": "OSError", "evalue": "[Errno 101] Network is unreachable"})
        'tried the network'
    """
    if output.get("output_type") != "error":
        return None
    ename, evalue = str(output.get("ename", "")), str(output.get("evalue", ""))
    if ename == "CellTimeoutError":
        return TIMED_OUT
    if ename == "MemoryError" or "Cannot allocate memory" in evalue:
        return OUT_OF_MEMORY
    if "Resource temporarily unavailable" in evalue or "can't start new thread" in evalue:
        return TOO_MANY_PROCESSES
    if any(text in evalue for text in _NETWORK_ERRORS):
        return NETWORK
    return None


# ---- one run in the sandbox ---------------------------------------------------------------


@dataclass
class Run:
    """What came back from one notebook's run.

    Attributes:
        cells: each finished cell, by index.
        cell_seconds: how long each finished cell took, timed by the runner (outside the kernel).
        files: the notebook's folder before any of its code ran (:func:`tlhelpers.evidence.files`).
        verdicts: the limits it broke, what stopped it.
        seconds: the whole run.
        log: the end of the runner's own stderr (kept for debugging; reports do not show it).
    """

    cells: dict[int, dict[str, Any]] = field(default_factory=dict)
    cell_seconds: dict[int, float] = field(default_factory=dict)
    files: dict[str, str | None] = field(default_factory=dict)
    verdicts: list[str] = field(default_factory=list)
    seconds: float = 0.0
    log: str = ""


def _copy_files(submission: Submission, work: Path) -> None:
    """The submission's folder, then the assignment's files other than notebooks, then the notebook to run."""
    folder = submission.path.parent
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
    if size > MAX_FOLDER_BYTES:
        raise ValueError(
            f"the folder of {str(submission.path)!r} holds {size / 2**20:.0f} MB, more than the "
            f"{MAX_FOLDER_BYTES >> 20} MB grading copies into the sandbox: put each submission in a folder of its own"
        )
    ignore = shutil.ignore_patterns(*SKIPPED_NAMES)
    shutil.copytree(folder, work, symlinks=True, ignore=ignore)  # symlinks stay links: inside, they lead nowhere
    if submission.source_path is not None and submission.source_nb is not None:
        source_files = shutil.ignore_patterns(*SKIPPED_NAMES, "*.ipynb")
        shutil.copytree(submission.source_path.parent, work, symlinks=True, ignore=source_files, dirs_exist_ok=True)
    nbformat.write(submission.nb, work / submission.path.name)


def exposed() -> list[Path]:
    """What the sandbox needs from the folders it hides: Python, ``tlhelpers``, ``course.toml``, the Keras cache.

    Example:
        >>> Path(sys.prefix) in exposed()
        True
    """
    from tlhelpers.data import keras_cache_dir

    config = find_config()
    return [Path(sys.prefix), Path(sys.base_prefix), PACKAGE_DIR, *([config] if config else []), keras_cache_dir()]


def hidden(*folders: Path | None) -> list[Path]:
    """The teacher's home (``$HOME`` and the account's), the course's folder and ``folders``, without :data:`SYSTEM`.

    Example:
        >>> Path.home() in hidden()
        True
    """
    config = find_config()
    account = Path(pwd.getpwuid(os.geteuid()).pw_dir)
    paths = [Path.home(), account, *([config.parent] if config else []), *(f for f in folders if f is not None)]
    found: list[Path] = []
    for path in paths:
        path = Path(path).resolve()
        if path not in SYSTEM and path not in found and path.exists():
            found.append(path)
    return found


def environment() -> dict[str, str]:
    """The environment variables a sandbox gets: the course's few (the track, the Keras cache), none of yours.

    Example:
        >>> environment()["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
        True
    """
    from tlhelpers.data import keras_cache_dir

    track, cache = current_track(), keras_cache_dir()
    return {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "LANG": "C.UTF-8",
        "PYTHONSAFEPATH": "1",  # nothing in the submission's folder shadows tlhelpers, ipykernel or the runner
        "TL_TRACK": track.name,
        "TL_PROFILE": track.profile,
        "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
        "JUPYTER_PLATFORM_DIRS": "1",
        # the cache, put back read-only; without one, Keras makes its own in the sandbox's home
        **({"KERAS_HOME": str(cache)} if cache.is_dir() else {}),
    }


def run(submission: Submission, limits: sandbox.Limits, unsafe: bool = False, hide: Iterable[Path] = ()) -> Run:
    """Run a submission in a fresh copy of its folder; return what came back.

    Args:
        submission: from :func:`tlhelpers.grading.load_submission`.
        limits: time, memory and process limits.
        unsafe: run without the sandbox (memory and time limits only; the process limit
            would count all of this account's processes).
        hide: folders the sandbox hides besides the teacher's home and the course's folder.

    Example:
        >>> run(load_submission("submitted/alice/hw.ipynb"), sandbox.Limits()).verdicts  # doctest: +SKIP
        []
    """
    result = Run()
    with tempfile.TemporaryDirectory(prefix="tl-grade-") as tmp:
        work = Path(tmp) / "work"
        _copy_files(submission, work)
        argv = [sys.executable, "-m", "tlhelpers.cell_runner", submission.path.name, "--timeout", str(limits.cell_seconds)]
        if unsafe:
            command = sandbox.limited(argv, limits, processes=False)  # the process limit would count all of yours
        else:
            sandbox.hand_to_sandbox_user(work)
            argv += ["--process-limit", str(limits.processes)]  # /proc in there lists only the sandbox's
            command = sandbox.command(argv, work, limits, hidden(*hide), exposed())
        with tempfile.TemporaryFile(mode="w+", dir=tmp) as log:
            proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, cwd=work, env=environment(),
                                    start_new_session=True, text=True, encoding="utf-8", errors="replace")
            started = time.monotonic()
            events = _read_events(proc, limits.notebook_seconds)
            result.seconds = time.monotonic() - started
            log.seek(0)
            result.log = log.read()[-4000:]
    for event in events:
        if event.get("event") == "cell" and isinstance(event.get("index"), int) and isinstance(event.get("cell"), dict):
            result.cells[event["index"]] = event["cell"]
            result.cell_seconds[event["index"]] = float(event.get("seconds", 0.0))
    result.files = next((e["files"] for e in events if e.get("event") == "files" and isinstance(e.get("files"), dict)), {})
    kinds = [e.get("event") for e in events]
    if "deadline" in kinds:
        result.verdicts.append(TIMED_OUT)
    elif "kernel died" in kinds:
        result.verdicts.append(KERNEL_DIED)
    elif "done" not in kinds:
        result.verdicts.append(STOPPED)
    if "processes" in kinds:
        result.verdicts.append(TOO_MANY_PROCESSES)
    for cell in result.cells.values():
        for output in cell.get("outputs", []):
            verdict = limit_verdict(output)
            if verdict and verdict not in result.verdicts:
                result.verdicts.append(verdict)
    return result


def _read_events(proc: subprocess.Popen, seconds: float) -> list[dict[str, Any]]:
    """The runner's events until it ends, or until ``seconds`` pass (then it is killed, whole)."""
    lines: queue.Queue = queue.Queue()

    def reader() -> None:
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=reader, daemon=True).start()
    deadline = time.monotonic() + seconds
    events: list[dict[str, Any]] = []
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            events.append({"event": "deadline"})
            break
        if line is None:
            break
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)  # bwrap leads the group; its namespace's processes die with it
    proc.wait()
    return events


# ---- scoring ------------------------------------------------------------------------------


def _executed(submission: Submission, result: Run) -> NotebookNode:
    """The submission's notebook (the grader's copy of every source) with the outputs that came back."""
    nb = copy.deepcopy(submission.nb)
    for index, cell in result.cells.items():
        if 0 <= index < len(nb.cells) and nb.cells[index].cell_type == "code":
            nb.cells[index].outputs = [nbformat.from_dict(o) for o in cell.get("outputs", [])]
            nb.cells[index].execution_count = cell.get("execution_count")
    return nb


@dataclass
class Reference:
    """The evidence the teacher's reference solution publishes: its keys, by the ``grade_id`` of the cell.

    Every cell with a ``grade_id`` counts (a locked cell that runs ``solve``, say), so the
    grader knows which cell of a submission did what: a graded cell must publish its keys
    again, and a judge may ask how long the cell behind a key took.

    Example:
        >>> Reference({"q1_setup": [], "q1_tests": ['prepare {"size": 32}']}).any()
        True
    """

    keys: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, nb: NotebookNode) -> Reference:
        """The keys each cell of an executed reference notebook published.

        Example:
            >>> Reference.of(nbformat.v4.new_notebook()).keys
            {}
        """
        return cls({_meta(c)["grade_id"]: sorted({evidence.key_of(r) for r in evidence.records(c.get("outputs", []))})
                    for c in nb.cells if c.cell_type == "code" and _meta(c).get("grade_id")})

    def any(self) -> bool:
        """Whether any cell publishes evidence."""
        return any(self.keys.values())


def _facts(nb: NotebookNode, result: Run, reference: Reference) -> dict[str, Any]:
    """What the judges may use besides the evidence: measured here and by the runner, never by the kernel."""
    index = {_meta(c).get("grade_id"): i for i, c in enumerate(nb.cells)}
    seconds: dict[str, float] = {}
    for grade_id, keys in reference.keys.items():
        for key in keys if index.get(grade_id) in result.cell_seconds else ():
            seconds.setdefault(key, result.cell_seconds[index[grade_id]])
    return {"files": result.files, "seconds": seconds}


def _rejudge(cell: NotebookNode, expected: list[str], facts: dict[str, Any]) -> str | None:
    """Why the grader's own judgement of ``cell``'s evidence fails, or ``None`` if it passes."""
    from tlhelpers.exercises.assignment_checks import JUDGES

    found: dict[str, list[dict[str, Any]]] = {}
    for record in evidence.records(cell.get("outputs", [])):
        found.setdefault(evidence.key_of(record), []).append(record)
    for key in expected:
        if key not in found:
            return f"the check {key} sent no result (was the check or the test cell changed?)"
        for record in found[key]:
            judge = JUDGES.get(record["check"])
            if judge is None:
                return f"the grader has no judge for the check {record['check']!r} (is tlhelpers older than the assignment?)"
            try:
                feedback = judge(record["data"], record["key"], facts)
            except Exception as err:  # forged or broken evidence
                return f"the check {key} sent a result the grader cannot read ({type(err).__name__}: {err})"
            if not feedback:
                return feedback.message
    return None


def _score(submission: Submission, result: Run, reference: Reference | None) -> CheckReport:
    nb = _executed(submission, result)
    report = score(submission, nb)
    cells = {_meta(c).get("grade_id"): (i, c) for i, c in enumerate(nb.cells) if is_grade(c)}
    stopped = ", ".join(v for v in result.verdicts if v in (TIMED_OUT, KERNEL_DIED, STOPPED)) or "stopped"
    facts = _facts(nb, result, reference) if reference else {}
    for n, q in enumerate(report.questions):
        index, cell = cells.get(q.grade_id, (None, None))
        if cell is None or cell.cell_type != "code":
            continue
        if index not in result.cells:
            report.questions[n] = QuestionScore(q.grade_id, q.points, 0.0, "not run", f"the notebook {stopped} before this cell")
        elif q.status in ("passed", "partial") and reference and reference.keys.get(q.grade_id):
            why = _rejudge(cell, reference.keys[q.grade_id], facts)
            if why:
                report.questions[n] = QuestionScore(q.grade_id, q.points, 0.0, "tampered",
                                                    f"the kernel reported a pass, but the grader's own check says: {why}")
    report.verdicts = list(result.verdicts)
    if any(q.status == "tampered" for q in report.questions):
        report.verdicts.append(TAMPERED)
    return report


# ---- submissions --------------------------------------------------------------------------


@dataclass
class Grader:
    """Grades submissions with one set of limits, running each assignment's reference solution once.

    Attributes:
        limits: time, memory and process limits per notebook.
        unsafe: grade without a sandbox (refused unless set when none can run).
        hide: folders to hide besides the teacher's home and the course's folder.
        references: each source notebook's :class:`Reference`, once it ran.

    Example:
        >>> grader = Grader(sandbox.Limits(cell_seconds=60))  # doctest: +SKIP
        >>> print(grader.check("submitted/alice/a2_preprocessing/preprocessing.ipynb"))  # doctest: +SKIP
    """

    limits: sandbox.Limits = field(default_factory=sandbox.Limits)
    unsafe: bool = False
    hide: list[Path] = field(default_factory=list)
    references: dict[Path, Reference] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.unsafe:
            sandbox.require()

    def reference(self, source_path: Path) -> Reference:
        """The evidence keys the reference solution publishes, cell by cell (it runs once per source)."""
        source_path = source_path.resolve()
        if source_path not in self.references:
            reference = load_submission(source_path, source_path)
            result = run(reference, self.limits, self.unsafe, [*self.hide, source_path.parent])
            self.references[source_path] = Reference.of(_executed(reference, result))
        return self.references[source_path]

    def check(self, notebook: str | os.PathLike, source: str | os.PathLike | None = None,
              executed_copy: str | os.PathLike | None = None, hide: Iterable[Path] = ()) -> CheckReport:
        """Grade one submission in its own sandbox (see the module's docstring).

        Args:
            notebook: the submitted notebook.
            source: the source notebook, or a folder to find it in (default: ``assignments/source``, or
                ``assignments/zh/source`` for a notebook that selects Chinese: :func:`tlhelpers.grading.find_source`).
            executed_copy: also write the executed notebook there.
            hide: folders to hide for this submission too (e.g. the class's folder).

        Raises:
            FileNotFoundError: the notebook does not exist.
            FileExistsError: ``executed_copy`` exists.
            MarkupError: the source notebook's markup is broken.
            ValueError: the submission's folder is too big to copy.
        """
        if executed_copy is not None and Path(executed_copy).exists():
            raise FileExistsError(f"{str(executed_copy)!r} exists; choose another name for the executed copy")
        submission = load_submission(notebook, source)
        hide = [*self.hide, *hide, submission.path.parent.resolve()]
        if submission.source_path is not None:
            hide.append(submission.source_path.parent)
        reference = self.reference(submission.source_path) if submission.source_nb is not None else None
        result = run(submission, self.limits, self.unsafe, hide)
        report = _score(submission, result, reference)
        if self.unsafe:
            report.notes.append("graded with --unsafe: the notebook ran with your rights, outside any sandbox")
        if reference is not None and not reference.any():
            report.notes.append("no check of this assignment publishes evidence: the kernel's word was taken for each test")
        if executed_copy is not None:
            nbformat.write(_executed(submission, result), executed_copy)
        return report


def check_submission(notebook: str | os.PathLike, source: str | os.PathLike | None = None,
                     limits: sandbox.Limits | None = None, unsafe: bool = False) -> CheckReport:
    """Grade one submission in a sandbox (:class:`Grader` for several).

    Raises:
        tlhelpers.sandbox.SandboxUnavailable: no sandbox can run here and ``unsafe`` is not set.

    Example:
        >>> print(check_submission("submitted/alice/a2_preprocessing/preprocessing.ipynb"))  # doctest: +SKIP
    """
    return Grader(limits or sandbox.Limits(), unsafe).check(notebook, source)


@dataclass
class Row:
    """One student's line in the grades table."""

    student: str
    notebook: str
    verdict: str
    report: CheckReport | None = None
    seconds: float = 0.0


def submissions(folder: Path, assignment: str | None = None) -> dict[str, list[Path]]:
    """Each student's notebooks: ``folder/<student>/[<assignment>/]**/*.ipynb``.

    Example:
        >>> submissions(Path("submitted"), "a2_preprocessing")  # doctest: +SKIP
        {'alice': [PosixPath('submitted/alice/a2_preprocessing/preprocessing.ipynb')], 'bob': []}
    """
    if not folder.is_dir():
        raise FileNotFoundError(f"{str(folder)!r} is not a folder; give the folder with one sub-folder per student")
    found = {}
    for student in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        where = student / assignment if assignment else student
        found[student.name] = sorted(p for p in where.rglob("*.ipynb") if not set(p.parts) & set(SKIPPED_NAMES))
    return found


def grade_folder(folder: str | os.PathLike, assignment: str | None = None, source: str | os.PathLike | None = None,
                 grader: Grader | None = None, progress=None, executed: str | os.PathLike | None = None) -> list[Row]:
    """Grade every student's submission, each in its own sandbox; a failure of one never stops the others.

    Args:
        folder: one sub-folder per student (nbgrader's ``submitted/`` layout works).
        assignment: only notebooks under ``<student>/<assignment>/``.
        source: the source notebook or a folder to find it in (default: :func:`tlhelpers.grading.find_source`'s,
            per notebook: ``assignments/source``, or ``assignments/zh/source`` for the Chinese edition).
        grader: limits and options (default: :class:`Grader` with default limits).
        progress: called with each finished :class:`Row` (e.g. to print it).
        executed: also write each executed notebook there, as ``<student>/...`` (refuses to overwrite).

    Example:
        >>> rows = grade_folder("submitted", "a2_preprocessing")  # doctest: +SKIP
    """
    from tlhelpers.grading import MarkupError

    folder = Path(folder)
    grader = grader or Grader()
    rows = []
    for student, notebooks in submissions(folder, assignment).items():
        if not notebooks:
            rows.append(Row(student, "", "no submission"))
        for notebook in notebooks:
            started = time.monotonic()
            try:
                copy_to = None
                if executed is not None:
                    copy_to = Path(executed) / notebook.relative_to(folder)
                    copy_to.parent.mkdir(parents=True, exist_ok=True)
                report = grader.check(notebook, source, copy_to, hide=[folder.resolve()])
                row = Row(student, str(notebook.relative_to(folder)), "; ".join(report.verdicts) or "ok", report)
            except (OSError, ValueError, MarkupError, nbformat.ValidationError, json.JSONDecodeError) as err:
                row = Row(student, str(notebook.relative_to(folder)), f"not graded: {err}")
            row.seconds = time.monotonic() - started
            rows.append(row)
            if progress is not None:
                progress(row)
    return rows


def csv_text(rows: list[Row]) -> str:
    """The grades as CSV: student, notebook, verdict, score, points, by hand, one column per question, seconds, notes.

    Example:
        >>> csv_text([Row("bob", "", "no submission")]).splitlines()[1]
        'bob,,no submission,,,,,'
    """
    questions: list[str] = []
    for row in rows:
        for q in row.report.questions if row.report else []:
            if q.grade_id not in questions:
                questions.append(q.grade_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["student", "notebook", "verdict", "score", "points", "to grade by hand", *questions, "seconds", "notes"])
    for row in rows:
        r = row.report
        if r is None:
            writer.writerow([row.student, row.notebook, row.verdict, "", "", "", *[""] * len(questions), "", ""])
            continue
        by_id = {q.grade_id: ("by hand" if q.score is None else f"{q.score:g}") for q in r.questions}
        writer.writerow([row.student, row.notebook, row.verdict, f"{r.score:g}", f"{r.auto_points:g}", f"{r.manual_points:g}",
                         *[by_id.get(g, "") for g in questions], f"{row.seconds:.1f}", " | ".join(r.notes)])
    return out.getvalue()


def write_csv(rows: list[Row], path: str | os.PathLike, force: bool = False) -> Path:
    """Write :func:`csv_text` to ``path``; refuses to replace a file unless ``force``.

    Raises:
        FileExistsError: ``path`` exists and ``force`` is false.

    Example:
        >>> write_csv([], "grades.csv")  # doctest: +SKIP
    """
    path = Path(path)
    if path.exists() and not force:
        raise FileExistsError(f"{str(path)!r} exists (earlier grades?); choose another file, or pass --force to replace it")
    _atomic_write(path, lambda tmp: tmp.write_text(csv_text(rows), encoding="utf-8"))
    return path
