"""Exercise checks for lesson 03 (fine-tuning).

Each check inspects what the student made (the model's trainable flags and compile
state, the run's own outcome) rather than comparing with one stored answer, so it holds
for either track and whatever the weights, and it explains the usual mistakes.

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
from tlhelpers.exercises._common import as_number, not_answered
from tlhelpers.keras_internals import all_layers, learning_rate_schedule
from tlhelpers.recipe import FineTuneRun, default_recipe, peak_rate_range
from tlhelpers.transfer import find_backbone, trainability_report


def check_unfreeze(model: keras.Model, blocks: int = 2, predicted: Any = None,
                   max_rate: float | None = None) -> Feedback:
    """Exercise 1: a predicted count of trainable parameters, then the top ``blocks`` blocks unfrozen
    (BatchNorm frozen) and the model recompiled with the recipe's schedule and a supported peak rate.

    Example:
        >>> check_unfreeze(model, blocks=3, predicted=None)  # doctest: +SKIP
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
        return Feedback(False, "the right blocks are unfrozen, but the model was not compiled since: compile it "
                               "again, so that phase 2 gets its own optimizer and schedule (and, on a model that "
                               "has already trained, so that the newly unfrozen blocks train at all).")
    schedule = learning_rate_schedule(model.optimizer)
    if schedule is None:
        return Feedback(False, "compiled with a constant learning rate; phase 2 of the recipe warms up and decays: "
                               "pass recipe.warmup_cosine(peak, steps_per_epoch, epochs, warmup_epochs) as Adam's "
                               "learning_rate.")
    peak = float(getattr(schedule, "warmup_target", None) or schedule.initial_learning_rate)
    max_rate = peak_rate_range()[1] if max_rate is None else max_rate
    if peak > max_rate * (1 + 1e-6):
        return Feedback(False, f"recompiled, but with a peak learning rate of {peak:g}: the course's measurements "
                               f"support peaks up to {max_rate:g} for fine-tuning pretrained blocks; higher, the "
                               "first steps wreck what they learned (lesson 03, section 4).")
    count = as_number(predicted)
    if predicted is None:
        return not_answered("the model is right; now set predicted to the number of parameters you expected to "
                            "train, worked out before unfreezing.")
    if count is None:
        return Feedback(False, f"predicted should be a number of parameters, got {predicted!r}.")
    if int(count) != report.trainable_params:
        direction = "more" if count > report.trainable_params else "fewer"
        return Feedback(False, f"the model is right, but your prediction counts {direction} parameters than train. "
                               "Recount from the per-layer report: which layers of an unfrozen block stay frozen, "
                               "and what else trains besides the backbone?")
    return Feedback(True, f"{', '.join(wanted)} train, BatchNorm stays frozen, the model was recompiled with a peak "
                          f"rate of {peak:g} on the recipe's schedule, and your prediction holds: "
                          f"{report.trainable_params:,} of {report.total_params:,} parameters train (BatchNorm's "
                          "scales and shifts do not; the head does).")


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


def check_prediction(prediction: Any, run: Any) -> Feedback:
    """Exercise 3: a prediction of how a fine-tuning run at 3 times the recipe's peak rate ends, against the run.

    Example:
        >>> check_prediction(None, None)
        ❌ Not yet: no answer yet: set prediction to "fine-tuned" or "probe", then run the fine-tuning.
    """
    choices = ("fine-tuned", "probe")
    if prediction is None:
        return not_answered('set prediction to "fine-tuned" or "probe", then run the fine-tuning.')
    key = str(prediction).strip().lower()
    if key not in choices:
        return Feedback(False, f"prediction {prediction!r} is not one of {choices[0]!r}, {choices[1]!r}.")
    if not isinstance(run, FineTuneRun):
        return Feedback(False, "now run it: run = recipe.fine_tune(start_model(), x_train, y_train, "
                               "validation_data=(x_val, y_val), recipe=settings.with_(learning_rate=...)).")
    wanted = 3 * default_recipe().learning_rate
    if not math.isclose(run.recipe.learning_rate, wanted, rel_tol=1e-6):
        return Feedback(False, f"the run's peak rate is {run.recipe.learning_rate:g}; the exercise asks for 3 times "
                               "the recipe's (settings.learning_rate * 3).")
    happened = "probe" if run.best_epoch == 0 else "fine-tuned"
    why = (f"epoch {run.best_epoch} beat the probe on validation ({run.val_accuracy:.3f} against "
           f"{run.start_val_accuracy:.3f}), so early stopping kept it: at this rate the blocks still adapted."
           if happened == "fine-tuned" else
           f"no epoch beat the probe's validation accuracy ({run.start_val_accuracy:.3f}), so early stopping from "
           "the start handed back the probe: the larger steps cost more than they gained.")
    if key == happened:
        return Feedback(True, f"as you predicted: {why}")
    return Feedback(False, f"the run ended otherwise: {why} What did you expect the larger peak to do to the first "
                           "epochs?")
