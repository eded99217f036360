"""A slider over the label budgets of lesson 00's experiment, redrawing results computed once.

The experiment itself (:func:`~tlhelpers.budget.budget_experiment`, :func:`~tlhelpers.budget.at_budget`,
:func:`~tlhelpers.budget.summarize`, :func:`~tlhelpers.budget.plot_budget_curve`) lives in
:mod:`tlhelpers.budget`; its names can still be imported from here. :class:`LabelBudgetExplorer`
only redraws those results when its slider moves, never retrains.

Example:
    >>> from tlhelpers.budget import budget_experiment
    >>> results = budget_experiment(task, prepared, "fashion_cnn", budgets=(1, 5, 20))  # doctest: +SKIP
    >>> explorer = LabelBudgetExplorer(results)                                         # doctest: +SKIP
    >>> explorer.slider.value = 5                                                       # doctest: +SKIP
    >>> explorer.summary.value                                                          # doctest: +SKIP
"""

from __future__ import annotations

import ipywidgets as widgets

from tlhelpers.budget import (  # the experiment's names, re-exported: the old import path keeps working
    STRATEGY_LABELS,
    STRATEGY_STYLES,
    at_budget,
    auto_batch_size,
    budget_experiment,
    plot_budget_curve,
    summarize,
)
from tlhelpers.display import show
from tlhelpers.i18n import _, ngettext

__all__ = [
    "LabelBudgetExplorer",
    # re-exported from tlhelpers.budget
    "STRATEGY_LABELS",
    "STRATEGY_STYLES",
    "at_budget",
    "auto_batch_size",
    "budget_experiment",
    "plot_budget_curve",
    "summarize",
]


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
