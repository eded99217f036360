"""Few-shot curve: scratch vs linear probe vs fine-tuning, from 1 label per class up; where fine-tuning wins.

Every run goes through :func:`tlhelpers.strategies.compare`, the course's fair comparison
(the same k training labels and k validation labels per class, early stopping on the
validation split with the best weights kept, the untouched test split); "probe" is the
linear probe on cached features of the frozen base, "fine_tune" the course's recipe
(:mod:`tlhelpers.recipe`: the probe's head, then the track's default depth and rate, the
probe itself kept unless an epoch beats it on validation). The seed picks the labelled
examples (:func:`tlhelpers.data.make_task`) and seeds training. The backbone, input size and
dataset come from the active track.

A fourth row, "pixels", is a reference without any network: the same linear probe on the
raw pixels. Transfer is worth its cost where it clearly beats that baseline.

The strategy the course recommends at a budget is, for each seed, the transfer strategy
(probe or fine-tune) with the higher *validation* accuracy: the choice a student can make
without looking at the test split.

**Where fine-tuning wins.** Per budget, fine-tuning's gain over the probe (median test
accuracy, points), and the *crossover*: the smallest budget from which fine-tuning leads by
at least :data:`WIN_POINTS` at every larger budget measured. The offline track measures it
twice: on its target, and on a target further from the source (:data:`FAR`: the same
images turned 90 degrees, lesson 07's shifted domain), probe and fine-tuning only.

Targets (medians over seeds), per track (:data:`TARGETS`): at 5 and at 20 labels per class,
offline, the recommended strategy at least 8 points above scratch and 8 points above the
pixel probe, with floors at 20 labels per class so that a harsh dataset cannot win by
itself (the recommended strategy at least 0.60, scratch at least 15 points above chance);
imagenet, at least 20 points above scratch, and above the pixel probe by 15 points at 5
and 20 points at 20. Fine-tuning at least 3 points above the probe: imagenet at 100 labels
per class; offline at its best budget up to 300 on the far target. The test split is the
track's (all 5,000 offline; the imagenet track's fixed, class-balanced 2,000 of CIFAR-10's
10,000).

Run: ``python benchmarks/few_shot.py [--quick] [--out DIR]``
"""

from __future__ import annotations

from common import Run, Target, parse_args, spread

from tlhelpers.quiet import tensorflow_errors_only

NAME = "few_shot"
TRANSFER = ("probe", "fine_tune")
BASELINE = "pixels"  # reported for reference
RECOMMENDED = "recommended"  # per seed, the transfer strategy with the higher validation accuracy
WIN_POINTS = 1.0  # fine-tuning "wins" at a budget when its median leads the probe's by this much
# Per track, a target further from the source: a lesson-06 shift of the track's target.
FAR = {"offline": "rotated"}
# track -> {"scratch"/"pixels": {labels per class: points the recommended strategy must lead by}, floors,
#           "fine_tune": where fine-tuning must lead the probe by `points` (a budget, or the best up to `up_to`)}
TARGETS = {
    "offline": {"scratch": {5: 8.0, 20: 8.0}, "pixels": {5: 8.0, 20: 8.0},
                "floor": {"budget": 20, "accuracy": 0.60, "scratch_above_chance": 0.15},
                "fine_tune": {"target": "far", "up_to": 300, "points": 3.0}},
    "imagenet": {"scratch": {5: 20.0, 20: 20.0}, "pixels": {5: 15.0, 20: 20.0}, "floor": None,
                 "fine_tune": {"target": "near", "budget": 100, "points": 3.0}},
}
# Scratch's epochs and patience (compare's max_epochs, patience); fine-tuning runs the track's recipe.
SETTINGS = {
    "full": {"labels_per_class": [1, 5, 20, 100, 300], "seeds": [0, 1, 2], "test_images": None,
             "max_epochs": 60, "patience": 10},
    # MobileNetV2 at 96 px costs far more per epoch than the bundled backbone: fewer scratch epochs
    # (early stopping ends most runs sooner anyway) keep the full run within the hour.
    "full-imagenet": {"labels_per_class": [1, 5, 20, 100], "seeds": [0, 1, 2], "test_images": None,
                      "max_epochs": 20, "patience": 5},
    # A check of the machinery: too little training for its accuracies to mean anything.
    "quick": {"labels_per_class": [5, 20], "seeds": [0], "test_images": 150, "max_epochs": 2, "patience": 1,
              "recipe": {"max_epochs": 2, "warmup_epochs": 0, "patience": 1}},
}


