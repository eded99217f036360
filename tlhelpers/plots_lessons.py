"""Figures the lessons share: the one image grid, and the transfer-learning diagram.

Every function returns a closed matplotlib Figure: a notebook shows it by leaving it as
the cell's last expression (or ``display(fig)``); tests read its axes without a screen.

Example:
    >>> import numpy as np
    >>> fig = image_grid(np.zeros((3, 8, 8, 1)), ["a", "b", "c"])
    >>> [ax.get_title() for ax in fig.axes]
    ['a', 'b', 'c']
"""

from __future__ import annotations

import textwrap
from typing import Any, Sequence

import numpy as np

from tlhelpers.display import finished
from tlhelpers.i18n import _, ngettext

__all__ = ["image_grid", "transfer_diagram"]


def _show(ax, image: np.ndarray, value_range: tuple[float, float] | None = (0, 255)) -> None:
    image = np.asarray(image, dtype=np.float32)
    lo, hi = value_range or (float(image.min()), float(image.max()))
    image = np.clip((image - lo) / (hi - lo), 0, 1) if hi > lo else np.zeros_like(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        ax.imshow(image[..., 0], cmap="gray", vmin=0, vmax=1)
    else:
        ax.imshow(image, vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])


def image_grid(
    images: Any,
    titles: Sequence[str] | None = None,
    *,
    columns: int = 8,
    title: str = "",
    value_range: tuple[float, float] | None = (0, 255),
    size: float = 1.4,
    colors: Sequence[str] | None = None,
):
    """Images ``(N, H, W, C)`` in a grid, with optional titles (one line or several each).

    Args:
        images: pixel values in ``value_range`` (0..255 by default); ``None`` scales each
            image from its own minimum to its maximum.
        titles: one per image; ``colors``: a color for each title.

    Raises:
        ValueError: no images, or titles of another length than the images.

    Example:
        >>> fig = image_grid(np.zeros((10, 8, 8, 3)), columns=5)
        >>> len(fig.axes)
        10
    """
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    if len(images) == 0:
        raise ValueError(_("no images to show"))
    if titles is not None and len(titles) != len(images):
        raise ValueError(_("{images} images but {titles} titles").format(images=len(images), titles=len(titles)))
    n = len(images)
    columns = max(1, min(columns, n))
    rows = int(np.ceil(n / columns))
    lines = max((str(t).count("\n") + 1 for t in titles), default=0) if titles is not None else 0
    row_height = size + (0.17 * (lines - 1) if lines > 1 else 0)  # room for titles of several lines
    fig, axes = plt.subplots(rows, columns, figsize=(size * columns, row_height * rows + (0.4 if title else 0.1)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i >= n:
            fig.delaxes(ax)
            continue
        _show(ax, images[i], value_range)
        if titles is not None:
            ax.set_title(titles[i], fontsize=8, color=colors[i] if colors else "black")
    if title:
        fig.suptitle(title, fontsize=10)
    return finished(fig)


def transfer_diagram(
    block_names: Sequence[str],
    source: str,
    source_classes: int,
    target_names: Sequence[str],
    target_images: Any | None = None,
    labels_per_class: int | None = None,
):
    """The idea of transfer learning in one figure.

    Top row: pretraining, source data through the backbone's blocks to the source
    classifier. Bottom row: the same blocks, copied and frozen, under a new head for the
    target classes, trained on a few labels (example target images drawn under it).

    Args:
        block_names: the backbone's blocks, bottom to top (from the registry).
        source: what the backbone was pretrained on.
        source_classes: how many classes the original classifier has.
        target_names: the target task's classes.
        target_images: one example image per target class (0..255), optional.
        labels_per_class: the label budget, shown on the target data.

    Returns:
        The matplotlib Figure (closed).

    Example:
        >>> fig = transfer_diagram(["b1", "b2"], "ImageNet", 1000, ["cat", "dog"])
        >>> "new head" in " ".join(t.get_text() for t in fig.axes[0].texts)
        True
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    source_head = ngettext("{n} source class", "{n} source classes", int(source_classes)).format(n=int(source_classes))
    n_blocks = len(block_names)
    shown = list(block_names) if n_blocks <= 6 else [*block_names[:2], "…", *block_names[-2:]]
    with_images = target_images is not None and len(target_images) > 0
    fig = plt.figure(figsize=(11, 4.8 if with_images else 3.6))
    ax = fig.add_axes((0, 0.22 if with_images else 0, 1, 0.78 if with_images else 1))
    ax.set_xlim(0, 11)
    ax.set_ylim(0, 4)
    ax.axis("off")

    def box(x, y, w, h, text, color, hatch=None, fontsize=8):
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.03", fc=color,
                                    ec="#8fa9c9" if hatch else "0.3", hatch=hatch))
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=fontsize, wrap=True,
                bbox=dict(fc=color, ec="none", pad=1) if hatch else None)

    def arrow(x0, y0, x1, y1, style="-|>", color="0.3"):
        ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), arrowstyle=style, mutation_scale=12, color=color))

    left, width = 2.4, 6.0
    step = width / len(shown)
    rows = {"top": 2.55, "bottom": 0.55}
    ax.text(0.05, 3.75, _("1. Pretraining (done once, on lots of labelled data)"), fontsize=10, weight="bold")
    ax.text(0.05, 1.75, _("2. Transfer (what this course does, on few labels)"), fontsize=10, weight="bold")
    if labels_per_class:
        budget = _("{n} labels per class").format(n=labels_per_class)
    else:
        budget = _("a few labels per class")
    box(0.1, rows["top"], 1.9, 0.9, _("source data\n{source}").format(source=textwrap.fill(str(source), 28)), "#fde9c9",
        fontsize=7)
    box(0.1, rows["bottom"], 1.9, 0.9, _("target data\n{budget}").format(budget=budget), "#d8ecd2", fontsize=7)
    for i, name in enumerate(shown):
        x = left + i * step
        box(x + 0.05, rows["top"], step - 0.25, 0.9, name, "#cfe0f3")
        box(x + 0.05, rows["bottom"], step - 0.25, 0.9, name, "#cfe0f3", hatch="//")
        arrow(x + step / 2 - 0.1, rows["top"] - 0.05, x + step / 2 - 0.1, rows["bottom"] + 0.95, style="-|>", color="#4a78b5")
    ax.text(left + width / 2, 2.0, _("same blocks, same weights: copied, then frozen (hatched)"),
            ha="center", va="center", fontsize=8, color="#4a78b5", bbox=dict(fc="white", ec="none", pad=1))
    names = ", ".join(target_names)
    box(8.65, rows["top"], 2.25, 0.9, _("source classifier\n{head}").format(head=source_head), "#f3d1cf", fontsize=7)
    box(8.65, rows["bottom"], 2.25, 0.9, _("new head, trained\n{count} target classes").format(count=len(target_names)),
        "#f7e48f", fontsize=7)
    ax.text(9.78, 0.25, names if len(names) < 60 else names[:57] + "…", ha="center", fontsize=6.5)
    for y in rows.values():
        arrow(2.0, y + 0.45, left + 0.05, y + 0.45)
        arrow(left + width - 0.2, y + 0.45, 8.65, y + 0.45)
    if with_images:
        images = np.asarray(target_images)
        k = len(images)
        for i, image in enumerate(images):
            sub = fig.add_axes((0.03 + i * 0.94 / k + 0.94 / k / 2 - 0.045, 0.01, 0.09, 0.2))
            _show(sub, image)
            sub.set_title(target_names[i] if i < len(target_names) else "", fontsize=7)
    plt.close(fig)
    return fig
