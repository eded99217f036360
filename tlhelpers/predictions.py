"""Top-k predictions of a backbone with its original classifier (``include_top=True``).

What the classes are depends on what the backbone was pretrained on, so the decoder is
chosen by the registry row's ``weights``:

* ``"imagenet"``: ``keras.applications.imagenet_utils.decode_predictions`` (1000 ImageNet
  classes; its class-name file is fetched once by ``python -m tlhelpers prefetch``);
* ``"bundled"``: the bundled backbone's source classes, from its manifest.

Example:
    >>> import numpy as np
    >>> top_k(np.array([[0.1, 0.7, 0.2]]), ("cat", "dog", "fox"), k=2)
    [[('dog', 0.7), ('fox', 0.2)]]
"""

from __future__ import annotations

from typing import Any, Callable

import keras
import numpy as np

from tlhelpers.backbones import BackboneSpec, bundled_manifest, get_spec, load_backbone
from tlhelpers.i18n import _
from tlhelpers.pipeline import to_model_input

__all__ = ["load_classifier", "plot_predictions", "predict_top_k", "sample_images"]

Prediction = list[tuple[str, float]]


def top_k(probs: Any, class_names: tuple[str, ...] | list[str], k: int = 5) -> list[Prediction]:
    """The ``k`` most likely classes of each row of ``probs``, most likely first.

    Raises:
        ValueError: ``probs`` is not ``(N, len(class_names))`` or ``k`` is below 1.

    Example:
        >>> top_k(np.array([[0.2, 0.8]]), ("a", "b"), k=5)
        [[('b', 0.8), ('a', 0.2)]]
    """
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[1] != len(class_names):
        raise ValueError(_("probs must have shape (N, {classes}), got {shape}").format(
            classes=len(class_names), shape=probs.shape))
    if k < 1:
        raise ValueError(_("k must be at least 1, got {k}").format(k=k))
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    return [[(class_names[j], round(float(row[j]), 4)) for j in idx] for row, idx in zip(probs, order)]


def decode_imagenet(probs: Any, k: int = 5) -> list[Prediction]:
    """ImageNet top-``k`` through Keras' ``decode_predictions`` (names, not WordNet ids).

    Example:
        >>> decode_imagenet(model.predict(x), k=5)  # doctest: +SKIP
        [[('tabby', 0.41), ('tiger_cat', 0.22), ...]]
    """
    from keras.applications import imagenet_utils

    decoded = imagenet_utils.decode_predictions(np.asarray(probs), top=k)
    return [[(name, round(float(p), 4)) for _, name, p in row] for row in decoded]


def source_class_names(spec: BackboneSpec) -> tuple[str, ...]:
    """The classes a bundled backbone's original classifier predicts (from its manifest)."""
    return tuple(bundled_manifest()["source_classes"])


# registry "weights" -> how to turn a (N, classes) probability array into top-k names
DECODERS: dict[str, Callable[[BackboneSpec, Any, int], list[Prediction]]] = {
    "imagenet": lambda spec, probs, k: decode_imagenet(probs, k),
    "bundled": lambda spec, probs, k: top_k(probs, source_class_names(spec), k),
}
# registry "weights" -> the dataset whose images it makes sense to show (None: the track's)
SAMPLE_DATASETS: dict[str, str | None] = {"bundled": "fashion_mnist_source", "imagenet": None}


def _decoder(spec: BackboneSpec) -> Callable[[BackboneSpec, Any, int], list[Prediction]]:
    if spec.weights not in DECODERS:
        raise ValueError(_("no class names for weights {weights!r}; known: {known}").format(
            weights=spec.weights, known=", ".join(DECODERS)))
    return DECODERS[spec.weights]


def missing_for_classifier(backbone: str, weights: str | None = "default") -> str | None:
    """One line naming what :func:`load_classifier` needs that is not cached, or None.

    Only an ImageNet classifier needs files: its weights with the top and the ImageNet
    class names, which ``python -m tlhelpers prefetch --track imagenet`` fetches into the
    Keras cache. Random (``None``) or bundled weights need nothing.

    Example:
        >>> missing_for_classifier("fashion_cnn") is None
        True
        >>> missing_for_classifier("mobilenet_v2", weights=None) is None
        True
    """
    from tlhelpers.prefetch import classifier_items

    spec = get_spec(backbone)
    if spec.weights != "imagenet" or weights not in ("default", "imagenet"):
        return None
    missing = [item for item in classifier_items(backbone) if not item.cached]
    if not missing:
        return None
    what = _(" and ").join(item.label for item in missing)
    return _("ImageNet predictions skipped: {what} not in the Keras cache ({folder}); "
             "fetch with: python -m tlhelpers prefetch --track imagenet").format(what=what,
                                                                                 folder=missing[0].path.parent)


