"""Grading in a sandbox: hostile submissions, each a real notebook, through the real grading path.

Each class is graded once (module fixtures), with an honest submission in each:

* a small assignment of the test's own (no TensorFlow: a notebook runs in seconds), whose
  hostile students read the teacher's files, write and delete outside their folder, open
  sockets, fork without end, allocate past the memory limit, loop forever, print a fake
  score, ship a module that shadows one the tests import, and attack the runner;
* assignments 2, 1, 3 and 4 themselves, whose checks publish evidence, each with an honest
  student and students who monkeypatch the checks, blank the test cells from inside the
  kernel, make ``Feedback.require`` never fail, or rewrite the expected values;
* assignment 2 in Chinese too (the twin in ``assignments/zh/source``, found by the
  submission's language), the same class plus a wrong answer whose test fails in Chinese.

Each submission goes through ``grade_folder`` (the code of ``assignments grade``): copy,
``bwrap`` sandbox, ``cell_runner`` with nbclient and an ipykernel inside, streamed cells,
scores, verdicts. The teacher's files are checked byte for byte afterwards.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import threading
from pathlib import Path

import nbformat
import numpy as np
import pytest
from image_folders import make_stripes
from nbformat.v4 import new_code_cell, new_notebook

from tlhelpers import sandbox
from tlhelpers.__main__ import main
from tlhelpers.config import PACKAGE_DIR
from tlhelpers.evidence import MIME, key_of, records
from tlhelpers.exercises.assignment_checks import make_demo_folder
from tlhelpers.grading import release_notebook
from tlhelpers.sandboxed_grading import (
    NETWORK,
    OUT_OF_MEMORY,
    TAMPERED,
    TIMED_OUT,
    TOO_MANY_PROCESSES,
    Grader,
    Reference,
    Row,
    Run,
    _score,
    grade_folder,
    limit_verdict,
    write_csv,
)

SOURCE = PACKAGE_DIR.parent / "assignments" / "source"
SOURCES = {"en": SOURCE, "zh": PACKAGE_DIR.parent / "assignments" / "zh" / "source"}
SECRET = "TEACHER-SECRET-0xC0FFEE"
needs_sandbox = pytest.mark.skipif(sandbox.why_unavailable() is not None, reason=f"no sandbox: {sandbox.why_unavailable()}")


# ---- fast: the parts without a kernel -------------------------------------------------------


def test_limits_name_the_bad_value() -> None:
    with pytest.raises(ValueError, match=r"Limits.memory_bytes must be a positive whole number, got 0"):
        sandbox.Limits(memory_bytes=0)


def test_the_sandbox_command_hides_then_exposes_then_hides_the_solutions_again(tmp_path: Path) -> None:
    home, course = tmp_path / "t", tmp_path / "t" / "course"
    (course / "assignments" / "source").mkdir(parents=True)
    cmd = sandbox.command(["python"], Path("/w"), sandbox.Limits(processes=64),
                          hide=[home, course / "assignments" / "source"], expose=[course, tmp_path / "missing"])
    text = " ".join(cmd)
    assert text.index(f"--tmpfs {home}") < text.index(f"--ro-bind {course} {course}") < text.rindex(f"--tmpfs {course}/assignments/source")
    assert "missing" not in text
    assert "--unshare-net" in cmd and "--unshare-pid" in cmd and "--die-with-parent" in cmd
    assert "--nproc=64" in cmd and cmd[-1] == "python"
    assert ("setpriv" in cmd) == (os.geteuid() == 0)  # root: what runs inside is nobody


@pytest.mark.parametrize("ename, evalue, verdict", [
    ("CellTimeoutError", "the cell ran longer than 5 s", TIMED_OUT),
    ("MemoryError", "Unable to allocate 4.00 GiB", OUT_OF_MEMORY),
    ("BlockingIOError", "[Errno 11] Resource temporarily unavailable", TOO_MANY_PROCESSES),
    ("OSError", "[Errno 101] Network is unreachable", NETWORK),
    ("URLError", "<urlopen error [Errno -3] Temporary failure in name resolution>", NETWORK),
    ("AssertionError", "double(2) should be 4", None),
])
def test_errors_map_to_verdicts(ename: str, evalue: str, verdict: str | None) -> None:
    assert limit_verdict({"output_type": "error", "ename": ename, "evalue": evalue}) == verdict


def test_grading_refuses_without_a_sandbox_unless_unsafe(monkeypatch, tmp_path: Path, capsys) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap, no prlimit
    with pytest.raises(sandbox.SandboxUnavailable, match="bwrap.*not on PATH.*--unsafe"):
        Grader()
    assert main(["assignments", "check", str(tmp_path / "hw.ipynb")]) == 2
    err = capsys.readouterr().err
    assert "grading refused" in err and "apt-get install bubblewrap" in err and "--unsafe" in err
    assert Grader(unsafe=True).unsafe


def test_the_grades_file_is_never_replaced_silently(tmp_path: Path, capsys) -> None:
    grades = tmp_path / "grades.csv"
    grades.write_text("earlier grades\n")
    with pytest.raises(FileExistsError, match="--force"):
        write_csv([Row("bob", "", "no submission")], grades)
    assert main(["assignments", "grade", str(tmp_path), "--csv", str(grades)]) == 2
    assert grades.read_text() == "earlier grades\n" and "--force" in capsys.readouterr().err
    write_csv([Row("bob", "", "no submission")], grades, force=True)
    assert grades.read_text().splitlines()[1].startswith("bob,,no submission")


def _published(check: str, key: dict, **data) -> dict:
    """A display output carrying one evidence record, as a check in a kernel sends it."""
    return {"output_type": "display_data", "metadata": {}, "data": {MIME: {"check": check, "key": key, "data": data}}}


@pytest.mark.parametrize("solve_cell_seconds, score, status", [(5.0, 5, "passed"), (500.0, 1, "tampered")])
def test_the_time_budget_is_judged_on_the_runners_clock_not_the_kernels(solve_cell_seconds: float, score: float,
                                                                         status: str) -> None:
    """a3: the kernel says solve took 1 s each time; the grader believes the time its runner measured for the cell."""
    from tlhelpers.exercises.assignment_checks import (
        GroundTruth,
        challenge_task,
        predictions_evidence,
        task_key,
    )
    from tlhelpers.grading import load_submission

    source = SOURCE / "a3_label_budget" / "label_budget.ipynb"
    submission = load_submission(source, source)
    index = {c.metadata.get("nbgrader", {}).get("grade_id"): i for i, c in enumerate(submission.nb.cells)}
    draws = [challenge_task(seed) for seed in (0, 1)]
    truth = GroundTruth.of(draws[0])
    perfect = predictions_evidence(np.asarray(truth.labels))  # the right answer
    outputs = {
        "a3_run": [_published("solve", task_key(draws[0]), seconds=1.0)],
        "a3_predictions_tests": [_published("predictions", task_key(draws[0]), **perfect)],
        "a3_target_tests": [_published("challenge", task_key(draws[0]), **perfect, seconds=1.0),
                            _published("solve", task_key(draws[1]), seconds=1.0),
                            _published("challenge", task_key(draws[1]), **perfect, seconds=1.0)],
    }
    reference = Reference({g: sorted({key_of(r) for r in records(outs)}) for g, outs in outputs.items()})
    result = Run(cells={i: {"outputs": outputs.get(g, []), "execution_count": 1} for g, i in index.items() if g},
                 cell_seconds={i: 2.0 for i in index.values()}, files={})
    result.cell_seconds[index["a3_run"]] = solve_cell_seconds
    report = _score(submission, result, reference)
    assert report.score == score, str(report)
    assert {q.grade_id: q.status for q in report.questions} == {"a3_predictions_tests": "passed", "a3_target_tests": status}
    if status == "tampered":
        assert "solve took 500.0 s, over the budget of 60 s" in report.questions[1].message


def test_nbgrader_copies_come_back_only_where_nothing_changed_meanwhile(tmp_path: Path) -> None:
    """The write-back of ``assignments sandbox``: changed files back, conflicts and links and a broken gradebook refused."""
    import sqlite3

    from tlhelpers.nbgrader_sandbox import Course, stage, write_back

    root = tmp_path / "course"
    (root / "autograded" / "alice").mkdir(parents=True)
    (root / "autograded" / "alice" / "a.ipynb").write_text("old alice")
    (root / "autograded" / "bob.ipynb").write_text("old bob")
    (root / "source" / "hw").mkdir(parents=True)
    (root / "source" / "hw" / "hw.ipynb").write_text("the solutions")
    (root / "source" / "hw" / "data.csv").write_text("1,2")
    with sqlite3.connect(root / "gradebook.db") as db:
        db.executescript("CREATE TABLE assignment (id TEXT); CREATE TABLE student (id TEXT); INSERT INTO student VALUES ('alice');")
    db.close()
    staging = stage(Course.read(root), tmp_path / "stage")
    assert (staging.folder / "source" / "hw" / "data.csv").is_file() and not (staging.folder / "source" / "hw" / "hw.ipynb").exists()

    (staging.folder / "autograded" / "alice" / "a.ipynb").write_text("new alice")  # changed: written back
    (staging.folder / "autograded" / "carol.ipynb").write_text("new carol")  # new: written back
    (staging.folder / "autograded" / "bob.ipynb").write_text("new bob")
    (root / "autograded" / "bob.ipynb").write_text("the teacher's edit")  # changed meanwhile: refused
    (staging.folder / "feedback").mkdir()
    (staging.folder / "feedback" / "key").symlink_to(tmp_path / "secret")  # a link: refused, never followed
    (staging.folder / "stray.csv").write_text("x")  # not nbgrader's to write: dropped
    with sqlite3.connect(staging.folder / "gradebook.db") as db:
        db.execute("INSERT INTO student VALUES ('bob')")
    db.close()
    done = write_back(staging)
    assert sorted(done.written) == ["autograded/alice/a.ipynb", "autograded/carol.ipynb", "gradebook.db"]
    assert [r.split(":")[0] for r in done.refused] == ["autograded/bob.ipynb", "feedback/key"] and done.dropped == ["stray.csv"]
    assert (root / "autograded" / "bob.ipynb").read_text() == "the teacher's edit"
    assert (root / "autograded" / "alice" / "a.ipynb").read_text() == "new alice" and not (root / "feedback").exists()
    with sqlite3.connect(root / "gradebook.db") as db:
        assert db.execute("SELECT id FROM student ORDER BY id").fetchall() == [("alice",), ("bob",)]
    db.close()
    assert (root / "gradebook.db.before-sandbox").is_file()

    staging = stage(Course.read(root), tmp_path / "stage2")
    (staging.folder / "gradebook.db").write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)  # broken by a submission
    done = write_back(staging)
    assert done.written == [] and done.refused[0].startswith("gradebook.db: SQLite"), done.refused
    with sqlite3.connect(root / "gradebook.db") as db:
        assert len(db.execute("SELECT id FROM student").fetchall()) == 2
    db.close()


def test_nbgrader_sandbox_refuses_a_gradebook_outside_the_course(tmp_path: Path) -> None:
    from tlhelpers.nbgrader_sandbox import Course

    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\nc.CourseDirectory.db_url = 'sqlite:////srv/grades.db'\n")
    with pytest.raises(ValueError, match=r"'sqlite:////srv/grades.db' is not an SQLite file in the course folder"):
        Course.read(tmp_path)
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\nc.CourseDirectory.autograded_directory = 'graded'\n")
    assert Course.read(tmp_path).writable == ("graded", "feedback")


# ---- the small class -------------------------------------------------------------------------


def _cell(source: str, grade_id: str, **kind) -> nbformat.NotebookNode:
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": False, "solution": False, "locked": False, "grade_id": grade_id,
                                 "schema_version": 3, **kind}
    return cell


def small_source() -> nbformat.NotebookNode:
    nb = new_notebook(cells=[
        _cell("import numpy as np", "setup", locked=True),
        _cell("def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION", "double", solution=True),
        _cell("assert np.isclose(double(2), 4), 'double(2) should be 4'\n### BEGIN HIDDEN TESTS\n"
              "assert np.isclose(double(-3), -6), 'double(-3) should be -6'\n### END HIDDEN TESTS",
              "double_tests", grade=True, locked=True, points=2),
        _cell("### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION", "answer", solution=True),
        _cell("assert answer == 42, 'not yet'", "answer_tests", grade=True, locked=True, points=1),
    ])
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    return nb


def attempt(what: str, code: str) -> str:
    """A cell line that tries ``code`` and prints whether it worked, with the secret if it leaked."""
    return (f"try:\n    _got = {code}\n    print('DONE {what}:', str(_got)[:200])\n"
            f"except Exception as _err:\n    print('BLOCKED {what}:', type(_err).__name__)\n")


def hostile_cells(paths: dict[str, Path], port: int, other_host: str) -> dict[str, tuple[str, str]]:
    """student -> (where the cell goes: 'first' or 'last', its code)."""
    home, course, honest = paths["home"], paths["course"], paths["honest"]
    return {
        "reader": ("first", "".join([
            attempt("ssh key", f"open({str(home / '.ssh' / 'id_rsa')!r}).read()"),
            attempt("solutions", f"open({str(course / 'small' / 'hw.ipynb')!r}).read()"),
            attempt("other student", f"open({str(honest)!r}).read()"),
            attempt("home listing", f"__import__('os').listdir({str(home / '.ssh')!r})"),
        ])),
        "writer": ("first", "".join([
            attempt("home", f"open({str(home / 'pwned')!r}, 'w').write('x')"),
            attempt("solutions", f"open({str(course / 'small' / 'pwned')!r}, 'w').write('x')"),
            attempt("other student", f"open({str(honest.parent / 'pwned')!r}, 'w').write('x')"),
            attempt("system", "open('/usr/pwned', 'w').write('x')"),
        ])),
        "deleter": ("first", "import shutil, os\n" + "".join([
            attempt("parent", "shutil.rmtree('..')"),
            attempt("class", f"shutil.rmtree({str(honest.parent.parent)!r})"),
            attempt("solutions", f"os.remove({str(course / 'small' / 'hw.ipynb')!r})"),
        ])),
        "network": ("first", "import socket\n" + attempt("loopback", f"socket.create_connection(('127.0.0.1', {port}), 3)")
                    + f"socket.create_connection(({other_host!r}, {port}), 3)\n"),
        "forkbomb": ("last", "import os\nwhile True:\n    os.fork()\n"),
        "memory": ("first", "import numpy\nhoard = numpy.empty(4 << 30, numpy.uint8)  # 4 GiB of address space, untouched\n"),
        "looper": ("first", "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass\n"),
        "runner": ("first", "import os, json\n_fake = json.dumps({'event': 'cell', 'index': 2, 'cell': {'outputs': []}})\n"
                   + "".join(attempt(f"fd {fd}", f"open(f'/proc/{{os.getppid()}}/fd/{fd}', 'w').write(_fake + '\\n')")
                             for fd in range(3, 8))
                   + attempt("ptrace", "open(f'/proc/{os.getppid()}/mem', 'rb').read(1)")),
        "fakescore": ("last", "print('double_tests   2 / 2  passed')\nprint('total   3 / 3')\n3"),
    }


def _write(nb: nbformat.NotebookNode, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def _other_host_address() -> str:
    """An address of this machine that is not loopback (outside a sandbox a connection there is refused)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # UDP connect only picks a route and a source address: nothing is sent
        return probe.getsockname()[0]
    except OSError:
        return "192.0.2.1"  # no route at all: a connection cannot leave this machine either
    finally:
        probe.close()


