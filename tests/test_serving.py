"""A saved model that takes raw images predicts what the course's pipeline predicts."""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest

from tlhelpers import backbones, transfer
from tlhelpers.pipeline import to_model_input
from tlhelpers.serving import pixel_map, with_preprocessing


def _raw(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


@pytest.mark.parametrize("backbone, size, raw_shape", [
    ("fashion_cnn", 32, (6, 32, 32, 1)),    # the offline track: already the right size and channels
    ("mobilenet_v2", 40, (6, 28, 28, 1)),   # resized and gray to RGB, preprocess_input to [-1, 1]
    ("resnet50", 32, (4, 36, 36, 3)),       # caffe: RGB to BGR and the ImageNet means subtracted
])
def test_reloaded_model_on_raw_images_predicts_as_the_pipeline(tmp_path, backbone, size, raw_shape) -> None:
    keras.utils.set_random_seed(0)
    model = transfer.build_classifier(backbones.load_backbone(backbone, weights=None, input_size=size), 4)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")  # as a trained model would be
    raw = _raw(raw_shape)
    expected = model.predict(to_model_input(raw, backbone, size), verbose=0)
    served = with_preprocessing(model, backbone, raw_channels=raw_shape[-1])
    path = tmp_path / "served.keras"
    served.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not even a note about optimizer state
        reloaded = keras.saving.load_model(path)  # plain Keras: no tlhelpers objects needed
    np.testing.assert_allclose(reloaded.predict(raw, verbose=0), expected, atol=1e-4)
    np.testing.assert_allclose(served.predict(raw.astype("float32"), verbose=0), expected, atol=1e-4)
    assert not served.get_layer("channels_and_preprocess_input").trainable


def test_pixel_map_is_the_preprocessing_of_one_pixel() -> None:
    kernel, bias = pixel_map("resnet50", 3)
    pixel = np.array([[255.0, 0.0, 0.0]], np.float32)
    np.testing.assert_allclose(pixel @ kernel + bias, [[-103.939, -116.779, 131.32]], atol=1e-3)
    kernel, bias = pixel_map("fashion_cnn", 3)  # RGB photos for a grayscale backbone with built-in rescaling
    np.testing.assert_allclose(kernel.ravel(), [0.2989, 0.5870, 0.1140], atol=1e-6)
    assert bias.tolist() == [0.0]


def test_bad_channels_are_refused() -> None:
    with pytest.raises(ValueError, match="raw_channels must be 1 \\(grayscale\\) or 3 \\(RGB\\), got 4"):
        pixel_map("fashion_cnn", 4)
