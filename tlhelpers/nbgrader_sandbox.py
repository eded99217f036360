"""nbgrader's commands in the grading sandbox, as any user (root too), the course folder read-only.

``python -m tlhelpers assignments sandbox -- nbgrader autograde a1_freezing``, run from the
course folder (nbgrader's ``CourseDirectory.root``), runs the command in a
:mod:`tlhelpers.sandbox`: no network, the teacher's home and the course's repository hidden,
the Python environment read-only, the memory and process limits, an ordinary user without
capabilities (``nobody`` for root). The course folder appears at its own path, built so:

* **writable copies** of what nbgrader writes, in a staging folder owned by that user: the
  gradebook (``gradebook.db``), ``autograded/`` and ``feedback/``;
* ``source/`` with **only its other files** (``autograde`` copies them next to each
  submission): the source notebooks, which hold the solutions, are not there, nor are
  ``solution/`` and ``source_with_tests/``;
* everything else (``submitted/``, ``release/``, ``nbgrader_config.py``, ...) **read-only**.

When the command has ended (and every process of the sandbox with it), :func:`write_back`
puts what changed back into the course folder: each new or changed file of ``autograded/``
and ``feedback/``, written to a temporary file and renamed over the old one, then the
gradebook, copied with SQLite's backup (one transaction; the gradebook as it was is kept as
``gradebook.db.before-sandbox``). It writes nothing over a file that changed in the course
folder while the command ran (grades entered in the Formgrader, say), nor a gradebook that
SQLite finds damaged, nor anything but regular files (no links): those it names, and keeps
the staging folder for you to look at. Files nbgrader deleted stay; files the command wrote
elsewhere in the course folder are dropped (and named).

What it does not protect: nbgrader and the kernels it starts are the same user in there, so
a submission can read the other submissions and the gradebook (nbgrader keeps the hidden
tests in it), and change the gradebook copy, ``autograded/`` and ``feedback/`` of any
student, which are written back. For grades no submission can touch, use ``assignments grade``.

The folder names and the gradebook come from ``nbgrader_config.py`` in the course folder
(nbgrader's defaults otherwise).

Example:
    $ cd assignments && python -m tlhelpers assignments sandbox -- nbgrader autograde a1_freezing
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from tlhelpers import sandbox
from tlhelpers.sandboxed_grading import environment, exposed, hidden

#: What the command's exit status is when it succeeded but something was not written back.
NOT_WRITTEN_BACK = 3
#: The gradebook as it was before the last write-back, next to it.
BACKUP_SUFFIX = ".before-sandbox"


@dataclass(frozen=True)
class Course:
    """The parts of an nbgrader course folder the sandbox treats apart.

    Attributes:
        root: the course folder.
        gradebook: the gradebook's file name in it.
        writable: the folders nbgrader writes (autograded, feedback).
        source: the folder of the source notebooks.
        hidden: folders of solutions no command in the sandbox needs.
    """

    root: Path
    gradebook: str = "gradebook.db"
    writable: tuple[str, ...] = ("autograded", "feedback")
    source: str = "source"
    hidden: tuple[str, ...] = ("solution", "source_with_tests")

    @classmethod
    def read(cls, root: Path) -> Course:
        """The course in ``root``, with the names ``root/nbgrader_config.py`` sets.

        Raises:
            ValueError: the config puts the course root elsewhere, or the gradebook is not
                an SQLite file in the course folder.

        Example:
            >>> Course.read(Path("/nonexistent")).gradebook
            'gradebook.db'
        """
        root = root.resolve()
        names = {"source_directory": "source", "autograded_directory": "autograded", "feedback_directory": "feedback",
                 "solution_directory": "solution", "source_with_tests_directory": "source_with_tests"}
        settings: dict = {}
        if (root / "nbgrader_config.py").is_file():
            from traitlets.config.loader import PyFileConfigLoader

            settings = dict(PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config().get("CourseDirectory", {}))
        if settings.get("root") and (root / settings["root"]).resolve() != root:
            raise ValueError(f"nbgrader_config.py sets the course root to {settings['root']!r}; run this from that folder")
        name = {key: str(settings.get(key, default)) for key, default in names.items()}
        gradebook = "gradebook.db"
        url = str(settings.get("db_url", ""))
        if url:
            path = root / url.removeprefix("sqlite:///")  # relative to the course folder, or absolute
            if not url.startswith("sqlite:///") or path.resolve().parent != root:
                raise ValueError(f"the gradebook {url!r} is not an SQLite file in the course folder {str(root)!r}; "
                                 "the sandbox gives nbgrader a copy of one there only (leave db_url unset)")
            gradebook = path.name
        return cls(root, gradebook, (name["autograded_directory"], name["feedback_directory"]), name["source_directory"],
                   (name["solution_directory"], name["source_with_tests_directory"]))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _entries(folder: Path) -> list[Path]:
    """Every path under ``folder`` but its folders: files, links (to folders too), special files."""
    found = []
    for top, dirs, files in os.walk(folder):
        found += [Path(top) / name for name in files]
        found += [Path(top) / name for name in dirs if os.path.islink(Path(top) / name)]
    return sorted(found)


@dataclass
class Staging:
    """The staging folder of one command: the copies, and what the originals were.

    Attributes:
        course: the course.
        folder: the staging folder (it appears as the course folder inside the sandbox).
        originals: each staged file's path (relative to the course folder) and sha256.
        gradebook: the gradebook's sha256 when staged (``None``: there was none).
    """

    course: Course
    folder: Path
    originals: dict[str, str] = field(default_factory=dict)
    gradebook: str | None = None


def stage(course: Course, folder: Path) -> Staging:
    """Copy into ``folder`` what the command may change, and ``source/`` without notebooks; own it as the sandbox's user.

    Example:
        >>> stage(Course(Path("/nonexistent")), Path(tempfile.mkdtemp())).originals
        {}
    """
    staging = Staging(course, folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in course.writable:
        if (course.root / name).is_dir():
            shutil.copytree(course.root / name, folder / name, symlinks=True)
            staging.originals.update({p.relative_to(folder).as_posix(): _digest(p) for p in _entries(folder / name)
                                      if p.is_file() and not p.is_symlink()})
    if (course.root / course.gradebook).is_file():
        _sqlite_copy(course.root / course.gradebook, folder / course.gradebook)
        staging.gradebook = _digest(course.root / course.gradebook)
    if (course.root / course.source).is_dir():
        shutil.copytree(course.root / course.source, folder / course.source, symlinks=False,
                        ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"))
    sandbox.hand_to_sandbox_user(folder)
    return staging


def _sqlite_copy(source: Path, target: Path) -> None:
    """``source`` into ``target`` with SQLite's backup: one consistent snapshot, one transaction."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def _journals(course: Course) -> set[str]:
    """The files SQLite keeps next to the gradebook, and its backup."""
    return {f"{course.gradebook}{suffix}" for suffix in ("-journal", "-wal", "-shm", BACKUP_SUFFIX)}


