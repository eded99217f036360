"""Head-only training step vs full fine-tuning step: how much does unfreezing the base cost?

For each backbone: :func:`tlhelpers.transfer.build_classifier` (the base frozen and
called with ``training=False``) is trained one batch at a time and the median step time
is taken after a few warm-up steps; then every block is unfrozen with
:func:`tlhelpers.transfer.unfreeze_top` (BatchNorm stays frozen, the course's recipe),
the model is recompiled and timed again. The ratio is full step / head step. The
Keras transfer-learning guide reports about 3.9x. The bundled backbone is measured with
its weights, the keras.applications one with ``weights=None`` (weights do not change
the cost of a step). The inputs are random images of the right shape.

No target: reported for reference.

Run: ``python benchmarks/step_cost.py [--quick] [--out DIR]``
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from common import Run, parse_args

from tlhelpers.quiet import tensorflow_errors_only

NAME = "step_cost"
KERAS_GUIDE_RATIO = 3.9
# (backbone, input size, weights); "default" is the bundled file for fashion_cnn
BACKBONES = (("fashion_cnn", 32, "default"), ("mobilenet_v2", 96, None))
SETTINGS = {
    "full": {"batch_size": 32, "warmup_steps": 5, "timed_steps": 30, "num_classes": 10, "seed": 0},
    "quick": {"batch_size": 8, "warmup_steps": 1, "timed_steps": 3, "num_classes": 10, "seed": 0},
}


def time_steps(model, x, y, warmup: int, steps: int) -> list[float]:
    """Seconds of each of ``steps`` training steps on one batch, after ``warmup`` untimed ones."""
    for _ in range(warmup):
        model.train_on_batch(x, y)
    seconds = []
    for _ in range(steps):
        start = time.perf_counter()
        model.train_on_batch(x, y)
        seconds.append(time.perf_counter() - start)
    return seconds


@tensorflow_errors_only()  # retracing notes are expected when measuring many small models
def main(argv: list[str] | None = None) -> int:
    args = parse_args(NAME, argv)
    run = Run(NAME, args)
    from tlhelpers.backbones import get_spec, load_backbone
    from tlhelpers.config import set_seed
    from tlhelpers.training import compile_classifier
    from tlhelpers.transfer import build_classifier, trainability_report, unfreeze_top

    s = SETTINGS["quick" if args.quick else "full"]
    runs, summary, rows = [], {}, []
    for name, size, weights in BACKBONES:
        spec = get_spec(name)
        set_seed(s["seed"])
        rng = np.random.default_rng(s["seed"])
        low, high = spec.input_range
        x = rng.uniform(low, high, (s["batch_size"], size, size, spec.channels)).astype("float32")
        y = rng.integers(0, s["num_classes"], s["batch_size"])
        model = compile_classifier(build_classifier(load_backbone(name, weights=weights, input_size=size), s["num_classes"]), 1e-3)
        entry = {}
        for mode in ("head", "full"):
            if mode == "full":
                unfreeze_top(model, spec.num_blocks)
                compile_classifier(model, 1e-4)
            seconds = time_steps(model, x, y, s["warmup_steps"], s["timed_steps"])
            trainable = trainability_report(model).trainable_params
            entry[mode] = {"median_step_seconds": statistics.median(seconds), "trainable_params": trainable}
            runs.append({"backbone": name, "input_size": size, "mode": mode, "step_seconds": [round(t, 5) for t in seconds],
                         "trainable_params": trainable})
            print(f"  {name} at {size} px, {mode:<4} step: {entry[mode]['median_step_seconds'] * 1000:.1f} ms "
                  f"({trainable:,} trainable parameters)", flush=True)
        entry["ratio"] = entry["full"]["median_step_seconds"] / entry["head"]["median_step_seconds"]
        summary[name] = {**entry, "input_size": size, "weights": weights or "random"}
        rows.append([name, size, entry["head"]["median_step_seconds"] * 1000, entry["full"]["median_step_seconds"] * 1000,
                     f"{entry['ratio']:.2f}x", f"{entry['head']['trainable_params']:,} / {entry['full']['trainable_params']:,}"])
    columns = ["backbone", "input px", "head step ms", "full step ms", "full / head", "trainable params head / full"]
    headline = "full fine-tune step / head-only step: " + ", ".join(
        f"{summary[n]['ratio']:.1f}x for {n}" for n, _, _ in BACKBONES) + f" (the Keras guide reports about {KERAS_GUIDE_RATIO}x)"
    settings = {**s, "backbones": [{"name": n, "input_size": z, "weights": w or "random"} for n, z, w in BACKBONES],
                "full_mode": "every block unfrozen with tlhelpers.transfer.unfreeze_top (BatchNorm frozen), recompiled",
                "keras_guide_ratio": KERAS_GUIDE_RATIO}
    run.finish(settings, runs, summary, columns, rows, headline)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
