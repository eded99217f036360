"""Pretrained vs from scratch at several label budgets, and a slider to explore the results.

:func:`budget_experiment` trains once (through :func:`tlhelpers.strategies.compare`, with
the frozen base's features cached once for the largest budget); :class:`LabelBudgetExplorer`
only redraws those results when its slider moves, never retrains.

Example:
    >>> results = budget_experiment(task, prepared, "fashion_cnn", budgets=(1, 5, 20))  # doctest: +SKIP
    >>> explorer = LabelBudgetExplorer(results)                                         # doctest: +SKIP
    >>> explorer.slider.value = 5                                                       # doctest: +SKIP
    >>> explorer.summary.value                                                          # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable, Sequence

import ipywidgets as widgets
import numpy as np

from tlhelpers.data import Task
from tlhelpers.display import finished, show
from tlhelpers.i18n import N_, LazyText, _, ngettext
from tlhelpers.strategies import PreparedTask

STRATEGY_LABELS = {  # shown in the active language (LazyText)
    "scratch": LazyText(N_("from scratch (random weights)")),
    "probe": LazyText(N_("pretrained, frozen (new head only)")),
    "fine_tune": LazyText(N_("pretrained, fine-tuned")),
}
STRATEGY_STYLES = {"scratch": ("#b42318", "o--"), "probe": ("#1f5fa8", "s-"), "fine_tune": ("#1a7f37", "^-")}


def _first_per_class(y: np.ndarray, k: int) -> np.ndarray:
    return np.concatenate([np.flatnonzero(y == c)[:k] for c in np.unique(y)])


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
    keep = _first_per_class(task.y_train, labels_per_class)
    keep_val = _first_per_class(task.y_val, labels_per_class)

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


class LabelBudgetExplorer:
    """A slider over the label budgets; moving it redraws results computed once.

    Attributes:
        slider: ``SelectionSlider`` over the budgets (``description="labels/class"``).
        summary: ``HTML`` with the accuracies at the chosen budget.
        output: the plot.
        figure: the last Figure drawn.
        widget: the whole dashboard (display it).

    Example:
        >>> explorer = LabelBudgetExplorer(results)  # doctest: +SKIP
        >>> explorer.widget                          # doctest: +SKIP
    """

    def __init__(self, results, chance: float | None = None) -> None:
        self.results = results
        self.table = summarize(results)
        self.chance = chance
        budgets = sorted(int(b) for b in results["labels_per_class"].unique())
        self.slider = widgets.SelectionSlider(
            options=budgets, value=budgets[0], description=_("labels/class"),
            continuous_update=False, style={"description_width": "initial"},
        )
        self.summary = widgets.HTML()
        self.output = widgets.Output()
        self.figure = None
        self.slider.observe(lambda change: self.redraw(), names="value")
        self.widget = widgets.VBox([self.slider, self.summary, self.output])
        self.redraw()

    def accuracies(self, labels_per_class: int | None = None) -> dict[str, float]:
        """Mean test accuracy of each strategy at a budget (default: the slider's)."""
        k = self.slider.value if labels_per_class is None else labels_per_class
        rows = self.table.xs(k, level="labels_per_class")
        return {strategy: float(row["mean"]) for strategy, row in rows.iterrows()}

    def describe(self, labels_per_class: int | None = None) -> str:
        """One sentence on the accuracies at a budget, pretrained vs scratch."""
        k = self.slider.value if labels_per_class is None else labels_per_class
        acc = self.accuracies(k)
        parts = [_("{strategy}: <b>{accuracy}</b>").format(strategy=STRATEGY_LABELS.get(s, s), accuracy=f"{a:.1%}")
                 for s, a in acc.items()]
        text = ngettext("With <b>{k}</b> labelled image per class, test accuracy: {parts}.",
                        "With <b>{k}</b> labelled images per class, test accuracy: {parts}.", k).format(
            k=k, parts=_("; ").join(parts))
        if "scratch" in acc and "probe" in acc:
            gap = 100 * (acc["probe"] - acc["scratch"])
            sentence = (_(" The pretrained backbone is {points} points ahead of training from scratch.") if gap > 0 else
                        _(" The pretrained backbone is {points} points behind training from scratch.") if gap < 0 else
                        _(" The pretrained backbone is {points} points level with training from scratch."))
            text += sentence.format(points=f"{abs(gap):.1f}")
            if self.scratch_at_chance(k):
                text += _(" <b>Training from scratch never left chance here</b>: it did not learn at all, "
                          "so this gap says little about how well it could do.")
        return text

    def scratch_at_chance(self, labels_per_class: int | None = None) -> bool:
        """Whether every scratch run at a budget stayed at chance (``compare``'s ``at_chance`` flag)."""
        k = self.slider.value if labels_per_class is None else labels_per_class
        rows = self.results[(self.results.strategy == "scratch") & (self.results.labels_per_class == k)]
        return bool(len(rows)) and "at_chance" in rows and bool(rows["at_chance"].all())

    def redraw(self) -> None:
        """Update the sentence and the plot for the slider's budget (no training)."""
        self.summary.value = self.describe()
        self.figure = plot_budget_curve(self.results, highlight=self.slider.value, chance=self.chance)
        show(self.output, self.figure)