def pixel_baseline(task, seed: int) -> dict:
    """The linear probe on raw pixels scaled to 0..1: one run row like :func:`compare`'s."""
    import time

    from tlhelpers.features import linear_probe
    from tlhelpers.training import accuracy

    start = time.perf_counter()
    flat = [x.reshape(len(x), -1).astype("float32") / 255 for x in (task.x_train, task.x_val, task.x_test)]
    head = linear_probe(flat[0], task.y_train, task.num_classes, flat[1], task.y_val)
    return {"strategy": BASELINE, "labels_per_class": len(task.y_train) // task.num_classes, "seed": seed,
            "test_accuracy": accuracy(head, flat[2], task.y_test), "val_accuracy": accuracy(head, flat[1], task.y_val),
            "epochs": 0, "seconds": time.perf_counter() - start, "labels": task.labels, "at_chance": False,
            "kept_epoch": None}


def recommended_runs(runs: list[dict]) -> list[dict]:
    """For each budget and seed, the transfer run with the higher validation accuracy (ties: the probe)."""
    chosen = []
    for k, seed in sorted({(r["labels_per_class"], r["seed"]) for r in runs}):
        options = [r for s in TRANSFER for r in runs
                   if r["strategy"] == s and r["labels_per_class"] == k and r["seed"] == seed]
        best = max(options, key=lambda r: r["val_accuracy"])  # max keeps the first (probe) on ties
        chosen.append({**best, "strategy": RECOMMENDED, "chosen": best["strategy"]})
    return chosen


def crossover(gains: dict[int, float], win: float = WIN_POINTS) -> int | None:
    """The smallest budget from which fine-tuning leads by at least ``win`` points at every larger budget.

    Example:
        >>> crossover({1: -2.0, 5: 1.5, 20: 0.5, 100: 4.0, 300: 3.0})
        100
        >>> crossover({1: 0.0, 5: -1.0}) is None
        True
    """
    found = None
    for k in sorted(gains, reverse=True):
        if gains[k] < win:
            break
        found = k
    return found


def summarize(runs: list[dict], budgets: list[int], strategies: tuple[str, ...]) -> dict:
    """Per budget: median/min/max test accuracy of each strategy, fine-tuning's gain over the probe,
    and (with scratch and pixels) the recommended strategy's gains; then the crossover."""
    near = all(s in strategies for s in ("scratch", BASELINE))
    if near:
        runs = [*runs, *recommended_runs(runs)]
    entries = {}
    for k in budgets:
        at_k = [r for r in runs if r["labels_per_class"] == k]
        row = {s: spread(r["test_accuracy"] for r in at_k if r["strategy"] == s)
               for s in (*strategies, *([RECOMMENDED] if near else []))}
        entry = {"strategies": row, "labels_per_run": at_k[0]["labels"],
                 "fine_tune_gain": round(100 * (row["fine_tune"]["median"] - row["probe"]["median"]), 2),
                 "fine_tuned_runs": sum(r["kept_epoch"] > 0 for r in at_k if r["strategy"] == "fine_tune")}
        if near:
            entry.update({
                "recommended_choices": [r["chosen"] for r in at_k if r["strategy"] == RECOMMENDED],
                "scratch_at_chance": sum(r["at_chance"] for r in at_k if r["strategy"] == "scratch"),
                "gain_over_scratch": round(100 * (row[RECOMMENDED]["median"] - row["scratch"]["median"]), 2),
                "gain_over_pixels": round(100 * (row[RECOMMENDED]["median"] - row[BASELINE]["median"]), 2),
            })
        entries[str(k)] = entry
    return {"budgets": entries, "crossover": crossover({k: entries[str(k)]["fine_tune_gain"] for k in budgets})}


