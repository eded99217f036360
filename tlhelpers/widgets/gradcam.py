"""Grad-CAM explorer: pick an image and a class, see where the model looks for that class.

Explaining the *predicted* class shows what convinced the model; explaining the *true*
class of a mistake shows whether the model even looked at the right part of the image.

Example:
    >>> viewer = GradCamExplorer(model, task.x_test, prepared.x_test, evaluation,
    ...                          candidates=evaluation.top_losses(8).index)  # doctest: +SKIP
    >>> viewer.image.value = viewer.image.options[1][1]                      # doctest: +SKIP
"""

from __future__ import annotations

import html
from typing import Any, Sequence

import ipywidgets as widgets
import numpy as np

from tlhelpers.display import finished, show
from tlhelpers.evaluation import Evaluation
from tlhelpers.gradcam import gradcam, gradcam_layer, overlay
from tlhelpers.i18n import _

__all__ = ["GradCamExplorer"]

PREDICTED = -1  # the "explain" dropdown's value for "the predicted class"


class GradCamExplorer:
    """Dropdowns pick an image and the class to explain; the heatmap is drawn below.

    Args:
        model: the classifier (see :func:`tlhelpers.gradcam.gradcam`).
        images: the images as people see them (e.g. ``task.x_test``).
        inputs: the same images as the model takes them (e.g. ``prepared.x_test``).
        evaluation: the model's :class:`~tlhelpers.evaluation.Evaluation` on them.
        candidates: which positions to offer (default: the first 20).
        layer_name: the layer Grad-CAM reads (default: the registry's choice).

    Attributes:
        image: ``Dropdown`` of image positions, labelled with true/predicted class.
        target: ``Dropdown``: the predicted class (``-1``) or any class index.
        alpha: ``FloatSlider``: how strongly the heatmap covers the image.
        summary: HTML line: true class, prediction and the explained class's probability.
        output: the image and its overlay.
        heatmap: the last heatmap ``(H, W)`` in 0..1.
        explained: the class index the last heatmap explains.
        widget: the whole dashboard.
    """

    def __init__(
        self, model: Any, images: Any, inputs: Any, evaluation: Evaluation,
        candidates: Sequence[int] | np.ndarray | None = None, layer_name: str | None = None,
    ) -> None:
        if not len(images) == len(inputs) == len(evaluation.y_true):
            raise ValueError(_(
                "images ({images}), inputs ({inputs}) and the evaluation "
                "({examples}) must hold the same examples in the same order"
            ).format(images=len(images), inputs=len(inputs), examples=len(evaluation.y_true)))
        self.model, self.images, self.inputs, self.evaluation = model, images, inputs, evaluation
        self.layer_name = layer_name or gradcam_layer(model)
        positions = list(range(min(20, len(images)))) if candidates is None else [int(i) for i in candidates]
        bad = [i for i in positions if not 0 <= i < len(images)]
        if bad or not positions:
            raise ValueError(_("candidates must be positions 0..{last}; got {bad}").format(
                last=len(images) - 1, bad=bad or _("none")))
        names = evaluation.class_names
        self.image = widgets.Dropdown(
            options=[(self._label(i), i) for i in positions], value=positions[0], description=_("image"),
            layout=widgets.Layout(width="420px"),
        )
        self.target = widgets.Dropdown(
            options=[(_("the predicted class"), PREDICTED)] + [(name, c) for c, name in enumerate(names)],
            value=PREDICTED, description=_("explain"),
        )
        self.alpha = widgets.FloatSlider(value=0.45, min=0.0, max=1.0, step=0.05, description=_("heatmap"),
                                         continuous_update=False)
        self.summary = widgets.HTML()
        self.output = widgets.Output()
        self.heatmap: np.ndarray | None = None
        self.explained: int | None = None
        self.figure = None
        self._key: tuple[int, int] | None = None
        for control in (self.image, self.target, self.alpha):
            control.observe(lambda _: self.update(), names="value")
        self.widget = widgets.VBox(
            [widgets.HBox([self.image, self.target]), self.alpha, self.summary, self.output]
        )
        self.update()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def _label(self, i: int) -> str:
        ev = self.evaluation
        true, pred = ev.class_names[ev.y_true[i]], ev.class_names[ev.y_pred[i]]
        mark = "✓" if ev.y_true[i] == ev.y_pred[i] else "✗"
        return _("#{i} {mark} true {true}, predicted {predicted}").format(i=i, mark=mark, true=true, predicted=pred)

    def update(self) -> None:
        """Compute the heatmap of the chosen image for the chosen class and draw it."""
        import matplotlib.pyplot as plt

        ev, i = self.evaluation, self.image.value
        cls = int(ev.y_pred[i]) if self.target.value == PREDICTED else int(self.target.value)
        if self._key != (i, cls):  # the overlay slider alone does not recompute
            x = np.asarray(self.inputs[i: i + 1])
            self.heatmap = gradcam(self.model, x, class_index=cls, layer_name=self.layer_name)[0]
            self._key = (i, cls)
        self.explained = cls
        names = ev.class_names
        self.summary.value = _(
            "true <b>{true}</b>, predicted <b>{predicted}</b> ({confidence}); the heatmap shows what speaks for "
            "<b>{explained}</b> (p = {p})"
        ).format(true=html.escape(names[ev.y_true[i]]), predicted=html.escape(names[ev.y_pred[i]]),
                 confidence=f"{ev.probs[i, ev.y_pred[i]]:.0%}", explained=html.escape(names[cls]),
                 p=f"{ev.probs[i, cls]:.2f}")
        image = np.asarray(self.images[i])
        fig, axes = plt.subplots(1, 2, figsize=(4.4, 2.3))
        axes[0].imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray" if image.shape[-1] == 1 else None)
        axes[0].set_title(f"#{i}", fontsize=9)
        axes[1].imshow(overlay(image, self.heatmap, self.alpha.value))
        axes[1].set_title(f"Grad-CAM: {names[cls]}", fontsize=9)
        for ax in axes:
            ax.axis("off")
        self.figure = finished(fig)
        show(self.output, fig)
