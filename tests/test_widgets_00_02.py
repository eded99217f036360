"""The widgets of lessons 00-02, driven headlessly: set a control, read the result."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from tlhelpers import data, strategies
from tlhelpers.backbones import load_backbone
from tlhelpers.plots_lessons import image_grid, transfer_diagram
from tlhelpers.widgets import label_budget
from tlhelpers.widgets.augmentation import AugmentationPreview
from tlhelpers.widgets.backbone_explorer import BackboneExplorer
from tlhelpers.widgets.feature_maps import FeatureMapExplorer


def _results() -> pd.DataFrame:
    rows = []
    for k, scratch, probe in [(1, 0.30, 0.50), (5, 0.45, 0.60), (20, 0.70, 0.72)]:
        for seed, jitter in [(0, -0.01), (1, 0.01)]:
            rows.append({"strategy": "scratch", "labels_per_class": k, "seed": seed, "test_accuracy": scratch + jitter})
            rows.append({"strategy": "probe", "labels_per_class": k, "seed": seed, "test_accuracy": probe + jitter})
    return pd.DataFrame(rows)


def test_label_budget_slider_redraws_without_training(monkeypatch) -> None:
    monkeypatch.setattr(strategies, "compare", lambda *a, **k: pytest.fail("the slider must not train"))
    explorer = label_budget.LabelBudgetExplorer(_results(), chance=0.2)
    assert explorer.slider.options == (1, 5, 20) and explorer.slider.description == "labels/class"
    explorer.slider.value = 5
    assert explorer.accuracies() == pytest.approx({"probe": 0.60, "scratch": 0.45})
    assert "<b>5</b> labelled images per class" in explorer.summary.value
    assert "15.0 points ahead of" in explorer.summary.value
    explorer.slider.value = 1
    assert "20.0 points ahead of" in explorer.summary.value and "<b>1</b> labelled image per" in explorer.summary.value
    ax = explorer.figure.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines() if not line.get_label().startswith("_")}
    probe = lines[label_budget.STRATEGY_LABELS["probe"]]
    np.testing.assert_allclose(probe.get_ydata(), [0.50, 0.60, 0.72])  # the means over seeds
    np.testing.assert_allclose(probe.get_xdata(), [1, 5, 20])


def test_summarize_needs_the_right_columns() -> None:
    table = label_budget.summarize(_results())
    assert table.loc[("scratch", 20), "min"] == pytest.approx(0.69) and table.loc[("scratch", 20), "count"] == 2
    with pytest.raises(ValueError, match="test_accuracy"):
        label_budget.summarize(pd.DataFrame({"strategy": [], "labels_per_class": []}))


def _toy_task(k: int) -> data.Task:
    """Like ``load_task(labels_per_class=k)`` with a track that validates on at most 4 per class."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (90, 28, 28, 1)).astype(np.uint8)
    y = np.repeat(np.arange(3), 30)
    return data.make_task("toy", (x, y), (x[:12], y[:12]), ("a", "b", "c"), k, val_per_class=min(k, 4), seed=3)


def test_at_budget_gives_what_load_task_would() -> None:
    big = _toy_task(10)
    prepared = strategies.PreparedTask(big.x_train, big.x_val, big.x_test, f_train=np.arange(30.0)[:, None])
    for k in (1, 4, 10):
        small, small_prepared = label_budget.at_budget(big, prepared, k)
        direct = _toy_task(k)
        np.testing.assert_array_equal(small.x_train, direct.x_train)
        np.testing.assert_array_equal(small.y_train, direct.y_train)
        np.testing.assert_array_equal(small.x_val, direct.x_val)  # at most k validation labels per class
        np.testing.assert_array_equal(small.y_val, direct.y_val)
        np.testing.assert_array_equal(small_prepared.x_val, direct.x_val)
        assert small_prepared.f_train.shape == (3 * k, 1) and small.labels == 3 * k + 3 * min(k, 4)
    with pytest.raises(ValueError, match="between 1 and the task's 10, got 11"):
        label_budget.at_budget(big, prepared, 11)


