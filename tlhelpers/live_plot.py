"""A live training plot: loss and accuracy curves redrawn after every epoch of ``fit``.

The callback keeps the history in plain Python lists (``plot.epochs``,
``plot.history["val_accuracy"]``...), so it survives several ``fit`` calls (the two
phases of fine-tuning draw as one curve, with the phase boundary marked), and tests can
read exactly what is drawn. Drawing goes into an ``ipywidgets.Output``.

Example:
    >>> plot = LivePlot()
    >>> display(plot.output)                                      # doctest: +SKIP
    >>> model.fit(x, y, validation_data=(xv, yv), epochs=10, callbacks=[plot])  # doctest: +SKIP
    >>> plot.history["val_accuracy"][-1]                          # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

import keras

from tlhelpers.display import show
from tlhelpers.i18n import N_, _

if TYPE_CHECKING:
    import ipywidgets
    from matplotlib.figure import Figure

__all__ = ["LivePlot"]

# Keras' metric names as the plot shows them (other metrics keep their names).
METRIC_NAMES = {
    "loss": N_("loss"), "val_loss": N_("val_loss"), "accuracy": N_("accuracy"), "val_accuracy": N_("val_accuracy"),
}


def _metric(name: str) -> str:
    return _(METRIC_NAMES[name]) if name in METRIC_NAMES else name


class LivePlot(keras.callbacks.Callback):
    """Record ``fit``'s epoch logs in lists and draw the curves into an ``Output``.

    Args:
        metrics: base names to draw, one panel each (``"loss"`` draws ``loss`` and ``val_loss``).
        output: the ``ipywidgets.Output`` to draw into (default: a new one, ``plot.output``).
        every: redraw every this many epochs (drawing costs a little time); the end of
            training always redraws.
        draw: False records only (for tests or scripts without a screen).
        title: a title over the panels.

    Attributes:
        epochs: epoch numbers seen (1-based, as Keras prints them).
        history: metric name -> list of values, one per epoch.
        phase_starts: epoch numbers where a later ``fit`` call began.
        draws: how many times the plot was drawn.

    Example:
        >>> plot = LivePlot(draw=False)
        >>> plot.on_epoch_end(0, {"loss": 1.0, "accuracy": 0.5})
        >>> plot.epochs, plot.history["loss"]
        ([1], [1.0])
    """

    def __init__(
        self,
        metrics: Iterable[str] = ("loss", "accuracy"),
        output: Any = None,
        every: int = 1,
        draw: bool = True,
        title: str | None = None,
    ) -> None:
        super().__init__()
        self.metrics = tuple(metrics)
        if not self.metrics:
            raise ValueError(_("metrics is empty; name at least one, e.g. ('loss', 'accuracy')"))
        if not isinstance(every, int) or every < 1:
            raise ValueError(_("every must be a positive integer, got {every!r}").format(every=every))
        self.every, self.draw_enabled, self.title = every, draw, title
        self._output = output
        self.epochs: list[int] = []
        self.history: dict[str, list[float]] = {}
        self.phase_starts: list[int] = []
        self.draws = 0

    @property
    def output(self) -> ipywidgets.Output:
        """The ``Output`` widget the curves are drawn into (made on first use)."""
        if self._output is None:
            import ipywidgets as widgets

            self._output = widgets.Output()
        return self._output

    def reset(self) -> None:
        """Forget the history (the next ``fit`` starts a fresh plot)."""
        self.epochs, self.history, self.phase_starts = [], {}, []

    # -- the callback --------------------------------------------------------------------

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._new_fit = True

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if getattr(self, "_new_fit", False) and self.epochs:
            self.phase_starts.append(epoch + 1)
        self._new_fit = False
        self.epochs.append(epoch + 1)
        n = len(self.epochs)
        for key, value in (logs or {}).items():
            values = self.history.setdefault(key, [float("nan")] * (n - 1))
            values.append(float(value))
        for values in self.history.values():  # a metric missing this epoch: keep lists aligned
            if len(values) < n:
                values.append(float("nan"))
        if self.draw_enabled and n % self.every == 0:
            self.draw()

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.draw_enabled and self.epochs and len(self.epochs) % self.every:
            self.draw()

    # -- drawing -------------------------------------------------------------------------

    def figure(self) -> Figure:
        """The curves as a new matplotlib Figure (closed, so it shows only when displayed)."""
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, len(self.metrics), figsize=(4.5 * len(self.metrics), 3), squeeze=False)
        plt.close(fig)
        for ax, metric in zip(axes[0], self.metrics):
            for key, style in ((metric, "-"), (f"val_{metric}", "--")):
                if key in self.history:
                    ax.plot(self.epochs, self.history[key], style, marker=".", label=_metric(key))
            for start in self.phase_starts:
                ax.axvline(start - 0.5, color="0.6", ls=":", lw=1)
            ax.set_xlabel(_("epoch"))
            ax.set_title(_metric(metric))
            if ax.lines:
                ax.legend(fontsize=8)
        if self.title:
            fig.suptitle(self.title)
        fig.tight_layout()
        return fig

    def draw(self) -> None:
        """Redraw the curves into :attr:`output`."""
        show(self.output, self.figure())
        self.draws += 1
