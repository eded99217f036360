"""RandomSearch vs Hyperband, and what the search's winner is worth on the test split.

Both search lesson 06's space with :mod:`tlhelpers.tuning` (a trial = the linear probe on
cached features, then the top K blocks fine-tuned on the recipe's schedule): the peak
fine-tuning learning rate (log scale) and the unfreeze depth K. Hyperband runs one
iteration of its schedule with ``max_epochs=E``; RandomSearch gets ``E`` epochs per trial
and as many trials as make about the same number of fine-tuning epochs. After every trial
the epochs spent so far and the best validation accuracy so far are recorded (the curve).

After each search, :meth:`tlhelpers.tuning.Search.evaluate_best` retrains the best
configuration once and scores it once on the test split, next to the probe and the track's
default recipe trained on the same labels (lesson 06's budget). Tuner files go to a
temporary folder, deleted afterwards.

No target: reported for comparison.

Run: ``python benchmarks/tuner.py [--quick] [--out DIR]``
"""

from __future__ import annotations

import tempfile
import time

from common import Run, parse_args, spread

from tlhelpers.quiet import tensorflow_errors_only

NAME = "tuner"
TUNERS = ("random", "hyperband")
SETTINGS = {
    "full": {"max_epochs": 9, "factor": 3, "seeds": [0, 1, 2], "fine_lr": [1e-5, 1e-2]},
    "quick": {"max_epochs": 3, "factor": 3, "seeds": [0], "fine_lr": [1e-5, 1e-2], "recipe": {"max_epochs": 2, "warmup_epochs": 0}},
}


def best_within(curve: list[list[float]], epochs: float) -> float | None:
    """Best validation accuracy reached within ``epochs`` fine-tuning epochs (``None`` if no trial ended by then).

    Example:
        >>> best_within([[3, 0.5], [6, 0.7]], 4)
        0.5
    """
    reached = [best for spent, best in curve if spent <= epochs]
    return max(reached) if reached else None


@tensorflow_errors_only()  # retracing notes are expected when measuring many small models
def main(argv: list[str] | None = None) -> int:
    args = parse_args(NAME, argv)
    run = Run(NAME, args)
    from tlhelpers.backbones import get_spec
    from tlhelpers.config import current_track
    from tlhelpers.data import load_task
    from tlhelpers.recipe import default_recipe
    from tlhelpers.tuning import Budget, SearchSpace, TwoPhaseHyperModel, open_search

    track = current_track()
    s = SETTINGS["quick" if args.quick else "full"]
    epochs = s["max_epochs"]
    hyperband = Budget.of("hyperband", 1, epochs, s["factor"])
    random_trials = max(1, round(hyperband.fine_epochs / epochs))
    budgets = {"random": Budget.of("random", random_trials, epochs), "hyperband": hyperband}
    space = SearchSpace(fine_lr=tuple(s["fine_lr"]), blocks=(0, get_spec(track.backbone).num_blocks))
    task = load_task()
    recipe = default_recipe(track.name).with_(**s.get("recipe", {}))
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench_tuner_") as folder:
        for seed in s["seeds"]:
            for kind in TUNERS:
                hypermodel = TwoPhaseHyperModel.from_task(task, space=space, seed=seed)
                search = open_search(hypermodel, kind, max_trials=random_trials, epochs=epochs, factor=s["factor"],
                                     project_name=f"{kind}_seed{seed}", directory=folder, seed=seed)
                start = time.perf_counter()
                search.run(progress=False)
                seconds = time.perf_counter() - start
                curve, spent, best = [], 0, 0.0
                for record in hypermodel.records:
                    spent += record.fine_epochs
                    best = max(best, record.val_accuracy)
                    curve.append([spent, best])
                final = search.evaluate_best(task.x_test, task.y_test, recipe=recipe)
                runs.append({"tuner": kind, "seed": seed, "trials": len(hypermodel.records), "fine_epochs": spent,
                             "best_val_accuracy": best, "seconds": round(seconds, 2), "curve": curve,
                             "best_hyperparameters": final.hyperparameters,
                             "test": {"probe": final.probe_test_accuracy, "default_recipe": final.default_test_accuracy,
                                      "best": final.test_accuracy},
                             "val": {"probe": final.probe_val_accuracy, "default_recipe": final.default_val_accuracy,
                                     "best": final.retrain_val_accuracy},
                             "kept_epoch": {"default_recipe": final.default_kept_epoch, "best": final.kept_epoch}})
                print(f"  {kind:<9} seed {seed}: {len(hypermodel.records)} trials, {spent} fine epochs, best val accuracy "
                      f"{best:.3f} ({seconds:.0f} s); test: probe {final.probe_test_accuracy:.3f}, default recipe "
                      f"{final.default_test_accuracy:.3f}, best retrained {final.test_accuracy:.3f}", flush=True)

    half = min(b.fine_epochs for b in budgets.values()) / 2
    summary, rows = {}, []
    for kind in TUNERS:
        mine = [r for r in runs if r["tuner"] == kind]
        at_half = [best_within(r["curve"], half) for r in mine]
        summary[kind] = {
            "planned_trials": budgets[kind].trials, "planned_fine_epochs": budgets[kind].fine_epochs,
            "best_val_accuracy": spread(r["best_val_accuracy"] for r in mine),
            "best_val_accuracy_at_half_budget": spread(v for v in at_half if v is not None) if any(v is not None for v in at_half) else None,
            "seconds": spread(r["seconds"] for r in mine),
            "test": {m: spread(r["test"][m] for r in mine) for m in ("probe", "default_recipe", "best")},
            "best_fine_lr": spread(r["best_hyperparameters"]["fine_lr"] for r in mine),
        }
        b, h = summary[kind]["best_val_accuracy"], summary[kind]["best_val_accuracy_at_half_budget"]
        t = summary[kind]["test"]
        rows.append([kind, budgets[kind].trials, budgets[kind].fine_epochs, f"{b['median']:.3f} ({b['min']:.3f}-{b['max']:.3f})",
                     f"{h['median']:.3f}" if h else "-", *(f"{t[m]['median']:.3f}" for m in ("best", "default_recipe", "probe")),
                     summary[kind]["seconds"]["median"]])
    columns = ["tuner", "trials", "fine epochs", "best val acc median (min-max)", f"best within {half:g} epochs",
               "test: best retrained", "test: default recipe", "test: probe", "seconds (median)"]
    headline = "best validation accuracy (median over seeds): " + ", ".join(
        f"{k} {summary[k]['best_val_accuracy']['median']:.3f} in {budgets[k].fine_epochs} fine epochs" for k in TUNERS) + (
        "; on the test split (medians): " + ", ".join(
            f"{k}'s best retrained {summary[k]['test']['best']['median']:.3f}" for k in TUNERS)
        + f", the default recipe {summary[TUNERS[0]]['test']['default_recipe']['median']:.3f}, the probe "
          f"{summary[TUNERS[0]]['test']['probe']['median']:.3f}")
    settings = {**s, "random_trials": random_trials, "half_budget_epochs": half, "track": track.name,
                "backbone": track.backbone, "input_size": track.input_size, "dataset": track.dataset,
                "labels_per_class": track.labels_per_class, "val_per_class": track.val_per_class,
                "space": {"fine_lr": s["fine_lr"], "blocks": list(space.blocks), "dropout": space.dropout},
                "default_recipe": vars(recipe)}
    run.finish(settings, runs, summary, columns, rows, headline)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
