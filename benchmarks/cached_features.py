"""Cached features vs a frozen base run every epoch: the same head, seed and epochs, in one run.

Path A ("frozen base") trains :func:`tlhelpers.transfer.build_classifier` (frozen base
called with ``training=False``, pooling, dropout, ``Dense`` "head") on images: the base
runs on every batch of every epoch. Path B ("cached") runs the base once
(:func:`tlhelpers.features.extract_features`) and trains
:func:`tlhelpers.features.feature_head` (dropout, ``Dense`` "head") on the features. Both
start from the same head weights, are seeded alike and train for the same number of
epochs with the same batch size and validation data, as in lesson 03. Per-epoch time is
the median over epochs after the first (which traces the graph). The run starts at the
track's label budget (lesson 03's task) and the full run adds 100 and 1,000 labels per
class, to show how the ratio grows with the data an epoch has to push through the base.
With the lessons' batch of 16, an epoch of either path is mostly Keras' fixed cost per
step, which no cache removes; the full run therefore also trains the largest budget with
batches of 256, where the backbone's arithmetic dominates. The target is judged on that
last run (the compute the cache saves); every run is in the table.

Target: cached at least 20x faster per epoch; test accuracies within 1 point.

Run: ``python benchmarks/cached_features.py [--quick] [--out DIR]``
"""

from __future__ import annotations

import statistics
import time

from common import Run, Target, parse_args

from tlhelpers.quiet import tensorflow_errors_only

NAME = "cached_features"
TARGET_RATIO = 20.0
TARGET_POINTS = 1.0
SETTINGS = {
    # the track's label budget (lesson 03's) first; the full run adds larger ones
    "full": {"epochs": 20, "batch_size": 16, "learning_rate": 1e-3, "seed": 0, "test_images": None,
             "more_labels_per_class": [100, 1000],
             "at_scale": {"labels_per_class": 5950, "batch_size": 256, "steps_per_execution": 32}},
    "quick": {"epochs": 4, "batch_size": 16, "learning_rate": 1e-3, "seed": 0, "test_images": 500,
              "more_labels_per_class": [], "at_scale": None},
}