def targets(summary: dict, num_classes: int, track: str, judged: bool) -> list:
    """The few-shot targets of ``track``, each with its measured value (see :data:`TARGETS`)."""
    note = "" if judged else "the quick run trains too little for its accuracies to mean anything"
    goal = TARGETS[track]
    near = summary["near"]["budgets"]
    found = []
    for k in (5, 20):
        entry = near.get(str(k))
        for against in ("scratch", "pixels"):
            value = entry[f"gain_over_{against}"] if entry else None
            found.append(Target(f"recommended transfer strategy beats {against} at {k} labels per class (median)",
                                ">=", goal[against][k], value, " points", judged=judged, note=note))
    floor = goal["floor"]
    if floor:
        entry = near.get(str(floor["budget"]))
        stats = entry["strategies"] if entry else None
        found.append(Target(f"recommended transfer strategy at {floor['budget']} labels per class (median test accuracy)",
                            ">=", floor["accuracy"], stats and stats[RECOMMENDED]["median"], judged=judged, note=note))
        found.append(Target(f"scratch above chance at {floor['budget']} labels per class (median, points)",
                            ">=", 100 * floor["scratch_above_chance"],
                            stats and round(100 * (stats["scratch"]["median"] - 1 / num_classes), 2), " points",
                            judged=judged, note=note))
    ft = goal["fine_tune"]
    curve = summary.get(ft["target"], {}).get("budgets", {})
    if "budget" in ft:
        entry = curve.get(str(ft["budget"]))
        found.append(Target(f"fine-tuning minus the probe at {ft['budget']} labels per class (median)", ">=",
                            ft["points"], entry and entry["fine_tune_gain"], " points", judged=judged, note=note))
    else:
        gains = [e["fine_tune_gain"] for k, e in curve.items() if int(k) <= ft["up_to"]]
        found.append(Target(f"fine-tuning minus the probe on the far target ({FAR[track]}), at its best budget up to "
                            f"{ft['up_to']} labels per class (median)", ">=", ft["points"], max(gains) if gains else None,
                            " points", judged=judged, note=note))
    return found


def table_rows(summary: dict, strategies: tuple[str, ...]) -> tuple[list[str], list[list]]:
    """The printed table: one row per target and budget."""
    columns = ["target", "labels/class", "labels per run",
               *(f"{st} median (min-max)" for st in (*strategies, RECOMMENDED)),
               "fine-tuning minus probe", "recommended (per seed)", "vs scratch", "vs pixels"]
    rows = []
    for target, curve in summary.items():
        for k, entry in curve["budgets"].items():
            stats = entry["strategies"]
            cells = [f"{stats[st]['median']:.3f} ({stats[st]['min']:.3f}-{stats[st]['max']:.3f})" if st in stats else "-"
                     for st in (*strategies, RECOMMENDED)]
            rows.append([curve["target"], int(k), entry["labels_per_run"], *cells, f"{entry['fine_tune_gain']:+.1f}",
                         ", ".join(entry.get("recommended_choices", [])) or "-",
                         f"{entry['gain_over_scratch']:+.1f}" if "gain_over_scratch" in entry else "-",
                         f"{entry['gain_over_pixels']:+.1f}" if "gain_over_pixels" in entry else "-"])
    return columns, rows