def _read_only(course: Course) -> list[Path]:
    """The entries of the course folder put back read-only: all but the staged ones and the solutions."""
    staged = {course.gradebook, *course.writable, course.source, *course.hidden, *_journals(course)}
    return [entry for entry in sorted(course.root.iterdir()) if entry.name not in staged]


def _mounts(staging: Staging) -> list[tuple[Path, Path, bool]]:
    """The course folder inside: the staging folder writable, the other entries read-only, ``source/`` from the copy."""
    course = staging.course
    binds = [(staging.folder, course.root, True), *((entry, entry, False) for entry in _read_only(course))]
    if (staging.folder / course.source).is_dir():
        binds.append((staging.folder / course.source, course.root / course.source, False))
    return binds


@dataclass
class WriteBack:
    """What :func:`write_back` did.

    Attributes:
        written: files written back (paths relative to the course folder).
        refused: files not written back, each with why.
        dropped: files the command wrote that are not nbgrader's to write (not kept).
    """

    written: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


def _atomic_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _gradebook_problem(path: Path) -> str | None:
    """Why SQLite cannot take ``path`` as a gradebook, or ``None``."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            result = db.execute("PRAGMA integrity_check").fetchone()[0]
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        db.close()
    except sqlite3.Error as err:
        return f"SQLite cannot read it ({err})"
    if result != "ok":
        return f"SQLite finds it damaged ({result})"
    if not {"assignment", "student"} <= tables:
        return "it has no nbgrader tables"
    return None


def write_back(staging: Staging) -> WriteBack:
    """Put what the command changed in the copies back into the course folder (see the module's docstring).

    Example:
        >>> course = Course(Path(tempfile.mkdtemp()))
        >>> write_back(stage(course, Path(tempfile.mkdtemp()) / "copy")).written
        []
    """
    course, folder, done = staging.course, staging.folder, WriteBack()
    for name in course.writable:
        if (folder / name).is_symlink():
            done.refused.append(f"{name}: a link, not a folder")
            continue
        for path in _entries(folder / name):
            rel = path.relative_to(folder).as_posix()
            mode = path.lstat().st_mode
            if not stat.S_ISREG(mode):
                done.refused.append(f"{rel}: not a regular file (a link?)")
                continue
            original, new = staging.originals.get(rel), _digest(path)
            if new == original:
                continue
            target = course.root / rel
            now = _digest(target) if target.is_file() else None
            if now != original:
                done.refused.append(f"{rel}: changed in the course folder while the command ran")
                continue
            _atomic_copy(path, target)
            done.written.append(rel)
    staged = folder / course.gradebook
    links = [p.name for p in (staged, *(folder / j for j in _journals(course))) if p.is_symlink()
             or (p.exists() and not stat.S_ISREG(p.lstat().st_mode))]
    if links:
        done.refused.append(f"{course.gradebook}: {', '.join(links)} not a regular file (a link?)")
    elif staged.is_file() and _digest(staged) != staging.gradebook:
        real = course.root / course.gradebook
        problem = _gradebook_problem(staged)
        if problem:
            done.refused.append(f"{course.gradebook}: {problem}")
        elif (_digest(real) if real.is_file() else None) != staging.gradebook:
            done.refused.append(f"{course.gradebook}: changed in the course folder while the command ran")
        else:
            if real.is_file():
                _sqlite_copy(real, real.with_name(real.name + BACKUP_SUFFIX))
            _sqlite_copy(staged, real)
            done.written.append(course.gradebook)
    kept = {course.gradebook, *course.writable, *_journals(course), *(e.name for e in _read_only(course))}
    done.dropped = sorted(entry.name for entry in folder.iterdir() if entry.name not in kept | {course.source})
    return done


def run(argv: Sequence[str], limits: sandbox.Limits, root: Path | None = None) -> int:
    """Run ``argv`` (an nbgrader command) in the sandbox on the course folder ``root``; return its exit status.

    Prints what was not written back; then the status is :data:`NOT_WRITTEN_BACK` if the
    command itself succeeded.

    Raises:
        tlhelpers.sandbox.SandboxUnavailable: no sandbox can run here.
        ValueError: see :meth:`Course.read`.

    Example:
        >>> run(["nbgrader", "autograde", "a1_freezing"], sandbox.Limits())  # doctest: +SKIP
        0
    """
    sandbox.require()
    course = Course.read(root or Path.cwd())
    folder = Path(tempfile.mkdtemp(prefix="tl-nbgrader-"))
    keep = False
    try:
        staging = stage(course, folder / "course")
        command = sandbox.command(list(argv), None, limits, hidden(), exposed(), _mounts(staging), chdir=course.root)
        status = subprocess.run(command, env=environment()).returncode
        done = write_back(staging)
        for name in done.dropped:
            print(f"sandbox: {name!r} was written in the course folder by the command; not kept (only "
                  f"{', '.join([course.gradebook, *course.writable])} are)", file=sys.stderr)
        if done.refused:
            keep = True
            print(f"sandbox: not written back (the copies are in {staging.folder}):", file=sys.stderr)
            for why in done.refused:
                print(f"  {why}", file=sys.stderr)
            return status or NOT_WRITTEN_BACK
        return status
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
