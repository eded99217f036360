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
from tlhelpers.exercises._common import as_number, multiple_choice, not_answered
from tlhelpers.i18n import N_, _
from tlhelpers.keras_internals import all_layers, learning_rate_schedule
from tlhelpers.recipe import FineTuneRun, default_recipe, peak_rate_range
from tlhelpers.transfer import find_backbone, trainability_report

__all__ = ["check_batchnorm", "check_prediction", "check_unfreeze"]


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
        return Feedback(False, _("this is not the exercise model: {error}").format(error=err))
    report = trainability_report(model)
    wanted = list(spec.block_names[-blocks:]) if blocks else []
    bn_training = [
        l.name for l in all_layers(base, include_self=False)
        if isinstance(l, keras.layers.BatchNormalization) and l.trainable
    ]
    if bn_training:
        return Feedback(False, _("BatchNormalization layer(s) {layers} are trainable: with a few labels their "
                                 "statistics and scales drift. unfreeze_top(model, blocks=...) keeps them frozen.").format(
            layers=bn_training))
    if not report.trainable_blocks:
        return Feedback(False, _("no block of the backbone trains yet (only the head). Unfreeze the top {blocks} "
                                 "with transfer.unfreeze_top.").format(blocks=blocks))
    if report.trainable_blocks != wanted:
        return Feedback(False, _("the blocks that train are {trainable}: not the top {blocks}. "
                                 "Count blocks from the top: print(transfer.trainability_report(exercise_model)) "
                                 "lists them bottom to top, and blocks=K unfreezes the last K.").format(
            trainable=report.trainable_blocks, blocks=blocks))
    partly = [r.block for r in report.rows[:-1] if r.state == "partly"]
    if partly:
        return Feedback(False, _("block(s) {partly} train only in part; every layer with weights (except "
                                 "BatchNorm) of an unfrozen block should train.").format(partly=partly))
    if not getattr(model, "compiled", False) or report.needs_recompile:
        return Feedback(False, _("the right blocks are unfrozen, but the model was not compiled since: compile it "
                                 "again, so that phase 2 gets its own optimizer and schedule (and, on a model that "
                                 "has already trained, so that the newly unfrozen blocks train at all)."))
    schedule = learning_rate_schedule(model.optimizer)
    if schedule is None:
        return Feedback(False, _("compiled with a constant learning rate; phase 2 of the recipe warms up and decays: "
                                 "pass recipe.warmup_cosine(peak, steps_per_epoch, epochs, warmup_epochs) as Adam's "
                                 "learning_rate."))
    peak = float(getattr(schedule, "warmup_target", None) or schedule.initial_learning_rate)
    max_rate = peak_rate_range()[1] if max_rate is None else max_rate
    if peak > max_rate * (1 + 1e-6):
        return Feedback(False, _("recompiled, but with a peak learning rate of {peak:g}: the course's measurements "
                                 "support peaks up to {max_rate:g} for fine-tuning pretrained blocks; higher, the "
                                 "first steps wreck what they learned (lesson 03, section 4).").format(
            peak=peak, max_rate=max_rate))
    count = as_number(predicted)
    if predicted is None:
        return not_answered(_("the model is right; now set predicted to the number of parameters you expected to "
                              "train, worked out before unfreezing."))
    if count is None:
        return Feedback(False, _("predicted should be a number of parameters, got {predicted!r}.").format(
            predicted=predicted))
    if int(count) != report.trainable_params:
        if count > report.trainable_params:
            why = _("the model is right, but your prediction counts more parameters than train.")
        else:
            why = _("the model is right, but your prediction counts fewer parameters than train.")
        return Feedback(False, _("{why} Recount from the per-layer report: which layers of an unfrozen block stay "
                                 "frozen, and what else trains besides the backbone?").format(why=why))
    return Feedback(True, _("{blocks} train, BatchNorm stays frozen, the model was recompiled with a peak "
                            "rate of {peak:g} on the recipe's schedule, and your prediction holds: "
                            "{trainable:,} of {total:,} parameters train (BatchNorm's "
                            "scales and shifts do not; the head does).").format(
        blocks=", ".join(wanted), peak=peak, trainable=report.trainable_params, total=report.total_params))


