"""The plots of a search: each trial's validation accuracy over learning rate and depth.

Example:
    >>> fig = plot_results(search.results(), hypermodel.spec.block_names)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tlhelpers.display import finished
from tlhelpers.i18n import _
from tlhelpers.tuning.space import Range

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["plot_results"]


def plot_results(table: pd.DataFrame, block_names: tuple[str, ...] | None = None, lr_range: Range | None = None) -> Figure:
    """Two panels: validation accuracy over ``fine_lr`` (log axis) coloured by depth, and over depth.

    Args:
        table: :meth:`tlhelpers.tuning.search.Search.results` (columns ``fine_lr``, ``blocks``, ``val_accuracy``).
        block_names: the backbone's blocks, bottom to top (labels the depth axis).
        lr_range: the searched learning-rate range (the x axis spans it, so gaps show).

    Returns:
        The Figure (closed; display it with ``display(fig)``). Each depth is one scatter
        collection labelled ``K=<depth>`` on the first axes.

    Example:
        >>> fig = plot_results(search.results())  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    done = table.dropna(subset=["val_accuracy"])
    fig, (ax_lr, ax_k) = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    cmap = plt.get_cmap("viridis")
    depths = sorted(int(k) for k in done["blocks"].unique())
    top = max(depths + [len(block_names) if block_names else 1, 1])
    for k in depths:
        rows = done[done["blocks"] == k]
        color = cmap(k / top)
        ax_lr.scatter(rows["fine_lr"], rows["val_accuracy"], color=color, label=f"K={k}", s=45, edgecolor="black", linewidth=0.5)
        ax_k.scatter(rows["blocks"], rows["val_accuracy"], color=color, s=45, edgecolor="black", linewidth=0.5)
    if len(done):
        best = done.iloc[done["val_accuracy"].to_numpy().argmax()]
        for ax, x in ((ax_lr, best["fine_lr"]), (ax_k, best["blocks"])):
            ax.scatter([x], [best["val_accuracy"]], marker="*", s=260, facecolor="none", edgecolor="crimson", linewidth=1.5, zorder=3)
    ax_lr.set_xscale("log")
    if lr_range is not None:
        ax_lr.set_xlim(lr_range[0] / 1.5, lr_range[1] * 1.5)
    ax_lr.xaxis.set_minor_formatter(NullFormatter())
    ax_lr.set_xlabel(_("fine-tuning learning rate (log scale)"))
    ax_lr.set_ylabel(_("best validation accuracy"))
    ax_lr.set_title(_("accuracy over learning rate"))
    if depths:
        ax_lr.legend(title=_("unfrozen blocks"), fontsize=8, title_fontsize=8)
    ax_k.set_xlabel(_("unfrozen top blocks K"))
    ax_k.set_title(_("accuracy over depth (★ best)"))
    if block_names:
        ax_k.set_xticks(range(len(block_names) + 1))
        ax_k.set_xticklabels([_("0\n(frozen)")] + [f"{k}\n(+{name})" for k, name in enumerate(reversed(block_names), start=1)], fontsize=8)
    for ax in (ax_lr, ax_k):
        ax.grid(alpha=0.3)
    return finished(fig)
