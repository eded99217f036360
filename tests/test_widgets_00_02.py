"""The widgets of lessons 00-02, driven headlessly: set a control, read the result."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from test_budget import budget_results

from tlhelpers import strategies
from tlhelpers.backbones import load_backbone
from tlhelpers.plots_lessons import image_grid, transfer_diagram
from tlhelpers.widgets import label_budget
from tlhelpers.widgets.augmentation import AugmentationPreview
from tlhelpers.widgets.backbone_explorer import BackboneExplorer
from tlhelpers.widgets.feature_maps import FeatureMapExplorer


def test_label_budget_slider_redraws_without_training(monkeypatch) -> None:
    monkeypatch.setattr(strategies, "compare", lambda *a, **k: pytest.fail("the slider must not train"))
    explorer = label_budget.LabelBudgetExplorer(budget_results(), chance=0.2)
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
