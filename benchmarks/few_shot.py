"""Few-shot curve: scratch vs linear probe vs fine-tuning at 1, 5, 20 and 100 labels per class.

Every run goes through :func:`tlhelpers.strategies.compare`, the course's fair comparison
(the same k training labels and k validation labels per class, early stopping on the
validation split with the best weights kept, the untouched test split); "probe" is its
head on cached features of the frozen base. The seed picks the labelled examples
(:func:`tlhelpers.data.make_task`) and seeds training. The backbone, input size and dataset
come from the active track.

A fourth row, "pixels", is a reference without any network: the same linear probe on the
raw pixels. Transfer is worth its cost where it clearly beats that baseline.

The strategy the course recommends at a budget is, for each seed, the transfer strategy
(probe or fine-tune) with the higher *validation* accuracy: the choice a student can make
without looking at the test split.

Targets (medians over seeds), at 5 and at 20 labels per class, per track (:data:`TARGETS`):
offline, the recommended strategy at least 8 points above scratch and 8 points above the
pixel probe, with floors at 20 labels per class so that a harsh dataset cannot win by
itself (the recommended strategy at least 0.60, scratch at least 15 points above chance);
imagenet, at least 20 points above scratch, and above the pixel probe by 15 points at 5
and 20 points at 20. The test split is the track's (all 5,000 offline; the imagenet
track's fixed, class-balanced 2,000 of CIFAR-10's 10,000).

Run: ``python benchmarks/few_shot.py [--quick] [--out DIR]``
"""

from __future__ import annotations

from common import Run, Target, parse_args, spread, subsample_test

from tlhelpers.quiet import tensorflow_errors_only

NAME = "few_shot"
TRANSFER = ("probe", "fine_tune")
BASELINE = "pixels"  # reported for reference
RECOMMENDED = "recommended"  # per seed, the transfer strategy with the higher validation accuracy
# track -> {"scratch"/"pixels": {labels per class: points the recommended strategy must lead by}, floors}
TARGETS = {
    "offline": {"scratch": {5: 8.0, 20: 8.0}, "pixels": {5: 8.0, 20: 8.0},
                "floor": {"budget": 20, "accuracy": 0.60, "scratch_above_chance": 0.15}},
    "imagenet": {"scratch": {5: 20.0, 20: 20.0}, "pixels": {5: 15.0, 20: 20.0}, "floor": None},
}
# compare()'s own defaults for the full run; the quick run trains less on fewer images.
SETTINGS = {
    "full": {"labels_per_class": [1, 5, 20, 100], "seeds": [0, 1, 2], "test_images": None,
             "max_epochs": 60, "patience": 10, "blocks": 1},
    # MobileNetV2 at 96 px costs far more per epoch than the bundled backbone: fewer epochs
    # (early stopping ends most runs sooner anyway) keep the full run within half an hour.
    "full-imagenet": {"labels_per_class": [1, 5, 20, 100], "seeds": [0, 1, 2], "test_images": None,
                      "max_epochs": 20, "patience": 5, "blocks": 1},
    # A check of the machinery: too little training for its accuracies to mean anything.
    "quick": {"labels_per_class": [5, 20], "seeds": [0], "test_images": 150,
              "max_epochs": 2, "patience": 1, "blocks": 1},
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
            "epochs": 0, "seconds": time.perf_counter() - start, "labels": task.labels, "at_chance": False}


def recommended_runs(runs: list[dict]) -> list[dict]:
    """For each budget and seed, the transfer run with the higher validation accuracy (ties: the probe)."""
    chosen = []
    for k, seed in sorted({(r["labels_per_class"], r["seed"]) for r in runs}):
        options = [r for s in TRANSFER for r in runs
                   if r["strategy"] == s and r["labels_per_class"] == k and r["seed"] == seed]
        best = max(options, key=lambda r: r["val_accuracy"])  # max keeps the first (probe) on ties
        chosen.append({**best, "strategy": RECOMMENDED, "chosen": best["strategy"]})
    return chosen


def summarize(runs: list[dict], budgets: list[int], strategies: tuple[str, ...]) -> dict:
    """Median/min/max test accuracy per strategy and budget; the recommended strategy's gains."""
    runs = [*runs, *recommended_runs(runs)]
    summary = {}
    for k in budgets:
        at_k = [r for r in runs if r["labels_per_class"] == k]
        row = {s: spread(r["test_accuracy"] for r in at_k if r["strategy"] == s) for s in (*strategies, RECOMMENDED)}
        chosen = [r["chosen"] for r in at_k if r["strategy"] == RECOMMENDED]
        summary[str(k)] = {
            "strategies": row,
            "recommended_choices": chosen,
            "labels_per_run": at_k[0]["labels"],
            "scratch_at_chance": sum(r["at_chance"] for r in at_k if r["strategy"] == "scratch"),
            "gain_over_scratch": round(100 * (row[RECOMMENDED]["median"] - row["scratch"]["median"]), 2),
            "gain_over_pixels": round(100 * (row[RECOMMENDED]["median"] - row[BASELINE]["median"]), 2),
        }
    return summary


