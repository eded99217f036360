"""The private Keras attributes tlhelpers relies on still do what it needs (fails first if Keras changes them)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tlhelpers import keras_internals


def nested_model() -> keras.Model:
    inner = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, name="inner_dense"),
                              keras.layers.BatchNormalization(name="inner_bn")], name="inner")
    inputs = keras.Input((3,))
    return keras.Model(inputs, keras.layers.Dense(2, name="top")(inner(inputs)), name="outer")


def test_all_layers_reaches_into_nested_models() -> None:
    names = [layer.name for layer in keras_internals.all_layers(nested_model())]
    assert names[0] == "outer"
    assert {"inner", "inner_dense", "inner_bn", "top"} <= set(names)
    assert "outer" not in [layer.name for layer in keras_internals.all_layers(nested_model(), include_self=False)]


def test_variable_index_follows_the_list_the_optimizer_was_built_with() -> None:
    variables = [keras.Variable(np.zeros(2)), keras.Variable(np.ones(3)), keras.Variable(1.0)]
    optimizer = keras.optimizers.Adam()
    optimizer.build(variables)
    assert [keras_internals.variable_index(optimizer, v) for v in variables] == [0, 1, 2]


def test_learning_rate_schedule_tells_a_schedule_from_a_number() -> None:
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-3, decay_steps=10, decay_rate=0.5)
    assert keras_internals.learning_rate_schedule(keras.optimizers.Adam(schedule)) is schedule
    assert keras_internals.learning_rate_schedule(keras.optimizers.Adam(1e-3)) is None


def test_trainable_at_compile_records_each_layers_flag() -> None:
    model = nested_model()
    assert keras_internals.trainable_at_compile(model) is None  # not compiled yet
    model.get_layer("top").trainable = False
    model.compile(optimizer="adam", loss="mse")
    state = keras_internals.trainable_at_compile(model)
    assert state[model.get_layer("top")] is False and state[model.get_layer("inner")] is True


def test_a_missing_attribute_is_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match=r"Keras .* has no object._flatten_layers.*pip install -e"):
        keras_internals.all_layers(object())

