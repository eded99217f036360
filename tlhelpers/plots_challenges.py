"""Figures for lesson 06: cost against data size, domain shift, forgetting, backbones.

Every function takes the DataFrame a :mod:`tlhelpers.challenges` function returned and
gives back a closed matplotlib Figure: a notebook shows it as a cell's last expression,
tests read its axes without a screen.

Example:
    >>> import pandas as pd
    >>> cost = pd.DataFrame({"method": ["cached"] * 2, "train_images": [50, 200],
    ...                      "seconds": [1.0, 2.0], "test_accuracy": [0.6, 0.7]})
    >>> [ax.get_xlabel() for ax in plot_cost(cost).axes]
    ['training images', 'training images']
"""

from __future__ import annotations

from typing import Any

import numpy as np

METHOD_LABELS = {
    "fine_tune": "fine-tune end to end",
    "cached": "cached features + head",
    "small_input": "fine-tune, smaller input",
    "mixed_precision": "fine-tune, mixed precision",
}


def _close(fig: Any) -> Any:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    plt.close(fig)
    return fig


def plot_cost(cost) -> Any:
    """Two panels against training images (log scales): seconds to train, and test accuracy.

    One line per method, labelled in plain words.

    Raises:
        ValueError: the frame lacks a column ``measure_cost`` writes.

    Example:
        >>> fig = plot_cost(cost)  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    missing = {"method", "train_images", "seconds", "test_accuracy"} - set(cost.columns)
    if missing:
        raise ValueError(f"cost table lacks column(s) {sorted(missing)}; pass what measure_cost returned")
    fig, (ax_time, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.8))
    for method, rows in cost.groupby("method", sort=False):
        rows = rows.sort_values("train_images")
        label = METHOD_LABELS.get(method, method)
        ax_time.plot(rows["train_images"], rows["seconds"], "o-", label=label)
        ax_acc.plot(rows["train_images"], rows["test_accuracy"], "o-", label=label)
    ax_time.set(xscale="log", yscale="log", xlabel="training images", ylabel="seconds to train",
                title="cost grows with the data")
    ax_acc.set(xscale="log", xlabel="training images", ylabel="test accuracy", title="what it buys")
    ax_time.legend(fontsize=8)
    return _close(fig)


def plot_domain_shift(checks, gains=None) -> Any:
    """Per shift: the pre-training checks (left) and, if given, scratch vs transfer (right).

    Args:
        checks: from :func:`tlhelpers.challenges.pretraining_checks`.
        gains: from :func:`tlhelpers.challenges.shift_gains` (optional).

    Example:
        >>> fig = plot_domain_shift(checks, gains)  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    panels = 1 if gains is None else 2
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 3.8), squeeze=False)
    shifts = list(checks.index)
    pos = np.arange(len(shifts))
    ax = axes[0, 0]
    ax.bar(pos - 0.2, checks["probe_features"], 0.4, label="probe on pretrained features")
    ax.bar(pos + 0.2, checks["probe_pixels"], 0.4, label="probe on raw pixels")
    ax.set(xticks=pos, xticklabels=shifts, ylabel="validation accuracy", ylim=(0, 1),
           title="before training: a linear-probe check")
    ax.legend(fontsize=8, loc="lower left")
    if gains is not None:
        ax = axes[0, 1]
        gains = gains.reindex(shifts)
        transfer = gains["probe"]
        ax.bar(pos - 0.2, gains["scratch"], 0.4, label="from scratch")
        ax.bar(pos + 0.2, transfer, 0.4, label="transfer (linear probe)")
        for p, g, t in zip(pos, gains["gain"], transfer):
            if np.isfinite(g):  # shifts that were checked but not trained stay empty
                ax.annotate(f"{g:+.2f}", (p + 0.2, t), ha="center", va="bottom", fontsize=8)
        ax.set(xticks=pos, xticklabels=shifts, ylabel="test accuracy", ylim=(0, 1),
               title="after training: the gain from transfer")
        ax.legend(fontsize=8, loc="lower left")
    return _close(fig)


def plot_forgetting(table) -> Any:
    """Per fine-tuning setting: source accuracy before and after, and the target accuracy.

    Args:
        table: from :func:`tlhelpers.challenges.forgetting_table`.

    Example:
        >>> fig = plot_forgetting(table)  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    pos = np.arange(len(table))
    ax.bar(pos - 0.27, table["source_before"], 0.27, label="source accuracy, before")
    ax.bar(pos, table["source_after"], 0.27, label="source accuracy, after")
    ax.bar(pos + 0.27, table["target_accuracy"], 0.27, label="target accuracy, after")
    ax.set(xticks=pos, xticklabels=list(table.index), ylabel="test accuracy", ylim=(0, 1.05),
           title="what fine-tuning costs the backbone's old task")
    ax.legend(fontsize=8, loc="lower left")
    return _close(fig)


def plot_backbones(speed) -> Any:
    """Parameters against images per second (log-log), one labelled point per backbone.

    Args:
        speed: from :func:`tlhelpers.challenges.backbone_speed`.

    Example:
        >>> fig = plot_backbones(speed)  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.8))
    for name, row in speed.iterrows():
        ax.scatter(row["params"], row["images_per_second"], color="C1" if row["weights_offline"] else "C0")
        ax.annotate(f" {name} ({row['input_size']} px)", (row["params"], row["images_per_second"]), fontsize=8)
    ax.set(xscale="log", yscale="log", xlabel="parameters", ylabel="images per second (inference)",
           title="bigger backbones are slower")
    return _close(fig)
