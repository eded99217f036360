"""Lesson 03's widgets, driven headlessly: the unfreeze-depth slider and the training panel."""

from __future__ import annotations

import keras
import matplotlib
import numpy as np
import pytest

from tlhelpers import backbones, transfer
from tlhelpers.training import compile_classifier
from tlhelpers.widgets.train import TrainPanel
from tlhelpers.widgets.unfreeze import UnfreezeExplorer

matplotlib.use("Agg")


@pytest.fixture
def model() -> keras.Model:
    keras.utils.set_random_seed(0)
    return transfer.build_classifier(backbones.load_backbone("fashion_cnn", weights=None), num_classes=3)


@pytest.fixture
def toy() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.uniform(0, 255, (24, 32, 32, 1)).astype("float32"), rng.integers(0, 3, 24)


def test_slider_updates_report_and_parameter_count(model) -> None:
    explorer = UnfreezeExplorer(model)
    assert explorer.slider.description == "Unfrozen blocks"
    assert (explorer.slider.min, explorer.slider.max) == (0, 4)
    assert explorer.report.trainable_blocks == []
    frozen_count = explorer.trainable_params
    explorer.slider.value = 2  # what dragging does
    assert explorer.report.trainable_blocks == ["block3", "block4"]
    assert explorer.trainable_params == sum(int(np.prod(w.shape)) for w in model.trainable_weights) > frozen_count
    assert f"trainable parameters: {explorer.trainable_params:,} of {model.count_params():,}" in explorer.params_label.value
    assert "block4" in explorer.report_html.value and "trainable" in explorer.report_html.value
    assert explorer.report_text == repr(transfer.trainability_report(model))
    bn = [l for l in transfer.find_backbone(model)[0].layers if isinstance(l, keras.layers.BatchNormalization)]
    assert bn and not any(l.trainable for l in bn)


def test_chart_shows_trainable_and_frozen_parameters(model) -> None:
    explorer = UnfreezeExplorer(model, blocks=1)
    data = explorer.chart_data()
    assert list(data) == ["block1", "block2", "block3", "block4", "head"]
    assert data["block3"][0] == 0 and data["block4"][0] > 0 and data["block4"][1] > 0  # BN part stays frozen
    assert sum(t for t, _ in data.values()) == explorer.trainable_params
    fig = explorer.figure()
    bars = fig.axes[0].patches
    assert [b.get_width() for b in bars[:5]] == [t for t, _ in data.values()]
    assert "top 1 of 4 blocks" in fig.axes[0].get_title()


def test_recompile_reminder_shows_live(model) -> None:
    compile_classifier(model, 1e-3)
    explorer = UnfreezeExplorer(model, plot=False)
    assert "WARNING" not in explorer.report_text
    explorer.slider.value = 3
    assert "WARNING" in explorer.report_text and "compile" in explorer.report_html.value


def test_unfreeze_explorer_bad_input(model) -> None:
    with pytest.raises(ValueError, match="blocks=5 is out of range for fashion_cnn"):
        UnfreezeExplorer(model, blocks=5)
    own = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)], name="homemade")
    with pytest.raises(ValueError, match="model 'homemade' has no backbone from the registry"):
        UnfreezeExplorer(own)


@pytest.mark.slow
def test_train_button_trains_a_copy_with_the_live_plot(model, toy) -> None:
    x, y = toy
    transfer.unfreeze_top(model, blocks=1)
    original = [w.copy() for w in model.get_weights()]
    panel = TrainPanel(model, x, y, validation_data=(x, y), learning_rate=1e-3, epochs=2, batch_size=8)
    assert (panel.lr.description, panel.epochs.description, panel.button.description) == ("Learning rate", "Epochs", "Train")
    panel.lr.value = 1e-2  # dragging the slider does not train
    assert panel.runs == [] and panel.last_model is None
    panel.button.click()  # what pressing the button does
    assert len(panel.runs) == 1 and panel.runs[0]["learning_rate"] == pytest.approx(1e-2)
    assert panel.live_plot.epochs == [1, 2] and panel.progress.value == panel.progress.max == 2
    assert "learning rate 1.0e-02" in panel.status.value and "val_accuracy" in panel.status.value
    assert not panel.button.disabled
    for old, new in zip(original, model.get_weights()):
        np.testing.assert_array_equal(old, new)  # the model given is never changed
    trained = transfer.find_backbone(panel.last_model)[0].get_layer("block4_conv1").kernel.numpy()
    assert not np.array_equal(trained, transfer.find_backbone(model)[0].get_layer("block4_conv1").kernel.numpy())
    assert transfer.trainability_report(panel.last_model).trainable_blocks == ["block4"]  # same trainable layers


@pytest.mark.slow
def test_runs_start_from_the_same_weights(model, toy) -> None:
    x, y = toy
    panel = TrainPanel(model, x, y, learning_rate=1e-3, epochs=1, batch_size=8)
    first = panel.train()
    second = panel.train()
    assert first["loss"] == pytest.approx(second["loss"], rel=1e-5)  # same start, same seed
    assert list(panel.runs_table()["learning_rate"]) == pytest.approx([1e-3, 1e-3])


def test_train_panel_bad_learning_rate(model, toy) -> None:
    x, y = toy
    panel = TrainPanel(model, x, y, epochs=1)
    assert panel.train(learning_rate=0) is None
    assert panel.status.value.startswith("Not trained: learning_rate must be greater than 0, got 0")
    assert panel.runs == []
    with pytest.raises(ValueError, match="learning_rate must be greater than 0"):
        TrainPanel(model, x, y, learning_rate=-1e-3)


@pytest.mark.slow
def test_unfreeze_explorer_on_the_imagenet_track_backbone() -> None:
    base = backbones.load_backbone("mobilenet_v2", weights=None, input_size=32)
    explorer = UnfreezeExplorer(transfer.build_classifier(base, 10), plot=False)
    assert explorer.slider.max == backbones.get_spec("mobilenet_v2").num_blocks == 8
    explorer.slider.value = 8
    assert explorer.report.frozen_blocks == []
    assert not any(l.trainable for l in base.layers if isinstance(l, keras.layers.BatchNormalization))
