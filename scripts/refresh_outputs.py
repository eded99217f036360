"""Re-execute notebooks and keep only the outputs nbval checks.

Notebooks are committed without outputs, except cells marked ``# NBVAL_CHECK_OUTPUT``,
whose committed output ``pytest --nbval-lax`` compares. After editing a notebook, run

    python scripts/refresh_outputs.py notebooks/03_fine_tuning.ipynb

to execute it in the offline track and write it back with just those outputs.
With ``--strip`` it only clears outputs (no execution).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

MARK = "NBVAL_CHECK_OUTPUT"


def keep_checked_outputs(nb: nbformat.NotebookNode) -> int:
    """Clear outputs and counts of unchecked cells and saved widget state; return how many checked cells kept theirs."""
    nb.metadata.pop("widgets", None)  # nbclient saves the run's widget state (plots, numbers)
    kept = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.metadata.pop("execution", None)
        if MARK in cell.source:
            kept += 1  # nbval treats a checked cell without an execution count as unrun
            cell.execution_count = kept
            for output in cell.outputs:
                if "execution_count" in output:
                    output["execution_count"] = kept
        else:
            cell.outputs = []
            cell.execution_count = None
    return kept


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--strip", action="store_true", help="only clear outputs, do not execute")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ["TL_TRACK"] = "offline"
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        if not args.strip:
            NotebookClient(nb, timeout=1200, kernel_name="python3",
                           resources={"metadata": {"path": str(path.parent)}}).execute()
        kept = keep_checked_outputs(nb)
        nbformat.write(nb, path)
        print(f"{path}: kept the outputs of {kept} checked cell(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
