"""The confusion explorer: pick a true and a predicted class, see the images that fell there.

A confusion matrix says *how many* shirts were called T-shirts; the explorer shows
*which*, most confident first, so you can tell a model's mistakes from mislabelled or
ambiguous images. Pick the pair with the two dropdowns, or click a cell of the matrix.

Example:
    >>> explorer = ConfusionExplorer(task.x_test, evaluation)  # doctest: +SKIP
    >>> explorer.true_class.value, explorer.predicted_class.value = 2, 0  # doctest: +SKIP
    >>> explorer.indices                                                 # doctest: +SKIP
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets
import numpy as np

from tlhelpers.evaluation import Evaluation
from tlhelpers.i18n import _
from tlhelpers.plots_lessons import image_grid

__all__ = ["ConfusionExplorer"]


class ConfusionExplorer:
    """Dropdowns (or a click on the matrix) choose a cell; its images show below.

    Args:
        images: the images as people see them, in the evaluation's order (e.g. ``task.x_test``).
        evaluation: an :class:`tlhelpers.evaluation.Evaluation` of the same examples.
        max_images: how many images of a cell to show (the most confident first).
        ncols: images per row.

    Attributes:
        true_class, predicted_class: the two ``Dropdown`` controls (values are class indices).
        cells: the matrix's buttons, ``cells[(true, predicted)]``; clicking one selects it.
        summary: HTML line: how many images fell in the chosen cell.
        output: the image grid.
        indices: positions (into ``images``) of the chosen cell, most confident first.
        figure: the last grid drawn (None when the cell is empty).
        widget: the whole dashboard.
    """

    def __init__(self, images: Any, evaluation: Evaluation, max_images: int = 12, ncols: int = 6) -> None:
        if len(images) != len(evaluation.y_true):
            raise ValueError(_(
                "got {images} images for an evaluation of {examples} examples; "
                "pass the images the model was evaluated on, in the same order"
            ).format(images=len(images), examples=len(evaluation.y_true)))
        if max_images < 1:
            raise ValueError(_("max_images must be at least 1, got {n}").format(n=max_images))
        self.images = images
        self.evaluation = evaluation
        self.max_images = max_images
        self.ncols = ncols
        self.indices = np.array([], dtype=np.int64)
        self.figure = None
        self._selecting = False
        names = evaluation.class_names
        options = [(name, i) for i, name in enumerate(names)]
        cm = evaluation.confusion
        # start on the largest mistake, which is what one wants to look at first
        start = evaluation.most_confused(1)
        t0, p0 = (names.index(start[0][0]), names.index(start[0][1])) if start else (0, 0)
        self.true_class = widgets.Dropdown(options=options, value=t0, description=_("true class"))
        self.predicted_class = widgets.Dropdown(options=options, value=p0, description=_("predicted"))
        self.summary = widgets.HTML()
        self.output = widgets.Output()
        self.cells: dict[tuple[int, int], widgets.Button] = {}
        self.grid = self._matrix(cm, names)
        self.true_class.observe(self._on_change, names="value")
        self.predicted_class.observe(self._on_change, names="value")
        controls = widgets.VBox([self.true_class, self.predicted_class, self.summary])
        self.widget = widgets.VBox([widgets.HBox([self.grid, controls]), self.output])
        self.update()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def _matrix(self, cm: np.ndarray, names: tuple[str, ...]) -> widgets.GridBox:
        """Buttons laid out like the confusion matrix, shaded by the share of their row."""
        n = len(names)
        shares = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
        children: list[widgets.Widget] = [widgets.HTML(_("<b>true ↓ / predicted →</b>"))]
        children += [widgets.HTML(f"<small>{html.escape(name)}</small>") for name in names]
        for t in range(n):
            children.append(widgets.HTML(f"<small>{html.escape(names[t])}</small>"))
            for p in range(n):
                button = widgets.Button(
                    description=str(int(cm[t, p])),
                    tooltip=_("true {true}, predicted {predicted}").format(true=names[t], predicted=names[p]),
                    layout=widgets.Layout(width="auto", height="28px"),
                )
                light = int(255 - 180 * shares[t, p])
                color = f"rgb({light},{light},255)" if t == p else f"rgb(255,{light},{light})"
                button.style.button_color = color
                button.on_click(lambda _, t=t, p=p: self.select(t, p))
                self.cells[(t, p)] = button
                children.append(button)
        return widgets.GridBox(children, layout=widgets.Layout(
            grid_template_columns=f"150px repeat({n}, 72px)", grid_gap="2px",
            width=f"{150 + 74 * n}px", flex="0 0 auto",  # never squeezed by the controls beside it
        ))

    def select(self, true_class: int, predicted_class: int) -> None:
        """Choose a cell (what a click on the matrix does)."""
        self._selecting = True  # one redraw for both values, not one per dropdown
        try:
            self.true_class.value = true_class
            self.predicted_class.value = predicted_class
        finally:
            self._selecting = False
        self.update()

    def _on_change(self, _change: dict[str, Any]) -> None:
        if not self._selecting:
            self.update()

    def update(self) -> None:
        """Find the chosen cell's images and draw them (most confident prediction first)."""
        ev, t, p = self.evaluation, self.true_class.value, self.predicted_class.value
        found = ev.indices(t, p)
        confidence = ev.probs[found, p]
        self.indices = found[np.argsort(-confidence, kind="stable")]
        names = ev.class_names
        total = int(np.sum(ev.y_true == t))
        kind = _("correct") if t == p else _("mistakes")
        share = _(" ({share:.1%})").format(share=len(found) / total) if total else ""
        self.summary.value = (
            _("{kind}: <b>{found}</b> of {total} <b>{true}</b> images{share} were predicted as <b>{predicted}</b>").format(
                kind=kind, found=len(found), total=total, true=html.escape(names[t]), share=share,
                predicted=html.escape(names[p]))
            + (_("; showing the {n} most confident").format(n=min(len(found), self.max_images)) if len(found) else "")
        )
        for cell, button in self.cells.items():
            button.layout.border = "2px solid #1f2937" if cell == (t, p) else ""
        self.output.clear_output(wait=True)
        if not len(found):
            self.figure = None
            return
        shown = self.indices[: self.max_images]
        titles = [f"#{i}  p={ev.probs[i, p]:.2f}" for i in shown]
        self.figure = image_grid(np.asarray(self.images)[shown], titles, columns=self.ncols, size=1.5)
        from IPython.display import display

        with self.output:
            display(self.figure)
