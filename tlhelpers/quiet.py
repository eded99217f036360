"""Keep TensorFlow's start-up log out of the lessons' cell outputs; errors still show.

TensorFlow's C++ core logs a few INFO lines when it loads (which CPU instructions it was
built for, preceded by absl's "All log messages before absl::InitializeLog() ..."). A
Jupyter kernel shows whatever reaches its stderr in red under the cell, so the first
``import keras`` of every lesson looked like an error. ``TF_CPP_MIN_LOG_LEVEL=2`` hides
TensorFlow's INFO and WARNING lines and keeps ERROR and FATAL ones; Python exceptions and
warnings are not affected. It must be set before TensorFlow loads, i.e. before the
kernel runs the lesson's first cell.

``make`` exports it, and Jupyter passes it on to its kernels, but a kernel started from a
plain ``jupyter lab`` (or an editor) would not have it. ``python -m tlhelpers.quiet``
(run by ``make setup``) therefore writes a few lines into this environment's IPython
kernel config, ``<sys.prefix>/etc/ipython/ipython_kernel_config.py``, which every IPython
kernel of the environment runs at start-up. They set the variable only where it is not
set already, so ``TF_CPP_MIN_LOG_LEVEL=0 jupyter lab`` still shows everything.

One Python warning is dropped too (:func:`hide_retracing_notes`): TensorFlow's note that
many functions were traced, which the lessons cause on purpose by building a fresh model
per run.

Graded cells need more: nbgrader scores a test cell 0 when anything reaches its stderr.
:func:`start_tensorflow` loads TensorFlow in an assignment's setup cell, so its one-time
start-up messages land there, and :func:`stderr_as_notes` runs a student's code with Python
warnings, ``sys.stderr`` and the C++ log shown as ``note:`` lines on stdout instead.

Some lines ignore the variable: on CPUs where TensorFlow turns oneDNN on by default (those
with AVX512_VNNI, AVX512_BF16 or AMX) it logs "oneDNN custom operations are on" while it
loads, before it has read the variable. The block therefore also gives the kernels an output
stream, ``tlhelpers.kernel_stream.QuietLogOutStream``, that leaves out of their stderr the C++
log lines below the level (``hide_below_level``); a terminal still gets everything.

(The CUDA probing lines, "Could not find cuda drivers" and "failed call to cuInit", come
from the CUDA build of TensorFlow and ignore this setting: on a machine without an NVIDIA
GPU the course installs ``tensorflow-cpu``, which does not probe; see the Makefile.)

Example:
    >>> kernel_config_path("/opt/env").as_posix()
    '/opt/env/etc/ipython/ipython_kernel_config.py'
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import re
import sys
import warnings
from pathlib import Path
from typing import Iterator

__all__ = [
    "BLOCK", "LEVEL", "PYTHON_LOGGERS", "RETRACING_NOTE", "VARIABLE", "hide_below_level", "hide_retracing_notes",
    "install", "is_installed", "kernel_config_path", "main", "min_log_level", "start_tensorflow", "stderr_as_notes",
    "tensorflow_errors_only",
]

VARIABLE = "TF_CPP_MIN_LOG_LEVEL"
#: TensorFlow's C++ log level kept: 2 hides INFO and WARNING, shows ERROR and FATAL.
LEVEL = "2"

_BEGIN = "# >>> tlhelpers.quiet >>>"
_END = "# <<< tlhelpers.quiet <<<"
BLOCK = f"""{_BEGIN}
# Written by `python -m tlhelpers.quiet` (run by `make setup`): TensorFlow's start-up INFO
# lines stay out of the notebooks' outputs; its errors still show. Set only if unset.
import importlib.util as _util
import os as _os

_os.environ.setdefault("{VARIABLE}", "{LEVEL}")
if _util.find_spec("tlhelpers.kernel_stream") is not None:  # the lines that ignore it
    c.IPKernelApp.outstream_class = "tlhelpers.kernel_stream.QuietLogOutStream"
    c.InteractiveShellApp.exec_lines = ["import tlhelpers.quiet as _q; _q.hide_retracing_notes(); del _q"]
