"""Few-shot curve: scratch vs linear probe vs fine-tuning at 1, 5, 20 and 100 labels per class.

Every run goes through :func:`tlhelpers.strategies.compare`, the course's fair comparison
(same labelled images, same validation split for early stopping with the best weights
kept, the untouched test split); "probe" is its head on cached features of the frozen
base. The seed picks the labelled examples (:func:`tlhelpers.data.make_task`) and seeds
training. The backbone, input size and dataset come from the active track.

A fourth row, "pixels", is a reference without any network: the same linear probe on the
raw pixels. Transfer is worth its cost where it clearly beats that baseline.

Target: the better transfer strategy (by median) beats scratch by at least 8 points of
test accuracy (median over seeds) at 5 and at 20 labels per class.

Run: ``python benchmarks/few_shot.py [--quick] [--out DIR]``
"""

from __future__ import annotations

from common import Run, Target, parse_args, quiet_tensorflow, spread, subsample_test

NAME = "few_shot"
TRANSFER = ("probe", "fine_tune")
BASELINE = "pixels"  # reported for reference, not judged
TARGET_POINTS = 8.0
TARGET_BUDGETS = (5, 20)
# compare()'s own defaults for the full run; the quick run trains less on fewer images.
SETTINGS = {
    "full": {"labels_per_class": [1, 5, 20, 100], "seeds": [0, 1, 2], "val_per_class": None, "test_images": None,
             "max_epochs": 60, "patience": 10, "blocks": 1},
    # A check of the machinery: too little training for its accuracies to mean anything.
    "quick": {"labels_per_class": [5, 20], "seeds": [0], "val_per_class": 10, "test_images": 300,
              "max_epochs": 4, "patience": 1, "blocks": 1},
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
            "epochs": 0,
            "seconds": time.perf_counter() - start}


def summarize(runs: list[dict], budgets: list[int], strategies: tuple[str, ...]) -> dict:
    """Median/min/max test accuracy per strategy and budget; the best transfer strategy's gain over scratch."""
    summary = {}
    for k in budgets:
        row = {s: spread(r["test_accuracy"] for r in runs if r["strategy"] == s and r["labels_per_class"] == k)
               for s in strategies}
        best = max(TRANSFER, key=lambda s: row[s]["median"])
        gain = 100 * (row[best]["median"] - row["scratch"]["median"])
        summary[str(k)] = {"strategies": row, "best_transfer": best, "gain_points": round(gain, 2)}
    return summary


def main(argv: list[str] | None = None) -> int:
    args = parse_args(NAME, argv)
    run = Run(NAME, args)
    quiet_tensorflow()
    from tlhelpers.backbones import load_backbone
    from tlhelpers.config import current_track
    from tlhelpers.data import load_dataset, make_task
    from tlhelpers.strategies import STRATEGIES, compare, prepare

    track = current_track()
    s = SETTINGS["quick" if args.quick else "full"]
    val_per_class = s["val_per_class"] or track.val_per_class
    (train, test), names = load_dataset(track.dataset)
    base = load_backbone(track.backbone, input_size=track.input_size)
    runs = []
    for k in s["labels_per_class"]:
        for seed in s["seeds"]:
            task = make_task(track.dataset, train, test, names, k, val_per_class, seed)
            task = subsample_test(task, s["test_images"])
            prepared = prepare(task, track.backbone, track.input_size, base)
            table = compare(task, track.backbone, STRATEGIES, seeds=(seed,), input_size=track.input_size,
                            blocks=s["blocks"], max_epochs=s["max_epochs"], patience=s["patience"], prepared=prepared)
            for r in [*table.to_dict("records"), pixel_baseline(task, seed)]:
                runs.append({**r, "seconds": round(r["seconds"], 2)})
                print(f"  {k:>3} labels/class, seed {seed}, {r['strategy']:<9} test accuracy {r['test_accuracy']:.3f} "
                      f"({r['epochs']} epochs, {r['seconds']:.0f} s)", flush=True)

    strategies = (*STRATEGIES, BASELINE)
    summary = summarize(runs, s["labels_per_class"], strategies)
    columns = ["labels/class", *(f"{st} median (min-max)" for st in strategies), "best transfer", "gain (points)"]
    rows = []
    for k in s["labels_per_class"]:
        entry = summary[str(k)]
        cells = [f"{v['median']:.3f} ({v['min']:.3f}-{v['max']:.3f})" for v in entry["strategies"].values()]
        rows.append([k, *cells, entry["best_transfer"], f"{entry['gain_points']:+.1f}"])
    gains = {k: summary[str(k)]["gain_points"] if str(k) in summary else None for k in TARGET_BUDGETS}
    headline = "better transfer strategy minus scratch (median test accuracy): " + ", ".join(
        f"{gains[k]:+.1f} points at {k} labels/class ({summary[str(k)]['best_transfer']})"
        if gains[k] is not None else f"not measured at {k} labels/class" for k in TARGET_BUDGETS)
    targets = [Target(f"better transfer strategy beats scratch at {k} labels per class (median)", ">=", TARGET_POINTS,
                      gains[k], " points", judged=not args.quick,
                      note="the quick run trains too little for its accuracies to mean anything" if args.quick else "")
               for k in TARGET_BUDGETS]
    settings = {**s, "val_per_class": val_per_class, "track": track.name, "backbone": track.backbone,
                "input_size": track.input_size, "dataset": track.dataset, "strategies": list(strategies),
                "test_images": s["test_images"] or len(test[1]),
                "recipe": "tlhelpers.strategies.compare (scratch trains up to 2x max_epochs, the head up to 4x; "
                          "early stopping on validation accuracy, best weights kept); pixels: "
                          "tlhelpers.features.linear_probe on raw pixels / 255"}
    run.finish(settings, runs, summary, columns, rows, headline, targets)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
