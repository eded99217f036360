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

LOW, HIGH, CUT = 1e-5, 1e-2, 1e-3
_SHARE_HINT = "a uniform draw from [low, high] lands below x with probability (x - low) / (high - low)."


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
        return not_answered(f"set answer to a share between 0 and 1. Hint: {_SHARE_HINT}")
    value = as_number(answer)
    if value is None:
        return Feedback(False, f"the share should be a number between 0 and 1, got {answer!r}. Hint: {_SHARE_HINT}")
    expected = uniform_share()
    if abs(value - expected) <= 0.005:
        return Feedback(True, f"the share is {value:g}: only about 1 draw in 10 would try a rate below 1e-3, where "
                              "fine-tuning rates usually live; log sampling gives each decade the same share (1/3 "
                              "each here).")
    if abs(value - 2 / 3) < 0.05:
        return Feedback(False, "2/3 is the share with *log* sampling (two of the three decades lie below 1e-3); "
                               "the question asks about uniform sampling.")
    if 1 < value <= 100 and abs(value / 100 - expected) <= 0.005:
        return Feedback(False, "that looks like a percentage; give the share as a fraction between 0 and 1.")
    return Feedback(False, f"the share is not {value:g}. Hint: {_SHARE_HINT}")


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
        return not_answered("set answer to a tlhelpers.tuning.SearchSpace(...).")
    if not isinstance(answer, SearchSpace):
        return Feedback(False, f"answer should be a tlhelpers.tuning.SearchSpace(...), got {answer!r}.")
    try:
        answer.validate(spec.num_blocks)
    except ValueError as err:
        return Feedback(False, f"this space is not valid for {backbone}: {err}")
    low, high = answer.fine_lr
    if abs(low - 1e-5) > 1e-12 or abs(high - 1e-3) > 1e-10:
        return Feedback(False, f"fine_lr should span (1e-5, 1e-3), got {answer.fine_lr!r}. SearchSpace samples it on a "
                               "log scale by itself.")
    blocks = answer.block_range(spec.num_blocks)
    if blocks[0] < 1:
        return Feedback(False, f"blocks={answer.blocks!r} allows K=0 (the base stays frozen); the exercise asks to "
                               "always fine-tune at least one block.")
    if blocks[1] > half:
        return Feedback(False, f"blocks={answer.blocks!r} lets the search fine-tune more than half of {backbone}'s "
                               "blocks. Count them with spec.num_blocks.")
    if blocks[1] < half:
        return Feedback(False, f"blocks={answer.blocks!r} stops short of half of {backbone}'s blocks. Count them "
                               "with spec.num_blocks.")
    if not isinstance(answer.dropout, (tuple, list)) or tuple(answer.dropout) != (0.0, 0.5):
        return Feedback(False, f"dropout should be searched as the pair (0.0, 0.5), got {answer.dropout!r}.")
    return Feedback(True, f"fine_lr from 1e-5 to 1e-3 on a log scale, K from 1 to {half} of {spec.num_blocks} blocks "
                          f"({', '.join(spec.block_names[-half:])} at most), dropout from 0.0 to 0.5 in steps of 0.1: "
                          f"{', '.join(answer.searched())} are searched.")


BEST_CHOICES = {
    "a": "Yes: the validation split was never trained on, so its accuracy is unbiased.",
    "b": "No: it is the largest of many noisy validation scores, so it is biased upwards; the test split, used "
         "once after the search, gives the honest estimate.",
    "c": "No: validation accuracy is always lower than test accuracy.",
}


def check_best_is_optimistic(answer: Any) -> Feedback:
    """Exercise 3: is the best trial's validation accuracy an honest estimate for new data?

    Example:
        >>> check_best_is_optimistic("a")
        ❌ Not yet: your answer 'a' is not right. Hint: each trial's validation score is unbiased on its own; what happens when you keep only the largest of several?
    """
    options = ", ".join(repr(k) for k in BEST_CHOICES)
    if answer is None:
        return not_answered(f"set answer to one of {options}.")
    if answer not in BEST_CHOICES:
        return Feedback(False, f"{answer!r} is not one of the options: set answer to one of {options}.")
    return check_choice(
        answer, {"b"}, "your answer",
        "the search used the validation split to choose, so the winner's score includes the luck that made it win "
        "(the more trials, the more luck). That is why the test split stays untouched until the one final measurement.",
        hint="each trial's validation score is unbiased on its own; what happens when you keep only the largest of several?",
    )
