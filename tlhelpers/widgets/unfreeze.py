"""Unfreeze-depth explorer: a slider for "how many top blocks train", with the report live.

Moving the slider calls :func:`tlhelpers.transfer.unfreeze_top` on the model and shows
the trainability report (which blocks train, BatchNorm kept frozen, parameter counts),
the number of trainable parameters and a bar chart of trainable vs frozen parameters per
block. Nothing trains: the slider only changes ``trainable`` flags, so the report also
shows the reminder to recompile.

Example:
    >>> from tlhelpers.widgets.unfreeze import UnfreezeExplorer
    >>> explorer = UnfreezeExplorer(model)   # doctest: +SKIP
    >>> explorer.widget                      # doctest: +SKIP
    >>> explorer.slider.value = 2            # doctest: +SKIP
    >>> explorer.trainable_params            # doctest: +SKIP
    204037
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import keras

from tlhelpers.display import show
from tlhelpers.i18n import _
from tlhelpers.transfer import (
    TrainabilityReport,
    validate_blocks,
    find_backbone,
    unfreeze_top,
)

__all__ = ["UnfreezeExplorer"]


class UnfreezeExplorer:
    """An ``IntSlider`` (0 .. number of blocks) driving ``unfreeze_top`` on ``model``.

    Args:
        model: a classifier around a registry backbone (its ``trainable`` flags change!).
        blocks: the slider's starting value.
        plot: also draw the bar chart (False: text only, a little faster).

    Attributes:
        slider: the depth control (``description="Unfrozen blocks"``).
        params_label: "trainable parameters: N of M".
        report_html: the report as preformatted text.
        plot_output: the ``Output`` holding the bar chart.
        widget: the whole dashboard (a ``VBox``).
        report: the latest :class:`~tlhelpers.transfer.TrainabilityReport`.

    Raises:
        ValueError: ``model`` holds no registry backbone, or ``blocks`` out of range.
    """

    def __init__(self, model: keras.Model, blocks: int = 0, plot: bool = True) -> None:
        self.spec = find_backbone(model)[1]  # a clear error for a foreign model, before any widget
        validate_blocks(blocks, self.spec)
        self.model = model
        self.plot = plot
        self.slider = widgets.IntSlider(
            value=blocks, min=0, max=self.spec.num_blocks, step=1, description=_("Unfrozen blocks"),
            continuous_update=False, style={"description_width": "initial"},
        )
        self.params_label = widgets.Label(value="")
        self.report_html = widgets.HTML(value="")
        self.plot_output = widgets.Output()
        self.widget = widgets.VBox([self.slider, self.params_label, self.report_html, self.plot_output])
        self.report: TrainabilityReport = self.update(blocks)
        self.slider.observe(self._on_change, names="value")

    def _on_change(self, change: dict) -> None:
        self.update(change["new"])

    def update(self, blocks: int) -> TrainabilityReport:
        """Unfreeze the top ``blocks`` blocks and refresh every view; return the report."""
        self.report = unfreeze_top(self.model, blocks)
        self.params_label.value = _("trainable parameters: {trainable} of {total} ({share})").format(
            trainable=f"{self.report.trainable_params:,}", total=f"{self.report.total_params:,}",
            share=f"{self.report.trainable_params / self.report.total_params:.1%}")
        self.report_html.value = f"<pre style='line-height:1.25'>{html.escape(self.report_text)}</pre>"
        if self.plot:
            self.draw()
        return self.report

    @property
    def report_text(self) -> str:
        """The report as ``print(report)`` shows it."""
        return repr(self.report)

    @property
    def trainable_params(self) -> int:
        """Trainable parameters at the current depth."""
        return self.report.trainable_params

    def chart_data(self) -> dict[str, tuple[int, int]]:
        """Per block (and head): ``(trainable parameters, frozen parameters)``: what the chart draws."""
        return {r.block: (r.trainable_params, r.params - r.trainable_params) for r in self.report.rows}

    def figure(self):  # -> matplotlib Figure
        """Horizontal bars per block: trainable (green) and frozen (grey) parameters."""
        import matplotlib.pyplot as plt

        data = self.chart_data()
        names = list(data)
        trainable = [data[n][0] for n in names]
        frozen = [data[n][1] for n in names]
        fig, ax = plt.subplots(figsize=(6, 0.35 * len(names) + 1))
        plt.close(fig)
        ax.barh(names, trainable, color="C2", label=_("trainable"))
        ax.barh(names, frozen, left=trainable, color="0.7", label=_("frozen (incl. BatchNorm)"))
        ax.invert_yaxis()
        ax.set_xlabel(_("parameters"))
        ax.set_title(_("top {k} of {n} blocks unfrozen").format(k=self.slider.value, n=self.spec.num_blocks))
        ax.legend(fontsize=8, loc="lower right")
        fig.tight_layout()
        return fig

    def draw(self) -> None:
        """Redraw the chart into :attr:`plot_output`."""
        show(self.plot_output, self.figure())

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
