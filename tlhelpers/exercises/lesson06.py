"""Exercise checks for lesson 06 (hyperparameter search over both fine-tuning phases).

Each check tests the property asked for, works in either track (block counts come from
the backbone registry) and says why an answer is right or wrong.

Example:
    >>> check_uniform_share(None)
    ❌ Not yet: no answer yet: set answer to a share between 0 and 1. Hint: a uniform draw from [low, high] lands below x with probability (x - low) / (high - low).
    >>> check_search_space(None, "fashion_cnn")
    ❌ Not yet: no answer yet: set answer to a tlhelpers.tuning.SearchSpace(...).
    >>> check_best_is_optimistic("b").correct
    True
"""

from __future__ import annotations

from typing import Any

from tlhelpers.backbones import get_spec
from tlhelpers.checks import Feedback, check_choice
from tlhelpers.exercises._common import as_number, not_answered
from tlhelpers.i18n import N_, _

__all__ = ["check_best_is_optimistic", "check_search_space", "check_uniform_share"]

LOW, HIGH, CUT = 1e-5, 1e-2, 1e-3
_SHARE_HINT = N_("a uniform draw from [low, high] lands below x with probability (x - low) / (high - low).")


def uniform_share(low: float = LOW, high: float = HIGH, cut: float = CUT) -> float:
    """Chance that a uniform draw from ``[low, high]`` is below ``cut``.

    Example:
        >>> round(uniform_share(), 4)
        0.0991
    """
    return (cut - low) / (high - low)


def check_uniform_share(answer: Any) -> Feedback:
    """Exercise 1: the share of *uniform* draws from [1e-5, 1e-2] that land below 1e-3.

    Example:
        >>> check_uniform_share(0.1).correct
        True
    """
    if answer is None:
        return not_answered(_("set answer to a share between 0 and 1. Hint: {hint}").format(hint=_(_SHARE_HINT)))
    value = as_number(answer)
    if value is None:
        return Feedback(False, _("the share should be a number between 0 and 1, got {answer!r}. Hint: {hint}").format(
            answer=answer, hint=_(_SHARE_HINT)))
    expected = uniform_share()
    if abs(value - expected) <= 0.005:
        return Feedback(True, _("the share is {value:g}: only about 1 draw in 10 would try a rate below 1e-3, where "
                                "fine-tuning rates usually live; log sampling gives each decade the same share (1/3 "
                                "each here).").format(value=value))
    if abs(value - 2 / 3) < 0.05:
        return Feedback(False, _("2/3 is the share with *log* sampling (two of the three decades lie below 1e-3); "
                                 "the question asks about uniform sampling."))
    if 1 < value <= 100 and abs(value / 100 - expected) <= 0.005:
        return Feedback(False, _("that looks like a percentage; give the share as a fraction between 0 and 1."))
    return Feedback(False, _("the share is not {value:g}. Hint: {hint}").format(value=value, hint=_(_SHARE_HINT)))


def check_search_space(answer: Any, backbone: str) -> Feedback:
    """Exercise 2: a space with fine_lr in [1e-5, 1e-3] (log), depth 1 .. half the blocks, dropout 0.0 .. 0.5.

    Example:
        >>> from tlhelpers.tuning import SearchSpace
        >>> check_search_space(SearchSpace(fine_lr=(1e-5, 1e-3), blocks=(1, 2), dropout=(0.0, 0.5)), "fashion_cnn").correct
        True
    """
    from tlhelpers.tuning import SearchSpace

    spec = get_spec(backbone)
    half = spec.num_blocks // 2
    if answer is None:
        return not_answered(_("set answer to a tlhelpers.tuning.SearchSpace(...)."))
    if not isinstance(answer, SearchSpace):
        return Feedback(False, _("answer should be a tlhelpers.tuning.SearchSpace(...), got {answer!r}.").format(
            answer=answer))
    try:
        answer.validate(spec.num_blocks)
    except ValueError as err:
        return Feedback(False, _("this space is not valid for {backbone}: {error}").format(backbone=backbone, error=err))
    low, high = answer.fine_lr
    if abs(low - 1e-5) > 1e-12 or abs(high - 1e-3) > 1e-10:
        return Feedback(False, _("fine_lr should span (1e-5, 1e-3), got {fine_lr!r}. SearchSpace samples it on a "
                                 "log scale by itself.").format(fine_lr=answer.fine_lr))
    blocks = answer.block_range(spec.num_blocks)
    if blocks[0] < 1:
        return Feedback(False, _("blocks={blocks!r} allows K=0 (the base stays frozen); the exercise asks to "
                                 "always fine-tune at least one block.").format(blocks=answer.blocks))
    if blocks[1] > half:
        return Feedback(False, _("blocks={blocks!r} lets the search fine-tune more than half of {backbone}'s "
                                 "blocks. Count them with spec.num_blocks.").format(blocks=answer.blocks,
                                                                                   backbone=backbone))
    if blocks[1] < half:
        return Feedback(False, _("blocks={blocks!r} stops short of half of {backbone}'s blocks. Count them "
                                 "with spec.num_blocks.").format(blocks=answer.blocks, backbone=backbone))
    if not isinstance(answer.dropout, (tuple, list)) or tuple(answer.dropout) != (0.0, 0.5):
        return Feedback(False, _("dropout should be searched as the pair (0.0, 0.5), got {dropout!r}.").format(
            dropout=answer.dropout))
    return Feedback(True, _("fine_lr from 1e-5 to 1e-3 on a log scale, K from 1 to {half} of {num_blocks} blocks "
                            "({top_blocks} at most), dropout from 0.0 to 0.5 in steps of 0.1: "
                            "{searched} are searched.").format(
        half=half, num_blocks=spec.num_blocks, top_blocks=", ".join(spec.block_names[-half:]),
        searched=", ".join(answer.searched())))


BEST_CHOICES = {
    "a": N_("Yes: the validation split was never trained on, so its accuracy is unbiased."),
    "b": N_("No: it is the largest of many noisy validation scores, so it is biased upwards; the test split, used "
            "once after the search, gives the honest estimate."),
    "c": N_("No: validation accuracy is always lower than test accuracy."),
}


def check_best_is_optimistic(answer: Any) -> Feedback:
    """Exercise 3: is the best trial's validation accuracy an honest estimate for new data?

    Example:
        >>> check_best_is_optimistic("a")
        ❌ Not yet: your answer 'a' is not right. Hint: each trial's validation score is unbiased on its own; what happens when you keep only the largest of several?
    """
    options = ", ".join(repr(k) for k in BEST_CHOICES)
    if answer is None:
        return not_answered(_("set answer to one of {keys}.").format(keys=options))
    if answer not in BEST_CHOICES:
        return Feedback(False, _("{answer!r} is not one of the options: set answer to one of {keys}.").format(
            answer=answer, keys=options))
    return check_choice(
        answer, {"b"}, _("your answer"),
        _("the search used the validation split to choose, so the winner's score includes the luck that made it win "
          "(the more trials, the more luck). That is why the test split stays untouched until the one final "
          "measurement."),
        hint=_("each trial's validation score is unbiased on its own; what happens when you keep only the largest of "
               "several?"),
    )