def _listen_below_ephemeral_ports() -> socket.socket:
    """A listener on the host's 127.0.0.1, on a port no kernel in the sandbox picks for itself."""
    for port in range(20000, 20200):
        try:
            return socket.create_server(("127.0.0.1", port))
        except OSError:
            continue
    raise RuntimeError("no free port in 20000-20199 on 127.0.0.1")


@pytest.fixture(scope="module")
def small_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("small")
    home, course, folder = root / "teacher", root / "course", root / "class"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text(SECRET)
    source = small_source()
    _write(source, course / "small" / "hw.ipynb")
    student, _ = release_notebook(source)
    answered = nbformat.from_dict(source)
    honest = _write(nbformat.from_dict(answered), folder / "honest" / "hw.ipynb")
    (folder / "shadow").mkdir()
    (folder / "shadow" / "numpy.py").write_text("def isclose(*a, **k):\n    return True\n")  # would pass any answer
    shadow = nbformat.from_dict(source)
    shadow.cells[1].source, shadow.cells[3].source = "def double(x):\n    return x + 2", "answer = 41"
    _write(shadow, folder / "shadow" / "hw.ipynb")
    paths = {"home": home, "course": course, "honest": honest}

    listener = _listen_below_ephemeral_ports()  # a service of the teacher's, on the host's loopback
    listener.settimeout(0.2)
    port, accepted, stop = listener.getsockname()[1], [], threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    for name, (where, code) in hostile_cells(paths, port, _other_host_address()).items():
        nb = nbformat.from_dict(student if name in ("runner", "fakescore") else answered)
        nb.cells.insert(1 if where == "first" else len(nb.cells), new_code_cell(code))
        _write(nb, folder / name / "hw.ipynb")
    before = {"home": _digest(home), "course": _digest(course), "class": _digest(folder)}
    limits = sandbox.Limits(cell_seconds=15, notebook_seconds=40, memory_bytes=2 << 30, processes=128)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))
        rows = grade_folder(folder, source=course / "small" / "hw.ipynb", grader=Grader(limits), executed=root / "executed")
    stop.set()
    server.join()
    listener.close()
    executed = {p.parent.name: p for p in (root / "executed").glob("*/hw.ipynb")}
    return {"rows": {r.student: r for r in rows}, "before": before, "paths": {**paths, "class": folder},
            "accepted": accepted, "executed": executed}


