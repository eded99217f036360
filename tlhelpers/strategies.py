"""The three ways to use a pretrained backbone on a target task, trained fairly.

* ``scratch``: a network from random weights, everything trained: the backbone's own
  architecture, or a small CNN for the ImageNet backbones (:func:`build_scratch`).
* ``probe`` (feature extraction): a new head on cached features of the frozen base, fitted
  as a linear probe (:func:`tlhelpers.features.linear_probe`: a logistic regression on
  standardized features, its regularisation picked on the validation split).
* ``fine_tune``: the course's recipe (:mod:`tlhelpers.recipe`): the probe's head on a fresh
  copy of the backbone, then the top blocks unfrozen (BatchNorm frozen) and trained with a
  warm-up and a cosine decay, keeping the epoch with the best validation accuracy, the probe
  itself included. Its depth, rate and augmentation are the track's measured
  :data:`tlhelpers.recipe.RECIPES` entry unless ``recipe`` says otherwise.

Every strategy gets the same data (the task's label budget: its training and validation
labels), the same validation split for early stopping with the best weights restored and
for the probe's regularisation, and is measured on the untouched test split. With fewer than
``MIN_VAL_PER_CLASS`` validation labels per class there is too little to judge epochs by:
scratch then trains for fixed epochs, and the probe keeps a fixed regularisation. A run whose
test accuracy stays within 5 points of chance is flagged in the ``at_chance`` column: it never
learned, and beating it says little.
Lessons 00, 03 and 06 and the benchmarks all compare strategies through :func:`compare`.

Example:
    >>> from tlhelpers import data, strategies
    >>> task = data.load_task(labels_per_class=5)               # doctest: +SKIP
    >>> strategies.compare(task, "fashion_cnn").round(3)         # doctest: +SKIP
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Iterable

import keras
import numpy as np

from tlhelpers.backbones import get_spec, load_backbone, small_cnn
from tlhelpers.config import set_seed
from tlhelpers.data import Task
from tlhelpers.features import attach_head, extract_features, linear_probe
from tlhelpers.i18n import _
from tlhelpers.pipeline import to_model_input
from tlhelpers.recipe import Recipe, default_recipe, fine_tune
from tlhelpers.training import accuracy, compile_classifier, epoch_bar

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MIN_VAL_PER_CLASS", "STRATEGIES", "PreparedTask", "StrategyResult", "at_chance", "build_scratch", "compare", "prepare",
]

STRATEGIES = ("scratch", "probe", "fine_tune")
MIN_VAL_PER_CLASS = 2  # below this, scratch trains for fixed epochs and the probe keeps a fixed regularisation


@dataclass
class StrategyResult:
    """One trained strategy, measured."""

    strategy: str
    labels_per_class: int
    seed: int
    test_accuracy: float
    val_accuracy: float
    epochs: int
    seconds: float
    labels: int
    at_chance: bool
    kept_epoch: int | None = None  # fine_tune: the epoch kept, 0 when no epoch beat the probe on validation


def build_scratch(backbone: str, num_classes: int, input_size: int | None = None, dropout: float = 0.2) -> keras.Model:
    """A network from random weights with the same head, all trainable: the fair baseline.

    The backbone's own architecture where it is small enough to learn from a few labels
    (the bundled one); for the ImageNet backbones, :func:`tlhelpers.backbones.small_cnn` at
    the same input size: a MobileNetV2 from random weights stays at chance on a few hundred
    images, at many times the cost, and a practitioner without pretrained weights would
    train a small CNN instead. The registry row's ``scratch`` field says which.

    BatchNorm momentum is lowered to 0.9 so its moving statistics settle within the few
    steps a small label budget gives (at Keras' default 0.99 they would still hold mostly
    their initial values, and the model would look far worse than it is).

    Example:
        >>> build_scratch("fashion_cnn", 5).output.shape
        (None, 5)
        >>> build_scratch("mobilenet_v2", 10, input_size=64).get_layer("small_cnn").name
        'small_cnn'
    """
    spec = get_spec(backbone)
    if spec.scratch == "own":
        base = load_backbone(backbone, weights=None, input_size=input_size)
    else:
        base = small_cnn(spec.input_size if input_size is None else input_size, spec.channels)
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = 0.9
    inputs = keras.Input(base.input_shape[1:], name="image")
    x = keras.layers.GlobalAveragePooling2D(name="head_pool")(base(inputs))
    x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="head")(x)
    return keras.Model(inputs, outputs, name=f"{backbone}_scratch")


def _fit(model, x, y, val, epochs, batch_size, patience, warmup=2, early_stopping=True, progress=False) -> int:
    """Fit with early stopping on validation accuracy after ``warmup`` epochs; best weights kept.

    Without ``early_stopping`` (too few validation labels to judge epochs by), it trains
    for ``epochs`` and keeps the last weights. Validation runs in batches of 256 whatever
    the training batch size, so small batches do not make it the slow part of every epoch.
    """
    callbacks = [keras.callbacks.EarlyStopping(
        monitor="val_accuracy", patience=patience, restore_best_weights=True, start_from_epoch=warmup
    )] if early_stopping else []
    callbacks += [epoch_bar(_("from scratch"))] if progress else []
    history = model.fit(
        x, y, validation_data=val, epochs=epochs, batch_size=batch_size, verbose=0, callbacks=callbacks,
        validation_batch_size=256,
    )
    return len(history.epoch)


def at_chance(test_accuracy: float, num_classes: int, margin: float = 0.05) -> bool:
    """Whether an accuracy is within ``margin`` of guessing (a run that never learned).

    Example:
        >>> at_chance(0.21, 5), at_chance(0.40, 5)
        (True, False)
    """
    return test_accuracy < 1 / num_classes + margin


@dataclass
class PreparedTask:
    """A task's images turned into backbone inputs once, and the frozen base's features."""

    x_train: object
    x_val: object
    x_test: object
    f_train: np.ndarray | None = None
    f_val: np.ndarray | None = None
    f_test: np.ndarray | None = None


def prepare(
    task: Task, backbone: str, input_size: int | None = None, base: keras.Model | None = None,
    same_test_as: PreparedTask | None = None,
) -> PreparedTask:
    """Resize/preprocess the task for ``backbone``; with ``base``, also cache its features.

    ``same_test_as``: an earlier result for a task with the same test split (another label
    draw), whose test inputs and features are reused instead of computed again.

    Example:
        >>> prepared = prepare(task, "fashion_cnn", base=load_backbone("fashion_cnn"))  # doctest: +SKIP
    """
    splits = (task.x_train, task.x_val) if same_test_as is not None else (task.x_train, task.x_val, task.x_test)
    inputs = [to_model_input(x, backbone, input_size) for x in splits]
    features = [extract_features(base, x) for x in inputs] if base is not None else [None] * len(inputs)
    if same_test_as is not None:
        inputs.append(same_test_as.x_test)
        features.append(same_test_as.f_test if base is not None else None)
    return PreparedTask(*inputs, *features)


def compare(
    task: Task,
    backbone: str,
    *,
    strategies: Iterable[str] = STRATEGIES,
    seeds: Iterable[int] = (0,),
    input_size: int | None = None,
    recipe: Recipe | None = None,
    max_epochs: int = 60,
    patience: int = 10,
    scratch_lr: float = 1e-3,
    batch_size: int = 16,
    prepared: PreparedTask | None = None,
    base: keras.Model | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Train each strategy on ``task`` for each seed; one row per run.

    Args:
        task: a :class:`tlhelpers.data.Task` (its label budget is what every strategy gets).
        backbone: registry name.
        strategies: any of ``"scratch"``, ``"probe"``, ``"fine_tune"``.
        seeds: one run per seed (weights, shuffling, dropout, augmentation).
        input_size: backbone input side (default: the registry's).
        recipe: ``fine_tune``'s settings (default: the active track's measured recipe,
            :func:`tlhelpers.recipe.default_recipe`).
        max_epochs, patience: scratch's early stopping on validation accuracy, best weights
            restored (it trains up to twice ``max_epochs``; fixed epochs without enough
            validation labels, see the module docstring).
        scratch_lr: scratch's learning rate (Adam).
        batch_size: images per step of scratch.
        prepared: reuse inputs and features from :func:`prepare` (saves time across calls).
        base: the frozen backbone to cache features with, if ``prepared`` has none (saves
            loading it again). ``fine_tune`` always starts from a freshly loaded copy.
        progress: show a bar over the epochs of each run that trains with ``fit``.

    Returns:
        A DataFrame with the fields of :class:`StrategyResult` (a
        :class:`~tlhelpers.tables.ShownFrame`: headers shown in the course's language).

    Raises:
        ValueError: an unknown strategy name.
    """
    from tlhelpers.tables import shown_frame

    strategies = list(strategies)
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown:
        raise ValueError(_("unknown strategy {name!r}; choose from: {choices}").format(
            name=unknown[0], choices=", ".join(STRATEGIES)))
    recipe = recipe or default_recipe()
    needs_features = bool({"probe", "fine_tune"} & set(strategies))
    if prepared is None or (needs_features and prepared.f_train is None):
        if needs_features and base is None:
            base = load_backbone(backbone, input_size=input_size)
        prepared = prepare(task, backbone, input_size, base if needs_features else None)
    p, k = prepared, len(task.y_train) // task.num_classes
    val = (p.x_val, task.y_val)
    # One validation label per class cannot tell epochs or settings apart: fixed epochs then.
    judged = len(task.y_val) >= MIN_VAL_PER_CLASS * task.num_classes
    head = None
    if needs_features:  # the probe: scikit-learn's fit is deterministic, so every seed shares it
        start = time.perf_counter()
        choose = (p.f_val, task.y_val) if judged else (None, None)  # else a fixed regularisation
        head = linear_probe(p.f_train, task.y_train, task.num_classes, *choose)
        probe_seconds = time.perf_counter() - start
    results = []
    for seed in seeds:
        for strategy in strategies:
            set_seed(seed)
            start = time.perf_counter()
            kept = None
            if strategy == "scratch":
                model = compile_classifier(build_scratch(backbone, task.num_classes, input_size), scratch_lr)
                # from random weights, a few labels need many more epochs before they show
                epochs = _fit(model, p.x_train, task.y_train, val, max_epochs * 2, batch_size, patience * 2,
                              warmup=max_epochs // 3, early_stopping=judged, progress=progress)
                test, valid = accuracy(model, p.x_test, task.y_test), accuracy(model, *val)
            elif strategy == "probe":
                epochs = 0  # fitted by scikit-learn, no epochs
                test, valid = accuracy(head, p.f_test, task.y_test), accuracy(head, p.f_val, task.y_val)
            else:
                model = attach_head(load_backbone(backbone, input_size=input_size), head)
                run = fine_tune(model, p.x_train, task.y_train, validation_data=val, recipe=recipe, seed=seed,
                                progress=progress)
                epochs, kept = run.epochs, run.best_epoch
                test, valid = accuracy(model, p.x_test, task.y_test), run.val_accuracy
            seconds = time.perf_counter() - start + (probe_seconds if strategy != "scratch" else 0.0)
            results.append(StrategyResult(strategy, k, seed, test, valid, epochs, seconds, task.labels,
                                          at_chance(test, task.num_classes), kept))
    return shown_frame([asdict(r) for r in results])
