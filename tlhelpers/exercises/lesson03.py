"""Exercise checks for lesson 03 (fine-tuning).

Each check inspects what the student made (the model's trainable flags and compile
state, the LR finder's own sweep) rather than comparing with one stored answer, so it
holds for either track and whatever the weights, and it explains the usual mistakes.

Example:
    >>> check_training_flag("b").correct
    True
    >>> check_training_flag(None)
    ❌ Not yet: set answer to one of 'a', 'b', 'c', 'd'.
"""

from __future__ import annotations

import math
from typing import Any

import keras

from tlhelpers.checks import Feedback
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
        l.name for l in base._flatten_layers(include_self=False)
        if isinstance(l, keras.layers.BatchNormalization) and l.trainable
    ]
    if bn_training:
        return Feedback(False, f"BatchNormalization layer(s) {bn_training} are trainable: with a few labels their "
                               "statistics and scales drift. unfreeze_top(model, blocks=...) keeps them frozen.")
    if not report.trainable_blocks:
        return Feedback(False, f"no block of the backbone trains yet (only the head). Unfreeze the top {blocks}: "
                               f"{wanted}.")
    if report.trainable_blocks != wanted:
        return Feedback(False, f"the blocks that train are {report.trainable_blocks}, but the top {blocks} are "
                               f"{wanted}. Count blocks from the top: blocks=K unfreezes the last K.")
    partly = [r.block for r in report.rows[:-1] if r.state == "partly"]
    if partly:
        return Feedback(False, f"block(s) {partly} train only in part; every layer with weights (except "
                               "BatchNorm) of an unfrozen block should train.")
    if not getattr(model, "compiled", False) or report.needs_recompile:
        return Feedback(False, "the right blocks are unfrozen, but the model was not compiled since: until you call "
                               "model.compile(...) again, fit() still trains only what was trainable before.")
    try:
        lr = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    except Exception:  # a schedule or an unusual optimizer
        return Feedback(False, "compile with a plain learning rate (a number), e.g. "
                               "keras.optimizers.Adam(learning_rate=1e-5).")
    if lr > max_lr * (1 + 1e-6):
        return Feedback(False, f"recompiled, but with learning rate {lr:g}: fine-tuning pretrained blocks needs a "
                               f"low one (at most {max_lr:g}), or the first steps wreck what they learned.")
    return Feedback(True, f"{', '.join(wanted)} train, BatchNorm stays frozen, and the model was recompiled with "
                          f"learning rate {lr:g}: {report.trainable_params:,} of {report.total_params:,} "
                          "parameters will train.")


TRAINING_FLAG_CHOICES = {
    "a": ("it freezes the base's weights",
          "no: which weights train is set by `trainable`; training=False does not stop the unfrozen "
          "layers' weights from being updated."),
    "b": ("it runs BatchNormalization in inference mode: it normalises with the moving statistics "
          "from pretraining and leaves them unchanged",
          "BatchNorm keeps the statistics it learned on the large source data instead of using, and "
          "updating with, the statistics of each small batch of the new task."),
    "c": ("it turns off the head's dropout",
          "no: training=False is passed to the base only; the head's Dropout still drops during fit()."),
    "d": ("nothing once layers are trainable",
          "no: it matters most then. A trainable BatchNorm called with training=True would use "
          "the statistics of each small batch and overwrite its moving averages."),
}


def check_training_flag(answer: Any) -> Feedback:
    """Exercise 2: what ``base(inputs, training=False)`` does (multiple choice).

    Example:
        >>> check_training_flag("a").correct
        False
    """
    keys = list(TRAINING_FLAG_CHOICES)
    if answer is None:
        return Feedback(False, f"set answer to one of {', '.join(repr(k) for k in keys)}.")
    key = str(answer).strip().lower().strip("()")
    if key not in TRAINING_FLAG_CHOICES:
        return Feedback(False, f"answer {answer!r} is not one of {', '.join(repr(k) for k in keys)}.")
    why = TRAINING_FLAG_CHOICES[key][1]
    return Feedback(key == "b", f"({key}) {why}" if key == "b" else f"({key}) {why} Try again.")


def check_lr_choice(answer: Any, finder: Any) -> Feedback:
    """Exercise 3: a learning rate read from an LR-finder sweep.

    Right: at or below the rate where the smoothed loss was lowest, and no more than 100
    times below it (lower still, the loss barely moves and training crawls).

    Example:
        >>> check_lr_choice(None, finder)  # doctest: +SKIP
        ❌ Not yet: set answer to a learning rate read from the plot, e.g. 1e-4.
    """
    if answer is None:
        return Feedback(False, "set answer to a learning rate read from the plot, e.g. 1e-4.")
    try:
        lr = float(answer)
    except (TypeError, ValueError):
        return Feedback(False, f"the answer should be a number such as 3e-4, got {answer!r}.")
    if not math.isfinite(lr) or lr <= 0:
        return Feedback(False, f"a learning rate must be a positive number, got {answer!r}.")
    try:
        lrs, smooth = finder._usable()
    except (AttributeError, ValueError) as err:
        return Feedback(False, f"run the LR finder first (find_lr): {err}")
    best = float(lrs[int(smooth.argmin())])
    diverged = finder.diverged_lr
    if diverged is not None and lr >= diverged:
        return Feedback(False, f"{lr:g} is at or past the divergence point ({diverged:.2g}), where the loss explodes.")
    if lr > best * 1.0001:
        return Feedback(False, f"{lr:g} is above {best:.2g}, where the smoothed loss is lowest: there the loss is "
                               "already turning upward. Pick a rate on the falling part of the curve.")
    if lr < best / 100:
        return Feedback(False, f"{lr:g} is more than 100x below {best:.2g}, where the loss is lowest: at such "
                               "rates the loss barely moves, so training would crawl.")
    return Feedback(True, f"{lr:g} lies on the falling part of the curve, at or below {best:.2g} where the "
                          f"smoothed loss is lowest (the finder's own rule says {finder.suggestion():.2g}).")
