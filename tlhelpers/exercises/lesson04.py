"""Exercise checks for lesson 04 (the fine-tuning toolkit).

Each check reads what the student's own objects hold (the LR finder's sweep, the model's
blocks) rather than one stored answer, so it holds for either track.

Example:
    >>> check_lr_choice(None, None)
    ❌ Not yet: no answer yet: set answer to a learning rate (a number) read off the x axis of the plot.
"""

from __future__ import annotations

import math
from typing import Any

import keras

from tlhelpers.checks import Feedback
from tlhelpers.discriminative import block_learning_rates
from tlhelpers.exercises._common import as_number, not_answered
from tlhelpers.i18n import _
from tlhelpers.transfer import find_backbone

__all__ = ["check_block_rate", "check_lr_choice"]


def check_lr_choice(answer: Any, finder: Any) -> Feedback:
    """Exercise 1: a learning rate read from an LR-finder sweep.

    Right: at or below the rate where the smoothed loss was lowest, and no more than 100
    times below it (lower still, the loss barely moves and training crawls).

    Example:
        >>> check_lr_choice(None, finder)  # doctest: +SKIP
        ❌ Not yet: no answer yet: set answer to a learning rate (a number) read off the x axis of the plot.
    """
    if answer is None:
        return not_answered(_("set answer to a learning rate (a number) read off the x axis of the plot."))
    try:
        lr = float(answer)
    except (TypeError, ValueError):
        return Feedback(False, _("the answer should be a number (a learning rate read off the plot), got "
                                 "{answer!r}.").format(answer=answer))
    if not math.isfinite(lr) or lr <= 0:
        return Feedback(False, _("a learning rate must be a positive number, got {answer!r}.").format(answer=answer))
    try:
        lrs, smooth = finder._usable()
    except (AttributeError, ValueError) as err:
        return Feedback(False, _("run the LR finder first (find_lr): {error}").format(error=err))
    best = float(lrs[int(smooth.argmin())])
    diverged = finder.diverged_lr
    if diverged is not None and lr >= diverged:
        return Feedback(False, _("{lr:g} is at or past the point where the finder stopped: there the loss explodes. "
                                 "Look further left on the plot.").format(lr=lr))
    if lr > best * 1.0001:
        return Feedback(False, _("{lr:g} is right of the curve's lowest point: there the loss is already turning "
                                 "upward. Pick a rate on the falling part of the curve, left of the minimum.").format(
            lr=lr))
    if lr < best / 100:
        return Feedback(False, _("{lr:g} is more than 100x left of the curve's lowest point: at such rates the "
                                 "loss barely moves, so training would crawl. Look where the curve falls "
                                 "steeply.").format(lr=lr))
    return Feedback(True, _("{lr:g} lies on the falling part of the curve, at or below {best:.2g} where the "
                            "smoothed loss is lowest (the finder's own rule says {suggestion:.2g}).").format(
        lr=lr, best=best, suggestion=finder.suggestion()))


def check_block_rate(answer: Any, model: keras.Model, head_lr: float = 1e-3, decay: float = 0.5) -> Feedback:
    """Exercise 2: the learning rate of the third block from the top under ``block_learning_rates``.

    Example:
        >>> check_block_rate(None, model)  # doctest: +SKIP
        ❌ Not yet: no answer yet: set answer to a learning rate (a number).
    """
    if answer is None:
        return not_answered(_("set answer to a learning rate (a number)."))
    value = as_number(answer)
    if value is None or value <= 0:
        return Feedback(False, _("the answer should be a positive number (a learning rate), got {answer!r}.").format(
            answer=answer))
    spec = find_backbone(model)[1]
    block = spec.block_names[-3]
    rate = block_learning_rates(model, head_lr, decay)[block]
    if math.isclose(value, rate, rel_tol=1e-3):
        return Feedback(True, _("{block}, the third block from the top, gets {head_lr:g} x {decay:g}^3 = {rate:g}: "
                                "the head gets the full rate and each block down one more factor of decay.").format(
            block=block, head_lr=head_lr, decay=decay, rate=rate))
    if math.isclose(value, head_lr * decay ** 2, rel_tol=1e-3) or math.isclose(value, head_lr * decay ** 4, rel_tol=1e-3):
        return Feedback(False, _("{value:g} is one factor of decay off: count the factors again, starting from the "
                                 "head (which gets head_lr itself) and going down one block at a time.").format(
            value=value))
    return Feedback(False, _("{value:g} is not the rate block_learning_rates gives that block. The head gets head_lr; "
                             "the top block head_lr x decay; each block further down one more factor of "
                             "decay.").format(value=value))
