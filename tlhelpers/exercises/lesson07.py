"""Exercise checks for lesson 07 (the challenges of transfer learning).

Each check computes the truth itself (from the architecture, or from the tables the
student's own notebook measured), so it holds whatever the machine's speed or the
backbone's weights; it explains the usual wrong answers and never shows the expected
answer for a missing or wrong one.

Example:
    >>> check_per_replica(16, global_batch=64, replicas=4)
    ✅ Correct: fit() takes the global batch: the strategy splits 64 images into 4 slices of 16, one per replica, and averages their gradients.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tlhelpers.checks import Feedback
from tlhelpers.exercises._common import (
    architecture_at,
    as_number,
    multiply_adds,
    not_answered,
)
from tlhelpers.i18n import _

__all__ = ["check_adapt_and_keep", "check_per_replica", "check_work_ratio"]


def work_ratio(backbone: str, input_size: int, small_size: int) -> float:
    """How many times more multiply-adds one image costs the backbone at ``input_size`` than at ``small_size``.

    Example:
        >>> work_ratio("fashion_cnn", 32, 16)
        4.0
    """
    return multiply_adds(architecture_at(backbone, input_size)) / multiply_adds(architecture_at(backbone, small_size))


def _measured_speedup(cost) -> str:
    """What section 1 measured for the smaller input, as a sentence ('' without a usable table)."""
    try:
        largest = cost[cost["train_images"] == cost["train_images"].max()].set_index("method")["seconds"]
        full, small = float(largest["fine_tune"]), float(largest["small_input"])
        images = int(cost["train_images"].max())
    except (KeyError, TypeError, AttributeError, IndexError, ValueError):
        return ""
    return _(" Section 1 measured it end to end at {images} images: fine_tune {full:.2f} s, small_input "
             "{small:.2f} s, {speedup:.1f}x. Training also pays costs that do not shrink with the image "
             "(Python and framework overhead per step, the head, reading the data), so the seconds fall by less "
             "than the arithmetic, if at all.").format(images=images, full=full, small=small, speedup=full / small)


def check_work_ratio(answer: Any, backbone: str, input_size: int, small_size: int, cost=None) -> Feedback:
    """Exercise 1: how many times less arithmetic the backbone does per image at ``small_size``.

    The truth is counted from the architecture at both sizes (:func:`work_ratio`); an
    answer within 25 % of it is right (the pixel count predicts it; padding at small
    feature maps makes the count differ a little). ``cost``, the table of section 1, adds
    what was measured in seconds.

    Example:
        >>> check_work_ratio(4, "fashion_cnn", 32, 16).correct
        True
        >>> check_work_ratio(2, "fashion_cnn", 32, 16).message
        'not 2: halving the side halves the height and the width of the image, and of every feature map inside the backbone. Count what that does to the number of positions a convolution visits.'
    """
    if answer is None:
        return not_answered(_("set answer to how many times less arithmetic per image the backbone does at "
                              "{small_size} px than at {input_size} px (a number above 1).").format(
            small_size=small_size, input_size=input_size))
    value = as_number(answer)
    if value is None or value <= 0:
        return Feedback(False, _("answer should be a positive number (a factor such as 1.5), got {answer!r}.").format(
            answer=answer))
    truth = work_ratio(backbone, input_size, small_size)
    side = input_size / small_size

    def near(x: float) -> bool:
        return 0.8 <= value / x <= 1.25

    if near(truth):
        exact = "" if abs(truth - side**2) < 0.01 * truth else _(
            " (not exactly {pixels:g}: at these small sizes the last feature maps round up, "
            "which shrinks the saving a little)").format(pixels=side**2)
        return Feedback(True, _("the backbone does {truth:.2f}x less arithmetic per image at {small_size} px than "
                                "at {input_size} px{exact}: a convolution costs the same per position, and the side "
                                "{side:g}x smaller leaves {pixels:g}x fewer positions.{measured}").format(
            truth=truth, small_size=small_size, input_size=input_size, exact=exact, side=side, pixels=side**2,
            measured=_measured_speedup(cost)))
    if value < 1 and near(1 / truth):
        why = _("that is the fraction that remains; the question asks how many times less, a number above 1.")
    elif near(side):
        why = _("halving the side halves the height and the width of the image, and of every feature map inside "
                "the backbone. Count what that does to the number of positions a convolution visits.")
    elif near(1.0):
        why = _("the weights stay the same, but a convolution applies them at every position of its input: fewer "
                "pixels, fewer positions.")
    else:
        why = _("a convolution does the same work at every position of its feature map, and the maps shrink with "
                "the image: compare the number of pixels at the two sizes.")
    return Feedback(False, _("not {value:g}: {why}").format(value=value, why=why))


def check_per_replica(answer: Any, global_batch: int, replicas: int) -> Feedback:
    """Exercise 2: the images each replica processes per step when ``fit`` gets ``batch_size=global_batch``.

    Under ``tf.distribute.MirroredStrategy``, ``fit``'s ``batch_size`` is the *global* batch:
    the strategy splits it into ``replicas`` equal slices, so the answer is
    ``global_batch // replicas`` (16 for the lesson's 64 on 4 replicas). A whole number is
    expected; a float with a whole value (``64 / 4`` gives ``16.0``) counts as that number.
    The usual mistakes, the global batch itself and the global batch times the replicas,
    get their own explanation; no message shows the expected number.

    Raises:
        ValueError: ``replicas`` below 1, or a ``global_batch`` that the replicas do not
            divide evenly (the question would have no single answer).

    Example:
        >>> check_per_replica(16, global_batch=64, replicas=4).correct
        True
        >>> check_per_replica(64 / 4, global_batch=64, replicas=4).correct
        True
    """
    if not isinstance(replicas, (int, np.integer)) or replicas < 1:
        raise ValueError(_("replicas must be a whole number of at least 1, got {replicas!r}").format(replicas=replicas))
    if not isinstance(global_batch, (int, np.integer)) or global_batch < 1 or global_batch % replicas:
        raise ValueError(_("global_batch must be a positive multiple of replicas ({replicas}), got {global_batch!r}: "
                           "choose one that splits into equal slices").format(replicas=replicas,
                                                                              global_batch=global_batch))
    right = global_batch // replicas
    if answer is None:
        return not_answered(_("set answer to the number of images each replica processes per step: a whole number."))
    value = as_number(answer)
    if isinstance(answer, str) or value is None or value != int(value):
        return Feedback(False, _("a number of images is a whole number, got {answer!r}.").format(answer=answer))
    value = int(value)
    if value == right:
        return Feedback(True, _("fit() takes the global batch: the strategy splits {global_batch} images into "
                                "{replicas} slices of {right}, one per replica, and averages their gradients.").format(
            global_batch=global_batch, replicas=replicas, right=right))
    if value == global_batch:
        return Feedback(False, _("that is the batch passed to fit(): the global batch, which the strategy splits "
                                 "among the replicas. What does each one get?"))
    if value == global_batch * replicas:
        return Feedback(False, _("you multiplied: the batch passed to fit() is already the global one, and each "
                                 "replica gets a share of it, not a copy of it times the replicas."))
    return Feedback(False, _("{value} is not it: the strategy cuts the batch passed to fit() into one equal slice "
                             "per replica.").format(value=value))


ADAPT_TOLERANCE = 0.03  # exercise 3: "adapted" = target accuracy within this of the best setting's


def _kept_measure(table) -> tuple[Any, str, str]:
    """What each setting lost of the old task (lower is better), what to call it, and where to read it."""
    if not table["forgotten"].isna().any():
        return table["forgotten"], _("source accuracy lost"), _("the forgotten column")
    return (1 - table["feature_similarity"], _("feature change (1 - feature_similarity)"),
            _("the feature_similarity column (higher: the features moved less)"))


def check_adapt_and_keep(answer: Any, table, tolerance: float = ADAPT_TOLERANCE) -> Feedback:
    """Exercise 3: the setting that adapted to the new task *and* kept the most of the old one.

    ``table`` is :func:`tlhelpers.challenges.forgetting_table`'s. A setting *adapted* when its
    ``target_accuracy`` is within ``tolerance`` of the best setting's; among those, the right
    answer lost the least of the old task: ``forgotten`` (source accuracy lost) or, where
    the source cannot be measured (ImageNet offline), the change of the features
    (1 - ``feature_similarity``). Ties within 0.01 count. Both criteria are graded, and the
    feedback quotes the measured values.

    Example:
        >>> import pandas as pd
        >>> t = pd.DataFrame({"target_accuracy": [0.50, 0.70, 0.71], "forgotten": [0.01, 0.60, 0.20],
        ...                   "feature_similarity": [0.99, 0.30, 0.80]}, index=["low", "high", "top"])
        >>> check_adapt_and_keep("top", t).correct
        True
        >>> check_adapt_and_keep("low", t).message
        "'low' kept the most (source accuracy lost 0.010), but reached target accuracy 0.500, more than 0.03 below the best setting's 0.710: it did not adapt to the new task as well as the question asks. Read the target_accuracy column first."
    """
    settings = list(table.index)
    if answer is None:
        return not_answered(_("set answer to one setting, a name from the table's index (forgetting.index)."))
    if answer not in settings:
        return Feedback(False, _("{answer!r} is not a setting of the table; choose one of {settings}.").format(
            answer=answer, settings=settings))
    lost, what, column = _kept_measure(table)

    def shown(value: float) -> str:
        return f"{value:.3f}"

    accuracy = table["target_accuracy"]
    best_accuracy = float(accuracy.max())
    adapted = [s for s in settings if float(accuracy[s]) >= best_accuracy - tolerance]
    least = min(float(lost[s]) for s in adapted)
    mine_accuracy, mine_lost = float(accuracy[answer]), float(lost[answer])
    measured = _("target accuracy {accuracy:.3f}, {what} {lost}").format(
        accuracy=mine_accuracy, what=what, lost=shown(mine_lost))
    if answer not in adapted:
        kept_most = mine_lost <= float(lost.min()) + 0.01
        if kept_most:
            message = _("{answer!r} kept the most ({what} {lost}), but reached target accuracy {accuracy:.3f}, more "
                        "than {tolerance:g} below the best setting's {best:.3f}: it did not adapt to the new task as "
                        "well as the question asks. Read the target_accuracy column first.")
        else:
            message = _("{answer!r} reached target accuracy {accuracy:.3f}, more than {tolerance:g} below the best "
                        "setting's {best:.3f}: it did not adapt to the new task as well as the question asks. Read "
                        "the target_accuracy column first.")
        return Feedback(False, message.format(answer=answer, what=what, lost=shown(mine_lost), accuracy=mine_accuracy,
                                              tolerance=tolerance, best=best_accuracy))
    if mine_lost > least + 0.01:
        return Feedback(False, _("{answer!r} adapted ({measured}), but another setting within {tolerance:g} of the "
                                 "best target accuracy lost less of the old task. Among the settings that adapted, "
                                 "compare {column}.").format(answer=answer, measured=measured, tolerance=tolerance,
                                                             column=column))
    others = [s for s in settings if s not in adapted and float(lost[s]) < mine_lost - 0.01]
    trade = "".join(
        _(" {setting!r} lost less ({lost}) but reached only {accuracy:.3f}: it barely adapted.").format(
            setting=s, lost=shown(float(lost[s])), accuracy=float(accuracy[s]))
        for s in others
    )
    return Feedback(True, _("{answer!r}: {measured}; of the {count} setting(s) within {tolerance:g} of the best "
                            "target accuracy ({best:.3f}) it lost the least of the old task.{trade}").format(
        answer=answer, measured=measured, count=len(adapted), tolerance=tolerance, best=best_accuracy, trade=trade))
