"""The live training plot: plain-list history, phases, the curves drawn from that data."""

from __future__ import annotations

import ipywidgets as widgets
import keras
import matplotlib
import numpy as np
import pytest

from tlhelpers.live_plot import LivePlot

matplotlib.use("Agg")


@pytest.fixture
def tiny() -> tuple[keras.Model, np.ndarray, np.ndarray]:
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model, x, y


def test_history_in_plain_lists_matches_keras(tiny) -> None:
    model, x, y = tiny
    plot = LivePlot(draw=False)
    history = model.fit(x, y, validation_data=(x, y), epochs=4, batch_size=10, callbacks=[plot], verbose=0)
    assert plot.epochs == [1, 2, 3, 4]
    assert set(plot.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    for key, values in plot.history.items():
        assert type(values) is list and all(type(v) is float for v in values)
        np.testing.assert_allclose(values, history.history[key], rtol=1e-6)


@pytest.mark.slow
def test_two_fits_continue_one_curve_with_the_phase_marked(tiny) -> None:
    model, x, y = tiny
    plot = LivePlot(draw=False)
    model.fit(x, y, validation_data=(x, y), epochs=3, callbacks=[plot], verbose=0)
    model.fit(x, y, validation_data=(x, y), epochs=5, initial_epoch=3, callbacks=[plot], verbose=0)
    assert plot.epochs == [1, 2, 3, 4, 5]
    assert plot.phase_starts == [4]
    fig = plot.figure()
    loss_ax, acc_ax = fig.axes
    train_line = loss_ax.lines[0]
    np.testing.assert_allclose(train_line.get_xdata(), plot.epochs)
    np.testing.assert_allclose(train_line.get_ydata(), plot.history["loss"])
    np.testing.assert_allclose(acc_ax.lines[1].get_ydata(), plot.history["val_accuracy"])
    assert any(np.allclose(l.get_xdata(), 3.5) for l in loss_ax.lines[2:])  # the phase boundary


@pytest.mark.slow
def test_draws_into_an_output_during_fit(tiny) -> None:
    model, x, y = tiny
    out = widgets.Output()
    plot = LivePlot(output=out, every=2)
    model.fit(x, y, epochs=5, callbacks=[plot], verbose=0)
    assert plot.output is out
    assert plot.draws == 3  # after epochs 2 and 4, and once more at the end (epoch 5)
    assert plot.figure().axes[0].get_title() == "loss"


def test_without_validation_only_training_curves(tiny) -> None:
    model, x, y = tiny
    plot = LivePlot(metrics=("loss",), draw=False)
    model.fit(x, y, epochs=2, callbacks=[plot], verbose=0)
    fig = plot.figure()
    assert len(fig.axes) == 1 and [l.get_label() for l in fig.axes[0].lines] == ["loss"]
    plot.reset()
    assert plot.epochs == [] and plot.history == {}


def test_makes_its_own_output_and_checks_arguments() -> None:
    assert isinstance(LivePlot().output, widgets.Output)
    with pytest.raises(ValueError, match="every must be a positive integer, got 0"):
        LivePlot(every=0)
    with pytest.raises(ValueError, match="metrics is empty"):
        LivePlot(metrics=())