@tensorflow_errors_only()  # retracing notes are expected when measuring many small models
def main(argv: list[str] | None = None) -> int:
    args = parse_args(NAME, argv)
    run = Run(NAME, args)
    from tlhelpers.backbones import load_backbone
    from tlhelpers.challenges.domain_shift import SHIFTS, shift_task
    from tlhelpers.config import current_track
    from tlhelpers.data import balanced_subset, load_dataset, make_task
    from tlhelpers.recipe import default_recipe
    from tlhelpers.strategies import STRATEGIES, compare, prepare

    track = current_track()
    s = SETTINGS["quick" if args.quick else next(k for k in (f"full-{track.name}", "full") if k in SETTINGS)]
    recipe = default_recipe(track.name).with_(**s.get("recipe", {}))
    (train, test), names = load_dataset(track.dataset)
    if track.test_per_class is not None:
        test = balanced_subset(test, track.test_per_class)  # the test subset the lessons use
    base = load_backbone(track.backbone, input_size=track.input_size)
    far = FAR.get(track.name)
    curves = {"near": STRATEGIES, **({"far": TRANSFER} if far else {})}
    runs, first = [], {}
    for target, strategies in curves.items():
        for k in s["labels_per_class"]:
            for seed in s["seeds"]:
                task = make_task(track.dataset, train, test, names, k, k, seed)  # k to train on, k to validate with
                task = task.with_test_subset(s["test_images"])  # the same test images for every task
                if target == "far":
                    task = shift_task(task, far, seed)
                prepared = first[target] = prepare(task, track.backbone, track.input_size, base,
                                                   same_test_as=first.get(target))
                table = compare(task, track.backbone, strategies=strategies, seeds=(seed,), input_size=track.input_size,
                                recipe=recipe, max_epochs=s["max_epochs"], patience=s["patience"], prepared=prepared)
                rows = table.to_dict("records") + ([pixel_baseline(task, seed)] if target == "near" else [])
                for r in rows:
                    kept = r.get("kept_epoch")
                    runs.append({**r, "target": target, "seconds": round(r["seconds"], 2), "at_chance": bool(r["at_chance"]),
                                 "kept_epoch": None if kept is None or kept != kept else int(kept)})
                    print(f"  {target:<4} {k:>3} labels/class, seed {seed}, {r['strategy']:<9} test accuracy "
                          f"{r['test_accuracy']:.3f} ({r['epochs']} epochs, {r['seconds']:.0f} s"
                          f"{', AT CHANCE' if r['at_chance'] else ''})", flush=True)

    summary = {}
    for target, strategies in curves.items():
        mine = [r for r in runs if r["target"] == target]
        shown = (*strategies, BASELINE) if target == "near" else strategies
        description = (f"{track.dataset}" if target == "near" else f"{track.dataset}, {far}: {SHIFTS[far][1]}")
        summary[target] = {"target": description, **summarize(mine, s["labels_per_class"], shown)}
    all_strategies = (*STRATEGIES, BASELINE)
    columns, rows = table_rows(summary, all_strategies)
    near = summary["near"]["budgets"]
    crossings = "; ".join(f"{'on its target' if t == 'near' else 'on the far target (' + far + ')'}: "
                          + (f"from {c['crossover']} label{'' if c['crossover'] == 1 else 's'}/class" if c["crossover"]
                             else "at no budget measured")
                          for t, c in summary.items())
    headline = ("recommended transfer strategy (median test accuracy) minus scratch / minus pixels: " + ", ".join(
        f"{near[str(k)]['gain_over_scratch']:+.1f} / {near[str(k)]['gain_over_pixels']:+.1f} points at {k} "
        f"labels/class ({near[str(k)]['labels_per_run']} labels per run)"
        if str(k) in near else f"not measured at {k} labels/class" for k in (5, 20))
        + f"; fine-tuning leads the probe by {WIN_POINTS:g}+ points {crossings}")
    settings = {**s, "val_per_class": "same as labels_per_class", "track": track.name, "backbone": track.backbone,
                "input_size": track.input_size, "dataset": track.dataset, "strategies": list(all_strategies),
                "far_target": far, "win_points": WIN_POINTS, "fine_tune_recipe": vars(recipe),
                "test_images": s["test_images"] or len(test[1]),
                "recipe": "tlhelpers.strategies.compare (scratch trains up to 2x max_epochs, early stopping on "
                          "validation accuracy, best weights kept, fixed epochs with one validation label per class; "
                          "fine_tune: tlhelpers.recipe.fine_tune with fine_tune_recipe, from the probe); pixels: "
                          "tlhelpers.features.linear_probe on raw pixels / 255; recommended: per seed, the transfer "
                          "strategy with the higher validation accuracy"}
    found = targets(summary, len(names), track.name, judged=not args.quick)
    run.finish(settings, runs, summary, columns, rows, headline, found)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
