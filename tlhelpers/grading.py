"""Graded assignments without nbgrader: student versions, and headless checking.

The assignments in ``assignments/source/`` are written in nbgrader's markup, so teachers
who use nbgrader run ``nbgrader generate_assignment`` and ``nbgrader autograde`` as usual.
For everyone else this module does the same two jobs with nothing but ``nbformat`` and
``nbclient``:

* :func:`release` writes student versions: each ``### BEGIN SOLUTION`` ...
  ``### END SOLUTION`` region becomes ``# YOUR CODE HERE`` + ``raise NotImplementedError()``
  (``YOUR ANSWER HERE`` in written answers), ``### BEGIN HIDDEN TESTS`` ...
  ``### END HIDDEN TESTS`` regions are removed and outputs are cleared, the way
  ``nbgrader generate_assignment`` does. It never overwrites a file unless ``force=True``,
  so a student's work is never lost.
* :func:`check_notebook` runs a submission headless, after putting back the teacher's
  version of every locked cell (tests, hidden tests included, and read-only cells), and
  scores each graded cell with nbgrader's rules: an error, or anything written to stderr,
  scores 0; a number as the cell's result is partial credit; anything else is full marks.
  Written answers are left for the teacher ("by hand"), or score 0 when left unanswered.

The nbgrader cell metadata is kept in the student version, so a teacher can still
collect and autograde those copies with nbgrader later.

The Chinese edition's assignments (``assignments/zh/source/``) are twins of the English ones:
the same cells, tests and points, with translated text and one cell (tagged ``language``)
that selects Chinese. A submission that selects a language is checked against that
edition's sources by default (:func:`source_folder`).

Example:
    >>> from tlhelpers import grading
    >>> paths = grading.release("assignments/source", "handout")            # doctest: +SKIP
    >>> report = grading.check_notebook("handout/a1_freezing/freezing.ipynb")  # doctest: +SKIP
    >>> print(report)                                                           # doctest: +SKIP
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from tlhelpers.config import repo_dir
from tlhelpers.errors import MarkupError
from tlhelpers.sandbox import CELL_TIMEOUT

__all__ = ["MarkupError", "check_notebook", "find_source", "grade_id", "release", "release_notebook"]

CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
TEXT_STUB = "YOUR ANSWER HERE"
BEGIN_SOLUTION, END_SOLUTION = "BEGIN SOLUTION", "END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"
SKIPPED_NAMES = (".ipynb_checkpoints", "__pycache__", ".DS_Store")


# ---- reading the markup -----------------------------------------------------------------


def _meta(cell: NotebookNode) -> dict[str, Any]:
    return cell.get("metadata", {}).get("nbgrader", {})


def grade_id(cell: NotebookNode) -> str | None:
    """The cell's nbgrader ``grade_id``, or ``None`` for a cell nbgrader does not track.

    Example:
        >>> grade_id(nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": {"grade_id": "q1"}}))
        'q1'
    """
    return _meta(cell).get("grade_id")


def is_grade(cell: NotebookNode) -> bool:
    """A graded cell: autograder tests (code) or a manually graded answer."""
    return bool(_meta(cell).get("grade", False))


def is_solution(cell: NotebookNode) -> bool:
    """A cell students write in (autograded or manually graded answer)."""
    return bool(_meta(cell).get("solution", False))


def is_locked(cell: NotebookNode) -> bool:
    """Students may not change it: read-only cells and autograder tests (as nbgrader)."""
    meta = _meta(cell)
    if not meta or is_solution(cell):
        return False
    return bool(meta.get("locked", False) or meta.get("grade", False))


def cell_kind(cell: NotebookNode) -> str:
    """One of nbgrader's cell types, in its own words, or ``""`` for an ordinary cell.

    Example:
        >>> cell = nbformat.v4.new_code_cell("assert 1")
        >>> cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True,
        ...                              "grade_id": "t1", "points": 1}
        >>> cell_kind(cell)
        'autograder tests'
    """
    meta = _meta(cell)
    if meta.get("task"):
        return "manually graded task"
    if is_solution(cell):
        return "manually graded answer" if is_grade(cell) else "autograded answer"
    if is_grade(cell):
        return "autograder tests"
    return "read-only" if meta.get("locked") else ""


def _where(name: str, index: int, cell: NotebookNode) -> str:
    named = grade_id(cell)
    return f"{name}, cell {index}" + (f" ({named!r})" if named else "")


def validate_markup(nb: NotebookNode, name: str = "notebook") -> None:
    """Check the nbgrader metadata and markers the way ``nbgrader generate_assignment`` does.

    Raises:
        MarkupError: a graded/solution/locked cell without ``grade_id``, a duplicate
            ``grade_id``, a graded cell without ``points``, a markdown cell that is a
            solution but not graded (or the reverse), a solution region outside a solution
            cell, a hidden-test region outside a graded cell, or unbalanced markers.

    Example:
        >>> validate_markup(nbformat.v4.new_notebook())
    """
    seen: set[str] = set()
    for index, cell in enumerate(nb.cells):
        where = _where(name, index, cell)
        meta = _meta(cell)
        if meta and (meta.get("grade") or meta.get("solution") or meta.get("locked") or meta.get("task")):
            grade_id = meta.get("grade_id")
            if not grade_id:
                raise MarkupError(f"{where}: nbgrader cell has no grade_id; give it a unique name")
            if grade_id in seen:
                raise MarkupError(f"{where}: duplicate grade_id {grade_id!r}; grade ids must be unique")
            seen.add(grade_id)
            if (meta.get("grade") or meta.get("task")) and "points" not in meta:
                raise MarkupError(f"{where}: graded cell has no points")
            if cell.cell_type == "markdown" and not meta.get("task") and bool(meta.get("grade")) != bool(meta.get("solution")):
                raise MarkupError(
                    f"{where}: a markdown answer must be both 'grade' and 'solution' "
                    "(nbgrader's 'Manually graded answer')"
                )
        for begin, end, allowed, kind in (
            (BEGIN_SOLUTION, END_SOLUTION, is_solution(cell), "solution cells"),
            (BEGIN_HIDDEN, END_HIDDEN, is_grade(cell), "graded test cells"),
        ):
            depth = 0
            for line in cell.source.split("\n"):
                if begin in line:
                    if depth:
                        raise MarkupError(f"{where}: nested '{begin}'")
                    if not allowed:
                        raise MarkupError(f"{where}: '{begin}' is only allowed in {kind}; mark the cell as one")
                    depth = 1
                elif end in line:
                    if not depth:
                        raise MarkupError(f"{where}: '{end}' without '{begin}'")
                    depth = 0
            if depth:
                raise MarkupError(f"{where}: '{begin}' has no matching '{end}'")


# ---- release ------------------------------------------------------------------------------


@dataclass
class ReleaseStats:
    """What :func:`release_notebook` changed in one notebook."""

    solutions: int = 0
    hidden_tests: int = 0
    graded_cells: int = 0
    points: float = 0.0


def _clear_regions(source: str, begin: str, end: str, stub: str | None) -> tuple[str, bool]:
    """Drop the lines from ``begin`` to ``end``; put ``stub`` (indented like ``begin``) instead."""
    lines, kept, inside, found = source.split("\n"), [], False, False
    for line in lines:
        if begin in line:
            inside = found = True
            if stub is not None:
                indent = re.match(r"\s*", line).group(0)
                kept += [indent + s for s in stub.split("\n")]
        elif end in line:
            inside = False
        elif not inside:
            kept.append(line)
    return "\n".join(kept), found


def release_notebook(nb: NotebookNode, name: str = "notebook") -> tuple[NotebookNode, ReleaseStats]:
    """The student version of one source notebook (a new object; ``nb`` is not changed).

    Solution regions become the stubs, a solution cell without markers is replaced
    whole, hidden tests are removed, outputs and execution counts are cleared, and
    locked cells get nbgrader's ``deletable``/``editable`` flags.

    Raises:
        MarkupError: see :func:`validate_markup`.

    Example:
        >>> nb = nbformat.v4.new_notebook()
        >>> cell = nbformat.v4.new_code_cell("def f():\\n    ### BEGIN SOLUTION\\n    return 1\\n    ### END SOLUTION")
        >>> cell.metadata["nbgrader"] = {"solution": True, "grade": False, "locked": False, "grade_id": "f"}
        >>> nb.cells.append(cell)
        >>> print(release_notebook(nb)[0].cells[0].source)
        def f():
            # YOUR CODE HERE
            raise NotImplementedError()
    """
    validate_markup(nb, name)
    out, stats = copy.deepcopy(nb), ReleaseStats()
    for cell in out.cells:
        if is_solution(cell) and is_grade(cell):
            cell.metadata["deletable"] = False
        elif is_solution(cell):
            cell.metadata["deletable"] = False
        elif is_grade(cell) or is_locked(cell):
            cell.metadata["deletable"] = False
            cell.metadata["editable"] = False
        if _meta(cell):
            cell.metadata["nbgrader"]["cell_type"] = cell.cell_type  # as nbgrader records it
        stub = CODE_STUB if cell.cell_type == "code" else TEXT_STUB
        cell.source, replaced = _clear_regions(cell.source, BEGIN_SOLUTION, END_SOLUTION, stub)
        if is_solution(cell) and not replaced:
            cell.source = stub
        stats.solutions += int(is_solution(cell))
        cell.source, removed = _clear_regions(cell.source, BEGIN_HIDDEN, END_HIDDEN, None)
        stats.hidden_tests += int(removed)
        if is_grade(cell):
            stats.graded_cells += 1
            stats.points += float(_meta(cell).get("points", 0))
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        for key in ("collapsed", "scrolled", "execution"):
            cell.metadata.pop(key, None)
    out.metadata.pop("celltoolbar", None)
    return out, stats


def _files_to_release(src: Path) -> list[Path]:
    if src.is_file():
        return [src]
    return sorted(
        p for p in src.rglob("*")
        if p.is_file() and not any(part in SKIPPED_NAMES or part.startswith(".") for part in p.relative_to(src).parts)
    )


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def release(src: str | os.PathLike, dest: str | os.PathLike, force: bool = False) -> dict[Path, ReleaseStats | None]:
    """Write student versions of ``src`` into ``dest``.

    Args:
        src: a source notebook, an assignment folder, or a folder of assignments
            (e.g. ``assignments/source``). Folders are mirrored: every notebook is
            released, every other file (data, images) is copied as it is.
        dest: a folder (created if needed); for a single notebook also a ``.ipynb`` path.
        force: overwrite files that exist in ``dest``. Without it, nothing is written
            if any target exists.

    Returns:
        Each written path, with its :class:`ReleaseStats` (``None`` for copied files).

    Raises:
        FileNotFoundError: ``src`` does not exist.
        FileExistsError: a target exists and ``force`` is false (lists them).
        ValueError: ``dest`` is ``src`` or inside it, or ``src`` holds no notebook.
        MarkupError: a source notebook's markup is broken (nothing is written).

    Example:
        >>> release("assignments/source/a1_freezing", "handout/a1_freezing")  # doctest: +SKIP
    """
    src, dest = Path(src), Path(dest)
    if not src.exists():
        raise FileNotFoundError(f"source {str(src)!r} does not exist; give a notebook or a folder of notebooks")
    src_dir = src.parent if src.is_file() else src
    if dest.resolve() == src_dir.resolve() or (src.is_dir() and src.resolve() in dest.resolve().parents):
        raise ValueError(f"destination {str(dest)!r} is {str(src)!r} or inside it; choose a folder outside the source")
    files = _files_to_release(src)
    if not any(p.suffix == ".ipynb" for p in files):
        raise ValueError(f"{str(src)!r} holds no notebook (.ipynb) to release")
    if src.is_file():
        targets = {src: dest if dest.suffix == ".ipynb" else dest / src.name}
    else:
        targets = {p: dest / p.relative_to(src) for p in files}
    existing = [t for t in targets.values() if t.exists()]
    if existing and not force:
        shown = "\n  ".join(str(t) for t in existing[:10]) + ("\n  ..." if len(existing) > 10 else "")
        raise FileExistsError(
            f"{len(existing)} file(s) already exist in {str(dest)!r} and would be overwritten "
            f"(a student's work may be there):\n  {shown}\n"
            "choose another destination, or pass --force (force=True) to overwrite them"
        )
    released: dict[Path, NotebookNode] = {}
    stats: dict[Path, ReleaseStats | None] = {}
    for source, target in targets.items():  # first everything in memory: broken markup writes nothing
        if source.suffix == ".ipynb":
            released[target], stats[target] = release_notebook(nbformat.read(source, as_version=4), str(source))
    for source, target in targets.items():
        if source.suffix == ".ipynb":
            _atomic_write(target, lambda tmp, nb=released[target]: nbformat.write(nb, tmp))
        else:
            _atomic_write(target, lambda tmp, s=source: shutil.copyfile(s, tmp))
            stats[target] = None
    return {t: stats[t] for t in targets.values()}


# ---- check --------------------------------------------------------------------------------


@dataclass
class QuestionScore:
    """The score of one graded cell.

    Attributes:
        grade_id: the cell's nbgrader ``grade_id``.
        points: what the cell is worth.
        score: points earned; ``None`` when a teacher must grade it by hand.
        status: ``passed``, ``partial``, ``failed``, ``unanswered``, ``by hand``, ``missing``,
            ``not run`` (the notebook stopped before it) or ``tampered`` (the grader's own
            judgement of the check's evidence disagrees with the kernel's).
        message: why (the test's message on a wrong answer).
    """

    grade_id: str
    points: float
    score: float | None
    status: str
    message: str = ""


@dataclass
class CheckReport:
    """Per-question scores of one notebook, printable as a table."""

    notebook: str
    questions: list[QuestionScore]
    source: str | None = None
    notes: list[str] = field(default_factory=list)
    verdicts: list[str] = field(default_factory=list)  # limits broken, tampering found (sandboxed grading)

    @property
    def score(self) -> float:
        """Points earned in the automatically graded cells."""
        return sum(q.score or 0.0 for q in self.questions)

    @property
    def auto_points(self) -> float:
        """Points the automatic grading can give (everything except answers graded by hand)."""
        return sum(q.points for q in self.questions if q.status != "by hand")

    @property
    def manual_points(self) -> float:
        """Points left for the teacher to grade by hand."""
        return sum(q.points for q in self.questions if q.status == "by hand")

    @property
    def max_score(self) -> float:
        """All points of the notebook."""
        return sum(q.points for q in self.questions)

    def scores(self) -> dict[str, float | None]:
        """``{grade_id: score}`` (``None``: to grade by hand)."""
        return {q.grade_id: q.score for q in self.questions}

    def __str__(self) -> str:
        width = max([len("question"), *(len(q.grade_id) for q in self.questions)]) + 2
        lines = [f"{self.notebook}" + (f"  (tests from {self.source})" if self.source else "")]
        if self.verdicts:
            lines.append(f"  verdict: {'; '.join(self.verdicts)}")
        lines += [f"  note: {n}" for n in self.notes]
        lines.append(f"{'question':<{width}}{'score':>11}  result")
        for q in self.questions:
            got = "-" if q.score is None else f"{q.score:g}"
            result = q.status + (f": {q.message}" if q.message else "")
            lines.append(f"{q.grade_id:<{width}}{got + ' / ' + format(q.points, 'g'):>11}  {result}")
        total = f"{self.score:g} / {self.auto_points:g}"
        extra = f"  (+ {self.manual_points:g} to grade by hand)" if self.manual_points else ""
        lines.append(f"{'total':<{width}}{total:>11}{extra}")
        return "\n".join(lines)


def _one_line(text: str, limit: int = 300) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # ANSI colours of tracebacks
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _partial_credit(output: NotebookNode, points: float) -> float:
    """nbgrader's rule: a result that is a single number is the points earned; else full marks."""
    value = output.get("data", {}).get("text/plain", "")
    if isinstance(value, list):
        if len(value) != 1:
            return points
        value = value[0]
    try:
        number = float(value)
    except (TypeError, ValueError):
        return points
    if number > points:
        raise ValueError(f"partial credit {number} is more than the cell's {points} points")
    return number if number >= 0 else points


def grade_cell(cell: NotebookNode, unanswered_source: str | None = None) -> QuestionScore:
    """Score one executed graded cell the way ``nbgrader autograde`` does.

    Args:
        cell: an executed cell with nbgrader ``grade`` metadata.
        unanswered_source: for a written answer, the source it has when nothing was
            written (its released version): unchanged scores 0, changed is graded by hand.

    Example:
        >>> cell = nbformat.v4.new_code_cell("assert False, 'no'")
        >>> cell.metadata["nbgrader"] = {"grade": True, "grade_id": "t", "points": 2}
        >>> cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="no", traceback=[])]
        >>> grade_cell(cell).status, grade_cell(cell).score
        ('failed', 0.0)
    """
    meta = _meta(cell)
    grade_id, points = str(meta.get("grade_id", "?")), float(meta.get("points", 0))
    if is_solution(cell):
        stub = TEXT_STUB if cell.cell_type == "markdown" else CODE_STUB
        unchanged = cell.source.strip() == (stub if unanswered_source is None else unanswered_source).strip()
        if unchanged:
            return QuestionScore(grade_id, points, 0.0, "unanswered", "nothing written yet")
        return QuestionScore(grade_id, points, None, "by hand", "a written answer: the teacher grades it")
    if cell.cell_type != "code":
        return QuestionScore(grade_id, points, None, "by hand")
    for output in cell.get("outputs", []):
        if output.output_type == "error":
            reason = "unanswered" if output.ename == "NotImplementedError" else "failed"
            message = f"{output.ename}: {output.evalue}" if output.evalue else output.ename
            if output.ename == "AssertionError" and output.evalue:
                message = output.evalue  # a Feedback.require() message: the explanation itself
            return QuestionScore(grade_id, points, 0.0, reason, _one_line(message))
        if output.output_type == "stream" and output.name == "stderr":
            return QuestionScore(
                grade_id, points, 0.0, "failed",
                _one_line("the cell wrote to stderr (nbgrader scores that 0): " + output.text),
            )
        if output.output_type == "execute_result":
            try:
                earned = _partial_credit(output, points)
            except ValueError as err:  # nbgrader stops on it; one notebook must not stop a whole batch
                return QuestionScore(grade_id, points, 0.0, "failed", str(err))
            return QuestionScore(grade_id, points, earned, "passed" if earned == points else "partial")
    return QuestionScore(grade_id, points, points, "passed")


def notebook_language(nb: NotebookNode) -> str | None:
    """The language a notebook selects in its cell tagged ``language`` (``use_language("zh")``), or ``None``.

    Example:
        >>> cell = nbformat.v4.new_code_cell('use_language("zh")')
        >>> cell.metadata["tags"] = ["language"]
        >>> notebook_language(nbformat.v4.new_notebook(cells=[cell])), notebook_language(nbformat.v4.new_notebook())
        ('zh', None)
    """
    for cell in nb.cells:
        if cell.cell_type == "code" and "language" in cell.get("metadata", {}).get("tags", []):
            found = re.search(r"""use_language\(\s*["'](\w+)["']""", cell.source)
            if found:
                return found.group(1)
    return None


def source_folder(language: str | None = None) -> Path:
    """The course's source notebooks: ``assignments/source``, or ``assignments/<language>/source`` for a translation.

    Example:
        >>> source_folder().relative_to(repo_dir()).as_posix(), source_folder("zh").relative_to(repo_dir()).as_posix()
        ('assignments/source', 'assignments/zh/source')
    """
    folder = repo_dir() / "assignments"
    return folder / "source" if language in (None, "en") else folder / language / "source"


def find_source(notebook: str | os.PathLike, search: str | os.PathLike | None = None) -> Path | None:
    """The teacher's source notebook for a submission, found by file name.

    Args:
        notebook: the submitted notebook.
        search: a source notebook (returned as it is), or a folder searched recursively
            for a notebook of the same name (default: the course's ``assignments/source``, or
            ``assignments/zh/source`` for a notebook that selects Chinese: :func:`source_folder`).

    Example:
        >>> find_source("freezing.ipynb").parent.name  # doctest: +SKIP
        'a1_freezing'
    """
    if search is None:
        try:
            language = notebook_language(nbformat.read(notebook, as_version=4))
        except (OSError, ValueError, AttributeError, KeyError):  # unreadable: load_submission() says so
            language = None
        search = source_folder(language)
        if not search.is_dir():  # an edition this course does not have: the English sources
            search = source_folder()
    else:
        search = Path(search)
    if search.is_file():
        return search
    if not search.is_dir():
        return None
    name = Path(notebook).name
    matches = sorted(p for p in search.rglob(name) if ".ipynb_checkpoints" not in p.parts)
    return matches[0] if len(matches) == 1 else None


def restore_locked_cells(submission: NotebookNode, source: NotebookNode) -> list[str]:
    """Put the source's version of every locked cell back (tests with hidden tests, read-only).

    Like nbgrader's autograde, cells are matched by ``grade_id``; the submission's
    solution cells are kept. Returns notes on what was changed.

    Example:
        >>> restore_locked_cells(nbformat.v4.new_notebook(), nbformat.v4.new_notebook())
        []
    """
    by_id = {grade_id(c): c for c in source.cells if grade_id(c)}
    notes, present = [], set()
    for cell in submission.cells:
        cell_id = grade_id(cell)
        if not cell_id:
            continue
        present.add(cell_id)
        original = by_id.get(cell_id)
        if original is None:
            notes.append(f"cell {cell_id!r} is not in the source notebook; it is not graded")
            cell.metadata["nbgrader"] = {}
            continue
        if is_locked(original) and (cell.source != original.source or cell.cell_type != original.cell_type):
            if _clear_regions(original.source, BEGIN_HIDDEN, END_HIDDEN, None)[0] != cell.source:
                notes.append(f"cell {cell_id!r} was changed; the original was put back")
            cell.cell_type, cell.source = original.cell_type, original.source
            if cell.cell_type == "code":
                cell.setdefault("outputs", [])
                cell.setdefault("execution_count", None)
            else:
                cell.pop("outputs", None)
                cell.pop("execution_count", None)
        cell.metadata["nbgrader"] = copy.deepcopy(original.metadata["nbgrader"])
    return notes


@dataclass
class Submission:
    """A submission ready to run: the teacher's locked cells put back, outputs cleared.

    Attributes:
        path: the submitted notebook.
        nb: the notebook to run (a new object; the file is never changed).
        source_path: the teacher's source notebook, ``None`` if none was found.
        source_nb: that notebook, ``None`` if none was found or it is the submission itself.
        released: each written answer's unanswered text, by ``grade_id``.
        notes: what was changed or is missing.
    """

    path: Path
    nb: NotebookNode
    source_path: Path | None
    source_nb: NotebookNode | None
    released: dict[str, str]
    notes: list[str]


def load_submission(notebook: str | os.PathLike, source: str | os.PathLike | None = None) -> Submission:
    """Read a submission and put back the teacher's version of every locked cell (see :func:`check_notebook`).

    Raises:
        FileNotFoundError: the notebook does not exist.
        MarkupError: the source notebook's markup is broken.

    Example:
        >>> load_submission("handout/a1_freezing/freezing.ipynb").notes  # doctest: +SKIP
        []
    """
    path = Path(notebook)
    if not path.is_file():
        raise FileNotFoundError(f"notebook {str(path)!r} does not exist")
    nb = nbformat.read(path, as_version=4)
    source_path = find_source(path, source)
    notes: list[str] = []
    released: dict[str, str] = {}
    source_nb = None
    if source_path is not None and source_path.resolve() != path.resolve():
        source_nb = nbformat.read(source_path, as_version=4)
        validate_markup(source_nb, str(source_path))
        notes += restore_locked_cells(nb, source_nb)
        student, _ = release_notebook(source_nb, str(source_path))
        released = {_meta(c)["grade_id"]: c.source for c in student.cells if is_solution(c) and is_grade(c)}
    elif source_path is None:
        notes.append("no source notebook found: hidden tests were not run (pass --source)")
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return Submission(path, nb, source_path, source_nb, released, notes)


def score(submission: Submission, executed: NotebookNode) -> CheckReport:
    """Score the graded cells of ``executed`` (the submission's notebook after its run), nbgrader's way.

    Graded cells deleted from the submission score 0 as ``missing``.

    Example:
        >>> print(score(submission, executed))  # doctest: +SKIP
    """
    graded = [grade_cell(c, submission.released.get(grade_id(c))) for c in executed.cells if is_grade(c)]
    if submission.source_nb is not None:
        present = {q.grade_id for q in graded}
        graded += [
            QuestionScore(_meta(c)["grade_id"], float(_meta(c)["points"]), 0.0, "missing", "cell deleted from the notebook")
            for c in submission.source_nb.cells if is_grade(c) and _meta(c)["grade_id"] not in present
        ]
    shown_source = None
    if submission.source_path is not None:
        same = submission.source_path.resolve() == submission.path.resolve()
        shown_source = "the notebook itself" if same else str(submission.source_path)
    return CheckReport(str(submission.path), graded, shown_source, list(submission.notes))


def check_notebook(
    notebook: str | os.PathLike,
    source: str | os.PathLike | None = None,
    timeout: int = CELL_TIMEOUT,
    executed_copy: str | os.PathLike | None = None,
) -> CheckReport:
    """Run a submission headless, here and with your rights, and score each graded cell (nbgrader's rules).

    The notebook runs in its own folder (so relative paths such as ``my_images/`` work),
    in memory: the file itself is never changed. This runs the student's code in this
    process's account, outside any sandbox: for submissions you did not write, use
    :func:`tlhelpers.sandboxed_grading.check_submission` (what ``assignments check`` does).

    Args:
        notebook: the student's notebook.
        source: the teacher's source notebook, or a folder to find it in by file name
            (default: :func:`find_source`'s). Its locked cells, hidden tests included, are
            put back before running. If none is found, the notebook's own tests run and
            the report says that hidden tests were not run.
        timeout: seconds each cell may take.
        executed_copy: also write the executed notebook there (refuses to overwrite).

    Raises:
        FileNotFoundError: the notebook does not exist.
        FileExistsError: ``executed_copy`` exists.
        RuntimeError: the kernel died.

    Example:
        >>> print(check_notebook("handout/a1_freezing/freezing.ipynb"))  # doctest: +SKIP
    """
    from nbclient.exceptions import DeadKernelError

    from tlhelpers.cell_runner import grading_client

    if executed_copy is not None and Path(executed_copy).exists():
        raise FileExistsError(f"{str(executed_copy)!r} exists; choose another name for the executed copy")
    submission = load_submission(notebook, source)
    nb, path = copy.deepcopy(submission.nb), submission.path
    try:
        grading_client(nb, path, timeout).execute(stderr=subprocess.DEVNULL)  # the kernel's own log; cell outputs are still captured
    except DeadKernelError as err:
        raise RuntimeError(f"the kernel running {str(path)!r} died ({err}); is the course's environment installed?") from err
    if executed_copy is not None:
        nbformat.write(nb, executed_copy)
    return score(submission, nb)
