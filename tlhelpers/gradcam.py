"""Grad-CAM: which regions of an image made the model pick a class.

Grad-CAM (Selvaraju et al., 2017) takes the feature maps ``A_k`` of a late convolutional
layer and the gradient of the class score ``y_c`` (before the softmax) with respect to
them. Each map gets a weight, the spatial mean of its gradient
``a_k = mean_ij dy_c / dA_k[i, j]``; the heatmap is ``ReLU(sum_k a_k A_k)``, scaled to
0..1 and resized to the image.

The layer is the top block's last feature map in the backbone registry
(:func:`tlhelpers.backbones.block_of_layers`), so the same call works for every backbone,
and for a classifier that wraps the backbone as a nested model (as
:func:`tlhelpers.transfer.build_classifier` builds it).

Example:
    >>> from tlhelpers.gradcam import gradcam
    >>> maps = gradcam(model, x_test[:4])  # doctest: +SKIP
    >>> maps.shape                          # doctest: +SKIP
    (4, 32, 32)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import keras
import numpy as np
import tensorflow as tf

from tlhelpers.display import finished
from tlhelpers.i18n import _

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["gradcam", "gradcam_layer", "plot_gradcam"]


def _is_feature_map(layer: keras.layers.Layer) -> bool:
    try:
        shape = layer.output.shape
    except (AttributeError, ValueError):  # a layer used more than once has no single output
        return False
    return len(shape) == 4


def gradcam_layer(base: keras.Model, spec: Any = None) -> str:
    """The name of the layer Grad-CAM reads: the top block's last 4-D feature map.

    That is the output of the last convolution of the top block after its BatchNorm and
    activation (``block4_relu1`` in ``fashion_cnn``, ``out_relu`` in MobileNetV2,
    ``conv5_block3_out`` in ResNet50): the most semantic maps that still have a spatial
    layout.

    Args:
        base: a backbone from :func:`tlhelpers.backbones.load_backbone`.
        spec: its registry row or name; found from the layers when omitted.

    Raises:
        ValueError: the model is not a registry backbone, or its top block has no 4-D map.

    Example:
        >>> from tlhelpers.backbones import load_backbone
        >>> gradcam_layer(load_backbone("fashion_cnn", weights=None))
        'block4_relu1'
    """
    from tlhelpers.backbones import block_of_layers, get_spec

    if spec is None:
        from tlhelpers.transfer import find_backbone

        base, spec = find_backbone(base)
    spec = get_spec(spec) if isinstance(spec, str) else spec
    top_block = list(block_of_layers(base, spec).values())[-1]
    maps = [layer.name for layer in top_block if _is_feature_map(layer)]
    if not maps:
        raise ValueError(
            _("the top block {block!r} of {model!r} has no layer with a 4-D output "
              "(batch, height, width, channels); Grad-CAM needs a convolutional feature map").format(
                block=spec.block_names[-1], model=base.name)
        )
    return maps[-1]


def _find_layer(model: keras.Model, name: str) -> tuple[keras.Model | None, keras.layers.Layer]:
    """Find layer ``name`` in ``model`` (``None``) or in a nested model directly inside it."""
    names = [layer.name for layer in model.layers]
    if name in names:
        return None, model.get_layer(name)
    for layer in model.layers:
        if isinstance(layer, keras.Model) and name in [inner.name for inner in layer.layers]:
            return layer, layer.get_layer(name)
    raise ValueError(
        _("layer {name!r} is neither in model {model!r} nor in a model nested in it; "
          "its layers are: {layers}").format(name=name, model=model.name, layers=", ".join(names))
    )


def _call_last(layer: keras.layers.Layer, x: tf.Tensor) -> tf.Tensor:
    """The class scores: a softmax Dense layer gives its logits (the score before softmax)."""
    activation = getattr(layer, "activation", None)
    if isinstance(layer, keras.layers.Dense) and activation in (keras.activations.softmax,):
        logits = tf.matmul(x, layer.kernel)
        return logits + layer.bias if layer.use_bias else logits
    return layer(x, training=False)


class _ScoreModel:
    """``images -> (feature maps, class scores)`` through one forward pass, for any layout.

    * flat model (the layer is in ``model``): a functional model returning the layer's
      output and the input of the last layer, whose logits we compute;
    * nested model (the layer is inside a backbone that ``model`` calls): the backbone
      returns the maps and its own output; the layers after the backbone, which must form
      a chain as in :func:`tlhelpers.transfer.build_classifier`, are applied in order.
    """

    def __init__(self, model: keras.Model, layer_name: str) -> None:
        nested, layer = _find_layer(model, layer_name)
        self.last = model.layers[-1]
        if nested is None:
            self.features = keras.Model(model.inputs, [layer.output, self.last.input])
            self.chain: list[keras.layers.Layer] = []
        else:
            self.features = keras.Model(nested.inputs, [layer.output, nested.output])
            after = model.layers[model.layers.index(nested) + 1:]
            self.chain = after[:-1]
            for prev, nxt in zip([nested, *self.chain], self.chain + [self.last]):
                parents = [[p.operation for p in node.parent_nodes] for node in nxt._inbound_nodes]
                if not any(len(ops) == 1 and ops[0] is prev for ops in parents):
                    raise ValueError(
                        _("Grad-CAM needs the layers after {nested!r} to form a chain; "
                          "{layer!r} does not take the output of {previous!r}. Pass a model built "
                          "by tlhelpers.transfer.build_classifier, or the backbone with its own top").format(
                            nested=nested.name, layer=nxt.name, previous=prev.name)
                    )

    def __call__(self, images: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        maps, x = self.features(images, training=False)
        for layer in self.chain:
            x = layer(x, training=False)
        return maps, _call_last(self.last, x)


def _as_classes(class_index: int | Sequence[int] | np.ndarray | None, n: int, num_classes: int) -> np.ndarray | None:
    if class_index is None:
        return None
    classes = np.broadcast_to(np.asarray(class_index, dtype=np.int64), (n,)).copy()
    bad = classes[(classes < 0) | (classes >= num_classes)]
    if bad.size:
        raise ValueError(_("class_index {index} is out of range; the model has classes 0..{last}").format(
            index=int(bad[0]), last=num_classes - 1))
    return classes


def gradcam(
    model: keras.Model,
    images: Any,
    class_index: int | Sequence[int] | np.ndarray | None = None,
    layer_name: str | None = None,
    resize: bool = True,
) -> np.ndarray:
    """Grad-CAM heatmaps of ``model`` for ``images``, scaled to 0..1.

    Args:
        model: a classifier: a registry backbone wrapped by
            :func:`tlhelpers.transfer.build_classifier`, a backbone with its own top, or any
            functional model when ``layer_name`` is given.
        images: model inputs ``(N, H, W, C)`` (already preprocessed, as for ``predict``).
        class_index: the class to explain, one for all images or one per image; default:
            each image's predicted class.
        layer_name: the layer whose maps are weighted; default :func:`gradcam_layer`.
        resize: resize each map to the image's height and width (bilinear); else keep the
            layer's resolution.

    Returns:
        ``(N, H, W)`` float32 in 0..1 (all zeros where no region speaks for the class).

    Example:
        >>> maps = gradcam(model, x[:2], class_index=3)  # doctest: +SKIP
    """
    x = tf.convert_to_tensor(images, dtype=tf.float32)
    if len(x.shape) == 3:
        x = x[None]
    if len(x.shape) != 4:
        raise ValueError(_("images must be (N, H, W, C) or one (H, W, C) image, got shape {shape}").format(
            shape=tuple(x.shape)))
    score_model = _ScoreModel(model, layer_name or gradcam_layer(model))
    with tf.GradientTape() as tape:
        maps, scores = score_model(x)
        tape.watch(maps)
        classes = _as_classes(class_index, int(x.shape[0]), int(scores.shape[-1]))
        if classes is None:
            classes = tf.argmax(scores, axis=-1).numpy()
        picked = tf.gather(scores, classes, axis=1, batch_dims=1)
    grads = tape.gradient(picked, maps)
    weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
    cams = tf.nn.relu(tf.reduce_sum(weights * maps, axis=-1))
    peak = tf.reduce_max(cams, axis=(1, 2), keepdims=True)
    cams = tf.math.divide_no_nan(cams, peak)
    if resize:
        cams = tf.image.resize(cams[..., None], tuple(x.shape[1:3]), method="bilinear")[..., 0]
    return np.clip(cams.numpy(), 0.0, 1.0).astype(np.float32)


def overlay(image: np.ndarray, heatmap: np.ndarray, alpha: float = 0.45, cmap: str = "jet") -> np.ndarray:
    """The image (gray or RGB, any range) with the heatmap blended over it, as RGB 0..1.

    Example:
        >>> overlay(np.zeros((8, 8, 1)), np.ones((8, 8))).shape
        (8, 8, 3)
    """
    import matplotlib

    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    low, high = image.min(), image.max()
    image = (image - low) / (high - low) if high > low else np.zeros_like(image)
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    if heatmap.shape != image.shape[:2]:
        heatmap = tf.image.resize(np.asarray(heatmap)[..., None], image.shape[:2]).numpy()[..., 0]
    colored = matplotlib.colormaps[cmap](np.clip(heatmap, 0, 1))[..., :3]
    return (1 - alpha) * image + alpha * colored


def plot_gradcam(
    images: np.ndarray, heatmaps: np.ndarray, titles: Sequence[str] | None = None, ncols: int = 4,
    alpha: float = 0.45,
) -> Figure:
    """Each image next to its Grad-CAM overlay.

    Args:
        images: the images as people see them (e.g. ``task.x_test[idx]``), any size: the
            heatmaps are resized to them.
        heatmaps: ``(N, h, w)`` from :func:`gradcam`.
        titles: one per image.
        ncols: image/overlay pairs per row.

    Returns:
        The Figure (closed; display it or read ``fig.axes``).

    Example:
        >>> fig = plot_gradcam(np.zeros((2, 8, 8, 1)), np.ones((2, 8, 8)), ["a", "b"])
        >>> len([ax for ax in fig.axes if ax.get_visible()])
        4
    """
    import matplotlib.pyplot as plt

    n = len(images)
    if n != len(heatmaps):
        raise ValueError(_("got {images} images but {heatmaps} heatmaps").format(images=n, heatmaps=len(heatmaps)))
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, 2 * ncols, figsize=(3.2 * ncols, 1.8 * nrows + 0.4), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
        ax.set_visible(False)
    for i in range(n):
        left, right = axes[i // ncols, 2 * (i % ncols)], axes[i // ncols, 2 * (i % ncols) + 1]
        image = np.asarray(images[i])
        left.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray" if image.shape[-1] == 1 else None)
        right.imshow(overlay(image, np.asarray(heatmaps[i]), alpha))
        left.set_visible(True)
        right.set_visible(True)
        if titles is not None:
            left.set_title(titles[i], fontsize=8, loc="left")
        right.set_title("Grad-CAM", fontsize=8)
    return finished(fig)
