"""The few private Keras attributes the course relies on, each used here and nowhere else.

Keras 3 has no public way to do four things the course needs: list every layer of a
model, nested models' layers included (``_flatten_layers``); find a variable's slot in its
optimizer (``_get_variable_index``); tell a learning-rate schedule from a number
(``_learning_rate``); and see which layers changed ``trainable`` since ``compile``
(``_compiled_trainable_state``). Should a Keras release rename one, the helper says so in
a clear error, and ``tests/test_keras_internals.py`` fails first; ``pyproject.toml`` keeps
``keras`` below the first version the tests have not passed with.

Example:
    >>> import keras
    >>> inner = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, name="inner_dense")], name="inner")
    >>> outer = keras.Sequential([keras.Input((2,)), inner, keras.layers.Dense(1, name="top")])
    >>> [layer.name for layer in all_layers(outer, include_self=False) if layer.weights]
    ['inner', 'inner_dense', 'top']
"""

from __future__ import annotations

from typing import Any

import keras


def _private(obj: Any, name: str) -> Any:
    try:
        return getattr(obj, name)
    except AttributeError:
        raise RuntimeError(
            f"Keras {keras.__version__} has no {type(obj).__name__}.{name}, which tlhelpers relies on; "
            "install the Keras version pyproject.toml names (pip install -e .)"
        ) from None


def all_layers(model: keras.Layer, include_self: bool = True) -> list[keras.Layer]:
    """Every layer of ``model``, nested models and their layers included, outermost first.

    Example:
        >>> [type(layer).__name__ for layer in all_layers(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]))]
        ['Sequential', 'InputLayer', 'Dense']
    """
    return list(_private(model, "_flatten_layers")(include_self=include_self))


def variable_index(optimizer: keras.optimizers.Optimizer, variable: Any) -> int:
    """The position of ``variable`` in the list ``optimizer`` was built with.

    Example:
        >>> v = keras.Variable(1.0)
        >>> opt = keras.optimizers.SGD()
        >>> opt.build([v])
        >>> variable_index(opt, v)
        0
    """
    return _private(optimizer, "_get_variable_index")(variable)


def learning_rate_schedule(optimizer: keras.optimizers.Optimizer) -> keras.optimizers.schedules.LearningRateSchedule | None:
    """The schedule ``optimizer`` was made with, or None when its learning rate is a number.

    Example:
        >>> learning_rate_schedule(keras.optimizers.Adam(1e-3)) is None
        True
    """
    value = _private(optimizer, "_learning_rate")
    return value if isinstance(value, keras.optimizers.schedules.LearningRateSchedule) else None


def trainable_at_compile(model: keras.Model) -> dict[keras.Layer, bool] | None:
    """Each layer's ``trainable`` when ``model`` was last compiled (None: not compiled).

    Example:
        >>> trainable_at_compile(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])) is None
        True
    """
    if not getattr(model, "compiled", False):
        return None
    return _private(model, "_compiled_trainable_state")