def load_classifier(backbone: str, weights: str | None = "default") -> keras.Model | None:
    """The backbone with its original classifier on top (``include_top=True``), or None.

    Never downloads: if the ImageNet classifier's weights or class names are not in the
    Keras cache, it prints one line saying what is missing and the command that fetches
    it (see :func:`missing_for_classifier`) and returns None.

    Example:
        >>> load_classifier("fashion_cnn").output.shape  # doctest: +SKIP
        (None, 5)
    """
    missing = missing_for_classifier(backbone, weights)
    if missing:
        print(missing)
        return None
    return load_backbone(backbone, weights=weights, include_top=True)


def predict_top_k(model: keras.Model, images: Any, backbone: str, k: int = 5) -> list[Prediction]:
    """Resize and preprocess raw ``images`` for ``model``, predict, and name the top ``k``.

    Args:
        model: the backbone with its original top (see :func:`load_classifier`).
        images: raw uint8 images ``(N, H, W, C)``; resized to the model's input size.
        backbone: registry name (gives channels, preprocessing and the class names).
        k: how many classes per image.

    Example:
        >>> preds = predict_top_k(load_classifier("fashion_cnn"), x[:4], "fashion_cnn")  # doctest: +SKIP
    """
    spec = get_spec(backbone)
    size = int(model.input_shape[1])
    probs = model.predict(to_model_input(images, backbone, size), verbose=0)
    return _decoder(spec)(spec, probs, min(k, probs.shape[1]))


def sample_images(backbone: str, n: int = 6, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """A few test images it makes sense to show ``backbone``'s original classifier, with names.

    The bundled backbone gets images of its own source classes; an ImageNet backbone gets
    images of the active track's dataset (CIFAR-10 in the imagenet track).

    Example:
        >>> images, names = sample_images("fashion_cnn", n=3)  # doctest: +SKIP
    """
    from tlhelpers import data
    from tlhelpers.config import current_track

    spec = get_spec(backbone)
    if spec.weights not in SAMPLE_DATASETS:
        raise ValueError(_("no sample images for weights {weights!r}; known: {known}").format(
            weights=spec.weights, known=", ".join(SAMPLE_DATASETS)))
    name = SAMPLE_DATASETS[spec.weights] or current_track().dataset
    (_train, (x_test, y_test)), class_names = data.load_dataset(name)
    idx = np.random.default_rng(seed).choice(len(y_test), size=n, replace=False)
    return x_test[idx], [class_names[int(y)] for y in y_test[idx]]


def plot_predictions(images: Any, predictions: list[Prediction], true_names: list[str] | None = None, k: int = 3):
    """Each image with its top ``k`` predicted classes and probabilities as a title.

    Returns:
        The matplotlib Figure (closed; display it to show it).

    Example:
        >>> fig = plot_predictions(np.zeros((2, 8, 8, 1)), [[("a", 0.9)], [("b", 0.6)]], ["a", "a"])
        >>> [ax.get_title(loc="left").splitlines()[0] for ax in fig.axes]
        ['true: a', 'true: a']
    """
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    if len(images) != len(predictions):
        raise ValueError(_("{images} images but {predictions} predictions").format(
            images=len(images), predictions=len(predictions)))
    title_lines = k + (1 if true_names else 0)
    fig, axes = plt.subplots(1, len(images), figsize=(2.3 * len(images), 2.3 + 0.22 * title_lines),
                             squeeze=False, layout="constrained")
    for i, (ax, image, pred) in enumerate(zip(axes[0], images, predictions)):
        ax.imshow(image.squeeze(), cmap="gray" if image.shape[-1] == 1 else None)
        lines = [_("true: {name}").format(name=true_names[i])] if true_names else []
        lines += [f"{name[:16]} {p:.2f}" for name, p in pred[:k]]
        ax.set_title("\n".join(lines), fontsize=8, loc="left")
        ax.axis("off")
    plt.close(fig)
    return fig
