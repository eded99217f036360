"""Turning dataset images into what a backbone takes: size, channels, dtype.

The backbone's own ``preprocess_input`` (value range) is a separate, visible step: see
:func:`tlhelpers.backbones.get_spec` and lesson 02. :func:`make_dataset` puts the steps
into a ``tf.data`` pipeline (resize, ``cache()``, shuffle, batch, augment,
``preprocess_input``, ``prefetch()``).

Example:
    >>> import numpy as np
    >>> prepare_images(np.zeros((2, 28, 28, 1), np.uint8), size=32, channels=3).shape
    TensorShape([2, 32, 32, 3])
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import tensorflow as tf

from tlhelpers.i18n import _

__all__ = ["make_dataset", "prepare_images", "to_model_input"]


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
        raise ValueError(_("channels must be 1 or 3, got {channels}").format(channels=channels))
    x = tf.convert_to_tensor(images)
    if x.shape[-1] not in (1, 3):
        raise ValueError(_("images must end in 1 (grayscale) or 3 (RGB) channels, got shape {shape}").format(
            shape=tuple(x.shape)))
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


def make_dataset(
    x: np.ndarray,
    y: np.ndarray | None,
    backbone: str,
    size: int | None = None,
    batch_size: int = 32,
    shuffle: bool = False,
    augment: Callable[..., tf.Tensor] | None = None,
    cache: bool | str = True,
    *,
    preprocess: bool = True,
    seed: int = 0,
) -> tf.data.Dataset:
    """A ``tf.data`` input pipeline from images to what ``backbone`` takes.

    The steps, in order:

    1. ``map``: resize to ``size`` and convert channels (:func:`prepare_images`; 0..255 kept);
    2. ``cache()``: keep the resized images (in memory, or in the file ``cache`` names), so
       later epochs skip step 1;
    3. ``shuffle`` (a new order every epoch), then ``batch``;
    4. ``augment(x, training=True)`` on each batch, if given (random, so after the cache);
    5. the backbone's ``preprocess_input`` (after augmentation, which works on 0..255);
    6. ``prefetch``: prepare the next batch while the model works on this one.

    Args:
        x: uint8 (or 0..255 float) images ``(N, H, W, C)``.
        y: integer labels ``(N,)``, or ``None`` for a dataset of images only.
        backbone: registry name: gives channels, default size and ``preprocess_input``.
        size: side in pixels (default: the registry's native size for ``backbone``).
        batch_size: images per batch.
        shuffle: reshuffle every epoch (use for training data only).
        augment: e.g. :func:`tlhelpers.preprocessing.make_augmentation`; use for training
            data only.
        cache: ``True`` caches in memory, a path caches to that file, ``False`` does not cache.
        preprocess: apply ``preprocess_input`` (``False`` keeps 0..255 pixels, e.g. to show them).
        seed: the shuffle order.

    Raises:
        ValueError: ``x`` and ``y`` of different lengths, or a ``batch_size`` below 1.

    Example:
        >>> ds = make_dataset(np.zeros((10, 28, 28, 1), np.uint8), np.arange(10), "mobilenet_v2", 32, 4)
        >>> ds.element_spec[0].shape
        TensorShape([None, 32, 32, 3])
    """
    from tlhelpers.backbones import get_spec

    spec = get_spec(backbone)
    side = spec.input_size if size is None else int(size)
    if batch_size < 1:
        raise ValueError(_("batch_size must be at least 1, got {batch_size}").format(batch_size=batch_size))
    if y is not None and len(x) != len(y):
        raise ValueError(_("x has {images} images but y has {labels} labels; they must match").format(
            images=len(x), labels=len(y)))
    ds = tf.data.Dataset.from_tensor_slices(x if y is None else (x, y))

    def on_images(fn):
        return (lambda images: fn(images)) if y is None else (lambda images, labels: (fn(images), labels))

    ds = ds.map(on_images(lambda im: prepare_images(im, side, spec.channels)), num_parallel_calls=tf.data.AUTOTUNE)
    if cache:
        ds = ds.cache() if cache is True else ds.cache(str(cache))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if augment is not None:
        ds = ds.map(on_images(lambda im: augment(im, training=True)), num_parallel_calls=tf.data.AUTOTUNE)
    if preprocess:
        ds = ds.map(on_images(lambda im: tf.convert_to_tensor(spec.preprocess(im))),
                    num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)
