"""Fine-tuning depth, learning rate and augmentation: the grid behind each track's default recipe.

For each seed, a task of 100 labels per class to train on and 100 to validate with; the
linear probe on cached features (phase 1), then the course's recipe
(:func:`tlhelpers.recipe.fine_tune`) at every depth and peak learning rate of the track's
grid, without augmentation, all other settings as in :data:`tlhelpers.recipe.RECIPES`; then
the best of them once more with augmentation. Each run is scored on the validation split
(which picks) and on the test split (which reports). The setting with the best mean
validation accuracy over the seeds is the track's default, with augmentation only if it
raised that mean; ``tests/test_recipe.py`` checks that ``RECIPES`` holds it.

No target: it chooses. Few-shot's benchmark measures what the chosen recipe gains.

Run: ``python benchmarks/finetune_settings.py [--quick] [--out DIR]``
"""

from __future__ import annotations

import statistics

from common import Run, parse_args, spread

from tlhelpers.quiet import tensorflow_errors_only

NAME = "finetune_settings"
GRID = {
    "offline": {"blocks": [1, 2, 3, 4], "learning_rate": [3e-4, 1e-3, 3e-3]},
    "imagenet": {"blocks": [3, 4, 5], "learning_rate": [1e-4, 3e-4, 1e-3]},
}
SETTINGS = {
    "full": {"labels_per_class": 100, "seeds": [0, 1, 2], "test_images": None, "max_epochs": None},
    # A check of the machinery: too little training for its accuracies to mean anything.
    "quick": {"labels_per_class": 5, "seeds": [0], "test_images": 150, "max_epochs": 2,
              "grid": {"blocks": [1, 2], "learning_rate": [1e-3]}},
}


def best_setting(summary: dict) -> dict:
    """The setting with the highest mean validation accuracy over seeds (ties: the first in grid order).

    The mean, not the median: with 3 seeds the median is one run, and it would ignore a seed
    on which the setting did no better than the probe.

    Example:
        >>> best_setting({"2@0.001": {"blocks": 2, "learning_rate": 1e-3, "val_mean": 0.8},
        ...               "3@0.001": {"blocks": 3, "learning_rate": 1e-3, "val_mean": 0.7}})["blocks"]
        2
    """
    return max(summary.values(), key=lambda s: s["val_mean"])