def _printed(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if o.output_type == "stream")


def _cell_outputs(path: Path) -> str:
    """Every code cell's grade id and outputs (streams by name, errors by name): what a failed score needs."""
    shown = []
    for cell in nbformat.read(path, as_version=4).cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        for o in cell.get("outputs", []):
            if o.output_type == "stream":
                shown.append(f"[{grade_id} {o.name}] {o.text}")
            elif o.output_type == "error":
                shown.append(f"[{grade_id} error] {o.ename}: {o.evalue}")
    return "\n".join(shown)


def _row(cls, student: str):
    row = cls["rows"][student]
    assert row.report is not None, row.verdict
    return row


@needs_sandbox
@pytest.mark.system
def test_the_honest_student_keeps_full_marks(small_class) -> None:
    row = _row(small_class, "honest")
    assert (row.verdict, row.report.score, row.report.auto_points) == ("ok", 3, 3), str(row.report)


@needs_sandbox
@pytest.mark.system
@pytest.mark.parametrize("student, attempts", [("reader", 4), ("runner", 6)])
def test_what_a_submission_may_not_read_it_cannot(small_class, student: str, attempts: int) -> None:
    printed = _printed(small_class["executed"][student])
    assert printed.count("BLOCKED") == attempts and "DONE" not in printed, printed
    assert SECRET not in printed
    row = _row(small_class, student)
    assert row.verdict == "ok" and row.report.score == (0 if student == "runner" else 3), str(row.report)


