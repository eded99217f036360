"""The backbone registry: one table of pretrained models and what to know about each.

Every backbone has a row in :data:`BACKBONES`: how to build it, its ``preprocess_input``,
the value range and channels its input expects, its default input size, and its block
boundaries, so that "unfreeze the top K blocks" means the same thing everywhere.

Example:
    >>> from tlhelpers import backbones
    >>> backbones.get_spec("resnet50").num_blocks
    5
    >>> base = backbones.load_backbone("mobilenet_v2", weights=None, input_size=96)  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import keras

from tlhelpers.config import ASSETS_DIR
from tlhelpers.errors import ChecksumError
from tlhelpers.i18n import N_, LazyText, _

__all__ = ["block_of_layers", "bundled_manifest", "get_spec", "load_backbone"]

BUNDLED_NAME = "fashion_cnn"
BUNDLED_FILE = ASSETS_DIR / f"{BUNDLED_NAME}.keras"
BUNDLED_MANIFEST = ASSETS_DIR / f"{BUNDLED_NAME}.json"
PRETRAIN_COMMAND = "python -m tlhelpers pretrain --force"
# What the weights learned from (shown in the registry table, in the active language).
PRETRAINED_ON_IMAGENET = LazyText(N_("ImageNet (1.28M images, 1000 classes)"))


def _identity(x: Any) -> Any:
    """Preprocessing for backbones that have it built in: pass raw 0..255 pixels."""
    return x


@dataclass(frozen=True)
class BackboneSpec:
    """One row of the registry.

    Attributes:
        name: registry name.
        builder: ``builder(weights=..., input_shape=..., pooling=..., include_top=False)``.
        preprocess: maps raw 0..255 pixels to what the model takes.
        input_range: value range the model's input expects after ``preprocess``.
        built_in_preprocessing: the model rescales raw pixels itself.
        input_size: default side in pixels (the native one).
        min_input_size: smallest side the architecture accepts.
        max_input_size: largest side it accepts (``None``: any).
        channels: 1 (grayscale) or 3 (RGB).
        blocks: ``(block name, last layer of the block)``, bottom to top.
        pretrained_on: what the weights learned from.
        weights: ``"imagenet"`` or ``"bundled"``.
        scratch: what the "from scratch" baseline trains from random weights: ``"own"``
            (this architecture: the bundled one is small enough to learn from a few labels)
            or ``"small_cnn"`` (:func:`small_cnn` at this row's input size and channels).
    """

    name: str
    builder: Callable[..., keras.Model]
    preprocess: Callable[[Any], Any]
    input_range: tuple[float, float]
    built_in_preprocessing: bool
    input_size: int
    min_input_size: int
    channels: int
    blocks: tuple[tuple[str, str], ...]
    pretrained_on: str
    weights: str = "imagenet"
    max_input_size: int | None = None
    scratch: str = "small_cnn"
    notes: str = field(default="", compare=False)

    @property
    def num_blocks(self) -> int:
        """How many blocks the backbone has."""
        return len(self.blocks)

    @property
    def block_names(self) -> tuple[str, ...]:
        """Block names, bottom to top."""
        return tuple(name for name, _ in self.blocks)

    def nearest_size(self, size: int) -> int:
        """The input side closest to ``size`` that the architecture accepts.

        Example:
            >>> get_spec("inception_v3").nearest_size(32), get_spec("fashion_cnn").nearest_size(96)
            (75, 32)
        """
        size = max(int(size), self.min_input_size)
        return size if self.max_input_size is None else min(size, self.max_input_size)


# ---- the bundled backbone: a small CNN with named blocks --------------------------------

BUNDLED_INPUT_SIZE = 32
BUNDLED_WIDTHS = (16, 32, 64, 256)  # filters per block
BUNDLED_CONVS = (1, 2, 2, 1)  # conv layers per block


def build_fashion_cnn(
    *, num_classes: int = 5, input_size: int = BUNDLED_INPUT_SIZE, dropout: float = 0.3, channels: int = 1
) -> keras.Model:
    """The bundled backbone's architecture with its source classifier, randomly initialised.

    Four blocks (``block1`` .. ``block4``) of 3x3 convolutions with BatchNorm and ReLU;
    blocks 1-3 end in max-pooling. A ``Rescaling`` layer makes preprocessing built in: the
    model takes raw 0..255 grayscale pixels. Every convolution is followed by BatchNorm,
    so it also trains on inputs scaled another way (e.g. -1..1), at any size and channel
    count: :func:`small_cnn` uses it as the scratch baseline of the ImageNet backbones.

    Example:
        >>> build_fashion_cnn().output.shape
        (None, 5)
    """
    inputs = keras.Input((input_size, input_size, channels), name="image")
    x = keras.layers.Rescaling(1 / 255.0, name="rescale")(inputs)
    for b, (width, convs) in enumerate(zip(BUNDLED_WIDTHS, BUNDLED_CONVS), start=1):
        for c in range(1, convs + 1):
            x = keras.layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"block{b}_conv{c}")(x)
            x = keras.layers.BatchNormalization(name=f"block{b}_bn{c}")(x)
            x = keras.layers.ReLU(name=f"block{b}_relu{c}")(x)
        if b < len(BUNDLED_WIDTHS):
            x = keras.layers.MaxPooling2D(name=f"block{b}_pool")(x)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = keras.layers.Dropout(dropout, name="top_dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=BUNDLED_NAME)


BUNDLED_TOP_LAYER = f"block{len(BUNDLED_WIDTHS)}_relu{BUNDLED_CONVS[-1]}"


def small_cnn(input_size: int, channels: int) -> keras.Model:
    """The bundled architecture without its classifier, random weights, at any size and channels.

    What a practitioner without pretrained weights would train on a few hundred images:
    a MobileNetV2 or ResNet50 from random weights stays at chance there, at many times the cost.

    Example:
        >>> small_cnn(96, 3).output.shape
        (None, 12, 12, 256)
    """
    full = build_fashion_cnn(input_size=input_size, channels=channels)
    return keras.Model(full.inputs, full.get_layer(BUNDLED_TOP_LAYER).output, name="small_cnn")


def sha256_of(path: str | Path) -> str:
    """Hex sha256 of a file.

    Example:
        >>> len(sha256_of(__file__))
        64
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def bundled_manifest() -> dict[str, Any]:
    """The bundled backbone's manifest (sha256, seed, epochs, source-test accuracy, ...).

    Example:
        >>> bundled_manifest()["source_classes"]  # doctest: +SKIP
        ['T-shirt/top', 'Trouser', 'Dress', 'Sandal', 'Bag']
    """
    if not BUNDLED_MANIFEST.is_file():
        raise FileNotFoundError(_(
            "the bundled backbone's manifest {path} is missing; recreate it with: {command}"
        ).format(path=BUNDLED_MANIFEST, command=PRETRAIN_COMMAND))
    return json.loads(BUNDLED_MANIFEST.read_text())


def verify_bundled(path: Path = BUNDLED_FILE, manifest: dict[str, Any] | None = None) -> str:
    """Check the bundled weights against the manifest's sha256; return the hash.

    Raises:
        FileNotFoundError: the weights file is missing.
        ChecksumError: the file's sha256 differs from the manifest's.

    Example:
        >>> len(verify_bundled())  # doctest: +SKIP
        64
    """
    manifest = bundled_manifest() if manifest is None else manifest
    if not Path(path).is_file():
        raise FileNotFoundError(_("bundled backbone {path} is missing; recreate it with: {command}").format(
            path=path, command=PRETRAIN_COMMAND))
    actual = sha256_of(path)
    if actual != manifest["sha256"]:
        raise ChecksumError(_(
            "bundled backbone {path} has sha256 {actual}, but its manifest says {expected}; "
            "the file is damaged or was changed. Restore it (git checkout -- {file}) "
            "or retrain it with: {command}"
        ).format(path=path, actual=actual, expected=manifest["sha256"], file=Path(path).name, command=PRETRAIN_COMMAND))
    return actual


def _bundled_builder(
    weights: str | None = "bundled", input_shape: tuple[int, int, int] | None = None,
    pooling: str | None = None, include_top: bool = False,
) -> keras.Model:
    if input_shape is not None and tuple(input_shape) != (BUNDLED_INPUT_SIZE, BUNDLED_INPUT_SIZE, 1):
        raise ValueError(_(
            "{name} takes input_shape {expected}, got {got}; resize with tlhelpers.pipeline.prepare_images"
        ).format(name=BUNDLED_NAME, expected=(BUNDLED_INPUT_SIZE, BUNDLED_INPUT_SIZE, 1), got=tuple(input_shape)))
    if weights == "bundled":
        verify_bundled()
        full = keras.saving.load_model(BUNDLED_FILE)
    elif weights is None:
        full = build_fashion_cnn()
    else:
        raise ValueError(_("{name} weights must be 'bundled' or None, got {weights!r}").format(
            name=BUNDLED_NAME, weights=weights))
    if include_top:
        return full
    features = full.get_layer(BUNDLED_TOP_LAYER).output
    if pooling is not None:
        features = _pool(pooling)(features)
    return keras.Model(full.inputs, features, name=BUNDLED_NAME)


def _pool(pooling: str) -> keras.layers.Layer:
    layers = {"avg": keras.layers.GlobalAveragePooling2D, "max": keras.layers.GlobalMaxPooling2D}
    if pooling not in layers:
        raise ValueError(_("unknown pooling {pooling!r}; choose one of: None, 'avg', 'max'").format(pooling=pooling))
    return layers[pooling](name=f"{pooling}_pool")


# ---- the table -------------------------------------------------------------------------

_apps = keras.applications

BACKBONES: dict[str, BackboneSpec] = {
    spec.name: spec
    for spec in (
        BackboneSpec(
            name=BUNDLED_NAME,
            builder=_bundled_builder,
            preprocess=_identity,
            input_range=(0.0, 255.0),
            built_in_preprocessing=True,
            input_size=BUNDLED_INPUT_SIZE,
            min_input_size=BUNDLED_INPUT_SIZE,
            max_input_size=BUNDLED_INPUT_SIZE,
            channels=1,
            blocks=tuple((f"block{b}", f"block{b}_pool" if b < 4 else BUNDLED_TOP_LAYER) for b in range(1, 5)),
            pretrained_on=LazyText(N_("Fashion-MNIST source classes (the course's own, bundled)")),
            weights="bundled",
            scratch="own",
        ),
        BackboneSpec(
            name="mobilenet_v2",
            builder=_apps.MobileNetV2,
            preprocess=_apps.mobilenet_v2.preprocess_input,
            input_range=(-1.0, 1.0),
            built_in_preprocessing=False,
            input_size=224,
            min_input_size=32,
            channels=3,
            blocks=(
                ("stem", "expanded_conv_project_BN"),
                ("stage1_24", "block_2_add"),
                ("stage2_32", "block_5_add"),
                ("stage3_64", "block_9_add"),
                ("stage4_96", "block_12_add"),
                ("stage5_160", "block_15_add"),
                ("stage6_320", "block_16_project_BN"),
                ("top_conv", "out_relu"),
            ),
            pretrained_on=PRETRAINED_ON_IMAGENET,
        ),
        BackboneSpec(
            name="resnet50",
            builder=_apps.ResNet50,
            preprocess=_apps.resnet50.preprocess_input,
            input_range=(-123.68, 151.061),  # 'caffe': RGB->BGR, minus the ImageNet mean
            built_in_preprocessing=False,
            input_size=224,
            min_input_size=32,
            channels=3,
            blocks=(
                ("conv1", "pool1_pool"),
                ("conv2", "conv2_block3_out"),
                ("conv3", "conv3_block4_out"),
                ("conv4", "conv4_block6_out"),
                ("conv5", "conv5_block3_out"),
            ),
            pretrained_on=PRETRAINED_ON_IMAGENET,
        ),
        BackboneSpec(
            name="efficientnet_b0",
            builder=_apps.EfficientNetB0,
            preprocess=_apps.efficientnet.preprocess_input,  # a pass-through: rescaling is built in
            input_range=(0.0, 255.0),
            built_in_preprocessing=True,
            input_size=224,
            min_input_size=32,
            channels=3,
            blocks=(
                ("stem", "stem_activation"),
                ("block1", "block1a_project_bn"),
                ("block2", "block2b_add"),
                ("block3", "block3b_add"),
                ("block4", "block4c_add"),
                ("block5", "block5c_add"),
                ("block6", "block6d_add"),
                ("block7", "block7a_project_bn"),
                ("top", "top_activation"),
            ),
            pretrained_on=PRETRAINED_ON_IMAGENET,
        ),
        BackboneSpec(
            name="inception_v3",
            builder=_apps.InceptionV3,
            preprocess=_apps.inception_v3.preprocess_input,
            input_range=(-1.0, 1.0),
            built_in_preprocessing=False,
            input_size=299,
            min_input_size=75,
            channels=3,
            blocks=tuple(
                ("stem_mixed0" if i == 0 else f"mixed{i}", f"mixed{i}") for i in range(11)
            ),
            pretrained_on=PRETRAINED_ON_IMAGENET,
        ),
    )
}


def get_spec(name: str) -> BackboneSpec:
    """Return the registry row for ``name``.

    Raises:
        ValueError: ``name`` is not in the registry; the message lists the known names.

    Example:
        >>> get_spec("mobilenet_v2").input_range
        (-1.0, 1.0)
        >>> get_spec("resnet5")
        Traceback (most recent call last):
        ...
        ValueError: unknown backbone 'resnet5'; choose one of: fashion_cnn, mobilenet_v2, resnet50, efficientnet_b0, inception_v3
    """
    if name not in BACKBONES:
        raise ValueError(_("unknown backbone {name!r}; choose one of: {choices}").format(
            name=name, choices=", ".join(BACKBONES)))
    return BACKBONES[name]


def load_backbone(
    name: str,
    *,
    weights: str | None = "default",
    input_size: int | None = None,
    pooling: str | None = None,
    include_top: bool = False,
) -> keras.Model:
    """Build a backbone from the registry, by default with its pretrained weights.

    Args:
        name: a registry name (:data:`BACKBONES`).
        weights: ``"default"`` (ImageNet, or the bundled file for ``fashion_cnn``), ``None``
            for random weights (the same architecture "from scratch"), or, for the
            keras.applications rows, a path to a weights file.
        input_size: side in pixels (default: the row's ``input_size``); ignored with
            ``include_top=True`` on keras.applications models, whose top fixes the size.
        pooling: ``None`` (feature maps), ``"avg"`` or ``"max"``.
        include_top: keep the original classifier (ImageNet or source classes).

    Raises:
        ValueError: unknown name or pooling, or an input size below the architecture's minimum.

    Example:
        >>> base = load_backbone("fashion_cnn", pooling="avg")  # doctest: +SKIP
        >>> base.output.shape                                    # doctest: +SKIP
        (None, 128)
    """
    spec = get_spec(name)
    if pooling is not None:
        _pool(pooling)  # validates the name
    size = spec.input_size if input_size is None else int(input_size)
    if size < spec.min_input_size:
        raise ValueError(_("input_size {size} is too small for {name}; use {least} or more").format(
            size=size, name=name, least=spec.min_input_size))
    if weights == "default":
        weights = spec.weights
    kwargs: dict[str, Any] = {"weights": weights, "include_top": include_top}
    if not include_top:
        kwargs.update(input_shape=(size, size, spec.channels), pooling=pooling)
    return spec.builder(**kwargs)


def block_of_layers(model: keras.Model, spec: BackboneSpec | str) -> dict[str, list[keras.layers.Layer]]:
    """Group a backbone's layers by block, in order (input layers left out).

    A block holds every layer after the previous block's last layer up to its own last
    layer; layers after the last boundary (pooling) join the top block.

    Raises:
        ValueError: the model lacks a boundary layer (not built from this registry row).

    Example:
        >>> groups = block_of_layers(load_backbone("fashion_cnn"), "fashion_cnn")  # doctest: +SKIP
        >>> list(groups)                                                          # doctest: +SKIP
        ['block1', 'block2', 'block3', 'block4']
    """
    spec = get_spec(spec) if isinstance(spec, str) else spec
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    position = {layer.name: i for i, layer in enumerate(layers)}
    missing = [last for _, last in spec.blocks if last not in position]
    if missing:
        raise ValueError(_(
            "model {model!r} is not a {name} backbone from the registry: it has no "
            "layer(s) {missing}; build it with tlhelpers.backbones.load_backbone({name!r})"
        ).format(model=model.name, name=spec.name, missing=missing))
    groups: dict[str, list[keras.layers.Layer]] = {}
    start = 0
    for b, (block, last) in enumerate(spec.blocks):
        end = len(layers) if b == spec.num_blocks - 1 else position[last] + 1
        groups[block] = layers[start:end]
        start = end
    return groups
