"""Cached features: run a frozen backbone once, then train heads on its outputs.

A frozen base computes the same features every epoch; computing them once turns each
epoch of head training into a few matrix products. What that trades: no data
augmentation (each image is seen the same way) and no fine-tuning of the base.

Example:
    >>> from tlhelpers.features import extract_features
    >>> features = extract_features(base, x_train)  # doctest: +SKIP
    >>> features.shape                               # doctest: +SKIP
    (100, 128)
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


def extract_features(
    base: keras.Model, images: np.ndarray | tf.Tensor, batch_size: int = 256, verbose: int = 0
) -> np.ndarray:
    """Run ``base`` in inference mode over ``images`` once; feature maps are average-pooled.

    Args:
        base: a (frozen) backbone, e.g. from :func:`tlhelpers.backbones.load_backbone`.
        images: inputs the base takes (see :func:`tlhelpers.pipeline.to_model_input`).
        batch_size: images per forward pass.
        verbose: 1 shows Keras' progress bar.

    Returns:
        ``(N, D)`` float32 features.

    Example:
        >>> base = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Conv2D(3, 1)])
        >>> extract_features(base, np.zeros((5, 4, 4, 1))).shape
        (5, 3)
    """
    features = base.predict(images, batch_size=batch_size, verbose=verbose)
    if features.ndim == 4:
        features = features.mean(axis=(1, 2))
    return features.astype(np.float32)


def feature_head(dim: int, num_classes: int, dropout: float = 0.2) -> keras.Model:
    """The same head as :func:`tlhelpers.transfer.build_classifier`, on cached features.

    Example:
        >>> feature_head(128, 5).count_params()
        645
    """
    inputs = keras.Input((dim,), name="features")
    x = keras.layers.Dropout(dropout, name="head_dropout")(inputs)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="head")(x)
    return keras.Model(inputs, outputs, name="feature_head")
