"""Run one notebook and stream each executed cell, as a line of JSON, to whoever started it.

The grader starts this inside the sandbox (``python -m tlhelpers.cell_runner NOTEBOOK``):
it starts the notebook's kernel there, runs every cell through nbclient over the sandbox's
own loopback, and writes one line per finished cell on standard output, as it goes::

    {"event": "start"}
    {"event": "cell", "index": 3, "cell": {...the executed cell...}}
    {"event": "kernel died", "index": 7}      (if it did; nothing runs after it)
    {"event": "done"}

So a notebook stopped half-way (its time limit) still leaves the cells it finished. The
kernel writes nowhere near that stream: its own output goes to ``/dev/null``, and this
process makes itself non-dumpable, so code in the kernel (same user) can neither open its
file descriptors through ``/proc`` nor attach a debugger to it. It can still kill it:
the grader then scores the cells it has and counts the rest as not run.

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
from pathlib import Path

import nbformat

PR_SET_DUMPABLE = 4


def _undumpable() -> None:
    """``prctl(PR_SET_DUMPABLE, 0)``: no ptrace, no ``/proc/<pid>/fd`` for other processes of the same user."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE, 0) failed")


def run(path: Path, timeout: int, out) -> int:
    """Execute ``path`` (in its folder), writing the events above to the text stream ``out``.

    Example:
        >>> run(Path("nb.ipynb"), 60, sys.stdout)  # doctest: +SKIP
        0
    """
    from nbclient.exceptions import DeadKernelError

    from tlhelpers.notebook_client import notebook_client

    def emit(event: dict) -> None:
        out.write(json.dumps(event) + "\n")
        out.flush()

    nb = nbformat.read(path, as_version=4)
    state = {"index": -1}

    def executed(cell, cell_index: int, execute_reply) -> None:
        emit({"event": "cell", "index": cell_index, "cell": cell})

    def starting(cell, cell_index: int) -> None:
        state["index"] = cell_index

    client = notebook_client(
        nb, timeout=timeout, kernel_name=nb.metadata.get("kernelspec", {}).get("name", "python3"),
        allow_errors=True, interrupt_on_timeout=True, on_cell_executed=executed, on_cell_start=starting,
        error_on_timeout={"ename": "CellTimeoutError", "evalue": f"the cell ran longer than {timeout} s", "traceback": []},
        resources={"metadata": {"path": str(path.parent.resolve())}},
    )
    emit({"event": "start"})
    try:
        client.execute(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except DeadKernelError as err:
        emit({"event": "kernel died", "index": state["index"], "message": str(err)})
        return 1
    emit({"event": "done"})
    return 0


def main(argv: list[str] | None = None) -> int:
    """The command line: ``NOTEBOOK [--timeout SECONDS]``; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m tlhelpers.cell_runner", description=__doc__.split("\n\n")[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--timeout", type=int, default=600, help="seconds each cell may take")
    args = parser.parse_args(argv)
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")  # the stream; stray prints go to stderr instead
    os.dup2(2, 1)
    _undumpable()
    return run(args.notebook, args.timeout, out)


if __name__ == "__main__":
    sys.exit(main())
