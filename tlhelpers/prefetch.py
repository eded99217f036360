"""Fetch what a track needs ahead of time, so a classroom can then work offline.

Everything goes through ``keras.utils.get_file`` into the Keras cache (``~/.keras``),
with the hashes Keras publishes: the CIFAR-10 archive (sha256), the ImageNet class index
(md5) and the ResNet50, EfficientNetB0 and InceptionV3 weights (md5, checked inside
``keras.applications``). Keras publishes no hash for the MobileNetV2 weights; those are
checked by loading them into the architecture.

Example:
    >>> from tlhelpers import prefetch
    >>> [item.label for item in prefetch.plan("imagenet")][:2]  # doctest: +SKIP
    ['CIFAR-10', 'ImageNet class names']
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import urlparse

from tlhelpers import data
from tlhelpers.backbones import BACKBONES, load_backbone
from tlhelpers.config import current_track

DOWNLOAD_HOST = "https://storage.googleapis.com"
IMAGENET_CLASS_INDEX = (
    "imagenet_class_index.json",
    f"{DOWNLOAD_HOST}/download.tensorflow.org/data/imagenet_class_index.json",
    "c2c37ea517e94d9795004a39431a14cb",
)
IMAGENET_BACKBONES = tuple(name for name, spec in BACKBONES.items() if spec.weights == "imagenet")


def _mobilenet_v2_file(size: int, include_top: bool) -> str:
    rows = size if size in (96, 128, 160, 192, 224) else 224  # Keras falls back to 224
    return f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{rows}{'' if include_top else '_no_top'}.h5"


# backbone -> (input size, include_top) -> file name Keras caches under ~/.keras/models
WEIGHTS_FILES: dict[str, Callable[[int, bool], str]] = {
    "mobilenet_v2": _mobilenet_v2_file,
    "resnet50": lambda size, top: f"resnet50_weights_tf_dim_ordering_tf_kernels{'' if top else '_notop'}.h5",
    "efficientnet_b0": lambda size, top: f"efficientnetb0{'' if top else '_notop'}.h5",
    "inception_v3": lambda size, top: f"inception_v3_weights_tf_dim_ordering_tf_kernels{'' if top else '_notop'}.h5",
}


@dataclass(frozen=True)
class Item:
    """One thing to fetch: a label for people, where it lands, and how to fetch it."""

    label: str
    path: Path
    fetch: Callable[[], object]

    @property
    def cached(self) -> bool:
        """Whether it is already on this machine."""
        return self.path.exists()


def _models_dir() -> Path:
    return data.keras_cache_dir() / "models"


def _class_index() -> str:
    import keras

    name, url, md5 = IMAGENET_CLASS_INDEX
    return keras.utils.get_file(name, url, cache_subdir="models", file_hash=md5)


def _weights_item(name: str, size: int, include_top: bool) -> Item:
    what = "with ImageNet classifier" if include_top else f"{size} px, no top"
    return Item(
        f"{name} weights ({what})",
        _models_dir() / WEIGHTS_FILES[name](size, include_top),
        lambda: load_backbone(name, input_size=size, include_top=include_top),
    )


def classifier_items(backbone: str) -> list[Item]:
    """What an ImageNet backbone's original classifier needs: the class names and its top's weights.

    ``prefetch --track imagenet`` fetches them for the track's backbone (lesson 01 shows its
    predictions); :func:`tlhelpers.predictions.load_classifier` checks them before loading.

    Raises:
        ValueError: ``backbone`` is not an ImageNet backbone of the registry.

    Example:
        >>> [item.label for item in classifier_items("mobilenet_v2")]
        ['ImageNet class names', 'mobilenet_v2 weights (with ImageNet classifier)']
    """
    if backbone not in IMAGENET_BACKBONES:
        raise ValueError(f"unknown ImageNet backbone {backbone!r}; choose one of: {', '.join(IMAGENET_BACKBONES)}")
    return [
        Item("ImageNet class names", _models_dir() / IMAGENET_CLASS_INDEX[0], _class_index),
        _weights_item(backbone, 224, include_top=True),  # with its top, a keras.applications model has a fixed size
    ]


def plan(track: str, backbones: tuple[str, ...] | None = None) -> list[Item]:
    """What ``track`` needs: datasets and weights, each with its cache path.

    Args:
        track: ``"offline"`` or ``"imagenet"``.
        backbones: ImageNet backbones to fetch (default: all in the registry).

    Example:
        >>> plan("offline")[0].label
        'Fashion-MNIST'
    """
    if track == "offline":
        folder = data.find_fashion_mnist()
        path = folder or data.keras_cache_dir() / "datasets" / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz"
        return [Item("Fashion-MNIST", path, data.load_fashion_mnist)]
    if track != "imagenet":
        raise ValueError(f"unknown track {track!r}; choose one of: offline, imagenet")
    names = IMAGENET_BACKBONES if backbones is None else backbones
    unknown = [n for n in names if n not in IMAGENET_BACKBONES]
    if unknown:
        raise ValueError(f"unknown ImageNet backbone(s) {unknown}; choose from: {', '.join(IMAGENET_BACKBONES)}")
    default = current_track("imagenet")
    # where Keras 3 extracts it, unless found there or where Keras 2 did (data.find_cifar10)
    cifar = data.find_cifar10() or data.keras_cache_dir() / "datasets/cifar-10-batches-py-target/cifar-10-batches-py"
    items = [
        Item("CIFAR-10", cifar, data.load_cifar10),
        *classifier_items(default.backbone),  # lesson 01: ImageNet predictions
    ]
    for name in names:
        size = default.input_size if name == default.backbone else BACKBONES[name].input_size
        items.append(_weights_item(name, size, include_top=False))
    return items


def check_online(url: str | None = None, timeout: float = 5.0) -> None:
    """Fail fast, with a clear message, when the download host cannot be reached.

    Raises:
        ConnectionError: no route, no DNS or no answer within ``timeout`` seconds.

    Example:
        >>> check_online()  # doctest: +SKIP
    """
    url = url or DOWNLOAD_HOST
    host = urlparse(url).hostname or url
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
    except OSError as err:
        raise ConnectionError(
            f"cannot reach {host} ({err}); prefetch needs the internet. Run it on a connected "
            "machine, then copy its ~/.keras folder here (the Keras cache), or use the offline track: "
            "TL_TRACK=offline"
        ) from err


def prefetch(track: str, backbones: tuple[str, ...] | None = None) -> list[Item]:
    """Download everything ``track`` needs that is not cached yet; return what was fetched.

    Raises:
        ConnectionError: something is missing and the internet cannot be reached.

    Example:
        >>> prefetch("imagenet", backbones=("mobilenet_v2",))  # doctest: +SKIP
    """
    from tqdm.auto import tqdm

    missing = [item for item in plan(track, backbones) if not item.cached]
    if missing:
        check_online()
    for item in tqdm(missing, desc=f"prefetch {track}", unit="file"):
        tqdm.write(f"fetching {item.label} ...")
        item.fetch()
    return missing
