"""Learning rates: validating one a user gives, and reading the one a model trains with.

Example:
    >>> validate_learning_rate(1e-3)
    0.001
"""

from __future__ import annotations

from typing import Any

import keras

from tlhelpers.i18n import _

__all__ = ["learning_rate_of", "validate_learning_rate"]


def validate_learning_rate(learning_rate: float, what: str = "learning_rate") -> float:
    """Return ``learning_rate`` as a float if it is positive, else raise a clear error.

    Raises:
        ValueError: not a number, or not greater than 0 (``what`` names it in the message).

    Example:
        >>> validate_learning_rate(1e-3)
        0.001
    """
    try:
        value = float(learning_rate)
    except (TypeError, ValueError):
        raise ValueError(_("{what} must be a positive number, got {value!r}").format(
            what=what, value=learning_rate)) from None
    if not value > 0:
        raise ValueError(_(
            "{what} must be greater than 0, got {value!r}; typical values: 1e-3 for a head with Adam, "
            "a peak of 1e-4 to 3e-3 to fine-tune (lesson 03)"
        ).format(what=what, value=learning_rate))
    return value




def learning_rate_of(model: Any) -> float | None:
    """The learning rate the model's optimizer uses now, or None if the model is not compiled.

    Example:
        >>> m = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> m.compile(optimizer=keras.optimizers.Adam(1e-4), loss="mse")
        >>> round(learning_rate_of(m), 6)
        0.0001
    """
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not getattr(model, "compiled", True):
        return None
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))
