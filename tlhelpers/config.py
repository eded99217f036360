"""Course configuration: which track and compute profile are active, paths and seeds.

The track is chosen in one place: ``course.toml`` at the repository root, overridden by
the environment variables ``TL_TRACK`` and ``TL_PROFILE``. Notebooks call
:func:`current_track` and never hard-code either.

Example:
    >>> from tlhelpers import config
    >>> track = config.current_track()
    >>> track.name in config.TRACKS
    True
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from tlhelpers.i18n import N_, LazyText, _
from tlhelpers.settings import CONFIG_NAME, PACKAGE_DIR, choose, find_config

__all__ = ["current_track", "set_seed"]

ASSETS_DIR = PACKAGE_DIR / "assets"
DEFAULT_SEED = 42


@dataclass(frozen=True)
class Scale:
    """How much the longest experiments of lessons 03 and 06 train and score on.

    The imagenet track's backbone costs many times more per image than the bundled one, so
    its runs are shorter: fewer epochs, fewer images and fewer test images.

    Attributes:
        eval_images: most test images lesson 03 scores its runs on.
        fine_epochs: epochs of each fine-tuning run in lesson 03.
        compare_epochs: most epochs per strategy in lesson 03's comparison (early stopping).
        cost_images: training images per run in lesson 07's cost experiment.
        cost_epochs: end-to-end epochs per run there.

    Example:
        >>> TRACKS["imagenet"].scale.cost_images
        (40, 120, 240)
    """

    eval_images: int
    fine_epochs: int
    compare_epochs: int
    cost_images: tuple[int, ...]
    cost_epochs: int


@dataclass(frozen=True)
class Track:
    """Everything a lesson needs to know about the active track.

    Attributes:
        name: ``"offline"`` or ``"imagenet"``.
        profile: ``"laptop"`` or ``"gpu"``.
        backbone: registry name of the default pretrained backbone.
        input_size: side in pixels the backbone is fed.
        dataset: name of the target dataset (see :mod:`tlhelpers.data`).
        labels_per_class: default label budget for the target task.
        val_per_class: validation labels per class (at most ``labels_per_class``: a
            budget of k labels per class spends k on training and up to k on validation).
        test_per_class: test images per class the lessons score on (``None``: the whole
            test split); a fixed, class-balanced subset, the same in every lesson.
        scale: the size of lessons 03 and 06's longest experiments.
        description: one line for people (:class:`~tlhelpers.i18n.LazyText`: English to code, the active
            language when printed).
    """

    name: str
    profile: str
    backbone: str
    input_size: int
    dataset: str
    labels_per_class: int
    val_per_class: int
    test_per_class: int | None
    scale: Scale
    description: str


# One row per track in the laptop profile; GPU_OVERRIDES scales a track up.
TRACKS: dict[str, Track] = {
    "offline": Track(
        name="offline",
        profile="laptop",
        backbone="fashion_cnn",
        input_size=32,
        dataset="fashion_mnist_target",
        labels_per_class=20,
        val_per_class=20,
        test_per_class=None,
        scale=Scale(eval_images=5000, fine_epochs=6, compare_epochs=10, cost_images=(80, 240, 480), cost_epochs=2),
        description=LazyText(N_("Fashion-MNIST target classes on the course's bundled backbone; no internet needed")),
    ),
    "imagenet": Track(
        name="imagenet",
        profile="laptop",
        backbone="mobilenet_v2",
        input_size=96,
        dataset="cifar10",
        labels_per_class=20,
        val_per_class=20,
        test_per_class=200,
        scale=Scale(eval_images=1000, fine_epochs=3, compare_epochs=4, cost_images=(40, 120, 240), cost_epochs=1),
        description=LazyText(N_("CIFAR-10 on MobileNetV2 with ImageNet weights (prefetch once)")),
    ),
}
PROFILES = ("laptop", "gpu")
GPU_OVERRIDES: dict[str, dict[str, int | None]] = {
    "offline": {"labels_per_class": 500, "val_per_class": 200},
    "imagenet": {"input_size": 224, "labels_per_class": 1000, "val_per_class": 200, "test_per_class": None},
}


# The error for a value that is not a track or a profile, by setting.
UNKNOWN_CHOICE = {
    "track": N_("unknown track {value!r} (from {origin}); choose one of: {choices}"),
    "profile": N_("unknown profile {value!r} (from {origin}); choose one of: {choices}"),
}
# Where a setting came from, when it is not a file or an environment variable.
ORIGINS = {"argument": N_("argument"), "defaults": N_("defaults")}


def _choice(value: str, accepted: tuple[str, ...] | list[str], what: str, origin: str) -> str:
    if value not in accepted:
        raise ValueError(_(UNKNOWN_CHOICE[what]).format(
            value=value, origin=_(ORIGINS[origin]) if origin in ORIGINS else origin, choices=", ".join(accepted),
        ))
    return value


def current_track(name: str | None = None, profile: str | None = None) -> Track:
    """Return the active :class:`Track`.

    Precedence: the arguments, then ``TL_TRACK``/``TL_PROFILE``, then ``course.toml``,
    then ``offline``/``laptop``.

    Args:
        name: force a track instead of reading the configuration.
        profile: force a profile (``"laptop"`` or ``"gpu"``).

    Raises:
        ValueError: the track or profile is not known.

    Example:
        >>> current_track("imagenet").backbone
        'mobilenet_v2'
        >>> current_track("imagenet", profile="gpu").input_size
        224
    """
    track_name, src = choose(name, "TL_TRACK", "track", "offline")
    _choice(track_name, list(TRACKS), "track", src)
    profile_name, src = choose(profile, "TL_PROFILE", "profile", "laptop")
    _choice(profile_name, PROFILES, "profile", src)
    track = TRACKS[track_name]
    if profile_name == "gpu":
        track = replace(track, profile="gpu", **GPU_OVERRIDES[track_name])
    return track


def repo_dir() -> Path:
    """The course's folder: the one holding ``course.toml`` (see :func:`find_config`).

    Found from the working directory first, so a ``tlhelpers`` installed without ``-e``
    (in site-packages) works from anywhere inside the course's folder; an editable install
    also finds it from the package's own path.

    Raises:
        FileNotFoundError: no ``course.toml`` in the working directory, its parents or
            next to the package.

    Example:
        >>> (repo_dir() / "course.toml").is_file()
        True
    """
    path = find_config()
    if path is None:
        raise FileNotFoundError(_(
            "no {config} in {cwd} or its parents, and tlhelpers ({package}) is not installed "
            "from the course's folder: run from inside the course's folder, or install it there with pip install -e ."
        ).format(config=CONFIG_NAME, cwd=Path.cwd(), package=PACKAGE_DIR))
    return path.parent


def build_dir() -> Path:
    """Folder for executed notebooks, HTML pages, saved models and tuner projects.

    ``build/`` in the course's folder, or the folder the environment variable
    ``TL_BUILD_DIR`` names (``benchmarks/course.py`` sets it to a fresh temporary folder, so
    that a timed run reuses nothing an earlier run left behind).

    Example:
        >>> build_dir().name  # doctest: +SKIP
        'build'
    """
    return Path(os.environ["TL_BUILD_DIR"]) if os.environ.get("TL_BUILD_DIR") else repo_dir() / "build"


def set_seed(seed: int = DEFAULT_SEED) -> int:
    """Seed Python, NumPy and TensorFlow through ``keras.utils.set_random_seed``.

    Example:
        >>> set_seed(0)
        0
    """
    import keras

    keras.utils.set_random_seed(seed)
    return seed