@tensorflow_errors_only()  # retracing notes are expected when measuring many small models
def main(argv: list[str] | None = None) -> int:
    args = parse_args(NAME, argv)
    run = Run(NAME, args)
    from tlhelpers.backbones import load_backbone
    from tlhelpers.config import current_track, set_seed
    from tlhelpers.data import balanced_subset, load_dataset, make_task
    from tlhelpers.features import attach_head, linear_probe
    from tlhelpers.recipe import default_recipe, fine_tune
    from tlhelpers.strategies import prepare
    from tlhelpers.training import accuracy

    track = current_track()
    s = SETTINGS["quick" if args.quick else "full"]
    grid = s.get("grid", GRID[track.name])
    recipe = default_recipe(track.name)
    if s["max_epochs"]:
        recipe = recipe.with_(max_epochs=s["max_epochs"], warmup_epochs=0, patience=1)
    (train, test), names = load_dataset(track.dataset)
    if track.test_per_class is not None:
        test = balanced_subset(test, track.test_per_class)  # the test subset the lessons use
    base = load_backbone(track.backbone, input_size=track.input_size)
    k, runs, first, tasks = s["labels_per_class"], [], None, []
    for seed in s["seeds"]:
        task = make_task(track.dataset, train, test, names, k, k, seed).with_test_subset(s["test_images"])
        prepared = first = prepare(task, track.backbone, track.input_size, base, same_test_as=first)
        head = linear_probe(prepared.f_train, task.y_train, task.num_classes, prepared.f_val, task.y_val)
        probe = {"val": accuracy(head, prepared.f_val, task.y_val), "test": accuracy(head, prepared.f_test, task.y_test)}
        tasks.append((seed, task, prepared, head))
        runs.append({"seed": seed, "blocks": 0, "learning_rate": None, **probe, "best_epoch": 0, "epochs": 0, "seconds": 0.0})
        print(f"  seed {seed}: probe validation {probe['val']:.3f}, test {probe['test']:.3f}", flush=True)
        for blocks in grid["blocks"]:
            for lr in grid["learning_rate"]:
                set_seed(seed)
                model = attach_head(load_backbone(track.backbone, input_size=track.input_size), head)
                result = fine_tune(model, prepared.x_train, task.y_train, validation_data=(prepared.x_val, task.y_val),
                                   recipe=recipe.with_(blocks=blocks, learning_rate=lr), seed=seed)
                row = {"seed": seed, "blocks": blocks, "learning_rate": lr, "val": result.val_accuracy,
                       "test": accuracy(model, prepared.x_test, task.y_test), "best_epoch": result.best_epoch,
                       "epochs": result.epochs, "seconds": round(result.seconds, 1)}
                runs.append(row)
                print(f"  seed {seed}: {blocks} blocks at {lr:g}: validation {row['val']:.3f}, test {row['test']:.3f} "
                      f"(kept epoch {row['best_epoch']} of {row['epochs']}, {row['seconds']:.0f} s)", flush=True)

    summary = {}
    for blocks in [0, *grid["blocks"]]:
        for lr in [None] if blocks == 0 else grid["learning_rate"]:
            mine = [r for r in runs if r["blocks"] == blocks and r["learning_rate"] == lr and not r.get("augment")]
            summary["probe" if blocks == 0 else f"{blocks}@{lr:g}"] = {
                "blocks": blocks, "learning_rate": lr, "val": spread(r["val"] for r in mine),
                "val_mean": round(statistics.fmean(r["val"] for r in mine), 4),
                "test": spread(r["test"] for r in mine), "fine_tuned_runs": sum(r["best_epoch"] > 0 for r in mine)}
    tuned = {key: v for key, v in summary.items() if v["blocks"]}
    best = best_setting(tuned)
    for seed, task, prepared, head in tasks:  # the best setting again, with augmentation
        set_seed(seed)
        model = attach_head(load_backbone(track.backbone, input_size=track.input_size), head)
        result = fine_tune(model, prepared.x_train, task.y_train, validation_data=(prepared.x_val, task.y_val),
                           recipe=recipe.with_(blocks=best["blocks"], learning_rate=best["learning_rate"], augment=True),
                           seed=seed)
        row = {"seed": seed, "blocks": best["blocks"], "learning_rate": best["learning_rate"], "augment": True,
               "val": result.val_accuracy, "test": accuracy(model, prepared.x_test, task.y_test),
               "best_epoch": result.best_epoch, "epochs": result.epochs, "seconds": round(result.seconds, 1)}
        runs.append(row)
        print(f"  seed {seed}: {best['blocks']} blocks at {best['learning_rate']:g}, augmented: validation "
              f"{row['val']:.3f}, test {row['test']:.3f} ({row['seconds']:.0f} s)", flush=True)
    augmented = [r for r in runs if r.get("augment")]
    summary["augmented"] = {"blocks": best["blocks"], "learning_rate": best["learning_rate"], "augment": True,
                            "val": spread(r["val"] for r in augmented),
                            "val_mean": round(statistics.fmean(r["val"] for r in augmented), 4),
                            "test": spread(r["test"] for r in augmented),
                            "fine_tuned_runs": sum(r["best_epoch"] > 0 for r in augmented)}
    summary["chosen"] = {"blocks": best["blocks"], "learning_rate": best["learning_rate"],
                         "augment": summary["augmented"]["val_mean"] > best["val_mean"]}
    columns = ["blocks", "peak learning rate", "validation mean", "validation median (min-max)", "test median (min-max)",
               "runs fine-tuned"]
    columns.insert(2, "augmented")
    rows = [[v["blocks"], "probe" if v["blocks"] == 0 else f"{v['learning_rate']:g}", "yes" if v.get("augment") else "no",
             f"{v['val_mean']:.3f}",
             f"{v['val']['median']:.3f} ({v['val']['min']:.3f}-{v['val']['max']:.3f})",
             f"{v['test']['median']:.3f} ({v['test']['min']:.3f}-{v['test']['max']:.3f})",
             f"{v['fine_tuned_runs']} of {v['val']['n']}"] for v in summary.values() if "val" in v]
    aug = summary["augmented"]
    headline = (f"best on validation: the top {best['blocks']} blocks at {best['learning_rate']:g} (mean validation "
                f"{best['val_mean']:.3f}, median test {best['test']['median']:.3f}; with augmentation validation "
                f"{aug['val_mean']:.3f}, test {aug['test']['median']:.3f}: augmentation "
                f"{'kept' if summary['chosen']['augment'] else 'left out'}; the probe: validation "
                f"{summary['probe']['val_mean']:.3f}, test {summary['probe']['test']['median']:.3f})")
    settings = {**s, "grid": grid, "track": track.name, "backbone": track.backbone, "input_size": track.input_size,
                "dataset": track.dataset, "val_per_class": k, "test_images": s["test_images"] or len(test[1]),
                "recipe": {**vars(recipe), "blocks": "grid", "learning_rate": "grid", "augment": "chosen"}}
    run.finish(settings, runs, summary, columns, rows, headline)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
