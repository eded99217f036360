"""Turn ``benchmarks/results/*.json`` into ``benchmarks/README.md``, the few-shot plot and the README summary.

* ``benchmarks/README.md``: what each benchmark measures, its target and whether it was
  met, the latest table, the machine and date it ran on (generated: do not edit by hand);
* ``<results>/few_shot.png`` (and ``few_shot-imagenet.png`` for the imagenet track's run):
  test accuracy against labels per class, median with min/max bars, one line per strategy;
* the repository README: only the text between ``<!-- bench:start -->`` and
  ``<!-- bench:end -->`` is replaced, by a compact table (benchmark, result, target, met?)
  and links to the plot and the details.

A benchmark without a JSON file is listed as "not run yet"; a target that was not met is
said so in words; a quick run is marked as such (its numbers check the machinery, they
are not the benchmark).

Run: ``python benchmarks/report.py [--results DIR] [--readme PATH] [--bench-readme PATH]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from common import BENCHMARKS, BENCH_DIR, BUSY_LOAD, REPO_DIR, RESULTS_DIR, TRACKS, markdown_table, result_path
from quotes import crossover_clause

START, END = "<!-- bench:start -->", "<!-- bench:end -->"
PLOT_NAMES = {"offline": "few_shot.png", "imagenet": "few_shot-imagenet.png"}
# Results per track: the offline track's full catalogue, the other tracks' runs where they exist.
Results = dict[str, dict[str, dict[str, Any] | None]]
QUICK_NOTE = "quick run: checks the machinery on less work; its numbers are not the benchmark"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="benchmarks/report.py", description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS_DIR, help="folder of <name>.json files (default: %(default)s)")
    parser.add_argument("--readme", type=Path, default=REPO_DIR / "README.md",
                        help="README whose bench markers get the summary (default: %(default)s)")
    parser.add_argument("--bench-readme", type=Path, default=BENCH_DIR / "README.md",
                        help="the generated benchmarks page (default: %(default)s)")
    return parser.parse_args(argv)


def load_results(folder: Path, track: str = "offline") -> dict[str, dict[str, Any] | None]:
    """Each catalogue benchmark's JSON for ``track`` from ``folder``, or ``None`` when it has not run.

    Raises:
        ValueError: a file that is not valid JSON or belongs to another benchmark.
    """
    results: dict[str, dict[str, Any] | None] = {}
    for name in BENCHMARKS:
        path = result_path(folder, name, track)
        if not path.is_file():
            results[name] = None
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as err:
            raise ValueError(f"{path} is not valid JSON ({err}); rerun python benchmarks/{name}.py") from err
        if data.get("benchmark") != name:
            raise ValueError(f"{path} holds benchmark {data.get('benchmark')!r}, expected {name!r}")
        results[name] = data
    return results


def verdict(result: dict[str, Any] | None) -> str:
    """"met", "NOT MET", "not judged", "not measured", "no target" or "not run yet", from the JSON alone.

    Example:
        >>> verdict(None), verdict({"targets": [], "met": None}), verdict({"targets": [{}], "met": False})
        ('not run yet', 'no target', 'NOT MET')
    """
    if result is None:
        return "not run yet"
    if not result["targets"]:
        return "no target"
    if result["met"] is None:
        return "not judged" if any(not t.get("judged", True) for t in result["targets"]) else "not measured"
    return "met" if result["met"] else "NOT MET"


def unmet(result: dict[str, Any]) -> list[str]:
    """One sentence per target that was not met."""
    return [f"{t['description']}: measured {t['value']:.3g}{t['unit']}, target {t['comparison']} {t['threshold']:g}{t['unit']}"
            for t in result["targets"] if t["met"] is False]


def ran_on(result: dict[str, Any]) -> str:
    """Date, mode and machine of a run, in one line."""
    m, v = result["machine"], result["versions"]
    load = ", ".join(f"{x:g}" for x in m["load_average_at_start"])
    commit = (v.get("git_commit") or "unknown")[:10]
    busy = m["load_average_at_start"][0] >= BUSY_LOAD * m["usable_cpus"]
    return (f"{result['started'][:10]} ({'quick' if result['quick'] else 'full'} run, {result['seconds']:.0f} s), "
            f"{m['usable_cpus']} of {m['cpu_count']} CPUs usable, load average at start {load}"
            + (" (a busy machine: timings are inflated)" if busy else "") + "; "
            f"TensorFlow {v.get('tensorflow')}, Keras {v.get('keras')}, commit {commit}")


def plot_few_shot(result: dict[str, Any], path: Path):  # -> matplotlib.figure.Figure
    """Test accuracy vs labels per class (log axis), median with min/max bars, one line per strategy; saved to ``path``.

    A far target (the offline track's) adds dashed lines for its probe and fine-tuning; each
    curve's crossover (where fine-tuning starts to lead the probe for good) is a dotted line.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    budgets = result["settings"]["labels_per_class"]
    fig, ax = plt.subplots(figsize=(9.6, 4.6))
    colors = {"scratch": "0.55", "pixels": "C4", "probe": "C0", "fine_tune": "C2", "recommended": "C1"}
    shown = [("near", st) for st in result["settings"]["strategies"]]
    shown += [("far", st) for st in ("probe", "fine_tune") if "far" in result["summary"]]
    for i, (target, strategy) in enumerate(shown):
        offset = 0.012 * (i - (len(shown) - 1) / 2)  # nudge lines apart so the bars do not overlap
        stats = [result["summary"][target]["budgets"][str(k)]["strategies"][strategy] for k in budgets]
        median = [s["median"] for s in stats]
        errors = [[s["median"] - s["min"] for s in stats], [s["max"] - s["median"] for s in stats]]
        label = strategy if target == "near" else f"{strategy}, {result['settings']['far_target']} target"
        ax.errorbar([k * 10 ** offset for k in budgets], median, yerr=errors, marker="o", capsize=3, label=label,
                    color=colors[strategy], ls="-" if target == "near" else "--", alpha=1 if target == "near" else 0.8)
    for target, curve in result["summary"].items():
        k = curve.get("crossover")
        if k:
            where = "its target" if target == "near" else f"{result['settings']['far_target']} target"
            ax.axvline(k, color=colors["fine_tune"], ls=":" if target == "near" else "-.", lw=1,
                       label=f"fine-tuning leads from here ({where})")
    ax.set_xscale("log")
    ax.set_xticks(budgets)
    ax.set_xticklabels([str(k) for k in budgets])
    ax.minorticks_off()
    ax.set_xlabel("labels per class to train on, as many to validate with (log scale)")
    ax.set_ylabel("test accuracy (median, bars: min-max over seeds)")
    s = result["settings"]
    title = f"{s.get('track', 'offline')} track: {s['backbone']} on {s['dataset']}, {len(s['seeds'])} seed(s)"
    ax.set_title(title + (" (quick run)" if result["quick"] else ""), fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(title="strategy", fontsize=8, title_fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return fig


def link(target: Path, start: Path) -> str:
    """A relative Markdown link path from the folder of ``start`` to ``target``."""
    return Path(os.path.relpath(target.resolve(), start.resolve().parent)).as_posix()


def target_text(name: str, track: str) -> str:
    """The benchmark's target in words, for a track."""
    info = BENCHMARKS[name]
    return info.imagenet_target if track == "imagenet" and info.imagenet_target else info.target


def present(results: Results) -> list[tuple[str, str, dict[str, Any] | None]]:
    """``(name, track, result)`` rows: every offline benchmark, then the other tracks' runs that exist."""
    rows = [(name, "offline", results["offline"][name]) for name in BENCHMARKS]
    return rows + [(name, track, r) for track in TRACKS[1:] for name, r in results.get(track, {}).items() if r]


def summary_table(results: Results) -> str:
    """The compact table: benchmark, track, result, target, met?"""
    rows = []
    for name, track, result in present(results):
        text = "not run yet" if result is None else result["headline"] + (" (quick run)" if result["quick"] else "")
        if result and result["settings"].get("note"):
            text += f" ({result['settings']['note']})"
        met = verdict(result)
        rows.append([BENCHMARKS[name].title, track, text, target_text(name, track), f"**{met}**" if met == "NOT MET" else met])
    return markdown_table(["benchmark", "track", "result", "target", "met?"], rows)


def not_met_lines(results: Results) -> list[str]:
    rows = present(results)
    lines = [f"- **Not met**: {BENCHMARKS[name].title} ({track} track): {sentence}."
             for name, track, r in rows if r for sentence in unmet(r)]
    quick = [f"{BENCHMARKS[name].title} ({track})" for name, track, r in rows if r and r["quick"]]
    if quick:
        lines.append(f"- From quick runs, which check the machinery on less work (their numbers are not the benchmark): {', '.join(quick)}.")
    missing = [f"`python benchmarks/{name}.py`" for name, track, r in rows if r is None]
    if missing:
        lines.append(f"- Not run yet: {', '.join(missing)}.")
    return lines


def bench_readme(results: Results, plots: dict[str, Path], page: Path) -> str:
    """The whole ``benchmarks/README.md``."""
    out = [
        "# Benchmarks",
        "",
        "<!-- generated by benchmarks/report.py from benchmarks/results/*.json: edit the scripts, not this page -->",
        "",
        "The course's claims, measured by the scripts in this folder. Each script prints a table and writes",
        "`results/<name>.json` (settings, machine, versions, every run's numbers, the summary, the targets and",
        "whether they were met, computed from the numbers). `make bench` runs them all (full runs: long; use a",
        "quiet machine) and then `python benchmarks/report.py`, which regenerates this page, the plot and the",
        "table in the top-level README. Run in the imagenet track (`TL_TRACK=imagenet`), a script writes",
        "`results/<name>-imagenet.json` instead, reported next to the offline track's.",
        "",
        "`python benchmarks/<name>.py --quick` reruns one on less work in under 2 minutes: a check of the",
        "machinery whose numbers are not the benchmark (targets that need the full work are left unjudged).",
        "`--out DIR` writes the JSON elsewhere; a quick run refuses to replace a full run's JSON unless given",
        "`--force`.",
        "",
        summary_table(results),
        "",
        *not_met_lines(results),
        "",
        lesson_times(results),
        "",
    ]
    for name, info in BENCHMARKS.items():
        out += [f"## {info.title} (`{name}.py`)", "", f"**Measures**: {info.measures}", ""]
        for track in TRACKS:
            result = results.get(track, {}).get(name)
            if track != "offline" and result is None:
                continue
            out += [f"### {track} track", "", f"**Target**: {target_text(name, track)}.", ""]
            if result is None:
                out += [f"**Not run yet**: `python benchmarks/{name}.py`.", ""]
                continue
            out += [f"**Result**: {verdict(result)}. {result['headline'][:1].upper()}{result['headline'][1:]}.", ""]
            out += [f"- Not met: {sentence}." for sentence in unmet(result)]
            if result["quick"]:
                out.append(f"- This is a {QUICK_NOTE}.")
            if result["settings"].get("note"):
                out.append(f"- Note: {result['settings']['note']}")
            out += [f"- Ran {ran_on(result)}.", "", markdown_table(result["table"]["columns"], result["table"]["rows"]), ""]
            if name == "few_shot" and track in plots:
                out += [f"![test accuracy against labels per class, {track} track]({link(plots[track], page)})", ""]
    return "\n".join(out).rstrip() + "\n"


def replace_between_markers(text: str, block: str, where: str = "README") -> str:
    """``text`` with everything between the bench markers replaced by ``block``.

    Raises:
        ValueError: the markers are missing, repeated or out of order.

    Example:
        >>> replace_between_markers("a\\n<!-- bench:start -->\\nold\\n<!-- bench:end -->\\nb", "new")
        'a\\n<!-- bench:start -->\\nnew\\n<!-- bench:end -->\\nb'
    """
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise ValueError(f"{where} must hold exactly one {START} followed by one {END}; nothing was changed")
    head, rest = text.split(START)
    _, tail = rest.split(END)
    return f"{head}{START}\n{block.strip()}\n{END}{tail}"


def lesson_times(results: Results) -> str:
    """Seconds per lesson in each track whose whole-course run exists (a table), or ``""``."""
    runs = {track: {r["notebook"]: r for r in results[track]["course"]["runs"]}
            for track in TRACKS if results.get(track, {}).get("course") and not results[track]["course"]["quick"]}
    if not runs:
        return ""
    notebooks = sorted({name for track_runs in runs.values() for name in track_runs})

    def seconds(track: str, name: str) -> str:
        run = runs[track].get(name)
        return "-" if run is None else f"{run['seconds']:.0f}" + ("" if run["status"] == "ok" else f" ({run['status']})")

    rows = [[name.removesuffix(".ipynb"), *(seconds(track, name) for track in runs)] for name in notebooks]
    rows.append(["whole course", *(f"{results[t]['course']['summary']['total_seconds']:.0f}" for t in runs)])
    calibration = ", ".join(f"{results[t]['course']['summary']['calibration_seconds']:.1f} s in the {t} track's run"
                            for t in runs)
    lead = (f"**Lesson times** (`benchmarks/course.py`, 2 CPU cores): seconds to run every cell. The same runs timed "
            f"a fixed TensorFlow workload ({calibration}); on a laptop that takes twice as long for it, expect "
            "about twice these times.")
    return lead + "\n\n" + markdown_table(["lesson: seconds to run all cells", *(f"{t} track" for t in runs)], rows)


def crossover_tables(results: Results) -> str:
    """The few-shot benchmark of each track as Markdown: every strategy per budget, and where fine-tuning leads."""
    parts = []
    for track in TRACKS:
        result = results.get(track, {}).get("few_shot")
        if result is None:
            continue
        seeds = len(result["settings"]["seeds"])
        for target, curve in result["summary"].items():
            first = curve["crossover"]
            near = target == "near"
            columns = ["labels per class (labels per run)", *(["scratch", "pixels"] if near else []), "probe",
                       "fine-tuning", "fine-tuning minus probe (points)", "runs fine-tuned"]
            rows = []
            for k, entry in curve["budgets"].items():
                stats = entry["strategies"]
                mark = " ← fine-tuning leads from here" if first and int(k) == first else ""
                rows.append([f"{k} ({entry['labels_per_run']:,})",
                             *([f"{stats['scratch']['median']:.3f}", f"{stats['pixels']['median']:.3f}"] if near else []),
                             f"{stats['probe']['median']:.3f}", f"{stats['fine_tune']['median']:.3f}",
                             f"{entry['fine_tune_gain']:+.1f}{mark}", f"{entry['fine_tuned_runs']} of {seeds}"])
            where = "its target" if near else f"a target further from the source ({curve['target'].split(': ', 1)[-1]})"
            quick = f" ({QUICK_NOTE})" if result["quick"] else ""
            parts += [f"**{track} track, {where}**: {result['settings']['backbone']}, median test accuracy over {seeds} "
                      f"seed{'s' if seeds != 1 else ''}; fine-tuning leads the probe by a point or more "
                      f"{crossover_clause(curve)}{quick}.", "",
                      markdown_table(columns, rows), ""]
    return "\n".join(parts).rstrip()


def readme_block(results: Results, plots: dict[str, Path], readme: Path, page: Path) -> str:
    """The README's part: the few-shot tables with their crossover, the plots, the targets in one line, lesson times."""
    rows = present(results)
    judged = [t for _, _, r in rows if r and not r["quick"] for t in r["targets"] if t["met"] is not None]
    met = sum(t["met"] for t in judged)
    lines = [crossover_tables(results), "",
             *[f"![few-shot curve, {track} track: test accuracy against labels per class]({link(plot, readme)})"
               for track, plot in plots.items()], "",
             f"Targets: {met} of {len(judged)} met, over {sum(1 for _, _, r in rows if r)} benchmark runs "
             f"([details, machines and dates]({link(page, readme)})).", *not_met_lines(results)]
    times = lesson_times(results)
    return "\n".join(lines + (["", times] if times else []))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = {track: load_results(args.results, track) for track in TRACKS}
    readme_text = args.readme.read_text(encoding="utf-8")  # read (and check the markers) before writing anything
    replace_between_markers(readme_text, "", str(args.readme))
    plots = {}
    for track in TRACKS:
        if results[track]["few_shot"] is not None:
            plots[track] = args.results / PLOT_NAMES[track]
            plot_few_shot(results[track]["few_shot"], plots[track])
    args.bench_readme.parent.mkdir(parents=True, exist_ok=True)
    args.bench_readme.write_text(bench_readme(results, plots, args.bench_readme), encoding="utf-8")
    new = replace_between_markers(readme_text, readme_block(results, plots, args.readme, args.bench_readme), str(args.readme))
    args.readme.write_text(new, encoding="utf-8")
    written = ", ".join(str(p) for p in plots.values())
    print(f"wrote {args.bench_readme}" + (f", {written}" if written else "") + f"; updated the bench section of {args.readme}")
    for line in not_met_lines(results):
        print(line)
    return 0

if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except ValueError as err:
        sys.exit(f"report.py: {err}")
