"""Numbers that prose quotes from a benchmark, written from ``benchmarks/results/*.json``.

A lesson, the README or the teacher's guide that quotes a measured number marks it in its
Markdown as ``<!-- q:NAME -->value<!-- /q -->`` (the markers do not show when rendered).
:func:`update` rewrites every marked value from the JSON; ``benchmarks/report.py`` runs it
after a benchmark, and ``tests/test_quotes.py`` fails when a marked value differs from what
the JSON says now, or names a quote that does not exist. So prose cannot drift from the
measurements.

Each quote is a function of the results (:data:`QUOTES`); a name reads
``<benchmark>.<track>.<what>``. One family is named by a lesson's code cell instead:
``cell_time.<cell id>`` says how long that cell ran in each track's whole-course run
(``benchmarks/course.py``), for the sentence before a long cell.

Run: ``python benchmarks/quotes.py [--check]`` (``--check`` changes nothing and exits 1 if a
value is stale).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any, Callable

from common import REPO_DIR, RESULTS_DIR, result_path

MARKER = re.compile(r"<!-- q:(?P<name>[\w.-]+) -->(?P<value>.*?)<!-- /q -->", re.S)
# Where quotes may appear: Markdown files and the lessons' Markdown cells.
FILES = ("README.md", "docs/*.md", "notebooks/*.ipynb", "notebooks/zh/*.ipynb", "assignments/source/*/*.ipynb")
Results = dict[tuple[str, str], dict[str, Any]]


def load(folder: Path = RESULTS_DIR) -> Results:
    """Every full run's JSON, by ``(benchmark, track)``."""
    found = {}
    for name in ("few_shot", "finetune_settings", "tuner", "course"):
        for track in ("offline", "imagenet"):
            path = result_path(folder, name, track)
            if path.is_file():
                data = json.loads(path.read_text(encoding="utf-8"))
                if not data.get("quick"):
                    found[(name, track)] = data
    return found


def crossover_clause(curve: dict[str, Any]) -> str:
    """"from 20 labels per class on", or where fine-tuning never leads for good, "at no budget up to 300 ...".

    Example:
        >>> crossover_clause({"crossover": 20, "budgets": {"5": {}, "20": {}}})
        'from 20 labels per class on'
        >>> crossover_clause({"crossover": None, "budgets": {"5": {}, "300": {}}})
        'at no budget up to 300 labels per class'
    """
    if curve["crossover"]:
        k = curve["crossover"]
        return f"from {k} label{'' if k == 1 else 's'} per class on"
    return f"at no budget up to {max(int(k) for k in curve['budgets'])} labels per class"


def _settings(track: str, what: str) -> Callable[[Results], str]:
    def quote(r: Results) -> str:
        summary = r[("finetune_settings", track)]["summary"]
        if what == "blocks":
            return str(summary["chosen"]["blocks"])
        if what == "learning_rate":
            return f"{summary['chosen']['learning_rate']:g}"
        plain = summary[f"{summary['chosen']['blocks']}@{summary['chosen']['learning_rate']:g}"]["val_mean"]
        return f"{summary['augmented']['val_mean']:.3f} with augmentation, {plain:.3f} without"
    return quote


def augment_verdict(r: Results) -> str:
    """What the recipe does with augmentation, over both tracks, in words."""
    kept = {t: r[("finetune_settings", t)]["summary"]["chosen"]["augment"] for t in ("offline", "imagenet")}
    if all(kept.values()):
        return "keeps augmentation in both tracks"
    if not any(kept.values()):
        return "leaves augmentation out in both tracks"
    on = next(t for t, k in kept.items() if k)
    return f"keeps augmentation in the {on} track only"


def _few_shot(track: str, target: str, what: str) -> Callable[[Results], str]:
    def quote(r: Results) -> str:
        curve = r[("few_shot", track)]["summary"][target]
        if what == "crossover":
            return crossover_clause(curve)
        if what == "best_gain":
            return f"{max(e['fine_tune_gain'] for e in curve['budgets'].values()):+.1f}"
        if what == "scratch_lead_peak":  # the budget where transfer led scratch by the most
            k = max(curve["budgets"], key=lambda b: curve["budgets"][b]["gain_over_scratch"])
            return f"{k} label{'' if k == '1' else 's'} per class"
        return f"{curve['budgets'][what.removeprefix('gain.')]['fine_tune_gain']:+.1f}"
    return quote


def _tuner(what: str) -> Callable[[Results], str]:
    def quote(r: Results) -> str:
        summary = r[("tuner", "offline")]["summary"]
        if what == "random_vs_hyperband":
            return (f"random search {summary['random']['best_val_accuracy']['median']:.3f} and Hyperband "
                    f"{summary['hyperband']['best_val_accuracy']['median']:.3f}")
        if what == "winner_rates":
            rates = [run["best_hyperparameters"]["fine_lr"] for run in r[("tuner", "offline")]["runs"]]
            return f"{min(rates):.1e} to {max(rates):.1e}"
        test = {k: summary[k]["test"] for k in ("random", "hyperband")}
        return (f"the searches' best retrained {test['random']['best']['median']:.3f} (random search) and "
                f"{test['hyperband']['best']['median']:.3f} (Hyperband), the default recipe "
                f"{test['random']['default_recipe']['median']:.3f}, the probe {test['random']['probe']['median']:.3f}")
    return quote


