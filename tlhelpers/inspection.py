"""Facts about a backbone: parameters, blocks, output shapes, feature maps, speed.

Parameter counts and block tables do not depend on the weights' values, so the
``keras.applications`` backbones are built here with ``weights=None``: no download, and
the same numbers as with ImageNet weights. Speed (images/second) is measured on this
machine, never typed in.

Example:
    >>> from tlhelpers import inspection
    >>> int(inspection.registry_table(["fashion_cnn"]).loc["fashion_cnn", "blocks"])
    4
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import keras
import numpy as np

from tlhelpers.backbones import (
    BACKBONES,
    BackboneSpec,
    block_of_layers,
    get_spec,
    load_backbone,
)
from tlhelpers.display import finished
from tlhelpers.i18n import N_, LazyText, _
from tlhelpers.tables import shown_frame

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ROLE_MEANING", "blocks_table", "feature_maps", "output_shapes", "parameter_counts",
           "registry_table"]


def parameter_counts(model: keras.Model) -> dict[str, int]:
    """Total, trainable and non-trainable parameters (BatchNorm statistics are non-trainable).

    Example:
        >>> m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> parameter_counts(m)
        {'total': 8, 'trainable': 8, 'non_trainable': 0}
    """
    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    non_trainable = int(sum(np.prod(w.shape) for w in model.non_trainable_weights))
    return {"total": trainable + non_trainable, "trainable": trainable, "non_trainable": non_trainable}


def measure_size(name: str, input_size: int | None = None) -> int:
    """The side to build ``name`` at: ``input_size`` moved into the range it accepts, or its smallest.

    Parameter counts do not depend on the side, so counting uses the smallest.
    """
    spec = get_spec(name)
    return spec.min_input_size if input_size is None else spec.nearest_size(input_size)


def registry_table(names: list[str] | tuple[str, ...] | None = None) -> pd.DataFrame:
    """One row per registry backbone, built with ``weights=None`` (offline, no download).

    Columns: parameters (``include_top=False``), feature size (with ``pooling="avg"``),
    native input size, channels, number of blocks, whether preprocessing is built in, and
    what the weights were pretrained on. A convolutional base without its top has the
    same parameters at any input size, so each is built at its smallest accepted size.

    Example:
        >>> int(registry_table(["fashion_cnn"]).loc["fashion_cnn", "parameters"])
        218576
    """
    rows = []
    for name in names or list(BACKBONES):
        spec = get_spec(name)
        base = load_backbone(name, weights=None, input_size=measure_size(name), pooling="avg")
        rows.append({
            "backbone": name,
            "parameters": base.count_params(),
            "features": int(base.output.shape[-1]),
            "input size": spec.input_size,
            "channels": spec.channels,
            "blocks": spec.num_blocks,
            "preprocessing built in": "yes" if spec.built_in_preprocessing else "no",
            "pretrained on": spec.pretrained_on,
        })
    return shown_frame(rows, headers={"blocks": N_("blocks")}).set_index("backbone")


def output_shapes(base_builder: Callable[..., keras.Model]) -> dict[str, tuple]:
    """Output shape of a backbone for ``pooling=None``, ``"avg"`` and ``"max"``.

    Args:
        base_builder: ``pooling -> model``, e.g. ``lambda p: load_backbone("fashion_cnn", pooling=p)``.

    Example:
        >>> shapes = output_shapes(lambda p: load_backbone("fashion_cnn", weights=None, pooling=p))
        >>> shapes["avg"]
        (None, 256)
    """
    return {str(p): tuple(base_builder(p).output.shape) for p in (None, "avg", "max")}


# Where a block sits decides how general its features are (Yosinski et al., 2014): the
# bottom third detects edges and textures any image has, the top third parts of the
# source classes, the middle combinations of both.
ROLES = ((1 / 3, "generic"), (2 / 3, "in between"), (1.0, "specific"))
# the meanings are shown in the course's language when printed (LazyText), the keys stay English
ROLE_MEANING = {
    "generic": LazyText(N_("edges, colours, textures: useful for almost any images")),
    "in between": LazyText(N_("motifs and parts built from those: fairly reusable")),
    "specific": LazyText(N_("combinations tuned to the source classes: the first to retrain")),
}


def block_role(index: int, num_blocks: int) -> str:
    """``"generic"``, ``"in between"`` or ``"specific"`` from a block's relative depth.

    The rule: the block's centre ``(index + 0.5) / num_blocks`` in the bottom third is
    generic, in the top third specific.

    Example:
        >>> [block_role(i, 4) for i in range(4)]
        ['generic', 'in between', 'in between', 'specific']
    """
    if not 0 <= index < num_blocks:
        raise ValueError(_("block index {index} out of range for {count} blocks").format(index=index, count=num_blocks))
    depth = (index + 0.5) / num_blocks
    return next(role for top, role in ROLES if depth <= top)


def blocks_table(base: keras.Model, spec: BackboneSpec | str) -> pd.DataFrame:
    """The backbone's layers grouped into blocks: layers, last layer, output shape, params, role.

    Example:
        >>> base = load_backbone("fashion_cnn", weights=None)
        >>> blocks_table(base, "fashion_cnn")["output shape"].tolist()
        ['(16, 16, 16)', '(8, 8, 32)', '(4, 4, 64)', '(4, 4, 256)']
    """
    spec = get_spec(spec) if isinstance(spec, str) else spec
    groups = block_of_layers(base, spec)
    rows = []
    for i, (block, layers) in enumerate(groups.items()):
        last = base.get_layer(spec.blocks[i][1])
        rows.append({
            "block": block,
            "layers": len(layers),
            "last layer": last.name,
            "output shape": str(tuple(last.output.shape[1:])),
            "parameters": int(sum(layer.count_params() for layer in layers)),
            "role": block_role(i, spec.num_blocks),
        })
    return shown_frame(rows).set_index("block")


def spatial_layers(base: keras.Model) -> list[str]:
    """Names of the layers whose output is a feature map ``(batch, H, W, C)``, in order.

    Example:
        >>> spatial_layers(load_backbone("fashion_cnn", weights=None))[:3]
        ['rescale', 'block1_conv1', 'block1_bn1']
    """
    return [
        layer.name for layer in base.layers
        if not isinstance(layer, keras.layers.InputLayer) and len(layer.output.shape) == 4
    ]


def feature_maps(base: keras.Model, images: Any, layer: str) -> np.ndarray:
    """The activations of ``layer`` for ``images`` (inference mode): ``(N, H, W, C)``.

    Args:
        base: a backbone.
        images: model inputs (already resized and preprocessed).
        layer: a layer name, e.g. from :func:`spatial_layers`.

    Raises:
        ValueError: ``layer`` is not in ``base`` (the message lists some that are).

    Example:
        >>> base = load_backbone("fashion_cnn", weights=None)
        >>> feature_maps(base, np.zeros((1, 32, 32, 1)), "block2_conv1").shape
        (1, 16, 16, 32)
    """
    names = [l.name for l in base.layers]
    if layer not in names:
        raise ValueError(_("layer {layer!r} is not in {model}; choose one of: {choices}").format(
            layer=layer, model=base.name, choices=", ".join(spatial_layers(base))))
    probe = keras.Model(base.inputs[0], base.get_layer(layer).output)
    return keras.ops.convert_to_numpy(probe(np.asarray(images, dtype=np.float32), training=False))


def plot_feature_maps(maps: np.ndarray, title: str = "", max_channels: int = 16, columns: int = 8):
    """Draw the first ``max_channels`` channels of one image's feature maps ``(H, W, C)``.

    Returns:
        The matplotlib Figure (closed, so it shows only when displayed).

    Example:
        >>> fig = plot_feature_maps(np.random.rand(8, 8, 4), "demo")
        >>> len(fig.axes)
        4
    """
    import matplotlib.pyplot as plt

    if maps.ndim != 3:
        raise ValueError(_("maps must be (H, W, C) for one image, got shape {shape}").format(shape=maps.shape))
    n = min(max_channels, maps.shape[-1])
    columns = min(columns, n)
    rows = int(np.ceil(n / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(1.3 * columns, 1.3 * rows + 0.4), squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i < n:
            ax.imshow(maps[..., i], cmap="viridis")
            ax.set_title(_("ch {channel}").format(channel=i), fontsize=7)
        ax.axis("off")
    for ax in axes.flat[n:]:
        fig.delaxes(ax)
    fig.suptitle(title, fontsize=9)
    return finished(fig)


@dataclass(frozen=True)
class Throughput:
    """A measured inference speed."""

    backbone: str
    input_size: int
    batch_size: int
    images_per_second: float
    seconds: float

    def __str__(self) -> str:
        return _("{backbone} at {input_size} px: {speed:,.0f} images/second "
                 "(batches of {batch_size}, measured over {seconds:.1f} s on this machine)").format(
            backbone=self.backbone, input_size=self.input_size, speed=self.images_per_second,
            batch_size=self.batch_size, seconds=self.seconds)


def measure_throughput(
    model: keras.Model,
    *,
    batch_size: int = 16,
    min_seconds: float = 0.5,
    max_batches: int = 50,
    warmup: int = 1,
    progress: Callable[[int, int], None] | None = None,
    name: str | None = None,
) -> Throughput:
    """Measure inference images/second of ``model`` on random inputs, on this machine.

    ``warmup`` untimed calls come first (the first one traces the graph). One timed call
    then estimates how many calls fill ``min_seconds`` (at least 2, at most
    ``max_batches``), and those are timed together.

    Args:
        model: any model with a fixed input shape.
        batch_size: images per call (``model.predict_on_batch``).
        min_seconds: aim to time at least this long (short timings are noisy).
        max_batches: upper limit on timed calls.
        warmup: untimed calls before.
        progress: called as ``progress(done, total)`` after every call (e.g. to move a bar).
        name: label for the result (default: the model's name).

    Example:
        >>> m = load_backbone("fashion_cnn", weights=None)
        >>> measure_throughput(m, batch_size=4, min_seconds=0.1).images_per_second > 0
        True
    """
    if batch_size < 1 or max_batches < 2 or min_seconds < 0:
        raise ValueError(
            _("need batch_size >= 1, max_batches >= 2, min_seconds >= 0; got {batch_size}, {max_batches}, "
              "{min_seconds}").format(batch_size=batch_size, max_batches=max_batches, min_seconds=min_seconds)
        )
    shape = tuple(model.input_shape[1:])
    x = np.random.default_rng(0).uniform(0, 255, (batch_size, *shape)).astype(np.float32)
    for i in range(warmup):
        model.predict_on_batch(x)
        if progress:
            progress(i + 1, warmup + 2)
    start = time.perf_counter()
    model.predict_on_batch(x)
    first = time.perf_counter() - start
    batches = int(min(max_batches, max(2, np.ceil(min_seconds / max(first, 1e-6)))))
    total = warmup + batches
    if progress:
        progress(warmup + 1, total)
    for i in range(1, batches):
        model.predict_on_batch(x)
        if progress:
            progress(warmup + i + 1, total)
    seconds = time.perf_counter() - start
    return Throughput(name or model.name, int(shape[0]), batch_size, batch_size * batches / seconds, seconds)
