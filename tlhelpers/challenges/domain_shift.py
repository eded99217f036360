"""Domain shift: a target moved away from what the backbone saw, and checks that warn before training.

Part of :mod:`tlhelpers.challenges` (lesson 07).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Iterable

import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from tqdm.auto import tqdm

from tlhelpers.backbones import get_spec, load_backbone
from tlhelpers.data import Task
from tlhelpers.display import finished
from tlhelpers.features import extract_features, linear_probe, single_threaded_blas
from tlhelpers.i18n import N_, LazyText, _, pgettext
from tlhelpers.pipeline import prepare_images, to_model_input
from tlhelpers.quiet import tensorflow_errors_only
from tlhelpers.strategies import compare, prepare
from tlhelpers.tables import shown_frame
from tlhelpers.training import accuracy

__all__ = [
    "CHECK_WARNS_WHEN", "SHIFTS", "centroid_similarity", "check_warnings", "domain_classifier_accuracy",
    "linear_probe_accuracy", "plot_domain_shift", "pretraining_checks", "shift_gains", "shift_images", "shift_task",
]


def _inverted(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return 255 - x


def _rotated(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.ascontiguousarray(np.rot90(x, k=1, axes=(1, 2)))


def _noisy(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.clip(x.astype(np.float32) + rng.normal(0, 80, x.shape), 0, 255).astype(np.uint8)


# name -> (transform of uint8 images (N, H, W, C), what it does: shown in the active language)
SHIFTS: dict[str, tuple[Callable[[np.ndarray, np.random.Generator], np.ndarray], str]] = {
    "none": (lambda x, rng: x, LazyText(N_("the target as it is"))),
    "rotated": (_rotated, LazyText(N_("every image turned 90 degrees: the same objects, lying on their side"))),
    "noisy": (_noisy, LazyText(N_("strong Gaussian pixel noise (sigma 80 of 255): a worse camera"))),
    "inverted": (_inverted, LazyText(N_("dark and light swapped (255 - pixel): a new domain of contrast"))),
}


def shift_images(x: np.ndarray, shift: str, seed: int = 0) -> np.ndarray:
    """Apply a named domain shift to uint8 images ``(N, H, W, C)``.

    Raises:
        ValueError: an unknown shift.

    Example:
        >>> int(shift_images(np.zeros((1, 2, 2, 1), np.uint8), "inverted").max())
        255
    """
    if shift not in SHIFTS:
        raise ValueError(_("unknown shift {name!r}; choose one of: {choices}").format(name=shift, choices=", ".join(SHIFTS)))
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(_("images must have shape (N, H, W, C), got {shape}").format(shape=x.shape))
    return SHIFTS[shift][0](x, np.random.default_rng(seed))


def shift_task(task: Task, shift: str, seed: int = 0) -> Task:
    """The whole task moved into another domain: train, validation and test alike.

    Example:
        >>> shifted = shift_task(task, "rotated")  # doctest: +SKIP
    """
    return replace(
        task,
        name=f"{task.name}[{shift}]",
        x_train=shift_images(task.x_train, shift, seed),
        x_val=shift_images(task.x_val, shift, seed + 1),
        x_test=shift_images(task.x_test, shift, seed + 2),
    )


def linear_probe_accuracy(
    f_train: np.ndarray, y_train: np.ndarray, f_eval: np.ndarray, y_eval: np.ndarray, C: float = 0.1
) -> float:
    """Accuracy of a standardized logistic regression trained on ``f_train`` (seconds, no GPU).

    Features of any shape (e.g. raw pixels) are flattened first; see
    :func:`tlhelpers.features.linear_probe`.

    Example:
        >>> f = np.r_[np.zeros((5, 2)), np.ones((5, 2))]; y = np.repeat([0, 1], 5)
        >>> linear_probe_accuracy(f, y, f, y)
        1.0
    """
    flat = [np.reshape(f, (len(f), -1)) for f in (f_train, f_eval)]
    probe = linear_probe(flat[0], y_train, int(max(np.max(y_train), np.max(y_eval))) + 1, strengths=(C,))
    return accuracy(probe, flat[1], y_eval, batch_size=1024)


def centroid_similarity(f_a: np.ndarray, f_b: np.ndarray) -> float:
    """Cosine similarity of the mean feature vectors of two image sets (1 = same direction).

    Example:
        >>> round(centroid_similarity(np.ones((3, 4)), 2 * np.ones((5, 4))), 6)
        1.0
    """
    a, b = np.mean(f_a, axis=0), np.mean(f_b, axis=0)
    denominator = float(np.linalg.norm(a) * np.linalg.norm(b))
    if denominator == 0:
        raise ValueError(_("a feature set has a zero mean vector; cosine similarity is undefined"))
    return float(a @ b / denominator)


def domain_classifier_accuracy(f_a: np.ndarray, f_b: np.ndarray, seed: int = 0) -> float:
    """How well a linear model tells set a from set b by their features (cross-validated).

    0.5: the backbone sees both as one domain; 1.0: two separate worlds. This is the idea
    behind the proxy A-distance of domain adaptation.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> domain_classifier_accuracy(rng.normal(size=(40, 3)), rng.normal(size=(40, 3))) < 0.75
        True
    """
    n = min(len(f_a), len(f_b))
    x = np.concatenate([f_a[:n], f_b[:n]])
    y = np.repeat([0, 1], n)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=seed)
    with single_threaded_blas():
        return float(np.mean(cross_val_score(model, x, y, cv=folds)))


def pretraining_checks(
    task: Task, base, backbone: str, source_images: np.ndarray | None, shifts: Iterable[str] = tuple(SHIFTS),
    input_size: int | None = None,
):  # -> pandas.DataFrame
    """Before any training: how far each shifted target is from the source, seen by ``base``.

    Per shift: the centroid cosine similarity and the domain-classifier accuracy between
    the source images' features and the shifted training images' features, and a linear
    probe trained on the task's training split, scored on its validation split, once on the
    backbone's features and once on raw pixels. ``probe_advantage`` is the difference: how
    much the pretrained features help on this target before any fine-tuning.

    Args:
        task: the target task (unshifted; every shift is applied here).
        base: the frozen backbone.
        backbone: its registry name (for resizing and preprocessing).
        source_images: uint8 images of the backbone's source domain (a few hundred), or
            ``None`` where the source is not available (ImageNet offline): the two
            similarity columns are then NaN and the probe check still runs.

    Example:
        >>> checks = pretraining_checks(task, base, "fashion_cnn", source_x[:300])  # doctest: +SKIP
    """
    def features(x):
        return extract_features(base, to_model_input(x, backbone, input_size))

    def pixels(x):
        return prepare_images(x, 16, 1).numpy().reshape(len(x), -1) / 255.0  # small and gray: fair to both

    f_source = None if source_images is None else features(source_images)
    rows = []
    for shift in shifts:
        shifted = shift_task(task, shift)
        f_train, f_val = features(shifted.x_train), features(shifted.x_val)
        probe = linear_probe_accuracy(f_train, shifted.y_train, f_val, shifted.y_val)
        pixel = linear_probe_accuracy(pixels(shifted.x_train), shifted.y_train, pixels(shifted.x_val), shifted.y_val)
        rows.append({
            "shift": shift,
            "similarity": np.nan if f_source is None else centroid_similarity(f_source, f_val),
            "domain_accuracy": np.nan if f_source is None else domain_classifier_accuracy(
                f_source, np.concatenate([f_train, f_val])),
            "probe_features": probe,
            "probe_pixels": pixel,
            "probe_advantage": probe - pixel,
        })
    return shown_frame(rows).set_index("shift")


# each check, and the direction in which it warns that the backbone will help less
CHECK_WARNS_WHEN = {"similarity": "lower", "domain_accuracy": "higher", "probe_advantage": "lower"}


def check_warnings(checks, shift: str, reference: str = "none"):  # -> pandas.DataFrame
    """Did each pre-training check warn that ``shift`` is further from the source than ``reference``?

    Returns one row per check of :data:`CHECK_WARNS_WHEN`: its value on ``reference`` and on
    ``shift``, and ``warned`` (True/False; None where the check could not be measured, e.g.
    without source images).

    Example:
        >>> import pandas as pd
        >>> checks = pd.DataFrame({"similarity": [0.9, 0.7], "domain_accuracy": [0.8, 0.99],
        ...                        "probe_advantage": [0.1, 0.1]}, index=["none", "inverted"])
        >>> check_warnings(checks, "inverted").warned.tolist()
        [True, True, False]
    """
    for name in (shift, reference):
        if name not in checks.index:
            raise ValueError(_("shift {name!r} is not in the checks; checked: {checked}").format(
                name=name, checked=", ".join(checks.index)))
    rows = []
    for check, warns_when in CHECK_WARNS_WHEN.items():
        before, after = float(checks.loc[reference, check]), float(checks.loc[shift, check])
        warned = None if np.isnan(before) or np.isnan(after) else bool(after < before if warns_when == "lower" else after > before)
        rows.append({"check": check, reference: before, shift: after, "warns_when": warns_when, "warned": warned})
    return shown_frame(rows).set_index("check")


def shift_gains(
    task: Task, backbone: str, shifts: Iterable[str] = tuple(SHIFTS), *, base=None, input_size: int | None = None,
    scratch_size: int | None = None, progress: bool = False, **compare_args: Any,
):  # -> pandas.DataFrame
    """Scratch against transfer on each shifted task: the gain transfer brings there.

    * ``scratch``: :func:`tlhelpers.strategies.compare`'s fair recipe (the same
      architecture from random weights, early stopping on validation accuracy, best
      weights kept); ``compare_args`` go to it (``max_epochs``, ``patience``, ``seeds``...).
    * ``probe``: transfer by feature extraction: a standardized logistic regression on the
      frozen backbone's features (:func:`linear_probe_accuracy`), trained on the same labels.

    Both are scored on the shifted test split. ``gain`` is probe minus scratch. Each shifted
    task is turned into model inputs once (:func:`tlhelpers.strategies.prepare`): scratch
    trains on them, and where scratch and the backbone take the same size, the probe's
    features come from them too.

    Args:
        input_size: the side the pretrained backbone is fed (default: the registry's).
        scratch_size: the side scratch trains at (default: ``input_size``). A network from
            random weights gains nothing from enlarged images: at the images' own size
            (e.g. CIFAR-10's 32 px where MobileNetV2 is fed 96 px) it does a ninth of the
            arithmetic per image.
        progress: a tqdm bar over the shifts (scratch's training is most of each step).

    Example:
        >>> gains = shift_gains(task, "fashion_cnn", ["none", "inverted"], max_epochs=12)  # doctest: +SKIP
    """
    base = load_backbone(backbone, input_size=input_size) if base is None else base
    native = get_spec(backbone).input_size
    scratch_input = input_size if scratch_size is None else scratch_size
    same_inputs = (scratch_input or native) == (input_size or native)  # None is the registry's size
    rows = []
    shifts = list(shifts)
    with tensorflow_errors_only():
        for shift in tqdm(shifts, desc=_("scratch and probe"), unit=pgettext("progress unit", "shift"), disable=not progress):
            shifted = shift_task(task, shift)
            prepared = prepare(shifted, backbone, scratch_input)  # what compare would make: made here, kept
            runs = compare(shifted, backbone, strategies=("scratch",), input_size=scratch_input, prepared=prepared,
                           **compare_args)
            if same_inputs:  # the backbone's inputs are scratch's: no second conversion
                x_train, x_test = prepared.x_train, prepared.x_test
            else:
                x_train, x_test = (to_model_input(x, backbone, input_size) for x in (shifted.x_train, shifted.x_test))
            f_train, f_test = (extract_features(base, x) for x in (x_train, x_test))
            probe = linear_probe_accuracy(f_train, shifted.y_train, f_test, shifted.y_test)
            scratch = float(runs["test_accuracy"].median())
            rows.append({"shift": shift, "scratch": scratch, "scratch_epochs": int(runs["epochs"].median()),
                         "probe": probe, "gain": probe - scratch})
    return shown_frame(rows).set_index("shift")


def plot_domain_shift(checks, gains=None) -> Any:
    """Per shift: the pre-training checks (left) and, if given, scratch vs transfer (right).

    Args:
        checks: from :func:`tlhelpers.challenges.pretraining_checks`.
        gains: from :func:`tlhelpers.challenges.shift_gains` (optional).

    Example:
        >>> fig = plot_domain_shift(checks, gains)  # doctest: +SKIP
    """
    panels = 1 if gains is None else 2
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 3.8), squeeze=False)
    shifts = list(checks.index)
    pos = np.arange(len(shifts))
    ax = axes[0, 0]
    ax.bar(pos - 0.2, checks["probe_features"], 0.4, label=_("probe on pretrained features"))
    ax.bar(pos + 0.2, checks["probe_pixels"], 0.4, label=_("probe on raw pixels"))
    ax.set(xticks=pos, xticklabels=shifts, ylabel=_("validation accuracy"), ylim=(0, 1.2), yticks=np.linspace(0, 1, 6),
           title=_("before training: a linear-probe check"))
    ax.legend(fontsize=8, loc="upper center", ncols=2)
    if gains is not None:
        ax = axes[0, 1]
        gains = gains.reindex(shifts)
        transfer = gains["probe"]
        ax.bar(pos - 0.2, gains["scratch"], 0.4, label=_("from scratch"))
        ax.bar(pos + 0.2, transfer, 0.4, label=_("transfer (linear probe)"))
        for p, g, t in zip(pos, gains["gain"], transfer):
            if np.isfinite(g):
                ax.annotate(f"{g:+.2f}", (p + 0.2, t), ha="center", va="bottom", fontsize=8)
            else:  # a shift that was checked but not trained
                ax.annotate(_("not trained"), (p, 0.02), ha="center", va="bottom", fontsize=8, color="gray")
        ax.set(xticks=pos, xticklabels=shifts, ylabel=_("test accuracy"), ylim=(0, 1.2), yticks=np.linspace(0, 1, 6),
               title=_("after training: transfer's gain over scratch"))
        ax.legend(fontsize=8, loc="upper center", ncols=2)
    return finished(fig)
