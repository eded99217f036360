"""Execute the course's notebooks headless: executed copies and HTML pages in ``build/``.

Used by ``make course`` (``python -m tlhelpers course``); ends with a table of notebook,
status and seconds.

Example:
    >>> from tlhelpers.runner import run_notebooks
    >>> results = run_notebooks(["notebooks/00_background.ipynb"], "build")  # doctest: +SKIP
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

__all__ = ["run_notebooks"]


@dataclass
class Result:
    """How one notebook went."""

    notebook: str
    status: str
    seconds: float
    error: str = ""


def run_notebook(path: Path, out_dir: Path, timeout: int = 1200) -> Result:
    """Execute one notebook in its own folder; write ``NAME.ipynb`` and ``NAME.html`` to ``out_dir``.

    The executed copy is written even when a cell fails, so the error can be read there.

    Example:
        >>> run_notebook(Path("notebooks/00_background.ipynb"), Path("build"))  # doctest: +SKIP
    """
    from nbclient.exceptions import CellExecutionError
    from nbconvert import HTMLExporter

    from tlhelpers.notebook_client import notebook_client

    nb = nbformat.read(path, as_version=4)
    client = notebook_client(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    start = time.perf_counter()
    status, error = "ok", ""
    try:
        client.execute(stderr=subprocess.DEVNULL)  # the kernel's own log; cell outputs are still captured
    except CellExecutionError as err:
        status, error = "FAILED", str(err).strip().splitlines()[-1] if str(err).strip() else repr(err)
    except Exception as err:  # kernel died, timeout: still report and go on
        status, error = "FAILED", f"{type(err).__name__}: {err}"
    seconds = time.perf_counter() - start
    out_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out_dir / path.name)
    html, _ = HTMLExporter().from_notebook_node(nb)
    (out_dir / path.with_suffix(".html").name).write_text(html, encoding="utf-8")
    return Result(path.name, status, seconds, error)


def run_notebooks(paths: list[str | os.PathLike], out_dir: str | os.PathLike, timeout: int = 1200) -> list[Result]:
    """Run notebooks in order, printing each result as it comes.

    ``timeout`` is the most seconds one cell may take before its notebook counts as failed.

    Example:
        >>> run_notebooks([], "build")
        []
    """
    results = []
    for path in map(Path, paths):
        print(f"running {path} ...", flush=True)
        result = run_notebook(path, Path(out_dir), timeout)
        print(f"  {result.status} in {result.seconds:.0f} s {result.error}", flush=True)
        results.append(result)
    return results


def summary(results: list[Result]) -> str:
    """A plain-text table: notebook, status, seconds, and the total.

    Example:
        >>> print(summary([Result("00_background.ipynb", "ok", 12.3)]))
        notebook              status   seconds
        00_background.ipynb   ok          12.3
        total                 ok          12.3
    """
    width = max([len("notebook"), *(len(r.notebook) for r in results)]) + 3
    rows = [f"{'notebook':<{width}}{'status':<8}{'seconds':>8}"]
    rows += [f"{r.notebook:<{width}}{r.status:<8}{r.seconds:>8.1f}" for r in results]
    overall = "ok" if all(r.status == "ok" for r in results) else "FAILED"
    rows.append(f"{'total':<{width}}{overall:<8}{sum(r.seconds for r in results):>8.1f}")
    return "\n".join(rows)