@needs_sandbox
@pytest.mark.system
@pytest.mark.parametrize("student", ["writer", "deleter"])
def test_writing_and_deleting_outside_reach_nothing_and_cost_nothing(small_class, student: str) -> None:
    printed = _printed(small_class["executed"][student])  # what it wrote or removed was the sandbox's own
    assert printed.count("BLOCKED") + printed.count("DONE") == (4 if student == "writer" else 3), printed
    row = _row(small_class, student)
    assert row.verdict == "ok" and row.report.score == 3, str(row.report)


@needs_sandbox
@pytest.mark.system
def test_nothing_of_the_teacher_changed(small_class) -> None:
    paths = small_class["paths"]
    after = {"home": _digest(paths["home"]), "course": _digest(paths["course"]), "class": _digest(paths["class"])}
    assert after == small_class["before"]
    assert not Path("/usr/pwned").exists()


@needs_sandbox
@pytest.mark.system
def test_the_network_is_out_of_reach_even_the_hosts_loopback(small_class) -> None:
    row = _row(small_class, "network")
    printed = _printed(small_class["executed"]["network"])
    assert "BLOCKED loopback: ConnectionRefusedError" in printed  # the sandbox's own loopback: nobody listens
    assert small_class["accepted"] == [], "the host's listener on 127.0.0.1 was reached"
    assert row.verdict == NETWORK and row.report.score == 3, str(row.report)


