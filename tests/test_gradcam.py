"""Grad-CAM: the map has the image's shape and its peak lies on a planted signal."""

from __future__ import annotations

import keras
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from tlhelpers import backbones, transfer  # noqa: E402
from tlhelpers.gradcam import gradcam, gradcam_layer, overlay, plot_gradcam  # noqa: E402

SIZE = 16


def _detector_layers() -> tuple[keras.layers.Conv2D, keras.layers.Dense]:
    """A conv layer whose channel k fires where input channel k is bright, and a Dense
    layer whose class k reads channel k: class 0 means "bright in channel 0", class 1
    "bright in channel 1". The weights are set by hand, so the answer is known."""
    conv = keras.layers.Conv2D(2, 3, padding="same", activation="relu", name="detector")
    dense = keras.layers.Dense(2, activation="softmax", name="head")
    conv.build((None, SIZE, SIZE, 2))
    dense.build((None, 2))
    kernel = np.zeros((3, 3, 2, 2), np.float32)
    kernel[:, :, 0, 0] = 1.0
    kernel[:, :, 1, 1] = 1.0
    conv.set_weights([kernel, np.full(2, -0.5, np.float32)])
    dense.set_weights([np.eye(2, dtype=np.float32) * 4, np.zeros(2, np.float32)])
    return conv, dense


def _flat_model() -> keras.Model:
    conv, dense = _detector_layers()
    inputs = keras.Input((SIZE, SIZE, 2))
    x = keras.layers.GlobalAveragePooling2D(name="pool")(conv(inputs))
    return keras.Model(inputs, dense(x))


def _nested_model() -> keras.Model:
    """The same detector as a backbone nested in a classifier, like build_classifier makes."""
    conv, dense = _detector_layers()
    base_in = keras.Input((SIZE, SIZE, 2))
    base = keras.Model(base_in, conv(base_in), name="base")
    inputs = keras.Input((SIZE, SIZE, 2))
    x = base(inputs, training=False)
    x = keras.layers.GlobalAveragePooling2D(name="head_pool")(x)
    x = keras.layers.Dropout(0.5, name="head_dropout")(x)
    return keras.Model(inputs, dense(x))


def _planted_images() -> np.ndarray:
    """Noise, plus a bright square in channel 0 at the top left and one in channel 1 at
    the bottom right."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 0.05, (3, SIZE, SIZE, 2)).astype(np.float32)
    x[:, 2:5, 3:6, 0] += 1.0
    x[:, 11:14, 10:13, 1] += 1.0
    return x


def _peak(heatmap: np.ndarray) -> tuple[int, int]:
    return tuple(int(v) for v in np.unravel_index(np.argmax(heatmap), heatmap.shape))


@pytest.mark.parametrize("build", [_flat_model, _nested_model], ids=["flat", "nested"])
def test_peak_lies_on_the_planted_signal_of_the_class(build) -> None:
    model, x = build(), _planted_images()
    for cls, (rows, cols) in {0: (range(1, 6), range(2, 7)), 1: (range(10, 15), range(9, 14))}.items():
        maps = gradcam(model, x, class_index=cls, layer_name="detector")
        assert maps.shape == (3, SIZE, SIZE) and maps.dtype == np.float32
        assert maps.min() >= 0 and maps.max() == pytest.approx(1.0)
        for heatmap in maps:
            r, c = _peak(heatmap)
            assert r in rows and c in cols, f"class {cls}: peak at {(r, c)}"
        # the other signal's square is (nearly) cold in this class's map
        other = (slice(11, 14), slice(10, 13)) if cls == 0 else (slice(2, 5), slice(3, 6))
        assert maps[:, other[0], other[1]].max() < 0.2


def test_default_class_is_the_prediction_and_maps_can_stay_at_layer_resolution() -> None:
    model = _flat_model()
    x = _planted_images()[:1].copy()
    x[..., 1] = 0.0  # only the channel-0 square: the model predicts class 0
    assert model.predict(x, verbose=0).argmax() == 0
    np.testing.assert_allclose(
        gradcam(model, x, layer_name="detector"), gradcam(model, x, class_index=0, layer_name="detector")
    )
    assert gradcam(model, x, layer_name="detector", resize=False).shape == (1, SIZE, SIZE)


def test_flat_and_nested_models_give_the_same_map() -> None:
    x = _planted_images()
    np.testing.assert_allclose(
        gradcam(_flat_model(), x, 1, "detector"), gradcam(_nested_model(), x, 1, "detector"), atol=1e-6
    )


def test_registry_layer_choice_for_each_backbone_row() -> None:
    base = backbones.load_backbone("fashion_cnn", weights=None)
    assert gradcam_layer(base) == "block4_relu1"
    assert gradcam_layer(base, "fashion_cnn") == "block4_relu1"
    mobilenet = backbones.load_backbone("mobilenet_v2", weights=None, input_size=32)
    assert gradcam_layer(mobilenet) == "out_relu"
    # a classifier around the base: the layer is found inside the nested backbone
    assert gradcam_layer(transfer.build_classifier(base, 3)) == "block4_relu1"


@pytest.mark.slow
@pytest.mark.parametrize("name,size", [("fashion_cnn", None), ("mobilenet_v2", 32)])
def test_gradcam_on_a_registry_classifier(name: str, size: int | None) -> None:
    keras.utils.set_random_seed(0)
    base = backbones.load_backbone(name, weights=None, input_size=size)
    model = transfer.build_classifier(base, 4)
    side = base.input_shape[1]
    x = np.random.default_rng(0).uniform(0, 1, (2, side, side, base.input_shape[-1])).astype(np.float32)
    maps = gradcam(model, x, class_index=[0, 3])
    assert maps.shape == (2, side, side)
    assert np.isfinite(maps).all() and maps.min() >= 0 and maps.max() <= 1


def test_bad_input_gets_clear_errors() -> None:
    model, x = _flat_model(), _planted_images()
    with pytest.raises(ValueError, match="class_index 2 is out of range"):
        gradcam(model, x, class_index=2, layer_name="detector")
    with pytest.raises(ValueError, match="layer 'nope'"):
        gradcam(model, x, layer_name="nope")
    with pytest.raises(ValueError, match="no backbone from the registry"):
        gradcam(model, x)  # no registry backbone, no layer named
    with pytest.raises(ValueError, match="images must be"):
        gradcam(model, np.zeros((SIZE, SIZE)), layer_name="detector")


def test_overlay_and_plot() -> None:
    image = np.zeros((8, 8, 1), np.uint8)
    blended = overlay(image, np.ones((4, 4)))
    assert blended.shape == (8, 8, 3) and 0 <= blended.min() and blended.max() <= 1
    fig = plot_gradcam(np.zeros((3, 8, 8, 1)), np.ones((3, 8, 8)), ["a", "b", "c"], ncols=2)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 6 and visible[0].get_title(loc="left") == "a"
