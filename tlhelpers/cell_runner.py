"""Run one notebook and stream each executed cell, as a line of JSON, to whoever started it.

The grader starts this inside the sandbox (``python -m tlhelpers.cell_runner NOTEBOOK``):
it starts the notebook's kernel there, runs every cell through nbclient over the sandbox's
own loopback, and writes one line per finished cell on standard output, as it goes::

    {"event": "files", "files": {"my_images/cat/1.png": "3f2a...", "notebook.ipynb": null}}
    {"event": "start"}
    {"event": "cell", "index": 3, "seconds": 1.52, "cell": {...the executed cell...}}
    {"event": "processes", "index": 5, "count": 250}   (with --process-limit: see below)
    {"event": "kernel died", "index": 7}      (if it did; nothing runs after it)
    {"event": "done"}

With ``--process-limit N`` (the sandbox's own process namespace, where ``/proc`` lists only
its processes), a cell during which at least half of ``N`` processes ran at once gets a
``processes`` event: a fork bomb is seen by how many processes it made (sampled while the
cell runs), even when its clones, which share the kernel's sockets, garble the cell's own
error message or die before the cell is reported.

``files`` lists the notebook's folder before any of its code runs (each image with the
digest of its pixels, :func:`tlhelpers.evidence.files`); ``seconds`` is the wall-clock time
of the cell, measured here, outside the kernel. So a notebook stopped half-way (its time
limit) still leaves the cells it finished. The kernel writes nowhere near that stream: its
own output goes to ``/dev/null``, and this process makes itself non-dumpable, so code in the
kernel (same user) can neither open its file descriptors through ``/proc`` nor attach a
debugger to it. It can still kill it: the grader then scores the cells it has and counts
the rest as not run.

Example:
    $ python -m tlhelpers.cell_runner notebook.ipynb --timeout 600
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

import nbformat

from tlhelpers import evidence

PR_SET_DUMPABLE = 4


def _undumpable() -> None:
    """``prctl(PR_SET_DUMPABLE, 0)``: no ptrace, no ``/proc/<pid>/fd`` for other processes of the same user."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE, 0) failed")


def grading_client(nb: nbformat.NotebookNode, path: Path, timeout: int, **hooks: Any):
    """The nbclient client that runs a submission the way grading does (nbgrader's rules).

    Every cell runs, errors or not (each is scored); a cell past ``timeout`` seconds is
    interrupted and gets a ``CellTimeoutError``; the kernel is the one the notebook names
    and runs in ``path``'s folder. ``hooks`` are nbclient's ``on_cell_*`` callbacks.

    Example:
        >>> nb = nbformat.v4.new_notebook()
        >>> grading_client(nb, Path("hw.ipynb"), 60).allow_errors
        True
    """
    from tlhelpers.notebook_client import notebook_client

    return notebook_client(
        nb, timeout=timeout, kernel_name=nb.metadata.get("kernelspec", {}).get("name", "python3"),
        allow_errors=True, interrupt_on_timeout=True,
        error_on_timeout={"ename": "CellTimeoutError", "evalue": f"the cell ran longer than {timeout} s", "traceback": []},
        resources={"metadata": {"path": str(path.parent.resolve())}}, **hooks,
    )


def running_processes() -> int:
    """How many processes ``/proc`` lists (in a sandbox: the sandbox's own).

    Example:
        >>> running_processes() >= 1
        True
    """
    return sum(1 for entry in os.listdir("/proc") if entry.isdigit())


class ProcessPeak:
    """The most processes running at once since the last :meth:`reset`, sampled every ``interval`` s.

    A fork bomb's clones can die soon after the cell fails (they share the kernel's sockets),
    and as root the process limit counts another sandbox's processes too, so the count
    *after* a cell can be low: the peak during it is not.

    Example:
        >>> peak = ProcessPeak(0.01)
        >>> peak.highest() >= 1
        True
        >>> peak.stop()
    """

    def __init__(self, interval: float = 0.05) -> None:
        self._highest, self._done = 0, threading.Event()
        self._thread = threading.Thread(target=self._watch, args=(interval,), daemon=True)
        self._thread.start()

    def _watch(self, interval: float) -> None:
        while not self._done.wait(interval):
            try:
                self._highest = max(self._highest, running_processes())
            except OSError:  # /proc unreadable for a moment (processes coming and going): sample again
                continue

    def reset(self) -> None:
        self._highest = running_processes()

    def highest(self) -> int:
        """The peak so far, counting the processes running now."""
        self._highest = max(self._highest, running_processes())
        return self._highest

    def stop(self) -> None:
        self._done.set()


def run(path: Path, timeout: int, out: TextIO, process_limit: int | None = None) -> int:
    """Execute ``path`` (in its folder), writing the events above to the text stream ``out``.

    Example:
        >>> run(Path("nb.ipynb"), 60, sys.stdout)  # doctest: +SKIP
        0
    """
    from nbclient.exceptions import DeadKernelError

    def emit(event: dict) -> None:
        out.write(json.dumps(event) + "\n")
        out.flush()

    emit({"event": "files", "files": evidence.files(path.parent)})  # before any of the notebook's code runs
    nb = nbformat.read(path, as_version=4)
    state = {"index": -1, "started": 0.0}

    peak = ProcessPeak() if process_limit else None

    def starting(cell, cell_index: int) -> None:
        state["index"], state["started"] = cell_index, time.monotonic()
        if peak:
            peak.reset()

    def executed(cell, cell_index: int, execute_reply) -> None:
        seconds = round(time.monotonic() - state["started"], 3)
        emit({"event": "cell", "index": cell_index, "seconds": seconds, "cell": cell})
        if peak and (count := peak.highest()) >= process_limit // 2:
            emit({"event": "processes", "index": cell_index, "count": count})

    client = grading_client(nb, path, timeout, on_cell_start=starting, on_cell_executed=executed)
    emit({"event": "start"})
    try:
        client.execute(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except DeadKernelError as err:
        emit({"event": "kernel died", "index": state["index"], "message": str(err)})
        return 1
    finally:
        if peak:
            peak.stop()
    emit({"event": "done"})
    return 0


def main(argv: list[str] | None = None) -> int:
    """The command line: ``NOTEBOOK [--timeout SECONDS] [--process-limit N]``; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m tlhelpers.cell_runner", description=__doc__.split("\n\n")[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--timeout", type=int, default=600, help="seconds each cell may take")
    parser.add_argument("--process-limit", type=int, default=None,
                        help="the sandbox's process limit: report a cell that leaves half of it running")
    args = parser.parse_args(argv)
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")  # the stream; stray prints go to stderr instead
    os.dup2(2, 1)
    _undumpable()
    return run(args.notebook, args.timeout, out, args.process_limit)


if __name__ == "__main__":
    sys.exit(main())