@needs_sandbox
@pytest.mark.system
@pytest.mark.parametrize("student, verdict, score", [
    ("forkbomb", TOO_MANY_PROCESSES, 3),
    ("memory", OUT_OF_MEMORY, 3),
    ("looper", TIMED_OUT, 0),
])
def test_a_broken_limit_gets_its_verdict(small_class, student: str, verdict: str, score: float) -> None:
    row = _row(small_class, student)
    assert verdict in row.verdict.split("; ") and row.report.score == score, str(row.report)
    if student == "looper":  # stopped by the notebook's time limit: the cells after it never ran
        assert {q.status for q in row.report.questions} == {"not run"}


@needs_sandbox
@pytest.mark.system
@pytest.mark.parametrize("student", ["fakescore", "shadow"])
def test_printed_scores_and_shadow_modules_count_for_nothing(small_class, student: str) -> None:
    row = _row(small_class, student)
    assert row.verdict == "ok" and row.report.score == 0, str(row.report)
    assert {q.score for q in row.report.questions} == {0}


# ---- assignment 2: checks that publish evidence --------------------------------------------

MONKEYPATCH = """from tlhelpers.checks import Feedback
for _name in ("check_prepare", "check_wrong_pipelines", "check_wrong_pipelines_format"):
    setattr(grade, _name, lambda *a, **k: Feedback(True, "fine"))
"""
BLANK_TESTS = """get_ipython().input_transformers_cleanup.append(lambda lines: [] if any("grade." in l for l in lines) else lines)"""
REWRITE_KEY = """import dataclasses
for _k, _p in list(grade.PIPELINES.items()):
    grade.PIPELINES[_k] = dataclasses.replace(_p, wrong=_k == "A")
"""


def _answer(nb: nbformat.NotebookNode, grade_id: str, code: str) -> nbformat.NotebookNode:
    """``nb`` with ``code`` in its cell ``grade_id``."""
    next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id).source = code
    return nb


def _versions(assignment: str, language: str = "en") -> tuple[Path, nbformat.NotebookNode, nbformat.NotebookNode]:
    """The source notebook of ``assignment`` (in ``language``), and a fresh copy of its reference and its student version."""
    source = next((SOURCES[language] / assignment).glob("*.ipynb"))
    reference = nbformat.read(source, as_version=4)
    return source, reference, release_notebook(reference)[0]


def _after_setup(nb: nbformat.NotebookNode) -> int:
    """The index just after the setup cell (a Chinese twin has its language cell before it)."""
    return 1 + next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id", "").endswith("_setup"))


def _grade_class(root: Path, assignment: str, submissions: dict[str, nbformat.NotebookNode],
                 limits: sandbox.Limits, language: str = "en", executed: Path | None = None) -> dict[str, Row]:
    """Each submission as ``root/class/<student>/<assignment>/``, graded by ``grade_folder`` in one batch.

    No source is given: each submission's is found by file name in the sources of its language.
    """
    source = next((SOURCES[language] / assignment).glob("*.ipynb"))
    for name, nb in submissions.items():
        _write(nb, root / "class" / name / assignment / source.name)
    rows = grade_folder(root / "class", assignment, grader=Grader(limits), executed=executed)
    return {r.student: r for r in rows}


