"""Choosing a backbone: parameters and images per second of the registry's architectures.

Part of :mod:`tlhelpers.challenges` (lesson 07).
"""

from __future__ import annotations

import time
from typing import Any, Iterable

import matplotlib.pyplot as plt
import numpy as np
from tqdm.auto import tqdm

from tlhelpers.backbones import BACKBONES, get_spec, load_backbone
from tlhelpers.challenges.cost import plain_log_ticks
from tlhelpers.display import finished
from tlhelpers.i18n import _, pgettext
from tlhelpers.tables import shown_frame


def backbone_speed(
    names: Iterable[str] | None = None, *, input_size: int = 32, batch_size: int = 32, repeats: int = 2,
    progress: bool = False,
):  # -> pandas.DataFrame
    """Parameters and inference speed of registry architectures, with random weights.

    Speed does not depend on the weights' values, so ``weights=None`` measures it without a
    download. Each architecture runs at ``input_size``, or at the nearest size it accepts
    (``min_input_size``/``max_input_size`` of its spec: the bundled backbone takes only 32).
    ``progress`` shows a tqdm bar over the architectures.

    Returns:
        One row per backbone: ``input_size``, ``params``, ``images_per_second`` (the best of
        ``repeats`` timed batches after a warm-up), ``pretrained_on``, ``weights_offline``.

    Example:
        >>> int(backbone_speed(["fashion_cnn"], repeats=1).loc["fashion_cnn", "params"])
        218576
    """
    rows = []
    names = list(BACKBONES if names is None else names)
    for name in tqdm(names, desc=_("backbones"), unit=pgettext("progress unit", "backbone"), disable=not progress):
        spec = get_spec(name)
        size = spec.nearest_size(input_size)
        model = load_backbone(name, weights=None, input_size=size, pooling="avg")
        x = np.random.default_rng(0).uniform(0, 255, (batch_size, size, size, spec.channels)).astype(np.float32)
        x = np.asarray(spec.preprocess(x))
        model.predict(x[:2], verbose=0)  # warm-up: builds and traces the graph
        best = float("inf")
        for _repeat in range(max(1, repeats)):
            start = time.perf_counter()
            model.predict(x, batch_size=batch_size, verbose=0)
            best = min(best, time.perf_counter() - start)
        rows.append({
            "backbone": name, "input_size": size, "params": int(model.count_params()),
            "images_per_second": batch_size / best, "pretrained_on": spec.pretrained_on,
            "weights_offline": spec.weights == "bundled",
        })
    return shown_frame(rows).set_index("backbone")


def plot_backbones(speed) -> Any:
    """Parameters against images per second (log-log), one labelled point per backbone.

    Args:
        speed: from :func:`tlhelpers.challenges.backbone_speed`.

    Example:
        >>> fig = plot_backbones(speed)  # doctest: +SKIP
    """
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for offline, label, color in ((True, _("weights bundled (offline)"), "C1"), (False, _("ImageNet weights (a download)"), "C0")):
        rows = speed[speed["weights_offline"] == offline]
        if len(rows):
            ax.scatter(rows["params"], rows["images_per_second"], color=color, label=label)
    for name, row in speed.iterrows():
        ax.annotate(f" {name} ({row['input_size']} px)", (row["params"], row["images_per_second"]), fontsize=8)
    ax.set(xscale="log", yscale="log", xlabel=_("parameters (log scale)"), ylabel=_("images per second (log scale)"),
           title=_("size against inference speed"))
    ax.margins(x=0.3)
    plain_log_ticks(ax.yaxis)
    ax.legend(fontsize=8)
    return finished(fig)
