"""The label-budget experiment of lesson 00: pretrained vs from scratch at several label budgets.

:func:`budget_experiment` trains once per budget (through :func:`tlhelpers.strategies.compare`,
with the frozen base's features cached once for the largest budget and cut down for each
smaller one by :func:`at_budget`); :func:`summarize` and :func:`plot_budget_curve` read its
results. The slider that explores them, without retraining, is
:class:`tlhelpers.widgets.label_budget.LabelBudgetExplorer`.

Example:
    >>> from tlhelpers.budget import budget_experiment, plot_budget_curve
    >>> results = budget_experiment(task, prepared, "fashion_cnn", budgets=(1, 5, 20))  # doctest: +SKIP
    >>> plot_budget_curve(results, chance=0.2)                                          # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable, Sequence

import numpy as np

from tlhelpers.data import Task, first_per_class
from tlhelpers.display import finished
from tlhelpers.i18n import N_, LazyText, _
from tlhelpers.strategies import PreparedTask

__all__ = [
    "STRATEGY_LABELS",
    "STRATEGY_STYLES",
    "at_budget",
    "auto_batch_size",
    "budget_experiment",
    "summarize",
    "plot_budget_curve",
]

STRATEGY_LABELS = {  # shown in the active language (LazyText)
    "scratch": LazyText(N_("from scratch (random weights)")),
    "probe": LazyText(N_("pretrained, frozen (new head only)")),
    "fine_tune": LazyText(N_("pretrained, fine-tuned")),
}
STRATEGY_STYLES = {"scratch": ("#b42318", "o--"), "probe": ("#1f5fa8", "s-"), "fine_tune": ("#1a7f37", "^-")}


def at_budget(task: Task, prepared: PreparedTask, labels_per_class: int) -> tuple[Task, PreparedTask]:
    """The same task and cached inputs/features cut down to ``labels_per_class`` per class.

    :func:`tlhelpers.data.label_budget` draws budgets so that a smaller budget's training
    and validation examples are the first ones of a larger budget's (same seed), so one
    :func:`tlhelpers.strategies.prepare` for the largest budget serves every smaller one:
    k training labels per class and at most k validation labels per class, the examples
    ``load_task(labels_per_class=k)`` would give. The test split does not change.

    Raises:
        ValueError: ``labels_per_class`` below 1 or above the task's budget.

    Example:
        >>> small_task, small_prepared = at_budget(task, prepared, 5)  # doctest: +SKIP
    """
    have = len(task.y_train) // task.num_classes
    if not 1 <= labels_per_class <= have:
        raise ValueError(_("labels_per_class must be between 1 and the task's {have}, got {k}").format(
            have=have, k=labels_per_class))
    keep = first_per_class(task.y_train, labels_per_class)
    keep_val = first_per_class(task.y_val, labels_per_class)

    def cut(array, rows):
        return None if array is None else array[rows] if isinstance(array, np.ndarray) else np.asarray(array)[rows]

    small_task = replace(task, x_train=task.x_train[keep], y_train=task.y_train[keep],
                         x_val=task.x_val[keep_val], y_val=task.y_val[keep_val])
    small_prepared = replace(prepared, x_train=cut(prepared.x_train, keep), f_train=cut(prepared.f_train, keep),
                             x_val=cut(prepared.x_val, keep_val), f_val=cut(prepared.f_val, keep_val))
    return small_task, small_prepared


def auto_batch_size(examples: int, steps: int = 5, smallest: int = 4, largest: int = 16) -> int:
    """A batch size giving about ``steps`` gradient steps per epoch, within ``smallest..largest``.

    With 5 training images a batch of 16 would mean one step per epoch, and early stopping
    would judge a model after a handful of updates; small budgets get smaller batches so
    every budget trains for a comparable number of steps. The floor keeps validation
    cheap: Keras evaluates the validation split in batches of the same size after every
    epoch, and batches of one image would make that the slowest part of training.

    Example:
        >>> [auto_batch_size(n) for n in (5, 25, 100)]
        [4, 5, 16]
    """
    return int(max(smallest, min(largest, -(-examples // steps))))


def budget_experiment(
    task: Task,
    prepared: PreparedTask,
    backbone: str,
    budgets: Iterable[int] = (1, 5, 20),
    *,
    strategies: Sequence[str] = ("scratch", "probe"),
    seeds: Iterable[int] = (0,),
    input_size: int | None = None,
    progress: bool = True,
    **compare_args,
):  # -> pandas.DataFrame
    """Run :func:`tlhelpers.strategies.compare` at each label budget; one row per run.

    Args:
        task: the task at the largest budget (``load_task(labels_per_class=max(budgets))``).
        prepared: ``prepare(task, backbone, input_size, base=base)``: features cached once.
        backbone: registry name.
        budgets: labels per class to try.
        strategies: passed to ``compare`` (``"scratch"``, ``"probe"``, ``"fine_tune"``).
        seeds: one run per seed and budget.
        input_size: the backbone's input side.
        progress: show a tqdm bar over the budgets.
        **compare_args: e.g. ``max_epochs``, ``patience``, ``recipe``; ``batch_size``
            defaults to :func:`auto_batch_size` of each budget.

    Returns:
        The rows of every ``compare`` call (``strategy``, ``labels_per_class``, ``seed``,
        ``test_accuracy``, ``val_accuracy``, ``epochs``, ``seconds``).

    Example:
        >>> results = budget_experiment(task, prepared, "fashion_cnn", budgets=(1, 5, 20))  # doctest: +SKIP
    """
    import pandas as pd
    from tqdm.auto import tqdm

    from tlhelpers.strategies import compare

    budgets = sorted(set(int(b) for b in budgets))
    frames = []
    for k in tqdm(budgets, desc=_("label budgets"), disable=not progress):
        small_task, small_prepared = at_budget(task, prepared, k)
        args = dict(compare_args)
        if args.get("batch_size", "auto") == "auto":
            args["batch_size"] = auto_batch_size(len(small_task.y_train))
        frames.append(compare(small_task, backbone, strategies=strategies, seeds=seeds,
                              input_size=input_size, prepared=small_prepared, **args))
    return pd.concat(frames, ignore_index=True)


def summarize(results):  # -> pandas.DataFrame
    """Mean, min and max test accuracy per strategy and budget (over seeds).

    Example:
        >>> summarize(results).loc[("probe", 5), "mean"]  # doctest: +SKIP
    """
    missing = {"strategy", "labels_per_class", "test_accuracy"} - set(results.columns)
    if missing:
        raise ValueError(_("results lack column(s) {names}; pass the output of budget_experiment").format(
            names=sorted(missing)))
    return results.groupby(["strategy", "labels_per_class"])["test_accuracy"].agg(["mean", "min", "max", "count"])


def plot_budget_curve(results, highlight: int | None = None, chance: float | None = None):
    """Test accuracy against labels per class, one line per strategy (min..max over seeds as bars).

    Returns:
        The matplotlib Figure (closed).

    Example:
        >>> fig = plot_budget_curve(results, highlight=5)  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    table = summarize(results)
    fig, ax = plt.subplots(figsize=(6.2, 3.8))
    for strategy in table.index.get_level_values("strategy").unique():
        rows = table.loc[strategy]
        color, style = STRATEGY_STYLES.get(strategy, ("0.3", "x-"))
        ks = rows.index.to_numpy()
        ax.plot(ks, rows["mean"], style, color=color, label=str(STRATEGY_LABELS.get(strategy, strategy)))
        if (rows["max"] > rows["min"]).any():
            ax.errorbar(ks, rows["mean"], yerr=[rows["mean"] - rows["min"], rows["max"] - rows["mean"]],
                        fmt="none", ecolor=color, capsize=3)
    if chance is not None:
        ax.axhline(chance, color="0.6", lw=1, ls=":", label=_("chance ({chance})").format(chance=f"{chance:.0%}"))
    if highlight is not None:
        ax.axvline(highlight, color="0.5", lw=6, alpha=0.2)
    ax.set_xscale("log")
    budgets = sorted(results["labels_per_class"].unique())
    ax.set_xticks(budgets, [str(b) for b in budgets])
    ax.minorticks_off()
    ax.set_xlabel(_("labelled training images per class"))
    ax.set_ylabel(_("test accuracy"))
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return finished(fig)