@pytest.fixture(scope="module", params=["en", "zh"])
def a2_class(request, tmp_path_factory):
    language = request.param
    root = tmp_path_factory.mktemp(f"a2-{language}")
    _, reference, student = _versions("a2_preprocessing", language)
    at = _after_setup(reference)
    submissions = {"honest": nbformat.from_dict(reference)}
    for name, code in (("monkeypatch", MONKEYPATCH), ("blanktests", BLANK_TESTS)):
        nb = _answer(nbformat.from_dict(student), "a2_wrong_pipelines", 'wrong_pipelines = {"A"}')
        nb.cells.insert(at, new_code_cell(code))
        submissions[name] = nb
    rewrite = _answer(nbformat.from_dict(reference), "a2_wrong_pipelines", 'wrong_pipelines = {"A"}')
    _answer(rewrite, "a2_wrong_pipelines_tests", "print('fine')")  # edited in the file: restored
    rewrite.cells.insert(at, new_code_cell(REWRITE_KEY))
    submissions["rewrite"] = rewrite
    if language == "zh":  # a wrong answer, no tricks: the hidden test fails in the kernel, in Chinese
        submissions["wrong"] = _answer(nbformat.from_dict(reference), "a2_wrong_pipelines", 'wrong_pipelines = {"A", "B"}')
    rows = _grade_class(root, "a2_preprocessing", submissions, sandbox.Limits(cell_seconds=120, notebook_seconds=300),
                        language, executed=root / "executed")
    rows["executed"] = root / "executed"
    return rows


@needs_sandbox
@pytest.mark.system
def test_a2_honest_student_keeps_full_marks(a2_class) -> None:
    report = a2_class["honest"].report
    assert a2_class["honest"].verdict == "ok" and report.score == report.auto_points == 6, str(report)


@needs_sandbox
@pytest.mark.system
@pytest.mark.parametrize("a2_class", ["zh"], indirect=True)
def test_a2_in_chinese_is_graded_against_the_chinese_source_and_its_messages_count_for_nothing(a2_class) -> None:
    """The Chinese twin's source is found by the submission's language; its checks speak Chinese, the scores do not care."""
    honest = a2_class["honest"].report
    assert Path(honest.source) == SOURCES["zh"] / "a2_preprocessing" / "preprocessing.ipynb", str(honest)
    executed = nbformat.read(a2_class["executed"] / "honest" / "a2_preprocessing" / "preprocessing.ipynb", as_version=4)
    tests = next(c for c in executed.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "a2_prepare_tests")
    printed = "".join(o.get("text", "") for o in tests.outputs if o.output_type == "stream")
    assert "prepare 把" in printed and "✅" in printed, printed  # the checks' messages, in Chinese, in the sandbox
    wrong = a2_class["wrong"]
    statuses = {q.grade_id: (q.score, q.status) for q in wrong.report.questions}
    assert wrong.verdict == "ok" and wrong.report.score == 4, str(wrong.report)
    assert statuses["a2_wrong_pipelines_tests"] == (0.0, "failed")
    assert "你列出的流水线中有 1 个其实没有问题" in wrong.report.questions[-1].message, str(wrong.report)


@needs_sandbox
@pytest.mark.system
@pytest.mark.parametrize("student, score", [("monkeypatch", 0), ("blanktests", 0), ("rewrite", 4)])
def test_changing_the_checks_inside_the_kernel_is_caught(a2_class, student: str, score: float) -> None:
    row = a2_class[student]
    assert row.verdict == TAMPERED and row.report.score == score, str(row.report)
    statuses = {q.grade_id: q.status for q in row.report.questions}
    assert statuses["a2_wrong_pipelines_tests"] == "tampered"
    if student == "rewrite":
        assert statuses["a2_prepare_tests"] == "passed"
        assert "cell 'a2_wrong_pipelines_tests' was changed; the original was put back" in row.report.notes


# ---- assignments 1, 3 and 4: the same attacks on checks that publish richer evidence --------
#
# One batch per assignment: the honest student (the reference answers), and students with
# wrong answers who replace the checks, blank the tests from inside the kernel, make
# Feedback.require never fail, or rewrite the values the checks compare with. The kernel
# reports every such cell as passed; the grader's own judges score them 0 as tampered.

REPLACE_A1_CHECKS = """from tlhelpers.checks import Feedback
for _name in ("check_classifier", "check_unfrozen", "check_fine_tuned"):
    setattr(grade, _name, lambda *a, **k: Feedback(True, "fine"))
"""
A1_WRONG_ANSWERS = {  # a base that trains, an unfreeze and a fine-tune that do nothing
    "a1_build_model": "def build_model(base, num_classes):\n    x = keras.layers.GlobalAveragePooling2D()(base.output)\n"
                      "    return keras.Model(base.input, keras.layers.Dense(num_classes, activation='softmax')(x))",
    "a1_unfreeze": "def unfreeze(model, depth):\n    pass",
    "a1_fine_tune": "def fine_tune(model, x, y):\n    pass",
}
REWRITE_PEAK_RATE = ("from tlhelpers import recipe\n"
                     "recipe.PEAK_RATE_RANGES.update(offline=(1e-6, 1.0), imagenet=(1e-6, 1.0))  # any rate 'supported'\n")
