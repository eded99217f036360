"""Exercise checks for lesson 03 (fine-tuning).

Each check inspects what the student made (the model's trainable flags and compile
state, the LR finder's own sweep) rather than comparing with one stored answer, so it
holds for either track and whatever the weights, and it explains the usual mistakes.

Example:
    >>> check_batchnorm("b").correct
    True
    >>> check_batchnorm(None)
    ❌ Not yet: no answer yet: set answer to one of 'a', 'b', 'c', 'd'.
"""

from __future__ import annotations

import math
from typing import Any

import keras

from tlhelpers.checks import Feedback
from tlhelpers.exercises._common import not_answered
from tlhelpers.keras_internals import all_layers
from tlhelpers.learning_rates import learning_rate_of
from tlhelpers.transfer import find_backbone, trainability_report


def check_unfreeze(model: keras.Model, blocks: int = 2, max_lr: float = 1e-4) -> Feedback:
    """Exercise 1: the top ``blocks`` blocks train, BatchNorm stays frozen, recompiled with a low rate.

    Example:
        >>> check_unfreeze(model)  # doctest: +SKIP
        ❌ Not yet: no block of the backbone trains yet (only the head). ...
    """
    try:
        base, spec = find_backbone(model)
    except ValueError as err:
        return Feedback(False, f"this is not the exercise model: {err}")
    report = trainability_report(model)
    wanted = list(spec.block_names[-blocks:]) if blocks else []
    bn_training = [
        l.name for l in all_layers(base, include_self=False)
        if isinstance(l, keras.layers.BatchNormalization) and l.trainable
    ]
    if bn_training:
        return Feedback(False, f"BatchNormalization layer(s) {bn_training} are trainable: with a few labels their "
                               "statistics and scales drift. unfreeze_top(model, blocks=...) keeps them frozen.")
    if not report.trainable_blocks:
        return Feedback(False, f"no block of the backbone trains yet (only the head). Unfreeze the top {blocks} "
                               "with transfer.unfreeze_top.")
    if report.trainable_blocks != wanted:
        return Feedback(False, f"the blocks that train are {report.trainable_blocks}: not the top {blocks}. "
                               "Count blocks from the top: print(transfer.trainability_report(exercise_model)) "
                               "lists them bottom to top, and blocks=K unfreezes the last K.")
    partly = [r.block for r in report.rows[:-1] if r.state == "partly"]
    if partly:
        return Feedback(False, f"block(s) {partly} train only in part; every layer with weights (except "
                               "BatchNorm) of an unfrozen block should train.")
    if not getattr(model, "compiled", False) or report.needs_recompile:
        return Feedback(False, "the right blocks are unfrozen, but the model was not compiled since: until you call "
                               "model.compile(...) again, fit() still trains only what was trainable before.")
    try:
        lr = learning_rate_of(model)
    except Exception:  # a schedule or an unusual optimizer
        return Feedback(False, "compile with a plain learning rate (a number), not a schedule, in "
                               "keras.optimizers.Adam(learning_rate=...).")
    if lr > max_lr * (1 + 1e-6):
        return Feedback(False, f"recompiled, but with learning rate {lr:g}: fine-tuning pretrained blocks needs a "
                               f"low one (at most {max_lr:g}), or the first steps wreck what they learned.")
    return Feedback(True, f"{', '.join(wanted)} train, BatchNorm stays frozen, and the model was recompiled with "
                          f"learning rate {lr:g}: {report.trainable_params:,} of {report.total_params:,} "
                          "parameters will train.")


BATCHNORM_CHOICES = {
    "a": ("calling the base with `base(inputs, training=False)`",
          "no: in Keras 3, fit() calls the model with training=True, and that value reaches the nested base "
          "despite training=False (keras-team/keras#20285). Section 4's experiment called the base with "
          "training=False in both runs; look at which run's statistics moved."),
    "b": ("the BatchNormalization layers' own `trainable = False`",
          "a BatchNormalization layer with trainable = False runs in inference mode in Keras 3, whatever "
          "training value reaches it: it normalises with its pretrained moving statistics and leaves them "
          "unchanged. unfreeze_top sets it on every BN layer."),
    "c": ("the low fine-tuning learning rate",
          "no: the optimizer never updates the moving statistics; the layer itself nudges them towards each "
          "batch's statistics in training mode, and no learning rate slows that."),
    "d": ("recompiling after unfreezing",
          "no: compile() fixes which weights the optimizer updates; the moving statistics are not updated by "
          "the optimizer, so compiling cannot protect them."),
}


def check_batchnorm(answer: Any) -> Feedback:
    """Exercise 2: what keeps BatchNorm in inference mode while unfrozen blocks train (multiple choice).

    Example:
        >>> check_batchnorm("a").correct
        False
    """
    keys = list(BATCHNORM_CHOICES)
    if answer is None:
        return not_answered(f"set answer to one of {', '.join(repr(k) for k in keys)}.")
    key = str(answer).strip().lower().strip("()")
    if key not in BATCHNORM_CHOICES:
        return Feedback(False, f"answer {answer!r} is not one of {', '.join(repr(k) for k in keys)}.")
    why = BATCHNORM_CHOICES[key][1]
    return Feedback(key == "b", f"({key}) {why}" if key == "b" else f"({key}) {why} Try again.")


def check_lr_choice(answer: Any, finder: Any) -> Feedback:
    """Exercise 3: a learning rate read from an LR-finder sweep.

    Right: at or below the rate where the smoothed loss was lowest, and no more than 100
    times below it (lower still, the loss barely moves and training crawls).

    Example:
        >>> check_lr_choice(None, finder)  # doctest: +SKIP
        ❌ Not yet: no answer yet: set answer to a learning rate (a number) read off the x axis of the plot.
    """
    if answer is None:
        return not_answered("set answer to a learning rate (a number) read off the x axis of the plot.")
    try:
        lr = float(answer)
    except (TypeError, ValueError):
        return Feedback(False, f"the answer should be a number (a learning rate read off the plot), got {answer!r}.")
    if not math.isfinite(lr) or lr <= 0:
        return Feedback(False, f"a learning rate must be a positive number, got {answer!r}.")
    try:
        lrs, smooth = finder._usable()
    except (AttributeError, ValueError) as err:
        return Feedback(False, f"run the LR finder first (find_lr): {err}")
    best = float(lrs[int(smooth.argmin())])
    diverged = finder.diverged_lr
    if diverged is not None and lr >= diverged:
        return Feedback(False, f"{lr:g} is at or past the point where the finder stopped: there the loss explodes. "
                               "Look further left on the plot.")
    if lr > best * 1.0001:
        return Feedback(False, f"{lr:g} is right of the curve's lowest point: there the loss is already turning "
                               "upward. Pick a rate on the falling part of the curve, left of the minimum.")
    if lr < best / 100:
        return Feedback(False, f"{lr:g} is more than 100x left of the curve's lowest point: at such rates the "
                               "loss barely moves, so training would crawl. Look where the curve falls steeply.")
    return Feedback(True, f"{lr:g} lies on the falling part of the curve, at or below {best:.2g} where the "
                          f"smoothed loss is lowest (the finder's own rule says {finder.suggestion():.2g}).")
