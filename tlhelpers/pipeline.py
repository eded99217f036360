"""Turning dataset images into what a backbone takes: size, channels, dtype.

The backbone's own ``preprocess_input`` (value range) is a separate, visible step: see
:func:`tlhelpers.backbones.get_spec` and lesson 02.

Example:
    >>> import numpy as np
    >>> prepare_images(np.zeros((2, 28, 28, 1), np.uint8), size=32, channels=3).shape
    TensorShape([2, 32, 32, 3])
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def prepare_images(images: np.ndarray | tf.Tensor, size: int, channels: int) -> tf.Tensor:
    """Resize to ``size`` x ``size`` and convert gray <-> RGB; values stay in 0..255 as float32.

    Args:
        images: ``(N, H, W, C)`` or a single ``(H, W, C)`` image, C in {1, 3}.
        size: side in pixels the backbone expects.
        channels: 1 or 3, what the backbone expects.

    Raises:
        ValueError: images with another channel count, or ``channels`` not 1 or 3.

    Example:
        >>> prepare_images(np.zeros((32, 32, 3), np.uint8), size=32, channels=1).shape
        TensorShape([32, 32, 1])
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    x = tf.convert_to_tensor(images)
    if x.shape[-1] not in (1, 3):
        raise ValueError(
            f"images must end in 1 (grayscale) or 3 (RGB) channels, got shape {tuple(x.shape)}"
        )
    x = tf.cast(x, tf.float32)
    if tuple(x.shape[-3:-1]) != (size, size):
        x = tf.image.resize(x, (size, size))
    if x.shape[-1] == 1 and channels == 3:
        x = tf.image.grayscale_to_rgb(x)
    elif x.shape[-1] == 3 and channels == 1:
        x = tf.image.rgb_to_grayscale(x)
    return x


def to_model_input(images: np.ndarray | tf.Tensor, backbone: str, size: int | None = None) -> tf.Tensor:
    """Everything between raw pixels and a backbone: resize, channels, ``preprocess_input``.

    Args:
        images: uint8 (or 0..255 float) images.
        backbone: registry name; its row gives channels, default size and preprocessing.
        size: input side in pixels (default: the row's native size).

    Example:
        >>> x = to_model_input(np.full((1, 28, 28, 1), 255, np.uint8), "mobilenet_v2", 32)
        >>> float(x.numpy().max())
        1.0
    """
    from tlhelpers.backbones import get_spec

    spec = get_spec(backbone)
    x = prepare_images(images, spec.input_size if size is None else size, spec.channels)
    return tf.convert_to_tensor(spec.preprocess(x))
