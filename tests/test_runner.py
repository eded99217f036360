"""Executing notebooks headless into build/."""

from pathlib import Path

import nbformat
import pytest

from tlhelpers.runner import run_notebooks, summary

pytestmark = pytest.mark.system  # runs notebooks in Jupyter kernels


def _notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def test_run_notebooks_writes_copies_html_and_a_summary(tmp_path: Path) -> None:
    good = _notebook(tmp_path / "00_good.ipynb", "x = 6 * 7", "print(x)")
    bad = _notebook(tmp_path / "01_bad.ipynb", "1 / 0")
    out = tmp_path / "build"
    results = run_notebooks([good, bad], out)
    assert [r.status for r in results] == ["ok", "FAILED"]
    assert "ZeroDivisionError" in results[1].error
    executed = nbformat.read(out / "00_good.ipynb", as_version=4)
    assert executed.cells[1].outputs[0]["text"] == "42\n"
    assert "ZeroDivisionError" in (out / "01_bad.html").read_text()
    table = summary(results)
    assert "00_good.ipynb" in table and table.splitlines()[-1].split()[:2] == ["total", "FAILED"]
