"""The LR finder: exponential sweep, per-batch losses, divergence, suggestion, weights restored."""

from __future__ import annotations

import keras
import matplotlib
import numpy as np
import pytest
import tensorflow as tf

from tlhelpers.lr_finder import RULES, LRFinder, find_lr

matplotlib.use("Agg")


def _blobs(n: int = 240, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three separable Gaussian blobs in 2-D: a small problem with a clear learning-rate range."""
    rng = np.random.default_rng(seed)
    centers = np.array([[3.0, 0.0], [-3.0, 0.0], [0.0, 3.0]])
    y = rng.integers(0, 3, n)
    return (centers[y] + rng.normal(0, 1.0, (n, 2))).astype("float32"), y


def _softmax_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((2,)), keras.layers.Dense(16, activation="relu"),
                             keras.layers.Dense(3, activation="softmax")])


def test_sweep_is_exponential_and_restores_the_weights() -> None:
    x, y = _blobs()
    model = _softmax_model()
    before = [w.copy() for w in model.get_weights()]
    finder = find_lr(model, x, y, min_lr=1e-5, max_lr=1e2, steps=120, batch_size=16)
    lrs = np.asarray(finder.lrs)
    assert lrs[0] == pytest.approx(1e-5)
    ratios = lrs[1:] / lrs[:-1]
    np.testing.assert_allclose(ratios, (1e2 / 1e-5) ** (1 / 119), rtol=1e-6)  # a constant factor per step
    assert len(finder.losses) == len(finder.smoothed) == len(lrs)
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)  # the sweep left no trace


@pytest.mark.slow
def test_suggestion_inside_the_range_and_below_divergence() -> None:
    x, y = _blobs()
    finder = find_lr(_softmax_model(), x, y, min_lr=1e-5, max_lr=1e3, steps=200, batch_size=16)
    assert finder.diverged_lr is not None, "a rate of 1e3 must blow this problem up"
    assert len(finder.lrs) < 200  # stopped at the divergence point
    lowest = finder.lrs[int(np.argmin(finder.smoothed))]
    for rule in RULES:
        lr = finder.suggestion(rule)
        assert finder.lrs[0] <= lr <= finder.lrs[-1]
        assert lr < finder.diverged_lr
        assert lr <= lowest  # never past the lowest loss
    # the suggested rate really trains: a fresh model at it reaches a low loss
    model = _softmax_model()
    model.compile(optimizer=keras.optimizers.Adam(finder.suggestion()), loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=10, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]


@pytest.mark.slow
def test_losses_are_per_batch_not_running_means() -> None:
    """With a rate too small to change anything, each recorded loss is that batch's own loss."""
    x, y = _blobs(n=160)
    model = _softmax_model()
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)  # fixed order: batch i is known
    finder = find_lr(model, ds, min_lr=1e-12, max_lr=1e-11, steps=10)
    model.compile(loss="sparse_categorical_crossentropy")
    expected = [model.evaluate(x[i * 16:(i + 1) * 16], y[i * 16:(i + 1) * 16], verbose=0) for i in range(10)]
    np.testing.assert_allclose(finder.losses, expected, rtol=1e-4)
    assert np.std(finder.losses) > 0.01  # batches really differ, so a running mean would not match


@pytest.mark.slow
def test_summary_and_plot() -> None:
    x, y = _blobs()
    finder = find_lr(_softmax_model(), x, y, min_lr=1e-5, max_lr=1e3, steps=100, batch_size=16)
    text = finder.summary()
    assert "suggested learning rate" in text and "valley" in text and "diverged at" in text
    fig = finder.plot()
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    np.testing.assert_allclose(ax.lines[1].get_ydata(), finder.smoothed)
    suggestion_line = ax.lines[2]
    assert suggestion_line.get_xdata()[0] == pytest.approx(finder.suggestion())


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"min_lr": 0}, "min_lr must be greater than 0, got 0"),
        ({"max_lr": -1.0}, "max_lr must be greater than 0"),
        ({"min_lr": 1e-2, "max_lr": 1e-3}, "max_lr must be greater than min_lr"),
        ({"steps": 5}, "steps must be an integer of at least 10, got 5"),
        ({"smoothing": 1.0}, "smoothing must be in"),
        ({"divergence": 1.0}, "divergence must be greater than 1"),
    ],
)
def test_bad_settings_get_clear_errors(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        LRFinder(**kwargs)


def test_results_before_a_sweep_and_unknown_rule() -> None:
    finder = LRFinder()
    with pytest.raises(ValueError, match="run the finder"):
        finder.suggestion()
    with pytest.raises(ValueError, match="unknown rule 'best'; choose one of: valley, min/10"):
        finder.suggestion("best")


def test_a_schedule_is_refused() -> None:
    x, y = _blobs(n=64)
    model = _softmax_model()
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-3, 10, 0.9)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="not a schedule"):
        model.fit(x, y, epochs=1, callbacks=[LRFinder(steps=10)], verbose=0)


def test_unknown_optimizer() -> None:
    x, y = _blobs(n=32)
    with pytest.raises(ValueError, match="unknown optimizer 'adagrad'; choose one of: adam, sgd, rmsprop"):
        find_lr(_softmax_model(), x, y, optimizer="adagrad")
    with pytest.raises(ValueError, match="y is missing"):
        find_lr(_softmax_model(), x)
