"""Exercise checks for lesson 06 (the challenges of transfer learning).

Each check computes the right answer from the tables the student's own notebook measured,
so it holds whatever the machine's speed or the backbone's weights, and explains the usual
wrong answers.

Example:
    >>> check_global_batch(64, per_replica=32, replicas=2)
    ✅ Correct: with 2 replicas of 32 images each, fit() gets batch_size=64: every step splits it into 2 slices of 32.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tlhelpers.checks import Feedback
from tlhelpers.plots_challenges import METHOD_LABELS


def _method_key(answer: Any) -> str | None:
    if not isinstance(answer, str):
        return None
    text = answer.strip()
    by_label = {label: key for key, label in METHOD_LABELS.items()}
    return text if text in METHOD_LABELS else by_label.get(text)


def check_cheapest_method(answer: Any, cost) -> Feedback:
    """Exercise 1: the method that trained fastest on the largest data size in ``cost``.

    ``cost`` is what :func:`tlhelpers.challenges.measure_cost` returned. Any method within
    5 % of the fastest time counts (timings wobble).

    Example:
        >>> import pandas as pd
        >>> cost = pd.DataFrame({"method": ["fine_tune", "cached"], "train_images": [500, 500],
        ...                      "seconds": [9.0, 2.0], "test_accuracy": [0.7, 0.7]})
        >>> check_cheapest_method("cached", cost).correct
        True
    """
    methods = list(dict.fromkeys(cost["method"]))
    if answer is None:
        return Feedback(False, f"set answer to a method name from the cost table: one of {methods}.")
    key = _method_key(answer)
    if key is None or key not in methods:
        return Feedback(False, f"{answer!r} is not a method in the cost table; choose one of {methods}.")
    largest = cost[cost["train_images"] == cost["train_images"].max()].set_index("method")["seconds"]
    fastest = float(largest.min())
    mine = float(largest[key])
    if mine <= fastest * 1.05:
        return Feedback(True, f"at {int(cost['train_images'].max())} images {key!r} took {mine:.2f} s, the least "
                              "of all: its cost grows slowest with the data.")
    smallest = cost[cost["train_images"] == cost["train_images"].min()].set_index("method")["seconds"]
    if float(smallest[key]) <= float(smallest.min()) * 1.05:
        return Feedback(False, f"{key!r} was cheapest on the smallest data, but the question is about the largest "
                               f"size ({int(cost['train_images'].max())} images), where it took {mine:.2f} s "
                               f"against {fastest:.2f} s.")
    return Feedback(False, f"{key!r} took {mine:.2f} s at the largest size; another method took {fastest:.2f} s. "
                           "Read the last row of each method in the cost table (or the right end of the plot).")


def check_global_batch(answer: Any, per_replica: int, replicas: int) -> Feedback:
    """Exercise 2: the ``batch_size`` to pass to ``fit`` under a strategy with ``replicas``
    replicas so that each replica processes ``per_replica`` images per step.

    Example:
        >>> check_global_batch(32, per_replica=32, replicas=2).correct
        False
    """
    right = per_replica * replicas
    if answer is None:
        return Feedback(False, "set answer to the batch_size you pass to fit(): a whole number, from "
                               "per_replica and strategy.num_replicas_in_sync.")
    if isinstance(answer, bool) or not isinstance(answer, (int, np.integer)):
        return Feedback(False, f"a batch size is a whole number, got {answer!r}.")
    if answer == right:
        return Feedback(True, f"with {replicas} replicas of {per_replica} images each, fit() gets "
                              f"batch_size={right}: every step splits it into {replicas} slices of {per_replica}.")
    if answer == per_replica and replicas > 1:
        return Feedback(False, f"{per_replica} is the per-replica batch; fit() takes the global batch, which the "
                               f"strategy splits over {replicas} replicas: each would only get "
                               f"{per_replica // replicas}.")
    if replicas > 1 and answer == per_replica // replicas:
        return Feedback(False, "you divided; the global batch is the per-replica batch times the number of "
                               "replicas.")
    return Feedback(False, f"{answer} is not it: multiply the per-replica batch ({per_replica}) by "
                           f"strategy.num_replicas_in_sync ({replicas}).")


def check_gentlest_setting(answer: Any, table) -> Feedback:
    """Exercise 3: the fine-tuning setting that kept the most of what the backbone knew.

    ``table`` is :func:`tlhelpers.challenges.forgetting_table`'s. The measure is the source
    accuracy lost (``forgotten``), or, where the source cannot be measured (ImageNet
    offline), the feature similarity before/after. Ties within 0.01 count.

    Example:
        >>> import pandas as pd
        >>> t = pd.DataFrame({"forgotten": [0.0, 0.5], "feature_similarity": [0.9, 0.3]}, index=["low", "high"])
        >>> check_gentlest_setting("low", t).correct
        True
    """
    settings = list(table.index)
    if answer is None:
        return Feedback(False, f"set answer to one setting from the table's index: one of {settings}.")
    if answer not in settings:
        return Feedback(False, f"{answer!r} is not a setting of the table; choose one of {settings}.")
    use_source = not table["forgotten"].isna().any()
    score = table["forgotten"] if use_source else -table["feature_similarity"]
    what = "source accuracy lost" if use_source else "features changed (1 - cosine similarity)"
    best = float(score.min())
    mine = float(score[answer])
    shown = (lambda v: f"{v:.3f}") if use_source else (lambda v: f"{1 + v:.3f}")
    if mine <= best + 0.01:
        return Feedback(True, f"{answer!r}: {what} {shown(mine)}, the least of all settings: a low learning rate "
                              "changes the pretrained weights only a little.")
    if score.idxmax() == answer:
        return Feedback(False, f"{answer!r} is the setting that forgot the most ({what} {shown(mine)}); "
                               "look for the smallest loss.")
    return Feedback(False, f"{answer!r} lost {shown(mine)}, another setting only {shown(best)}: compare the "
                           "'forgotten' column.")