BATCHNORM_CHOICES = {
    "a": (N_("calling the base with `base(inputs, training=False)`"),
          N_("no: in Keras 3, fit() calls the model with training=True, and that value reaches the nested base "
             "despite training=False (keras-team/keras#20285). Section 4's experiment called the base with "
             "training=False in both runs; look at which run's statistics moved.")),
    "b": (N_("the BatchNormalization layers' own `trainable = False`"),
          N_("a BatchNormalization layer with trainable = False runs in inference mode in Keras 3, whatever "
             "training value reaches it: it normalises with its pretrained moving statistics and leaves them "
             "unchanged. unfreeze_top sets it on every BN layer.")),
    "c": (N_("the low fine-tuning learning rate"),
          N_("no: the optimizer never updates the moving statistics; the layer itself nudges them towards each "
             "batch's statistics in training mode, and no learning rate slows that.")),
    "d": (N_("recompiling after unfreezing"),
          N_("no: compile() fixes which weights the optimizer updates; the moving statistics are not updated by "
             "the optimizer, so compiling cannot protect them.")),
}


def check_batchnorm(answer: Any) -> Feedback:
    """Exercise 2: what keeps BatchNorm in inference mode while unfrozen blocks train (multiple choice).

    Example:
        >>> check_batchnorm("a").correct
        False
    """
    return multiple_choice(answer, BATCHNORM_CHOICES, right="b")


def check_prediction(prediction: Any, run: Any) -> Feedback:
    """Exercise 3: a prediction of how a fine-tuning run at 3 times the recipe's peak rate ends, against the run.

    Example:
        >>> check_prediction(None, None)
        ❌ Not yet: no answer yet: set prediction to "fine-tuned" or "probe", then run the fine-tuning.
    """
    choices = ("fine-tuned", "probe")
    if prediction is None:
        return not_answered(_('set prediction to "fine-tuned" or "probe", then run the fine-tuning.'))
    key = str(prediction).strip().lower()
    if key not in choices:
        return Feedback(False, _("prediction {prediction!r} is not one of {first!r}, {second!r}.").format(
            prediction=prediction, first=choices[0], second=choices[1]))
    if not isinstance(run, FineTuneRun):
        return Feedback(False, _("now run it: run = recipe.fine_tune(start_model(), x_train, y_train, "
                                 "validation_data=(x_val, y_val), recipe=settings.with_(learning_rate=...))."))
    wanted = 3 * default_recipe().learning_rate
    if not math.isclose(run.recipe.learning_rate, wanted, rel_tol=1e-6):
        return Feedback(False, _("the run's peak rate is {rate:g}; the exercise asks for 3 times "
                                 "the recipe's (settings.learning_rate * 3).").format(rate=run.recipe.learning_rate))
    happened = "probe" if run.best_epoch == 0 else "fine-tuned"
    if happened == "fine-tuned":
        why = _("epoch {epoch} beat the probe on validation ({accuracy:.3f} against {start:.3f}), so early stopping "
                "kept it: at this rate the blocks still adapted.").format(
            epoch=run.best_epoch, accuracy=run.val_accuracy, start=run.start_val_accuracy)
    else:
        why = _("no epoch beat the probe's validation accuracy ({start:.3f}), so early stopping from "
                "the start handed back the probe: the larger steps cost more than they gained.").format(
            start=run.start_val_accuracy)
    if key == happened:
        return Feedback(True, _("as you predicted: {why}").format(why=why))
    return Feedback(False, _("the run ended otherwise: {why} What did you expect the larger peak to do to the first "
                             "epochs?").format(why=why))