HIGH_RATE = ("def fine_tune(model, x, y):\n    model.compile(optimizer=keras.optimizers.Adam(1e-1), "
             "loss='sparse_categorical_crossentropy', metrics=['accuracy'])\n    model.fit(x, y, epochs=1, batch_size=8, verbose=0)")
CONSTANT_SOLVE = "def solve(task):\n    return np.zeros(len(task.x_test), int)  # one class for every image: far below the target"
REWRITE_TARGET = ("import dataclasses\nrules = dataclasses.replace(rules, target_accuracy=0.0)\n"
                  "grade.CHALLENGES[track.name] = rules\n")
NEVER_FAIL = "from tlhelpers.checks import Feedback\nFeedback.require = lambda self: self  # no check can fail a cell now\n"
HEAD_ONLY = """x_train = pipeline.to_model_input(task.x_train, BACKBONE, SIZE)
model = transfer.build_classifier(backbones.load_backbone(BACKBONE, input_size=SIZE), task.num_classes)
training.compile_classifier(model, 1e-3)
model.fit(x_train, task.y_train, epochs=20, batch_size=16, verbose=0)  # the head only: the backbone stays pretrained
"""
REWRITE_DEMO_SOURCES = "grade.DEMO_SOURCES[track.name] = ()  # no dataset to compare the images with\n"
A134_LIMITS = sandbox.Limits(cell_seconds=300, notebook_seconds=600)


@pytest.fixture(scope="module")
def a1_class(tmp_path_factory):
    _, reference, student = _versions("a1_freezing")
    replaced = nbformat.from_dict(student)
    for grade_id, code in A1_WRONG_ANSWERS.items():
        _answer(replaced, grade_id, code)
    replaced.cells.insert(2, new_code_cell(REPLACE_A1_CHECKS))
    rewrite = _answer(nbformat.from_dict(reference), "a1_fine_tune", HIGH_RATE)
    _answer(rewrite, "a1_fine_tune_tests", "print('fine')")  # edited in the file: restored
    rewrite.cells.insert(2, new_code_cell(REWRITE_PEAK_RATE))
    submissions = {"honest": nbformat.from_dict(reference), "replaced": replaced, "rewrite": rewrite}
    return _grade_class(tmp_path_factory.mktemp("a1"), "a1_freezing", submissions, A134_LIMITS)


@pytest.fixture(scope="module")
def a3_class(tmp_path_factory):
    _, reference, student = _versions("a3_label_budget")
    blank = _answer(nbformat.from_dict(student), "a3_solve", CONSTANT_SOLVE)
    blank.cells.insert(2, new_code_cell(BLANK_TESTS))
    rewrite = _answer(nbformat.from_dict(student), "a3_solve", CONSTANT_SOLVE)
    rewrite.cells.insert(2, new_code_cell(REWRITE_TARGET))
    submissions = {"honest": nbformat.from_dict(reference), "blanktests": blank, "rewrite": rewrite}
    return _grade_class(tmp_path_factory.mktemp("a3"), "a3_label_budget", submissions, A134_LIMITS)


@pytest.fixture(scope="module")
def a4_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("a4")
    _, reference, _ = _versions("a4_own_images")
    never_fail = _answer(nbformat.from_dict(reference), "a4_model", HEAD_ONLY)  # and no image folder handed in
    never_fail.cells.insert(2, new_code_cell(NEVER_FAIL))
    rewrite = nbformat.from_dict(reference)
    rewrite.cells.insert(2, new_code_cell(REWRITE_DEMO_SOURCES))
    make_stripes(root / "class" / "honest" / "a4_own_images" / "my_images")
    make_demo_folder(root / "class" / "rewrite" / "a4_own_images" / "my_images")  # the dataset's images, handed in
    submissions = {"honest": nbformat.from_dict(reference), "neverfail": never_fail, "rewrite": rewrite}
    return _grade_class(root, "a4_own_images", submissions, A134_LIMITS)


def _statuses(row: Row) -> dict[str, str]:
    return {q.grade_id: q.status for q in row.report.questions}


@needs_sandbox
@pytest.mark.system
@pytest.mark.parametrize("assignment, points", [("a1", 8), ("a3", 5), ("a4", 8)])
def test_the_honest_student_of_each_assignment_keeps_full_marks(request, assignment: str, points: float) -> None:
    row = request.getfixturevalue(f"{assignment}_class")["honest"]
    assert row.verdict == "ok" and row.report.score == row.report.auto_points == points, str(row.report)


