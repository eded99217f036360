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
FILES = ("README.md", "README.zh.md", "docs/*.md", "notebooks/*.ipynb", "notebooks/zh/*.ipynb",
         "assignments/source/*/*.ipynb", "assignments/zh/source/*/*.ipynb")
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


# The words around the numbers, per language (a file's language: see language_of).
WORDS: dict[str, dict[str, str]] = {
    "en": {
        "crossover": "from {k} label{s} per class on",
        "never": "at no budget up to {k} labels per class",
        "per_class": "{k} label{s} per class",
        "range": "{low:.1e} to {high:.1e}",
        "few_seconds": "a few seconds",
        "seconds": "about {n} s",
        "minutes": "about {n:g} min",
        "cell_time": "{offline} in the offline track, {imagenet} in the imagenet track",
        "augmented_vs_plain": "{augmented:.3f} with augmentation, {plain:.3f} without",
        "augment_both": "keeps augmentation in both tracks",
        "augment_none": "leaves augmentation out in both tracks",
        "augment_one": "keeps augmentation in the {track} track only",
        "random_vs_hyperband": "random search {random:.3f} and Hyperband {hyperband:.3f}",
        "test_three": ("the searches' best retrained {random:.3f} (random search) and {hyperband:.3f} (Hyperband), "
                       "the default recipe {recipe:.3f}, the probe {probe:.3f}"),
    },
    "zh": {
        "crossover": "从每类 {k} 个标注起",
        "never": "在每类最多 {k} 个标注的所有预算下都没有",
        "per_class": "每类 {k} 个标注",
        "range": "{low:.1e} 到 {high:.1e}",
        "few_seconds": "几秒",
        "seconds": "约 {n} 秒",
        "minutes": "约 {n:g} 分钟",
        "cell_time": "offline 路线{offline}，imagenet 路线{imagenet}",
        "augmented_vs_plain": "加数据增强 {augmented:.3f}，不加 {plain:.3f}",
        "augment_both": "在两条路线上都保留数据增强",
        "augment_none": "在两条路线上都不用数据增强",
        "augment_one": "只在 {track} 路线上保留数据增强",
        "random_vs_hyperband": "随机搜索 {random:.3f}，Hyperband {hyperband:.3f}",
        "test_three": ("搜索得到的最佳配置重新训练后为 {random:.3f}（随机搜索）和 {hyperband:.3f}（Hyperband），"
                       "默认微调方案 {recipe:.3f}，线性探测 {probe:.3f}"),
    },
}


def language_of(path: Path) -> str:
    """The language of a file that holds quotes: ``zh`` for ``*/zh/*`` and ``*.zh.md``, else ``en``.

    Example:
        >>> [language_of(Path(p)) for p in ("notebooks/zh/00_a.ipynb", "docs/teachers.zh.md", "README.md")]
        ['zh', 'zh', 'en']
    """
    return "zh" if "zh" in path.parts[:-1] or path.name.endswith(".zh.md") else "en"


def _say(lang: str, what: str, **values: Any) -> str:
    return WORDS[lang][what].format(**values)


def crossover_clause(curve: dict[str, Any], lang: str = "en") -> str:
    """"from 20 labels per class on", or where fine-tuning never leads for good, "at no budget up to 300 ...".

    Example:
        >>> crossover_clause({"crossover": 20, "budgets": {"5": {}, "20": {}}})
        'from 20 labels per class on'
        >>> crossover_clause({"crossover": None, "budgets": {"5": {}, "300": {}}})
        'at no budget up to 300 labels per class'
        >>> crossover_clause({"crossover": 1, "budgets": {"1": {}}}, "zh")
        '从每类 1 个标注起'
    """
    if curve["crossover"]:
        k = curve["crossover"]
        return _say(lang, "crossover", k=k, s="" if k == 1 else "s")
    return _say(lang, "never", k=max(int(k) for k in curve["budgets"]))


Quote = Callable[[Results, str], str]


def _settings(track: str, what: str) -> Quote:
    def quote(r: Results, lang: str) -> str:
        summary = r[("finetune_settings", track)]["summary"]
        if what == "blocks":
            return str(summary["chosen"]["blocks"])
        if what == "learning_rate":
            return f"{summary['chosen']['learning_rate']:g}"
        plain = summary[f"{summary['chosen']['blocks']}@{summary['chosen']['learning_rate']:g}"]["val_mean"]
        return _say(lang, "augmented_vs_plain", augmented=summary["augmented"]["val_mean"], plain=plain)
    return quote


def augment_verdict(r: Results, lang: str = "en") -> str:
    """What the recipe does with augmentation, over both tracks, in words."""
    kept = {t: r[("finetune_settings", t)]["summary"]["chosen"]["augment"] for t in ("offline", "imagenet")}
    if all(kept.values()):
        return _say(lang, "augment_both")
    if not any(kept.values()):
        return _say(lang, "augment_none")
    return _say(lang, "augment_one", track=next(t for t, k in kept.items() if k))


