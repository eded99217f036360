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

from contextlib import AbstractContextManager

import keras
import numpy as np
import tensorflow as tf

from tlhelpers.i18n import _
from tlhelpers.transfer import build_classifier

__all__ = ["attach_head", "extract_features", "feature_head", "linear_probe"]


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
    if batch_size < 1:
        raise ValueError(_("batch_size must be at least 1, got {batch_size}").format(batch_size=batch_size))
    features = base.predict(images, batch_size=batch_size, verbose=verbose)
    if features.ndim == 4:
        features = features.mean(axis=(1, 2))
    return features.astype(np.float32)


def feature_head(dim: int, num_classes: int, dropout: float = 0.2) -> keras.Model:
    """The same head as :func:`tlhelpers.transfer.build_classifier`, on cached features.

    Its ``Dense`` layer is named ``"head"`` as in ``build_classifier``, so its weights can
    be copied onto the backbone (:func:`attach_head`).

    Example:
        >>> feature_head(128, 5).count_params()
        645
    """
    if dim < 1 or num_classes < 2:
        raise ValueError(_("need dim >= 1 and num_classes >= 2, got dim={dim}, num_classes={num_classes}").format(
            dim=dim, num_classes=num_classes))
    inputs = keras.Input((dim,), name="features")
    x = keras.layers.Dropout(dropout, name="head_dropout")(inputs)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="head")(x)
    return keras.Model(inputs, outputs, name="feature_head")


def single_threaded_blas() -> AbstractContextManager:
    """Limit NumPy's BLAS to one thread for scikit-learn fits inside a TensorFlow process.

    With TensorFlow's thread pools loaded, a multi-threaded OpenBLAS competes with them for
    the cores: on 2 cores a small logistic regression measured about 10x slower (1.1 s
    instead of 0.1 s for 640 features).

    Example:
        >>> with single_threaded_blas():
        ...     _ = np.ones((3, 3)) @ np.ones((3, 3))
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def linear_probe(
    f_train: np.ndarray, y_train: np.ndarray, num_classes: int, f_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None, strengths: tuple[float, ...] = (0.01, 0.1, 1.0),
) -> keras.Model:
    """The classic linear probe, as a Keras head: logistic regression on standardized features.

    Fits scikit-learn's L2-regularised ``LogisticRegression`` on the features scaled to
    zero mean and unit variance, for each regularisation strength ``C`` in ``strengths``,
    and keeps the one that scores best on the validation split (the first, without one).
    With a handful of labels this converges to a better head than a few epochs of Adam,
    in a fraction of a second. The scaling and the weights are folded into the ``Dense``
    "head" of :func:`feature_head`, so the result takes raw features, predicts the same
    probabilities, and can be put on its backbone with :func:`attach_head` to start
    fine-tuning.

    Args:
        f_train, y_train: features ``(N, D)`` and integer labels.
        num_classes: classes of the task (a class missing from ``y_train`` is never predicted).
        f_val, y_val: the validation split that picks ``C``.
        strengths: the values of ``C`` tried (smaller: stronger regularisation).

    Example:
        >>> f = np.r_[np.zeros((5, 2)), np.ones((5, 2))]; y = np.repeat([0, 1], 5)
        >>> head = linear_probe(f, y, 2)
        >>> head.predict(f, verbose=0).argmax(axis=1).tolist()
        [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    f_train = np.asarray(f_train, np.float64)
    scaler = StandardScaler().fit(f_train)
    validated = f_val is not None and y_val is not None
    with single_threaded_blas():
        fits = [LogisticRegression(C=c, max_iter=5000).fit(scaler.transform(f_train), y_train)
                for c in (strengths if validated else strengths[:1])]  # nothing to choose with: fit one
    if validated:
        best = max(fits, key=lambda fit: fit.score(scaler.transform(np.asarray(f_val, np.float64)), y_val))
    else:
        best = fits[0]
    coef = np.zeros((num_classes, f_train.shape[1]))
    intercept = np.full(num_classes, -30.0)  # classes without a label: never predicted
    classes = best.classes_.astype(int)
    if len(classes) == 2:  # sklearn keeps one row: the logit of classes[1] against classes[0]
        coef[classes[1]], intercept[classes[1]] = best.coef_[0], best.intercept_[0]
        intercept[classes[0]] = 0.0
    else:
        coef[classes], intercept[classes] = best.coef_, best.intercept_
    kernel = coef / scaler.scale_  # softmax(coef @ (f - mean) / scale + b), folded into one Dense layer
    bias = intercept - kernel @ scaler.mean_
    head = feature_head(f_train.shape[1], num_classes)
    head.get_layer("head").set_weights([kernel.T.astype(np.float32), bias.astype(np.float32)])
    return head


def attach_head(base: keras.Model, head: keras.Model, name: str | None = None) -> keras.Model:
    """Put a head trained on cached features back on its backbone: one model for images.

    Builds :func:`tlhelpers.transfer.build_classifier` (frozen base called with
    ``training=False``, pooling, dropout, ``Dense`` "head") and copies the trained head's
    weights into it, so the new model predicts on images what ``head`` predicts on the
    base's features. This is the starting point for fine-tuning.

    Raises:
        ValueError: ``head`` has no ``Dense`` layer named "head", or its input size does not
            match the base's features.

    Example:
        >>> head = feature_head(256, 5)                 # doctest: +SKIP
        >>> model = attach_head(base, head)             # doctest: +SKIP
    """
    names = [layer.name for layer in head.layers]
    if "head" not in names:
        raise ValueError(_(
            "head model {model!r} has no Dense layer named 'head' (layers: {names}); build it with feature_head()"
        ).format(model=head.name, names=names))
    dense = head.get_layer("head")
    dropout = next((l.rate for l in head.layers if isinstance(l, keras.layers.Dropout)), 0.0)
    model = build_classifier(base, int(dense.units), dropout=dropout, name=name)
    target = model.get_layer("head")
    expected = tuple(w.shape for w in target.weights)
    got = tuple(w.shape for w in dense.weights)
    if expected != got:
        raise ValueError(_(
            "head weights have shapes {got}, but {base!r} needs {expected}: the head was trained "
            "on features of another backbone or pooling"
        ).format(got=got, base=base.name, expected=expected))
    target.set_weights(dense.get_weights())
    return model
