"""Learning-rate playground: pick a rate, press Train, watch a short run live.

Each press of the Train button trains a fresh copy of the model you gave (same starting
weights, same trainable layers) for a few epochs with the chosen peak learning rate on the
recipe's warm-up and cosine decay (:func:`tlhelpers.recipe.warmup_cosine`), drawing the
loss and accuracy curves as it goes. Runs are kept in a table so you can compare rates.
Dragging the slider never trains; only the button does. The model you pass is never
changed.

Example:
    >>> from tlhelpers.widgets.train import TrainPanel
    >>> panel = TrainPanel(model, x_train, y_train, validation_data=(x_val, y_val))  # doctest: +SKIP
    >>> panel.widget                         # doctest: +SKIP
    >>> panel.lr.value = 1e-2                # doctest: +SKIP
    >>> panel.train()                        # doctest: +SKIP
"""

from __future__ import annotations

import math
from typing import Any

import ipywidgets as widgets
import keras

from tlhelpers.i18n import _
from tlhelpers.learning_rates import validate_learning_rate
from tlhelpers.live_plot import LivePlot
from tlhelpers.recipe import warmup_cosine
from tlhelpers.tables import header, shown_frame
from tlhelpers.training import compile_classifier

__all__ = ["TrainPanel"]


class _Progress(keras.callbacks.Callback):
    def __init__(self, bar: widgets.IntProgress) -> None:
        super().__init__()
        self.bar = bar

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.bar.value += 1


class TrainPanel:
    """A learning-rate slider, an epochs slider, a Train button, progress, live plot, results.

    Args:
        model: a compiled-or-not classifier; each run trains a clone with its weights.
        x, y: training data (arrays).
        validation_data: ``(x_val, y_val)`` for the validation curves and the result.
        learning_rate: the slider's start value.
        epochs: the epochs slider's start value.
        batch_size: images per step.
        max_epochs: the epochs slider's maximum.
        seed: each run is seeded the same, so runs differ only by the learning rate.

    Attributes:
        lr: ``FloatLogSlider`` (``description="Learning rate"``), 1e-6 .. 1.
        epochs: ``IntSlider`` (``description="Epochs"``).
        button: the ``Train`` button.
        progress: ``IntProgress`` over the epochs of the current run.
        status: a ``Label`` with the last run's result or an error message.
        live_plot: the :class:`~tlhelpers.live_plot.LivePlot` of the current run.
        runs: one dict per run: learning rate, epochs, final loss and accuracies.
        last_model: the model trained by the last run.
        widget: the whole dashboard (a ``VBox``).
    """

    def __init__(
        self,
        model: keras.Model,
        x: Any,
        y: Any,
        validation_data: tuple[Any, Any] | None = None,
        learning_rate: float = 1e-4,
        epochs: int = 3,
        batch_size: int = 16,
        max_epochs: int = 20,
        seed: int = 0,
    ) -> None:
        validate_learning_rate(learning_rate)
        if not 1 <= epochs <= max_epochs:
            raise ValueError(_("epochs must be between 1 and max_epochs={max_epochs}, got {epochs}").format(
                max_epochs=max_epochs, epochs=epochs))
        self.model, self.x, self.y, self.validation_data = model, x, y, validation_data
        self.batch_size, self.seed = batch_size, seed
        self._start_weights = [w.copy() for w in model.get_weights()]
        self.lr = widgets.FloatLogSlider(
            value=learning_rate, base=10, min=-6, max=0, step=0.25, description=_("Learning rate"),
            readout_format=".1e", continuous_update=False, style={"description_width": "initial"},
        )
        self.epochs = widgets.IntSlider(value=epochs, min=1, max=max_epochs, description=_("Epochs"))
        self.button = widgets.Button(description=_("Train"), button_style="primary", icon="play",
                                     tooltip=_("train a fresh copy of the model at this learning rate"))
        self.progress = widgets.IntProgress(value=0, min=0, max=epochs, description=_("Progress"))
        self.status = widgets.Label(value=_("Pick a learning rate, then press Train."))
        self.live_plot = LivePlot(output=widgets.Output())
        self.runs: list[dict[str, float]] = []
        self.last_model: keras.Model | None = None
        self.button.on_click(self._on_click)
        self.widget = widgets.VBox([
            widgets.HBox([self.lr, self.epochs, self.button]),
            self.progress, self.status, self.live_plot.output,
        ])

    def _on_click(self, _button: widgets.Button) -> None:
        self.train()

    def fresh_model(self) -> keras.Model:
        """A copy of the model with its starting weights and trainable flags."""
        clone = keras.models.clone_model(self.model)
        clone.set_weights(self._start_weights)
        return clone

    def train(self, learning_rate: float | None = None, epochs: int | None = None) -> dict[str, float] | None:
        """One run (what the button does); returns its result, or None after a bad input.

        Args:
            learning_rate: overrides the slider (e.g. to try a value it cannot show).
            epochs: overrides the epochs slider.
        """
        lr = self.lr.value if learning_rate is None else learning_rate
        n = self.epochs.value if epochs is None else epochs
        try:
            lr = validate_learning_rate(lr)
            if not isinstance(n, int) or n < 1:
                raise ValueError(_("epochs must be a positive integer, got {n!r}").format(n=n))
        except ValueError as err:
            self.status.value = _("Not trained: {error}").format(error=err)
            return None
        from tlhelpers.config import set_seed

        self.button.disabled = True
        self.progress.max, self.progress.value = n, 0
        self.status.value = _("training at learning rate {rate} for {n} epoch(s)...").format(rate=f"{lr:.1e}", n=n)
        self.live_plot.reset()
        self.live_plot.title = _("learning rate {rate}").format(rate=f"{lr:.1e}")
        try:
            set_seed(self.seed)
            steps = math.ceil(len(self.y) / self.batch_size)
            schedule = warmup_cosine(lr, steps, n, warmup_epochs=min(2, n // 3))  # the recipe's shape, over n epochs
            model = compile_classifier(self.fresh_model(), optimizer=keras.optimizers.Adam(learning_rate=schedule))
            model.fit(
                self.x, self.y, validation_data=self.validation_data, epochs=n, batch_size=self.batch_size,
                callbacks=[self.live_plot, _Progress(self.progress)], verbose=0,
            )
        except Exception as err:  # show it in the widget; the notebook keeps running
            self.status.value = _("Training failed: {kind}: {error}").format(kind=type(err).__name__, error=err)
            return None
        finally:
            self.button.disabled = False
        self.last_model = model
        history = self.live_plot.history
        result = {"learning_rate": lr, "epochs": n}
        result.update({key: values[-1] for key, values in history.items()})
        self.runs.append(result)
        self.status.value = self._describe(result)
        return result

    @staticmethod
    def _describe(result: dict[str, float]) -> str:
        parts = [_("learning rate {rate}, {n} epoch(s)").format(rate=f"{result['learning_rate']:.1e}", n=result["epochs"])]
        for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
            if key in result:
                value = result[key]
                parts.append(f"{header(key)} {value:.3f}" if math.isfinite(value)
                             else _("{metric} {value} (diverged)").format(metric=header(key), value=value))
        return _("{run}: {metrics}").format(run=parts[0], metrics=_(", ").join(parts[1:]))

    def runs_table(self):  # -> pandas.DataFrame
        """All runs so far, one row each."""
        return shown_frame(self.runs)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