def targets(summary: dict, num_classes: int, track: str, judged: bool) -> list:
    """The few-shot targets of ``track``, each with its measured value (see :data:`TARGETS`)."""
    note = "" if judged else "the quick run trains too little for its accuracies to mean anything"
    goal = TARGETS[track]
    found = []
    for k in (5, 20):
        entry = summary.get(str(k))
        for against in ("scratch", "pixels"):
            value = entry[f"gain_over_{against}"] if entry else None
            found.append(Target(f"recommended transfer strategy beats {against} at {k} labels per class (median)",
                                ">=", goal[against][k], value, " points", judged=judged, note=note))
    floor = goal["floor"]
    if floor:
        entry = summary.get(str(floor["budget"]))
        stats = entry["strategies"] if entry else None
        found.append(Target(f"recommended transfer strategy at {floor['budget']} labels per class (median test accuracy)",
                            ">=", floor["accuracy"], stats and stats[RECOMMENDED]["median"], judged=judged, note=note))
        found.append(Target(f"scratch above chance at {floor['budget']} labels per class (median, points)",
                            ">=", 100 * floor["scratch_above_chance"],
                            stats and round(100 * (stats["scratch"]["median"] - 1 / num_classes), 2), " points",
                            judged=judged, note=note))
    return found


@tensorflow_errors_only()  # retracing notes are expected when measuring many small models
def main(argv: list[str] | None = None) -> int:
    args = parse_args(NAME, argv)
    run = Run(NAME, args)
    from tlhelpers.backbones import load_backbone
    from tlhelpers.config import current_track
    from tlhelpers.data import balanced_subset, load_dataset, make_task
    from tlhelpers.strategies import STRATEGIES, compare, prepare

    track = current_track()
    s = SETTINGS["quick" if args.quick else next(k for k in (f"full-{track.name}", "full") if k in SETTINGS)]
    (train, test), names = load_dataset(track.dataset)
    if track.test_per_class is not None:
        test = balanced_subset(test, track.test_per_class)  # the test subset the lessons use
    base = load_backbone(track.backbone, input_size=track.input_size)
    runs, first = [], None
    for k in s["labels_per_class"]:
        for seed in s["seeds"]:
            task = make_task(track.dataset, train, test, names, k, k, seed)  # k to train on, k to validate with
            task = subsample_test(task, s["test_images"])  # the same test images for every task
            prepared = first = prepare(task, track.backbone, track.input_size, base, same_test_as=first)
            table = compare(task, track.backbone, strategies=STRATEGIES, seeds=(seed,), input_size=track.input_size,
                            blocks=s["blocks"], max_epochs=s["max_epochs"], patience=s["patience"], prepared=prepared)
            for r in [*table.to_dict("records"), pixel_baseline(task, seed)]:
                runs.append({**r, "seconds": round(r["seconds"], 2), "at_chance": bool(r["at_chance"])})
                print(f"  {k:>3} labels/class, seed {seed}, {r['strategy']:<9} test accuracy {r['test_accuracy']:.3f} "
                      f"({r['epochs']} epochs, {r['seconds']:.0f} s{', AT CHANCE' if r['at_chance'] else ''})", flush=True)

    strategies = (*STRATEGIES, BASELINE)
    summary = summarize(runs, s["labels_per_class"], strategies)
    columns = ["labels/class", "labels per run", *(f"{st} median (min-max)" for st in (*strategies, RECOMMENDED)),
               "recommended (per seed)", "vs scratch", "vs pixels"]
    rows = []
    for k in s["labels_per_class"]:
        entry = summary[str(k)]
        cells = [f"{v['median']:.3f} ({v['min']:.3f}-{v['max']:.3f})" for v in entry["strategies"].values()]
        rows.append([k, entry["labels_per_run"], *cells, ", ".join(entry["recommended_choices"]),
                     f"{entry['gain_over_scratch']:+.1f}", f"{entry['gain_over_pixels']:+.1f}"])
    headline = "recommended transfer strategy (median test accuracy) minus scratch / minus pixels: " + ", ".join(
        f"{summary[str(k)]['gain_over_scratch']:+.1f} / {summary[str(k)]['gain_over_pixels']:+.1f} points at {k} "
        f"labels/class ({summary[str(k)]['labels_per_run']} labels per run)"
        if str(k) in summary else f"not measured at {k} labels/class" for k in (5, 20))
    settings = {**s, "val_per_class": "same as labels_per_class", "track": track.name, "backbone": track.backbone,
                "input_size": track.input_size, "dataset": track.dataset, "strategies": list(strategies),
                "test_images": s["test_images"] or len(test[1]),
                "recipe": "tlhelpers.strategies.compare (scratch trains up to 2x max_epochs, the head up to 4x; "
                          "early stopping on validation accuracy, best weights kept; fixed epochs and settings "
                          "with one validation label per class); pixels: tlhelpers.features.linear_probe on raw "
                          "pixels / 255; recommended: per seed, the transfer strategy with the higher validation accuracy"}
    found = targets(summary, len(names), track.name, judged=not args.quick)
    run.finish(settings, runs, summary, columns, rows, headline, found)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