def _few_shot(track: str, target: str, what: str) -> Quote:
    def quote(r: Results, lang: str) -> str:
        curve = r[("few_shot", track)]["summary"][target]
        if what == "crossover":
            return crossover_clause(curve, lang)
        if what == "best_gain":
            return f"{max(e['fine_tune_gain'] for e in curve['budgets'].values()):+.1f}"
        if what == "scratch_lead_peak":  # the budget where transfer led scratch by the most
            k = max(curve["budgets"], key=lambda b: curve["budgets"][b]["gain_over_scratch"])
            return _say(lang, "per_class", k=k, s="" if k == "1" else "s")
        return f"{curve['budgets'][what.removeprefix('gain.')]['fine_tune_gain']:+.1f}"
    return quote


def _tuner(what: str) -> Quote:
    def quote(r: Results, lang: str) -> str:
        summary = r[("tuner", "offline")]["summary"]
        if what == "random_vs_hyperband":
            return _say(lang, "random_vs_hyperband", random=summary["random"]["best_val_accuracy"]["median"],
                        hyperband=summary["hyperband"]["best_val_accuracy"]["median"])
        if what == "winner_rates":
            rates = [run["best_hyperparameters"]["fine_lr"] for run in r[("tuner", "offline")]["runs"]]
            return _say(lang, "range", low=min(rates), high=max(rates))
        test = {k: summary[k]["test"] for k in ("random", "hyperband")}
        return _say(lang, "test_three", random=test["random"]["best"]["median"],
                    hyperband=test["hyperband"]["best"]["median"],
                    recipe=test["random"]["default_recipe"]["median"], probe=test["random"]["probe"]["median"])
    return quote


def duration(seconds: float | None, lang: str = "en") -> str:
    """A cell's run time as a reader wants it: rounded, in seconds or minutes.

    Example:
        >>> [duration(s) for s in (None, 7.2, 23.0, 95.0, 260.0)]
        ['a few seconds', 'a few seconds', 'about 25 s', 'about 1.5 min', 'about 4.5 min']
        >>> duration(95.0, "zh")
        '约 1.5 分钟'
    """
    if seconds is None or seconds < 10:
        return _say(lang, "few_seconds")
    if seconds < 90:
        return _say(lang, "seconds", n=5 * max(1, round(seconds / 5)))
    return _say(lang, "minutes", n=round(seconds / 30) / 2)


def cell_time(r: Results, cell_id: str, lang: str = "en") -> str:
    """How long the code cell ``cell_id`` ran in each track's whole-course run.

    Raises:
        KeyError: a track's course results are missing (run ``benchmarks/course.py`` in it).
    """
    found = {}
    for track in ("offline", "imagenet"):
        runs = r[("course", track)]["runs"]
        found[track] = next((run["cell_seconds"][cell_id] for run in runs if cell_id in run.get("cell_seconds", {})),
                            None)
    return _say(lang, "cell_time", **{track: duration(found[track], lang) for track in found})


def quote(name: str, results: Results, lang: str = "en") -> str:
    """The value of the quote ``name``, in the words of ``lang``.

    Raises:
        ValueError: no such quote.
    """
    if name.startswith("cell_time."):
        return cell_time(results, name.removeprefix("cell_time."), lang)
    if name not in QUOTES:
        raise ValueError(f"unknown quote {name!r}; the quotes are: {', '.join(sorted(QUOTES))}, cell_time.<cell id>")
    return QUOTES[name](results, lang)


QUOTES: dict[str, Quote] = {
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
                    wanted = quote(name, results, language_of(path.relative_to(root)))
                except ValueError:
                    problems.append(f"{path.relative_to(root)}: unknown quote {name!r}")
                    continue
                if value != wanted:
                    problems.append(f"{path.relative_to(root)}: {name} says {value!r}, the JSON says {wanted!r}")
    return problems


def _rewrite(text: str, results: Results, lang: str = "en") -> str:
    def value(m: re.Match) -> str:
        return f"<!-- q:{m['name']} -->{quote(m['name'], results, lang)}<!-- /q -->"
    return MARKER.sub(value, text)


def update(results: Results, root: Path = REPO_DIR) -> list[Path]:
    """Rewrite every marked value from the JSON; return the files that changed.

    Raises:
        ValueError: a marker names an unknown quote (nothing is written).
    """
    changed = []
    for path in files(root):
        text = path.read_text(encoding="utf-8")
        lang = language_of(path.relative_to(root))
        if path.suffix == ".ipynb":
            nb = json.loads(text)
            for c in nb["cells"]:
                if c["cell_type"] == "markdown":
                    source = "".join(c["source"])
                    new = _rewrite(source, results, lang)
                    if new != source:
                        c["source"] = new.splitlines(keepends=True)
            new_text = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
        else:
            new_text = _rewrite(text, results, lang)
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
