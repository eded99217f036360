"""A classifier that takes raw images: the course's preprocessing inside the model, as plain Keras layers.

The lessons feed models *model inputs*: images resized, converted to the backbone's
channels and passed through its ``preprocess_input`` (:func:`tlhelpers.pipeline.to_model_input`).
A saved model that expects those gives wrong answers, silently, to whoever loads it and
feeds it photos. :func:`with_preprocessing` puts the same steps inside the model, as Keras'
own layers: ``Resizing`` to the backbone's input side, then one fixed 1x1 convolution that
holds the channel conversion and ``preprocess_input`` (both are the same affine map at every
pixel, read off the registry). The saved file then loads with plain
``keras.saving.load_model``, without ``tlhelpers``, and takes 0..255 pixels of any size.

Example:
    >>> from tlhelpers import backbones, transfer
    >>> model = transfer.build_classifier(backbones.load_backbone("mobilenet_v2", weights=None, input_size=32), 3)
    >>> served = with_preprocessing(model, "mobilenet_v2", raw_channels=1)
    >>> served.input_shape, [layer.name for layer in served.layers[1:3]]
    ((None, None, None, 1), ['resize', 'channels_and_preprocess_input'])
"""

from __future__ import annotations

import keras
import numpy as np

from tlhelpers.backbones import get_spec
from tlhelpers.i18n import _
from tlhelpers.pipeline import to_model_input

__all__ = ["with_preprocessing"]

# tf.image.rgb_to_grayscale's weights, which tlhelpers.pipeline.prepare_images uses
_GRAY = np.array([[0.2989], [0.5870], [0.1140]], np.float32)


def pixel_map(backbone: str, raw_channels: int) -> tuple[np.ndarray, np.ndarray]:
    """The affine map ``pixel @ kernel + bias`` from a raw pixel to what ``backbone`` takes.

    It composes the channel conversion of :func:`tlhelpers.pipeline.prepare_images` with the
    registry's ``preprocess_input``, read off by probing it with one-hot pixels.

    Raises:
        ValueError: ``raw_channels`` not 1 or 3, or a ``preprocess_input`` that is not the same
            affine map at every pixel (it could not be a 1x1 convolution).

    Example:
        >>> kernel, bias = pixel_map("mobilenet_v2", 3)
        >>> [round(float(v), 5) for v in kernel.diagonal()], [round(float(v), 5) for v in bias]
        ([0.00784, 0.00784, 0.00784], [-1.0, -1.0, -1.0])
    """
    if raw_channels not in (1, 3):
        raise ValueError(_("raw_channels must be 1 (grayscale) or 3 (RGB), got {channels!r}").format(channels=raw_channels))
    spec = get_spec(backbone)
    if raw_channels == spec.channels:
        convert = np.eye(raw_channels, dtype=np.float32)
    elif raw_channels == 1:
        convert = np.ones((1, 3), np.float32)  # gray to RGB: the same value three times
    else:
        convert = _GRAY
    probes = np.concatenate([np.zeros((1, spec.channels)), 100.0 * np.eye(spec.channels)]).astype(np.float32)
    out = np.asarray(spec.preprocess(probes[:, None, None, :].copy()), np.float64)[:, 0, 0, :]
    bias, linear = out[0], (out[1:] - out[0]) / 100.0
    kernel = (convert @ linear).astype(np.float32)
    check = np.random.default_rng(0).uniform(0, 255, (4, 2, 2, raw_channels)).astype(np.float32)
    expected = np.asarray(to_model_input(check, backbone, 2), np.float64)
    if not np.allclose(check @ kernel + bias, expected, atol=1e-3):
        raise ValueError(_("{backbone}'s preprocess_input is not one affine map per pixel; it cannot go inside "
                           "the model as a 1x1 convolution").format(backbone=backbone))
    return kernel, bias.astype(np.float32)


def with_preprocessing(model: keras.Model, backbone: str, input_size: int | None = None,
                       raw_channels: int | None = None, name: str | None = None) -> keras.Model:
    """``model`` behind the course's preprocessing: a model of raw 0..255 images of any size.

    Args:
        model: a classifier that takes :func:`tlhelpers.pipeline.to_model_input` outputs.
        backbone: its registry backbone (gives channels and ``preprocess_input``).
        input_size: the side ``model`` takes (default: read from ``model``).
        raw_channels: the channels of the raw images it will get (default: the backbone's).
        name: the new model's name.

    Returns:
        A model sharing ``model``'s layers: ``Resizing`` (bilinear, as the pipeline), a fixed
        1x1 ``Conv2D`` (channels and ``preprocess_input``, not trainable), then ``model``'s
        layers; not compiled (it is for predictions: its file holds no optimizer state).
        On the same raw images it predicts what ``model`` predicts on ``to_model_input`` of
        them (``tests/test_serving.py`` checks it, through a save and a plain reload).

    Example:
        >>> served = with_preprocessing(model, "fashion_cnn")  # doctest: +SKIP
        >>> served.predict(raw_uint8_images)                  # doctest: +SKIP
    """
    spec = get_spec(backbone)
    size = int(model.input_shape[1]) if input_size is None else int(input_size)
    channels = spec.channels if raw_channels is None else raw_channels
    kernel, bias = pixel_map(backbone, channels)
    inputs = keras.Input((None, None, channels), name="raw_image")
    x = keras.layers.Resizing(size, size, interpolation="bilinear", name="resize")(inputs)
    affine = keras.layers.Conv2D(spec.channels, 1, name="channels_and_preprocess_input", trainable=False)
    x = affine(x)
    affine.set_weights([kernel[None, None], bias])
    core = keras.Model(model.inputs, model.outputs, name=model.name)  # its layers, without its compile state
    return keras.Model(inputs, core(x), name=name or f"{model.name}_on_raw_images")