del _os, _util
{_END}
"""


#: absl's log line as TensorFlow's C++ core writes it: severity letter, MMDD, time, thread, file:line.
_LOG_LINE = re.compile(r"[IWEF]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [^\s\]]+:\d+\] ")
#: What absl writes (a WARNING) before its first line when nobody called absl::InitializeLog().
_ABSL_NOTICE = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
_SEVERITIES = "IWEF"  # INFO, WARNING, ERROR, FATAL: levels 0 to 3


def min_log_level() -> int:
    """``TF_CPP_MIN_LOG_LEVEL`` as TensorFlow reads it: a number, else 0 (everything shown)."""
    try:
        return int(os.environ.get(VARIABLE, "0"))
    except ValueError:
        return 0


def hide_below_level(text: str, level: int) -> str:
    r"""``text`` without the complete C++ log lines whose severity is below ``level``.

    The filter ``TF_CPP_MIN_LOG_LEVEL`` should have been, for the lines TensorFlow logs
    before it reads the variable. Only whole lines in absl's format (and absl's notice, a
    WARNING) are dropped; anything else, a partial line included, passes unchanged.

    Example:
        >>> text = ("I0000 00:00:1796479179.431707   16874 port.cc:153] oneDNN custom operations are on.\n"
        ...         "E0000 00:00:1796479179.431707   16874 loader.cc:9] could not load x\n"
        ...         "print('I0000 is not a log line')\n")
        >>> print(hide_below_level(text, 2), end="")
        E0000 00:00:1796479179.431707   16874 loader.cc:9] could not load x
        print('I0000 is not a log line')
        >>> hide_below_level(text, 0) == text
        True
    """
    kept = []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        if line != body and (
            (body == _ABSL_NOTICE and level > _SEVERITIES.index("W"))
            or (_LOG_LINE.match(body) and _SEVERITIES.index(body[0]) < level)
        ):
            continue
        kept.append(line)
    return "".join(kept)


RETRACING_NOTE = "triggered tf.function retracing"


class _NoRetracingNotes(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return RETRACING_NOTE not in record.getMessage()


def hide_retracing_notes() -> None:
    """Drop TensorFlow's "N out of the last M calls ... triggered tf.function retracing" warnings.

    Every new Keras model traces its own training and prediction functions; the lessons
    build many small models on purpose (a fresh copy per run), and TensorFlow counts those
    traces together and warns about them in red under the cell. The warning is about
    speed, and harmless here. Only that message is dropped, from the ``"tensorflow"``
    logger; every other warning still shows. The kernel config block runs it at kernel
    start-up. It loads no TensorFlow.

    Example:
        >>> hide_retracing_notes()
        >>> any(isinstance(f, _NoRetracingNotes) for f in logging.getLogger("tensorflow").filters)
        True
    """
    logger = logging.getLogger("tensorflow")
    if not any(isinstance(f, _NoRetracingNotes) for f in logger.filters):
        logger.addFilter(_NoRetracingNotes())


#: The Python loggers of TensorFlow and the libraries it brings along.
PYTHON_LOGGERS = ("tensorflow", "absl", "keras", "h5py")


@contextlib.contextmanager
def tensorflow_errors_only() -> Iterator[None]:
    """Inside the block (or a function it decorates), TensorFlow's Python loggers show errors only.

    For code that builds many small models on purpose (benchmarks, lesson 07's
    measurements: TensorFlow's notes about retracing are expected there) and for graded
    notebooks. It loads nothing: ``tf.get_logger()`` is the ``"tensorflow"`` logger.

    Example:
        >>> with tensorflow_errors_only():
        ...     logging.getLogger("tensorflow").level
        40
    """
    loggers = [logging.getLogger(name) for name in PYTHON_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def start_tensorflow(log_level: str = LEVEL) -> None:
    """Load TensorFlow and initialise its devices now, in an assignment's setup cell.

    TensorFlow writes one-time start-up messages to stderr when it first runs an op;
    nbgrader scores a graded cell that writes to stderr 0, so they must not land in one.
    ``TF_CPP_MIN_LOG_LEVEL`` (unless already set) also keeps its C++ warnings out of later
    cells. Call it before ``import keras``. (The assignments call it as ``grade.start()``.)

    Example:
        >>> start_tensorflow()
    """
    os.environ.setdefault(VARIABLE, log_level)
    import tensorflow as tf

    tf.config.list_logical_devices()
    tf.constant(0.0) + 1.0


@contextlib.contextmanager
def _fd_stderr_to(buffer: io.StringIO) -> Iterator[None]:
    """Send what C/C++ code writes to file descriptor 2 into ``buffer`` (best effort)."""
    import tempfile

    try:
        sys.__stderr__.flush()
        saved = os.dup(2)
    except (OSError, AttributeError, ValueError):
        yield
        return
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            buffer.write(sink.read().decode("utf-8", "replace"))


@contextlib.contextmanager
def stderr_as_notes() -> Iterator[None]:
    """Run code without writing to stderr: warnings and stderr text are printed on stdout.

    Python warnings, ``sys.stderr`` and (where the platform allows) the C++ log of
    TensorFlow are caught while the block runs, then shown as ``note:`` lines; TensorFlow's
    Python loggers show errors only meanwhile (:func:`tensorflow_errors_only`). The
    assignments' checks run students' code in it (``grade.quiet()`` is the same).

    Example:
        >>> with stderr_as_notes():
        ...     warnings.warn("careful")
        note: UserWarning: careful
    """
    # imported here, not at the top: every kernel imports this module at start-up
    from tlhelpers.i18n import _

    buffer = io.StringIO()
    caught: list = []
    try:
        with (tensorflow_errors_only(), warnings.catch_warnings(record=True) as caught,
              contextlib.redirect_stderr(buffer), _fd_stderr_to(buffer)):
            warnings.simplefilter("always")
            yield
    finally:
        for w in caught:
            print(_("note: {category}: {message}").format(category=w.category.__name__, message=w.message))
        text = buffer.getvalue().strip()
        if text:
            print(_("note: {text}").format(text=text))


def kernel_config_path(prefix: str | Path | None = None) -> Path:
    """The IPython kernel config file of the environment at ``prefix`` (default: this one)."""
    return Path(prefix if prefix is not None else sys.prefix) / "etc" / "ipython" / "ipython_kernel_config.py"


def is_installed(prefix: str | Path | None = None) -> bool:
    """True if the environment's kernels set ``TF_CPP_MIN_LOG_LEVEL`` at start-up."""
    path = kernel_config_path(prefix)
    return path.is_file() and BLOCK in path.read_text()


def install(prefix: str | Path | None = None) -> bool:
    """Add (or refresh) the block in the kernel config; keep anything else in the file.

    Returns True if the file changed, False if it already held the block.
    """
    path = kernel_config_path(prefix)
    text = path.read_text() if path.is_file() else ""
    if BLOCK in text:
        return False
    if _BEGIN in text and _END in text:  # an older block: replace it
        head, rest = text.split(_BEGIN, 1)
        text = head + rest.split(_END, 1)[1].lstrip("\n")
    if text and not text.endswith("\n"):
        text += "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + BLOCK)
    return True


def main(argv: list[str] | None = None) -> int:
    # imported here, not at the top: every kernel imports this module at start-up
    from tlhelpers.i18n import _

    parser = argparse.ArgumentParser(
        prog="python -m tlhelpers.quiet",
        description=_("Make this environment's Jupyter kernels set {variable}={level} (unless set) "
                      "before TensorFlow loads, so its start-up INFO lines stay out of cell outputs.").format(
            variable=VARIABLE, level=LEVEL),
    )
    parser.add_argument("--check", action="store_true", help=_("only say whether it is set up (exit 1 if not)"))
    args = parser.parse_args(argv)
    path = kernel_config_path()
    if args.check:
        ok = is_installed()
        if ok:
            print(_("{path}: sets {variable} for this environment's kernels").format(path=path, variable=VARIABLE))
        else:
            print(_("{path}: does not set {variable} for this environment's kernels").format(path=path, variable=VARIABLE))
        return 0 if ok else 1
    if install():
        print(_("tlhelpers.quiet: kernels of this environment now set {variable}={level} (unless set): {path}").format(
            variable=VARIABLE, level=LEVEL, path=path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