@needs_sandbox
@pytest.mark.system
@pytest.mark.parametrize("assignment, student, tampered, score, why", [
    ("a1", "replaced", {"a1_build_model_tests", "a1_unfreeze_tests", "a1_fine_tune_tests"}, 0, "sent no result"),
    ("a1", "rewrite", {"a1_fine_tune_tests"}, 6, "learning rate is 0.1: too high"),
    ("a3", "blanktests", {"a3_predictions_tests", "a3_target_tests"}, 0, "sent no result"),
    ("a3", "rewrite", {"a3_target_tests"}, 1, "below the target 0.74"),
    ("a4", "neverfail", {"a4_task_tests", "a4_model_tests"}, 4, "exactly the pretrained one"),
    ("a4", "rewrite", {"a4_task_tests"}, 7, "are images of the track's dataset"),
])
def test_tampering_with_the_checks_of_each_assignment_is_caught(request, assignment: str, student: str, tampered: set,
                                                               score: float, why: str) -> None:
    row = request.getfixturevalue(f"{assignment}_class")[student]
    statuses = _statuses(row)
    assert row.verdict == TAMPERED and row.report.score == score, str(row.report)
    assert {g for g, s in statuses.items() if s == "tampered"} == tampered, str(row.report)
    assert {s for g, s in statuses.items() if g not in tampered} <= {"passed"}, str(row.report)
    assert any(why in q.message for q in row.report.questions), str(row.report)


# ---- nbgrader's autograde inside the same sandbox --------------------------------------------


@needs_sandbox
@pytest.mark.system
def test_nbgrader_autograde_runs_in_the_sandbox(tmp_path: Path) -> None:
    """As any user, root too: nbgrader writes copies of the gradebook and autograded/, put back after."""
    import subprocess
    import sys

    from nbgrader.api import Gradebook

    home, root = tmp_path / "teacher", tmp_path / "course"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text(SECRET)
    shutil.copytree(SOURCE / "a2_preprocessing", root / "source" / "a2_preprocessing")
    (root / "nbgrader_config.py").write_text(  # the course's cell timeout: nbgrader's default 30 s is too short on a busy CPU
        f"c = get_config()\nc.CourseDirectory.root = {str(root)!r}\nc.CourseDirectory.course_id = 'tl-test'\n"
        f"c.Execute.timeout = {sandbox.CELL_TIMEOUT}\n")
    env = {**os.environ, "HOME": str(home), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    made = subprocess.run(["nbgrader", "generate_assignment", "a2_preprocessing"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stdout + made.stderr
    solution = root / "source" / "a2_preprocessing" / "preprocessing.ipynb"
    nb = nbformat.read(solution, as_version=4)
    nb.cells.insert(2, new_code_cell("import os\n" + "".join([
        attempt("ssh key", f"open({str(home / '.ssh' / 'id_rsa')!r}).read()"),
        attempt("solutions", f"open({str(solution)!r}).read()"),
        attempt("gradebook", f"open({str(root / 'gradebook.db')!r}, 'rb').read(16)"),
        attempt("config", f"os.remove({str(root / 'nbgrader_config.py')!r})"),
        attempt("submissions", f"open({str(root / 'submitted' / 'bob' / 'pwned')!r}, 'w').write('x')"),
        attempt("course folder", f"open({str(root / 'pwned')!r}, 'w').write('x')"),
    ])))
    _write(nb, root / "submitted" / "alice" / "a2_preprocessing" / "preprocessing.ipynb")
    _write(nbformat.read(solution, as_version=4), root / "submitted" / "bob" / "a2_preprocessing" / "preprocessing.ipynb")
    teachers = {"source": _digest(root / "source"), "release": _digest(root / "release"), "submitted": _digest(root / "submitted"),
                "config": (root / "nbgrader_config.py").read_text()}

    graded = subprocess.run([sys.executable, "-m", "tlhelpers", "assignments", "sandbox", "--",
                             "nbgrader", "autograde", "a2_preprocessing"],
                            cwd=root, env=env, capture_output=True, text=True, timeout=900)
    assert graded.returncode == 0, graded.stdout[-3000:] + graded.stderr[-3000:]
    printed = _printed(root / "autograded" / "alice" / "a2_preprocessing" / "preprocessing.ipynb")
    assert "BLOCKED ssh key: FileNotFoundError" in printed and SECRET not in printed, printed
    assert "BLOCKED solutions: FileNotFoundError" in printed, printed
    assert "DONE gradebook: b'SQLite format 3" in printed, printed  # a copy of it: within reach, as the docs say
    assert "BLOCKED config:" in printed and "BLOCKED submissions:" in printed, printed  # read-only
    assert "DONE course folder:" in printed and not (root / "pwned").exists(), printed  # the copy's folder: dropped
    assert "'pwned' was written in the course folder by the command; not kept" in graded.stderr
    assert {"source": _digest(root / "source"), "release": _digest(root / "release"), "submitted": _digest(root / "submitted"),
            "config": (root / "nbgrader_config.py").read_text()} == teachers
    assert (root / "gradebook.db.before-sandbox").is_file()

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        for student in ("alice", "bob"):
            grades = gradebook.find_submission_notebook("preprocessing", "a2_preprocessing", student).grades
            assert {g.name: g.auto_score for g in grades if not g.needs_manual_grade} == {
                "a2_prepare_tests": 4, "a2_wrong_pipelines_tests": 2}, _cell_outputs(
                root / "autograded" / student / "a2_preprocessing" / "preprocessing.ipynb")