def duration(seconds: float | None) -> str:
    """A cell's run time as a reader wants it: rounded, in seconds or minutes.

    Example:
        >>> [duration(s) for s in (None, 7.2, 23.0, 95.0, 260.0)]
        ['a few seconds', 'a few seconds', 'about 25 s', 'about 1.5 min', 'about 4.5 min']
    """
    if seconds is None or seconds < 10:
        return "a few seconds"
    if seconds < 90:
        return f"about {5 * max(1, round(seconds / 5))} s"
    return f"about {round(seconds / 30) / 2:g} min"


def cell_time(r: Results, cell_id: str) -> str:
    """How long the code cell ``cell_id`` ran in each track's whole-course run.

    Raises:
        KeyError: a track's course results are missing (run ``benchmarks/course.py`` in it).
    """
    found = {}
    for track in ("offline", "imagenet"):
        runs = r[("course", track)]["runs"]
        found[track] = next((run["cell_seconds"][cell_id] for run in runs if cell_id in run.get("cell_seconds", {})),
                            None)
    return f"{duration(found['offline'])} in the offline track, {duration(found['imagenet'])} in the imagenet track"


def quote(name: str, results: Results) -> str:
    """The value of the quote ``name``.

    Raises:
        ValueError: no such quote.
    """
    if name.startswith("cell_time."):
        return cell_time(results, name.removeprefix("cell_time."))
    if name not in QUOTES:
        raise ValueError(f"unknown quote {name!r}; the quotes are: {', '.join(sorted(QUOTES))}, cell_time.<cell id>")
    return QUOTES[name](results)


QUOTES: dict[str, Callable[[Results], str]] = {
    **{f"finetune_settings.{t}.{w}": _settings(t, w) for t in ("offline", "imagenet")
       for w in ("blocks", "learning_rate", "augmented_vs_plain")},
    "finetune_settings.augment_verdict": augment_verdict,
    **{f"few_shot.offline.{target}.{w}": _few_shot("offline", target, w) for target in ("near", "far")
       for w in ("crossover", "best_gain", "gain.1", "gain.5", "gain.20", "gain.100", "gain.300")},
    "few_shot.offline.near.scratch_lead_peak": _few_shot("offline", "near", "scratch_lead_peak"),
    **{f"few_shot.imagenet.near.{w}": _few_shot("imagenet", "near", w)
       for w in ("crossover", "best_gain", "gain.1", "gain.5", "gain.20", "gain.100", "scratch_lead_peak")},
    **{f"tuner.offline.{w}": _tuner(w) for w in ("random_vs_hyperband", "winner_rates", "test_three")},
}


def files(root: Path = REPO_DIR) -> list[Path]:
    """The files that may hold quotes."""
    return sorted({p for pattern in FILES for p in root.glob(pattern)})


def _markdown_of(path: Path) -> list[str]:
    if path.suffix != ".ipynb":
        return [path.read_text(encoding="utf-8")]
    nb = json.loads(path.read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]


def stale(results: Results, root: Path = REPO_DIR) -> list[str]:
    """One line per quote whose value differs from the JSON, or whose name is unknown."""
    problems = []
    for path in files(root):
        for text in _markdown_of(path):
            for m in MARKER.finditer(text):
                name, value = m["name"], m["value"]
                try:
                    wanted = quote(name, results)
                except ValueError:
                    problems.append(f"{path.relative_to(root)}: unknown quote {name!r}")
                    continue
                if value != wanted:
                    problems.append(f"{path.relative_to(root)}: {name} says {value!r}, the JSON says {wanted!r}")
    return problems


def _rewrite(text: str, results: Results) -> str:
    def value(m: re.Match) -> str:
        return f"<!-- q:{m['name']} -->{quote(m['name'], results)}<!-- /q -->"
    return MARKER.sub(value, text)


def update(results: Results, root: Path = REPO_DIR) -> list[Path]:
    """Rewrite every marked value from the JSON; return the files that changed.

    Raises:
        ValueError: a marker names an unknown quote (nothing is written).
    """
    changed = []
    for path in files(root):
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".ipynb":
            nb = json.loads(text)
            for c in nb["cells"]:
                if c["cell_type"] == "markdown":
                    source = "".join(c["source"])
                    new = _rewrite(source, results)
                    if new != source:
                        c["source"] = new.splitlines(keepends=True)
            new_text = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
        else:
            new_text = _rewrite(text, results)
        if new_text != text:
            path.write_text(new_text, encoding="utf-8")
            changed.append(path)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/quotes.py", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a quote is stale")
    args = parser.parse_args(argv)
    results = load()
    if args.check:
        problems = stale(results)
        print("\n".join(problems) or "every quote matches the JSON")
        return 1 if problems else 0
    for path in update(results):
        print(f"updated quotes in {path.relative_to(REPO_DIR)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