@tensorflow_errors_only()  # retracing notes are expected when measuring many small models
def main(argv: list[str] | None = None) -> int:
    args = parse_args(NAME, argv)
    run = Run(NAME, args)
    import keras

    from tlhelpers.backbones import load_backbone
    from tlhelpers.config import current_track, set_seed
    from tlhelpers.data import load_task
    from tlhelpers.features import extract_features, feature_head
    from tlhelpers.pipeline import to_model_input
    from tlhelpers.training import accuracy, compile_classifier
    from tlhelpers.transfer import build_classifier

    class EpochTimer(keras.callbacks.Callback):
        """Wall-clock seconds of each epoch (training and validation)."""

        def __init__(self) -> None:
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._start)

    track = current_track()
    s = SETTINGS["quick" if args.quick else "full"]
    budgets = [track.labels_per_class, *s["more_labels_per_class"]]
    plan = [(k, s["batch_size"], 1) for k in budgets]
    if s["at_scale"]:
        plan.append(tuple(s["at_scale"][name] for name in ("labels_per_class", "batch_size", "steps_per_execution")))
    base = load_backbone(track.backbone, input_size=track.input_size)
    runs, summary, rows = [], {}, []
    for k, batch_size, steps_per_execution in plan:
        key = str(k) if batch_size == s["batch_size"] else f"{k} (batch {batch_size}, {steps_per_execution} steps per call)"
        task = load_task(labels_per_class=k, seed=s["seed"]).with_test_subset(s["test_images"])
        x_train, x_val, x_test = (to_model_input(x, track.backbone, track.input_size) for x in (task.x_train, task.x_val, task.x_test))
        start = time.perf_counter()
        f_train, f_val = extract_features(base, x_train), extract_features(base, x_val)
        extract_seconds = time.perf_counter() - start
        f_test = extract_features(base, x_test)

        set_seed(s["seed"])  # before each model: the dropout layers get the same seed
        head = compile_classifier(feature_head(f_train.shape[1], task.num_classes), s["learning_rate"],
                                  steps_per_execution=steps_per_execution)
        set_seed(s["seed"])
        frozen = compile_classifier(build_classifier(base, task.num_classes), s["learning_rate"],
                                    steps_per_execution=steps_per_execution)
        frozen.get_layer("head").set_weights(head.get_layer("head").get_weights())  # the same starting head

        paths = {"frozen_base": (frozen, x_train, x_val, x_test), "cached": (head, f_train, f_val, f_test)}
        results = {}
        for path, (model, x, xv, xt) in paths.items():
            timer = EpochTimer()
            set_seed(s["seed"])
            model.fit(x, task.y_train, validation_data=(xv, task.y_val), epochs=s["epochs"], batch_size=batch_size,
                      verbose=0, callbacks=[timer])
            test_accuracy = accuracy(model, xt, task.y_test)
            results[path] = {"seconds_per_epoch": statistics.median(timer.seconds[1:]), "test_accuracy": test_accuracy,
                             "first_epoch_seconds": timer.seconds[0]}
            runs.append({"labels_per_class": k, "batch_size": batch_size, "steps_per_execution": steps_per_execution, "path": path, "epoch_seconds": [round(t, 4) for t in timer.seconds],
                         "test_accuracy": test_accuracy})
            print(f"  {key:>15} labels/class, {path:<12} {results[path]['seconds_per_epoch']:.3f} s per epoch, "
                  f"test accuracy {test_accuracy:.3f}", flush=True)
        frozen_s, cached_s = results["frozen_base"]["seconds_per_epoch"], results["cached"]["seconds_per_epoch"]
        summary[key] = {
            **results, "batch_size": batch_size, "steps_per_execution": steps_per_execution, "train_images": len(task.y_train), "val_images": len(task.y_val), "extract_seconds": extract_seconds,
            "speedup_per_epoch": frozen_s / cached_s,
            "accuracy_difference_points": 100 * abs(results["frozen_base"]["test_accuracy"] - results["cached"]["test_accuracy"]),
            "break_even_epochs": extract_seconds / (frozen_s - cached_s) if frozen_s > cached_s else None,
        }
        rows += [[key, p, r["seconds_per_epoch"], r["first_epoch_seconds"], r["test_accuracy"], None] for p, r in results.items()]
        rows[-1][-1] = f"{frozen_s / cached_s:.1f}x"
        rows.append([key, "one-time extraction (train+val)", extract_seconds, None, None, None])

    columns = ["labels/class", "path", "s/epoch (median)", "first epoch s", "test accuracy", "speed-up"]
    judged = key  # the last run: every label at scale in the full run
    main_k = summary[judged]
    ratio, points = main_k["speedup_per_epoch"], main_k["accuracy_difference_points"]
    headline = (f"{main_k['train_images']} training images in batches of {main_k['batch_size']}: cached features {ratio:.1f}x faster per epoch "
                f"({main_k['cached']['seconds_per_epoch']:.3f} s vs {main_k['frozen_base']['seconds_per_epoch']:.3f} s), "
                f"test accuracy difference {points:.2f} points")
    targets = [Target(f"cached features faster per epoch than the frozen base ({judged} labels/class)",
                      ">=", TARGET_RATIO, ratio, "x"),
               Target("test accuracy difference between the two paths", "<=", TARGET_POINTS, points, " points")]
    settings = {**s, "labels_per_class": budgets, "judged_run": judged,
                "test_images": len(task.y_test), "track": track.name, "backbone": track.backbone,
                "input_size": track.input_size, "dataset": track.dataset,
                "training": "model.fit on in-memory arrays with validation every epoch, as lesson 03",
                "head": "dropout 0.2 + Dense softmax (named 'head'), Adam"}
    run.finish(settings, runs, summary, columns, rows, headline, targets)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
