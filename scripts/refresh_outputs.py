"""Re-execute notebooks and keep only the outputs nbval checks.

Notebooks are committed without outputs, except cells marked ``# NBVAL_CHECK_OUTPUT``,
whose committed output ``pytest --nbval-lax`` compares, in both tracks. After editing a
notebook, run

    python scripts/refresh_outputs.py notebooks/03_fine_tuning.ipynb

to execute it in the offline track and write it back with just those outputs. It refuses
to write a notebook whose checked cell printed nothing, raised, or wrote to stderr (that
would commit a weaker check). With ``--also-track imagenet`` (with the imagenet track's
data at hand) it executes the notebook there too and refuses when a checked cell prints
something else: checked cells must print only what both tracks share (per-track values
belong in ``tests/test_lesson_facts.py``). With ``--strip`` it only clears outputs.

Executed copies already at hand (``benchmarks/course.py --keep DIR`` writes them) save the
run: ``--from DIR`` takes the offline track's outputs from ``DIR/<name>.ipynb`` and
``--also-from DIR`` the imagenet track's, compared as above. A copy whose checked cells' code
differs from the notebook's is refused.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import nbformat

from tlhelpers.notebook_client import notebook_client

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


class WeakerCheck(RuntimeError):
    """A checked cell would be committed with an output that checks less, or differs per track."""


def checked_outputs(nb: nbformat.NotebookNode) -> dict[str, str]:
    """The text each checked cell printed, by cell id; raises if one printed nothing useful."""
    found = {}
    for cell in nb.cells:
        if cell.cell_type != "code" or MARK not in cell.source:
            continue
        parts = []
        for output in cell.outputs:
            if output.output_type == "error" or output.get("name") == "stderr":
                raise WeakerCheck(f"checked cell {cell.get('id')} {'raised' if output.output_type == 'error' else 'wrote to stderr'}:"
                                  f" {output.get('evalue') or output.get('text', '')[:200]}")
            parts.append(output.get("text") or output.get("data", {}).get("text/plain", ""))
        if not "".join(parts).strip():
            raise WeakerCheck(f"checked cell {cell.get('id')} printed nothing: a check of nothing")
        found[cell.get("id")] = "".join(parts)
    return found


def execute(nb: nbformat.NotebookNode, path: Path, track: str) -> nbformat.NotebookNode:
    """Run ``nb`` in a fresh kernel of the given track."""
    os.environ["TL_TRACK"] = track
    notebook_client(nb, timeout=1200, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


def executed_copy(path: Path, folder: Path) -> nbformat.NotebookNode:
    """``folder/<name>.ipynb``, the notebook at ``path`` as executed elsewhere; refused if a checked cell's code differs."""
    copy = nbformat.read(folder / path.name, as_version=4)
    checked = {c.id: c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code" and MARK in c.source}
    ran = {c.id: c.source for c in copy.cells if c.id in checked}
    if ran != checked:
        raise WeakerCheck(f"the executed copy in {folder} has other checked cells than {path}: run it again")
    return copy


def with_outputs_of(nb: nbformat.NotebookNode, executed: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``nb`` (as it is now) with the outputs its checked cells printed in ``executed``; the rest are cleared after."""
    ran = {c.id: c for c in executed.cells if c.cell_type == "code"}
    for cell in nb.cells:
        if cell.cell_type == "code" and MARK in cell.source:
            cell.outputs, cell.execution_count = ran[cell.id].outputs, ran[cell.id].execution_count
    return nb


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--strip", action="store_true", help="only clear outputs, do not execute")
    parser.add_argument("--also-track", choices=["imagenet"], help="also run in this track; refuse if a checked output differs")
    parser.add_argument("--from", dest="source", type=Path, help="take the outputs of the executed copies in this folder")
    parser.add_argument("--also-from", type=Path, help="compare with the imagenet track's executed copies in this folder")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    failed = 0
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        if not args.strip:
            try:
                if args.source:
                    nb = with_outputs_of(nb, executed_copy(path, args.source))
                else:
                    execute(nb, path, "offline")
                outputs = checked_outputs(nb)
                other = None
                if args.also_from:
                    other = checked_outputs(executed_copy(path, args.also_from))
                elif args.also_track:
                    other = checked_outputs(execute(nbformat.read(path, as_version=4), path, args.also_track))
                if other is not None:
                    differ = [cell for cell in outputs if outputs[cell] != other.get(cell)]
                    if differ:
                        raise WeakerCheck(f"checked cell(s) {differ} print something else in the imagenet "
                                          "track; print only what both tracks share")
            except WeakerCheck as err:
                print(f"{path}: not written: {err}", file=sys.stderr)
                failed += 1
                continue
        kept = keep_checked_outputs(nb)
        nbformat.write(nb, path)
        print(f"{path}: kept the outputs of {kept} checked cell(s)")
    return 1 if failed else 0

if __name__ == "__main__":
    sys.exit(main())
