"""Compiling a classifier the course's way, and measuring its accuracy.

The fine-tuning recipe itself is :mod:`tlhelpers.recipe`.

Example:
    >>> m = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="softmax")])
    >>> type(compile_classifier(m, 1e-3).optimizer).__name__
    'Adam'
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from tlhelpers.i18n import N_, _
from tlhelpers.learning_rates import validate_learning_rate

__all__ = ["OPTIMIZERS", "accuracy", "compile_classifier", "epoch_bar"]

OPTIMIZERS = {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD, "rmsprop": keras.optimizers.RMSprop}


def compile_classifier(
    model: keras.Model,
    learning_rate: float | None = None,
    optimizer: str | keras.optimizers.Optimizer = "adam",
    steps_per_execution: int = 1,
) -> keras.Model:
    """Compile for integer labels with accuracy, by keyword (Keras 3).

    ``optimizer`` is a name from :data:`OPTIMIZERS` (then ``learning_rate`` is required) or
    an optimizer already made (e.g. :func:`tlhelpers.discriminative.discriminative_optimizer`;
    then leave ``learning_rate`` out). ``steps_per_execution`` runs that many batches per
    call into the compiled graph: worth raising when a step is so cheap (a head on cached
    features) that Keras' per-step overhead dominates.

    Example:
        >>> m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
        >>> type(compile_classifier(m, 1e-3).optimizer).__name__
        'Adam'
        >>> type(compile_classifier(m, optimizer=keras.optimizers.SGD(0.1)).optimizer).__name__
        'SGD'
    """
    if isinstance(optimizer, keras.optimizers.Optimizer):
        if learning_rate is not None:
            raise ValueError(_("give learning_rate to the optimizer you pass, not to compile_classifier as well"))
    elif optimizer not in OPTIMIZERS:
        raise ValueError(_("unknown optimizer {optimizer!r}; choose one of: {choices}, or pass a keras optimizer").format(
            optimizer=optimizer, choices=", ".join(OPTIMIZERS)))
    else:
        optimizer = OPTIMIZERS[optimizer](learning_rate=validate_learning_rate(learning_rate))
    model.compile(
        optimizer=optimizer,
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
    return model


def accuracy(model: keras.Model, x: Any, y: Any, batch_size: int = 256) -> float:
    """Share of ``x`` that ``model`` (softmax outputs) assigns to its label in ``y``.

    Example:
        >>> m = keras.Sequential([keras.Input((2,)), keras.layers.Softmax()])
        >>> accuracy(m, np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0, 0]))
        0.5
    """
    return float(np.mean(model.predict(x, batch_size=batch_size, verbose=0).argmax(axis=1) == np.asarray(y)))


def epoch_bar(desc: str = N_("epochs")) -> keras.callbacks.Callback:
    """A progress bar over a ``fit``'s epochs, its latest metrics beside it: tqdm's own Keras callback.

    The bar's length is ``fit``'s ``epochs``; when early stopping ends the fit sooner, the bar
    ends there as finished (green in a notebook), not as failed.

    Example:
        >>> m = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="softmax")])
        >>> _ = compile_classifier(m, 1e-3).fit(np.zeros((4, 2)), np.zeros(4), epochs=2, verbose=0,
        ...                                      callbacks=[epoch_bar("demo")])  # doctest: +SKIP
    """
    from tqdm.keras import TqdmCallback

    class EpochBar(TqdmCallback):
        def on_train_end(self, *args: Any, **kwargs: Any) -> None:
            bar = self.epoch_bar
            if bar.total and bar.n < bar.total:  # stopped early: the run is done, not broken off
                bar.total = bar.n
                container = getattr(bar, "container", None)  # tqdm.notebook's widget, as tqdm.keras reads it
                if container is not None:
                    container.children[1].max = bar.n
            super().on_train_end(*args, **kwargs)

    return EpochBar(verbose=0, desc=_(desc))  # a marked label (the default, "fine-tuning") in the active language