def test_budget_experiment_calls_compare_per_budget(monkeypatch) -> None:
    calls = []

    def fake_compare(task, backbone, strategies, seeds, input_size, prepared, **kwargs):
        calls.append((len(task.y_train), len(prepared.f_train), kwargs))
        return pd.DataFrame([{"strategy": s, "labels_per_class": len(task.y_train) // 3, "test_accuracy": 0.5} for s in strategies])

    monkeypatch.setattr(strategies, "compare", fake_compare)
    big = _toy_task(10)
    prepared = strategies.PreparedTask(big.x_train, big.x_val, big.x_test, f_train=np.zeros((30, 2)))
    results = label_budget.budget_experiment(big, prepared, "fashion_cnn", budgets=(5, 1, 10), progress=False, max_epochs=3)
    assert [c[:2] for c in calls] == [(3, 3), (15, 15), (30, 30)]
    assert [c[2] for c in calls] == [{"max_epochs": 3, "batch_size": b} for b in (4, 4, 6)]  # auto: ~5 steps/epoch, >= 4
    assert [label_budget.auto_batch_size(n) for n in (5, 25, 100, 1000)] == [4, 5, 16, 16]
    label_budget.budget_experiment(big, prepared, "fashion_cnn", budgets=(1,), progress=False, batch_size=32)
    assert calls[-1][2] == {"batch_size": 32}  # an explicit batch size wins
    assert sorted(results["labels_per_class"].unique()) == [1, 5, 10] and len(results) == 6


@pytest.mark.slow
def test_budget_experiment_runs_for_real_on_a_tiny_task() -> None:
    big = _toy_task(4)
    base = load_backbone("fashion_cnn")
    prepared = strategies.prepare(big, "fashion_cnn", base=base)
    results = label_budget.budget_experiment(big, prepared, "fashion_cnn", budgets=(1, 4), strategies=("probe",),
                                             progress=False, max_epochs=1, patience=1)
    assert list(results["labels_per_class"]) == [1, 4]
    assert results["test_accuracy"].between(0, 1).all()


def test_feature_map_slider() -> None:
    base = load_backbone("fashion_cnn", weights=None)
    image = np.random.default_rng(0).uniform(0, 255, (32, 32, 1))
    explorer = FeatureMapExplorer(base, image, max_channels=8)
    assert explorer.slider.description == "layer" and explorer.layer == "rescale"
    explorer.slider.value = explorer.layers.index("block2_conv1")
    assert explorer.maps.shape == (16, 16, 32)
    assert "block2_conv1: 16x16 maps, 32 channels" in explorer.info.value
    assert len(explorer.figure.axes) == 8
    np.testing.assert_allclose(explorer.figure.axes[0].images[0].get_array(), explorer.maps[..., 0], rtol=1e-5)
    with pytest.raises(ValueError, match="not in fashion_cnn"):
        FeatureMapExplorer(base, image, layers=["nope"])
    with pytest.raises(ValueError, match="one \\(H, W, C\\) input"):
        FeatureMapExplorer(base, image[None])


@pytest.mark.slow
def test_backbone_dropdown_measures_with_progress() -> None:
    explorer = BackboneExplorer(["fashion_cnn", "mobilenet_v2"], input_size=32, min_seconds=0.05)
    assert explorer.dropdown.description == "backbone" and set(explorer.results) == {"fashion_cnn"}
    explorer.dropdown.value = "mobilenet_v2"
    facts = explorer.results["mobilenet_v2"]
    assert facts["blocks"] == 8 and facts["measured at"] == 32 and facts["native input size"] == 224
    assert facts["images/second"] > 0 and facts["parameters"] == load_backbone("mobilenet_v2", weights=None, input_size=32).count_params()
    assert explorer.progress.value == explorer.progress.max > 1
    assert "images/second" in explorer.status.value and f"{facts['parameters']:,}" in explorer.table.value
    measured = dict(explorer.results["fashion_cnn"])
    explorer.dropdown.value = "fashion_cnn"
    assert explorer.results["fashion_cnn"] == measured  # kept: not measured again
    assert "218,576" in explorer.table.value  # the bundled backbone's parameters
    with pytest.raises(ValueError, match="unknown backbone"):
        BackboneExplorer(["vgg"])


@pytest.mark.slow
def test_backbone_dropdown_at_the_imagenet_track_size_keeps_the_bundled_backbone_at_32() -> None:
    explorer = BackboneExplorer(["mobilenet_v2", "fashion_cnn"], input_size=96, min_seconds=0.05)
    assert explorer.results["mobilenet_v2"]["measured at"] == 96
    explorer.dropdown.value = "fashion_cnn"
    assert explorer.results["fashion_cnn"]["measured at"] == 32 and explorer.results["fashion_cnn"]["images/second"] > 0


@pytest.mark.slow
def test_augmentation_preview_follows_the_sliders() -> None:
    images = np.random.default_rng(0).integers(0, 256, (3, 16, 16, 1)).astype(np.uint8)
    preview = AugmentationPreview(images, copies=2)
    assert preview.grid.shape == (3, 3, 16, 16, 1)
    np.testing.assert_allclose(preview.grid[:, 0], images)  # column 0: the originals
    preview.rotation.value = 0.3
    assert [l.name for l in preview.augmentation.layers] == ["flip", "rotation", "zoom", "contrast"]
    assert "rotation" in preview.info.value and preview.augmentation.layers[1].factor == (-0.3, 0.3)
    for control in (preview.rotation, preview.zoom, preview.contrast, preview.translation):
        control.value = 0.0
    preview.flip.value = False
    assert [l.name for l in preview.augmentation.layers] == ["identity"] and preview.info.value == "layers: none"
    np.testing.assert_allclose(preview.grid[:, 1], images)  # nothing on: copies equal the originals
    preview.contrast.value = 0.5
    before = preview.grid.copy()
    preview.resample.click()
    assert not np.allclose(before[:, 1:], preview.grid[:, 1:])  # a new random draw
    assert len(preview.figure.axes) == 9
    with pytest.raises(ValueError, match="non-empty"):
        AugmentationPreview(np.zeros((0, 4, 4, 1)))


def test_image_grid_and_transfer_diagram() -> None:
    fig = image_grid(np.zeros((5, 8, 8, 1)), list("abcde"), columns=2)
    assert [ax.get_title() for ax in fig.axes] == list("abcde")
    with pytest.raises(ValueError, match="5 images but 2 titles"):
        image_grid(np.zeros((5, 8, 8, 1)), ["a", "b"])
    fig = transfer_diagram([f"b{i}" for i in range(9)], "ImageNet", 1000, ["cat", "dog"],
                           np.zeros((2, 8, 8, 3)), labels_per_class=7)
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert "7 labels per class" in texts and "b0" in texts and "b8" in texts and "b4" not in texts  # long lists shortened
    assert [ax.get_title() for ax in fig.axes[1:]] == ["cat", "dog"]
