"""Keras Tuner over both phases of fine-tuning: learning rate and unfreeze depth in one trial.

A trial of :class:`TwoPhaseHyperModel` runs the course's recipe (:mod:`tlhelpers.recipe`):

1. **head phase**: the linear probe on *cached features* of the frozen base (computed once
   for the whole search, see :mod:`tlhelpers.features`), the same for every trial;
2. **fine phase**: the probe's weights copied into the full classifier, the top ``K`` blocks
   unfrozen (BatchNorm stays frozen, :func:`tlhelpers.transfer.unfreeze_top`), recompiled
   with the trial's peak learning rate on the recipe's warm-up and cosine decay
   (:func:`tlhelpers.recipe.warmup_cosine`), and trained on the images.

The search space (:class:`SearchSpace`) holds the peak fine-tuning learning rate (log
scale), the depth ``K`` in blocks of the backbone registry, and optionally the dropout
before the head and augmentation. :func:`open_search` creates a RandomSearch, BayesianOptimization or Hyperband
tuner in ``build/tuner/<project>`` and guards the project: the same project with the same
setup resumes (finished trials are not run again); a project that holds a *different*
search is refused with a message, and nothing is deleted unless ``overwrite=True``.

Example:
    >>> from tlhelpers import data, tuning
    >>> task = data.load_task()                                          # doctest: +SKIP
    >>> hypermodel = tuning.TwoPhaseHyperModel.from_task(task)           # doctest: +SKIP
    >>> search = tuning.open_search(hypermodel, "random", max_trials=6, epochs=3)  # doctest: +SKIP
    >>> search.run()                                                     # doctest: +SKIP
    >>> search.results()                                                 # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import keras
import keras_tuner
import numpy as np

from tlhelpers.backbones import get_spec, load_backbone
from tlhelpers.config import DEFAULT_SEED, build_dir, set_seed
from tlhelpers.display import finished
from tlhelpers.features import extract_features, linear_probe
from tlhelpers.i18n import N_, LazyText, _
from tlhelpers.keras_internals import learning_rate_schedule
from tlhelpers.preprocessing import input_augmentation
from tlhelpers.recipe import Recipe, compile_for, default_recipe, fine_tune
from tlhelpers.tables import shown_frame
from tlhelpers.training import compile_classifier
from tlhelpers.transfer import build_classifier, trainability_report, unfreeze_top

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

OBJECTIVE = "val_accuracy"
HYPERPARAMETERS = ("fine_lr", "blocks", "dropout", "augment")  # what SearchSpace declares
FINGERPRINT_FILE = "tlhelpers_search.json"
VAL_BATCH = 256  # validation in few large batches: same numbers, less per-epoch overhead
HYPERBAND_KEYS = ("tuner/epochs", "tuner/initial_epoch", "tuner/bracket", "tuner/round", "tuner/trial_id")
Range = tuple[float, float]


# ---- the search space --------------------------------------------------------------------


@dataclass(frozen=True)
class SearchSpace:
    """What a search varies. A pair ``(low, high)`` is searched; a single number is fixed.

    Attributes:
        fine_lr: peak learning rate of the fine phase, searched on a log scale.
        blocks: unfreeze depth ``K`` in backbone blocks, ``(lowest, highest)`` inclusive;
            ``None`` means ``0`` (base stays frozen, the head trains on) up to every block.
        dropout: dropout before the head in the fine phase: a fixed number or a range
            searched in steps of 0.1.
        augment: augmentation in the fine phase (:func:`tlhelpers.preprocessing.input_augmentation`):
            ``False``, ``True``, or ``(False, True)`` to let the search decide.

    Example:
        >>> SearchSpace(fine_lr=(1e-5, 1e-3), blocks=(1, 2)).searched()
        ['fine_lr', 'blocks']
    """

    fine_lr: Range = (1e-5, 1e-2)
    blocks: tuple[int, int] | None = None
    dropout: float | Range = 0.2
    augment: bool | tuple[bool, bool] = False

    def searched(self) -> list[str]:
        """Names of the hyperparameters that vary (the others are fixed)."""
        varies = {
            "fine_lr": True,
            "blocks": self.blocks is None or self.blocks[0] != self.blocks[1],
            "dropout": _is_range(self.dropout),
            "augment": isinstance(self.augment, tuple),
        }
        return [name for name, searched in varies.items() if searched]

    def block_range(self, num_blocks: int) -> tuple[int, int]:
        """``(lowest, highest)`` depth for a backbone with ``num_blocks`` blocks.

        Raises:
            ValueError: a depth outside ``0..num_blocks`` or ``lowest > highest``.

        Example:
            >>> SearchSpace().block_range(4)
            (0, 4)
        """
        low, high = (0, num_blocks) if self.blocks is None else self.blocks
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (low, high)) or not 0 <= low <= high <= num_blocks:
            raise ValueError(_(
                "blocks={blocks!r} is not a depth range for this backbone; give (lowest, highest) "
                "with 0 <= lowest <= highest <= {n} (its number of blocks), or None for 0..{n}"
            ).format(blocks=self.blocks, n=num_blocks))
        return int(low), int(high)

    def validate(self, num_blocks: int) -> SearchSpace:
        """Check every entry; return ``self``.

        Raises:
            ValueError: naming the bad entry and what is accepted.

        Example:
            >>> SearchSpace(fine_lr=(1e-2, 1e-5)).validate(4)
            Traceback (most recent call last):
            ...
            ValueError: fine_lr=(0.01, 1e-05) must be a pair (low, high) with 0 < low < high, e.g. (1e-5, 1e-2)
        """
        if not _is_range(self.fine_lr):
            raise ValueError(_("fine_lr={value!r} must be a pair (low, high) with 0 < low < high, e.g. (1e-5, 1e-2)").format(
                value=self.fine_lr))
        low, high = self.fine_lr
        if not 0 < low < high:
            raise ValueError(_("fine_lr={value!r} must be a pair (low, high) with 0 < low < high, e.g. (1e-5, 1e-2)").format(
                value=self.fine_lr))
        if _is_range(self.dropout):
            low, high = self.dropout
            if not 0 <= low < high < 1:
                raise ValueError(_(
                    "dropout={value!r} must be a pair (low, high) with 0 <= low < high < 1, e.g. (0.0, 0.5)"
                ).format(value=self.dropout))
        elif not isinstance(self.dropout, (int, float)) or not 0 <= self.dropout < 1:
            raise ValueError(_("dropout={value!r} must be a number in [0, 1) or a pair (low, high)").format(
                value=self.dropout))
        if not (isinstance(self.augment, bool) or self.augment == (False, True)):
            raise ValueError(_("augment={value!r} must be False, True, or (False, True) to search both").format(
                value=self.augment))
        self.block_range(num_blocks)
        return self

    def declare(self, hp: keras_tuner.HyperParameters, num_blocks: int) -> dict[str, float | int]:
        """Register the hyperparameters on ``hp``; return the values of this trial.

        Example:
            >>> hp = keras_tuner.HyperParameters()
            >>> SearchSpace().declare(hp, num_blocks=4)["blocks"]
            0
        """
        low, high = self.block_range(num_blocks)
        values: dict[str, float | int] = {
            "fine_lr": hp.Float("fine_lr", *map(float, self.fine_lr), sampling="log"),
            "blocks": hp.Int("blocks", low, high) if low < high else hp.Fixed("blocks", low),
        }
        if _is_range(self.dropout):
            values["dropout"] = hp.Float("dropout", *map(float, self.dropout), step=0.1)
        else:
            values["dropout"] = hp.Fixed("dropout", float(self.dropout))
        if isinstance(self.augment, tuple):
            values["augment"] = hp.Boolean("augment")
        else:
            values["augment"] = hp.Fixed("augment", bool(self.augment))
        return values


def _is_range(value: Any) -> bool:
    return isinstance(value, (tuple, list)) and len(value) == 2


# ---- the hypermodel ------------------------------------------------------------------------


@dataclass
class TrialRecord:
    """What one trial really built and trained (read from the model, not from the plan).

    Attributes:
        trial_id: Keras Tuner's id of the trial (``None`` outside a tuner).
        values: the trial's hyperparameter values.
        trainable_blocks: backbone blocks with trainable weights during the fine phase.
        learning_rate: the peak learning rate of the schedule the fine phase's optimizer used.
        fine_epochs: fine-tuning epochs run in this trial.
        initial_epoch: first fine epoch (Hyperband continues from an earlier trial's epoch).
        continued_from: the trial whose weights a Hyperband trial continues, else ``None``.
        val_accuracy: best validation accuracy over the fine epochs.
    """

    trial_id: str | None
    values: dict[str, Any]
    trainable_blocks: list[str]
    learning_rate: float
    fine_epochs: int
    initial_epoch: int
    continued_from: str | None
    val_accuracy: float


class TwoPhaseHyperModel(keras_tuner.HyperModel):
    """A trial = the linear probe on cached features + the top K blocks unfrozen and fine-tuned.

    The base is loaded once: its features are computed once, and so is the probe (the head
    phase has no hyperparameter of the search), and every trial starts from a fresh copy of
    the pretrained weights with the probe as its head. Every trial is seeded with ``seed``
    (same batch order), so trials differ by their hyperparameters, not by luck of the draw.
    A trial of ``E`` epochs warms its learning rate up over ``min(2, E // 3)`` epochs and
    lets it decay to zero at epoch ``E`` (:func:`trial_recipe`).

    Args:
        backbone: registry name.
        x_train, y_train, x_val, y_val: model inputs (see :func:`tlhelpers.pipeline.to_model_input`)
            and integer labels.
        num_classes: default ``max(label) + 1``.
        weights: backbone weights, as for :func:`tlhelpers.backbones.load_backbone`.
        input_size: backbone input side (default: the registry's).
        space: the :class:`SearchSpace`.
        batch_size: images per step of the fine phase.
        seed: seeds every trial.
        run_eagerly: train without ``tf.function`` tracing: slower per step, but quicker
            for the tiny data of unit tests, and easier to debug.

    Attributes:
        records: one :class:`TrialRecord` per trial run by this object (not reused ones).
        on_trial: optional ``callable(record)`` called after each trial (progress).

    Example:
        >>> hypermodel = TwoPhaseHyperModel.from_task(task)  # doctest: +SKIP
        >>> model = hypermodel.build(keras_tuner.HyperParameters())  # doctest: +SKIP
    """

    def __init__(
        self,
        backbone: str,
        x_train: Any,
        y_train: Any,
        x_val: Any,
        y_val: Any,
        *,
        num_classes: int | None = None,
        weights: str | None = "default",
        input_size: int | None = None,
        space: SearchSpace | None = None,
        batch_size: int = 32,
        seed: int = DEFAULT_SEED,
        run_eagerly: bool = False,
    ) -> None:
        super().__init__(name="two_phase")
        self.run_eagerly = run_eagerly
        self.spec = get_spec(backbone)
        self.space = (space or SearchSpace()).validate(self.spec.num_blocks)
        self.x_train, self.x_val = np.asarray(x_train, dtype=np.float32), np.asarray(x_val, dtype=np.float32)
        self.y_train, self.y_val = np.asarray(y_train).astype(np.int64), np.asarray(y_val).astype(np.int64)
        for name, x, y in (("train", self.x_train, self.y_train), ("val", self.x_val, self.y_val)):
            if len(x) != len(y) or len(x) == 0:
                raise ValueError(_("{split} split: {inputs} inputs but {labels} labels; both must match and be non-empty")
                                 .format(split=name, inputs=len(x), labels=len(y)))
        self.num_classes = int(num_classes or max(self.y_train.max(), self.y_val.max()) + 1)
        if self.num_classes < 2:
            raise ValueError(_("num_classes must be at least 2, got {n}").format(n=self.num_classes))
        if batch_size < 1:
            raise ValueError(_("batch_size must be at least 1, got {n}").format(n=batch_size))
        self.backbone, self.weights = backbone, weights
        self.batch_size, self.seed = batch_size, seed
        set_seed(seed)  # with weights=None the "pretrained" base is random: make it the same each time
        base = load_backbone(backbone, weights=weights, input_size=input_size)
        self.input_size = int(base.input_shape[1])
        self._pretrained = [w.copy() for w in base.get_weights()]
        with _expected_noise_silenced():
            self.f_train = extract_features(base, self.x_train)
            self.f_val = extract_features(base, self.x_val)
        self.probe = linear_probe(self.f_train, self.y_train, self.num_classes, self.f_val, self.y_val)
        self.records: list[TrialRecord] = []
        self.on_trial: Callable[[TrialRecord], None] | None = None

    @classmethod
    def from_task(
        cls, task: Any, backbone: str | None = None, input_size: int | None = None, **kwargs: Any
    ) -> TwoPhaseHyperModel:
        """A hypermodel on a :class:`tlhelpers.data.Task`'s training and validation splits.

        The defaults come from the active track (:func:`tlhelpers.config.current_track`).
        The test split is left alone: only :meth:`Search.evaluate_best` looks at it, once.

        Example:
            >>> hypermodel = TwoPhaseHyperModel.from_task(data.load_task())  # doctest: +SKIP
        """
        from tlhelpers.config import current_track
        from tlhelpers.pipeline import to_model_input

        track = current_track()
        backbone = backbone or track.backbone
        size = input_size or track.input_size
        x_train, x_val = (to_model_input(x, backbone, size).numpy() for x in (task.x_train, task.x_val))
        return cls(backbone, x_train, task.y_train, x_val, task.y_val, num_classes=task.num_classes, input_size=size, **kwargs)

    def hyperparameters(self, **values: float | int) -> keras_tuner.HyperParameters:
        """A ``HyperParameters`` object of this space with some values chosen (the rest at their defaults).

        Raises:
            ValueError: a name outside the space, or a depth outside the space's range.

        Example:
            >>> hp = hypermodel.hyperparameters(blocks=2, fine_lr=1e-4)  # doctest: +SKIP
            >>> model = hypermodel.build(hp)                              # doctest: +SKIP
        """
        hp = keras_tuner.HyperParameters()
        self.space.declare(hp, self.spec.num_blocks)
        unknown = set(values) - set(hp.values)
        if unknown:
            raise ValueError(_("unknown hyperparameter(s) {names}; this space has: {choices}").format(
                names=sorted(unknown), choices=", ".join(hp.values)))
        low, high = self.space.block_range(self.spec.num_blocks)
        if "blocks" in values and not low <= values["blocks"] <= high:
            raise ValueError(_("blocks={blocks!r} is outside this space's depths {low}..{high}").format(
                blocks=values["blocks"], low=low, high=high))
        hp.values.update(values)
        return hp

    # -- keras_tuner.HyperModel API --

    def declare_hyperparameters(self, hp: keras_tuner.HyperParameters) -> None:
        """Register the search space (called by the tuner before the first trial)."""
        self.space.declare(hp, self.spec.num_blocks)

    def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
        """The classifier of this trial in its fine-tuning state: the probe's head, top K blocks unfrozen.

        It is compiled with the trial's peak rate as a constant; :meth:`fit` compiles it again
        with the warm-up and decay, which need the number of epochs.

        Example:
            >>> model = hypermodel.build(keras_tuner.HyperParameters())  # doctest: +SKIP
        """
        values = self.space.declare(hp, self.spec.num_blocks)
        set_seed(self.seed)
        augmentation = input_augmentation(self.seed) if values["augment"] else None
        model = build_classifier(self.fresh_base(), self.num_classes, dropout=values["dropout"], augmentation=augmentation)
        model.get_layer("head").set_weights(self.probe.get_layer("head").get_weights())  # the head phase: the probe
        unfreeze_top(model, int(values["blocks"]))
        compile_classifier(model, values["fine_lr"])
        model.run_eagerly = self.run_eagerly
        return model

    def fit(self, hp: keras_tuner.HyperParameters, model: keras.Model, *args: Any, epochs: int = 3,
            initial_epoch: int = 0, callbacks: list | None = None, verbose: int = 0, **kwargs: Any) -> keras.callbacks.History:
        """Run the fine phase on ``model`` (from :meth:`build`, holding the probe); return its History.

        The data live in the hypermodel (the cached features must match the images), so
        ``tuner.search()`` is called with ``epochs=`` only. The model is compiled again with
        the trial's schedule over the epochs this call runs (:func:`trial_recipe`). A
        Hyperband trial that continues an earlier one (``tuner/trial_id``) holds that trial's
        weights and starts a schedule of its own over its remaining epochs.

        Raises:
            TypeError: data were passed to ``search()``.
        """
        if args or {"x", "y", "validation_data"} & set(kwargs):
            raise TypeError(_(
                "TwoPhaseHyperModel holds its own data (the cached features must match the images); "
                "call tuner.search(epochs=...) without x, y or validation_data"
            ))
        continued_from = hp.values.get("tuner/trial_id")
        recipe = self.trial_recipe(hp, epochs - initial_epoch)
        unfreeze_top(model, recipe.blocks)  # a no-op on a model from build(); makes the depth count on any other
        report = trainability_report(model)
        compile_for(model, recipe, len(self.y_train))
        model.run_eagerly = self.run_eagerly
        set_seed(self.seed)
        history = model.fit(
            self.x_train, self.y_train, validation_data=(self.x_val, self.y_val), epochs=epochs,
            initial_epoch=initial_epoch, batch_size=self.batch_size, validation_batch_size=VAL_BATCH,
            callbacks=callbacks or [], verbose=verbose,
        )
        fine_epochs = len(history.epoch)
        trial = next((cb.trial for cb in callbacks or [] if hasattr(cb, "trial") and hasattr(cb.trial, "trial_id")), None)
        schedule = learning_rate_schedule(model.optimizer)
        record = TrialRecord(
            trial_id=trial.trial_id if trial is not None else None,
            values={k: v for k, v in hp.values.items()},
            trainable_blocks=report.trainable_blocks,
            learning_rate=float(schedule.warmup_target or schedule.initial_learning_rate),
            fine_epochs=fine_epochs,
            initial_epoch=initial_epoch,
            continued_from=continued_from,
            val_accuracy=float(max(history.history[OBJECTIVE])) if fine_epochs else float("nan"),
        )
        self.records.append(record)
        # Keras Tuner keeps the metrics of the best epoch: a constant column survives into the trial.
        history.history["fine_epochs"] = [initial_epoch + fine_epochs] * fine_epochs
        if self.on_trial is not None:
            self.on_trial(record)
        return history

    # -- the pieces --

    def trial_recipe(self, hp: keras_tuner.HyperParameters, epochs: int) -> Recipe:
        """The recipe a trial of ``epochs`` fine epochs runs with these hyperparameters.

        Depth, peak rate and augmentation from ``hp``; a warm-up of ``min(2, epochs // 3)``
        epochs; no early stopping (the tuner scores the best epoch).

        Example:
            >>> hypermodel.trial_recipe(hypermodel.hyperparameters(blocks=2, fine_lr=3e-4), 9)  # doctest: +SKIP
            Recipe(blocks=2, learning_rate=0.0003, max_epochs=9, warmup_epochs=2, patience=9, augment=False, batch_size=32)
        """
        return Recipe(blocks=int(hp.get("blocks")), learning_rate=float(hp.get("fine_lr")), max_epochs=epochs,
                      warmup_epochs=min(2, epochs // 3), patience=epochs, augment=bool(hp.get("augment")),
                      batch_size=self.batch_size)

    def fresh_base(self) -> keras.Model:
        """A new copy of the backbone with its pretrained weights (each trial fine-tunes its own)."""
        base = load_backbone(self.backbone, weights=None, input_size=self.input_size)
        base.set_weights(self._pretrained)
        return base

    def probe_model(self, dropout: float = 0.2) -> keras.Model:
        """The probe on a fresh copy of the backbone: a classifier of images, base frozen."""
        model = build_classifier(self.fresh_base(), self.num_classes, dropout=dropout)
        model.get_layer("head").set_weights(self.probe.get_layer("head").get_weights())
        return model

    def setup(self) -> dict[str, Any]:
        """Everything besides the search space that makes trials comparable (for the fingerprint)."""
        digest = hashlib.sha256()
        for array in (self.x_train, self.y_train, self.x_val, self.y_val, *self._pretrained):
            digest.update(np.ascontiguousarray(array).tobytes())
        return {
            "backbone": self.backbone,
            "input_size": self.input_size,
            "num_classes": self.num_classes,
            "train_examples": len(self.y_train),
            "val_examples": len(self.y_val),
            "data_and_weights_sha256": digest.hexdigest(),
            "head": "linear probe",
            "batch_size": self.batch_size,
            "seed": self.seed,
        }

    def space_config(self) -> dict[str, Any]:
        """The hyperparameters as Keras Tuner stores them (names, ranges, sampling)."""
        hp = keras_tuner.HyperParameters()
        self.space.declare(hp, self.spec.num_blocks)
        return {h.name: _clean(h.get_config()) for h in hp.space}


def _clean(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in ("conditions", "name", "default") and v is not None}


# ---- tuners and their budgets ----------------------------------------------------------------


@dataclass(frozen=True)
class TunerKind:
    """One row of :data:`TUNERS`."""

    name: str
    cls: type
    budget: str  # how the number of trials is set
    description: str  # shown translated (a LazyText)


TUNERS: dict[str, TunerKind] = {
    kind.name: kind
    for kind in (
        TunerKind("random", keras_tuner.RandomSearch, "max_trials", LazyText(N_(
                  "independent random draws; a strong baseline that needs no tuning itself"))),
        TunerKind("bayesian", keras_tuner.BayesianOptimization, "max_trials", LazyText(N_(
                  "a Gaussian process models score vs hyperparameters and proposes promising points "
                  "(the first few trials are random)"))),
        TunerKind("hyperband", keras_tuner.Hyperband, "max_epochs", LazyText(N_(
                  "many short trials, the best continued for longer (successive halving); "
                  "epochs sets the longest trial and the schedule sets the number of trials"))),
    )
}


def hyperband_schedule(max_epochs: int, factor: int = 3) -> list[dict[str, int]]:
    """The rounds one Hyperband iteration runs (Keras Tuner's arithmetic), in order.

    Each row: ``bracket``, ``round``, ``trials``, ``epochs`` (a trial's last epoch) and
    ``initial_epoch`` (where continued trials start).

    Example:
        >>> [(r["trials"], r["epochs"]) for r in hyperband_schedule(3, 3)]
        [(3, 1), (1, 3), (2, 3)]
    """
    if max_epochs < 1 or factor < 2:
        raise ValueError(_("Hyperband needs max_epochs >= 1 and factor >= 2, got {max_epochs} and {factor}").format(
            max_epochs=max_epochs, factor=factor))
    brackets, epochs = 0, float(max_epochs)
    while epochs >= 1:
        epochs, brackets = epochs / factor, brackets + 1
    end_size = math.ceil(1 + math.log(max_epochs, factor))
    rows = []
    for bracket in reversed(range(brackets)):
        for rnd in range(bracket + 1):
            size = math.ceil(end_size / (bracket + 1) * factor ** (bracket - rnd))
            last = math.ceil(max_epochs / factor ** (bracket - rnd))
            first = math.ceil(max_epochs / factor ** (bracket - rnd + 1)) if rnd else 0
            rows.append({"bracket": bracket, "round": rnd, "trials": size, "epochs": last, "initial_epoch": first})
    return rows


@dataclass(frozen=True)
class Budget:
    """How many trials and fine-tuning epochs a search will run.

    Example:
        >>> Budget.of("random", max_trials=6, epochs=3).fine_epochs
        18
    """

    kind: str
    trials: int
    fine_epochs: int

    @classmethod
    def of(cls, kind: str, max_trials: int, epochs: int, factor: int = 3) -> Budget:
        """The budget of ``kind`` with these settings (Hyperband ignores ``max_trials``)."""
        _kind(kind)
        if kind == "hyperband":
            rows = hyperband_schedule(epochs, factor)
            return cls(kind, sum(r["trials"] for r in rows), sum(r["trials"] * (r["epochs"] - r["initial_epoch"]) for r in rows))
        return cls(kind, max_trials, max_trials * epochs)

    def __str__(self) -> str:
        return _("{kind}: {trials} trials, {epochs} fine-tuning epochs in all (plus the probe, fitted once)").format(
            kind=self.kind, trials=self.trials, epochs=self.fine_epochs)


def _kind(kind: str) -> TunerKind:
    if kind not in TUNERS:
        raise ValueError(_("unknown tuner {name!r}; choose one of: {choices}").format(name=kind, choices=", ".join(TUNERS)))
    return TUNERS[kind]


# ---- a guarded, resumable search --------------------------------------------------------------


class SearchChangedError(ValueError):
    """The project folder holds a search with a different setup; nothing was changed or deleted."""


def default_directory() -> Path:
    """Where tuner projects go unless told otherwise: ``build/tuner`` (git-ignored).

    Example:
        >>> default_directory().parts[-2:]
        ('build', 'tuner')
    """
    return build_dir() / "tuner"


SEARCHED_BOOLEAN = N_("searched (False or True)")  # shown translated


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in d.items():
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, f"{prefix}{key}."))
        elif isinstance(value, dict):  # in the space, a Boolean: Keras Tuner's config names no values
            flat[f"{prefix}{key}"] = SEARCHED_BOOLEAN if prefix == "space." else value
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def fingerprint_differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Human-readable differences between two fingerprints.

    Example:
        >>> fingerprint_differences({"epochs": 2}, {"epochs": 3})
        ['epochs: was 2, now 3']
    """
    a, b = _flatten(old), _flatten(new)
    def shown(value: Any) -> str:
        return _("(absent)") if value is _ABSENT else _(SEARCHED_BOOLEAN) if value == SEARCHED_BOOLEAN else repr(value)

    return [_("{key}: was {old}, now {new}").format(key=key, old=shown(a.get(key, _ABSENT)), new=shown(b.get(key, _ABSENT)))
            for key in sorted(set(a) | set(b)) if a.get(key, _ABSENT) != b.get(key, _ABSENT)]


_ABSENT = object()


def _fingerprint(hypermodel: TwoPhaseHyperModel, kind: str, epochs: int, factor: int, options: dict[str, Any]) -> dict[str, Any]:
    tuner: dict[str, Any] = {"kind": kind, "objective": OBJECTIVE, "options": options}
    tuner.update({"max_epochs": epochs, "factor": factor} if kind == "hyperband" else {"epochs": epochs})
    return json.loads(json.dumps({"tuner": tuner, "space": hypermodel.space_config(), "setup": hypermodel.setup()}))


@dataclass
class BestResult:
    """The best configuration retrained once, and measured once on the test split next to the
    probe and the default recipe trained on the same labels.

    Attributes:
        trial_id, hyperparameters: the best trial.
        search_val_accuracy: its validation accuracy in the search.
        retrain_val_accuracy, test_accuracy: the retrained model's.
        kept_epoch: the epoch the retrain kept (0: no epoch beat the probe on validation).
        epochs: fine epochs of the retrain.
        probe_val_accuracy, probe_test_accuracy: the linear probe's (the head phase).
        default_recipe: the recipe the lessons recommend for this track.
        default_val_accuracy, default_test_accuracy, default_kept_epoch: that recipe's run.
        model: the retrained best model.
    """

    trial_id: str
    hyperparameters: dict[str, Any]
    search_val_accuracy: float
    retrain_val_accuracy: float
    test_accuracy: float
    kept_epoch: int
    epochs: int
    probe_val_accuracy: float
    probe_test_accuracy: float
    default_recipe: Recipe
    default_val_accuracy: float
    default_test_accuracy: float
    default_kept_epoch: int
    model: keras.Model = field(repr=False)

    def table(self) -> pd.DataFrame:
        """One row each for the probe, the default recipe and the tuner's best: validation and test accuracy."""
        d, hp = self.default_recipe, self.hyperparameters
        rows = [
            (_("linear probe (the head phase)"), "-", self.probe_val_accuracy, self.probe_test_accuracy),
            (_("default recipe"), _("{blocks} blocks, peak {rate}, up to {epochs} epochs").format(
                blocks=d.blocks, rate=f"{d.learning_rate:g}", epochs=d.max_epochs),
             self.default_val_accuracy, self.default_test_accuracy),
            (_("tuner's best (trial {trial})").format(trial=self.trial_id),
             _("{blocks} blocks, peak {rate}, {epochs} epochs").format(
                 blocks=hp["blocks"], rate=_fmt(hp["fine_lr"]), epochs=self.epochs)
             + (_(", augmented") if hp.get("augment") else ""), self.retrain_val_accuracy, self.test_accuracy),
        ]
        return shown_frame(rows, columns=["model", "settings", "val_accuracy", "test_accuracy"]).set_index("model")

    def __str__(self) -> str:
        hp = ", ".join(f"{k}={_fmt(v)}" for k, v in self.hyperparameters.items())
        return _(
            "best trial {trial}: {hp}\n"
            "  validation accuracy in the search: {search_val:.3f}\n"
            "  retrained ({epochs} fine epochs, kept epoch {kept}), validation accuracy: {retrain_val:.3f}\n"
            "  test accuracy (measured once): {test:.3f}; the probe {probe_test:.3f}, "
            "the default recipe {default_test:.3f}"
        ).format(trial=self.trial_id, hp=hp, search_val=self.search_val_accuracy, epochs=self.epochs,
                 kept=self.kept_epoch, retrain_val=self.retrain_val_accuracy, test=self.test_accuracy,
                 probe_test=self.probe_test_accuracy, default_test=self.default_test_accuracy)


def _fmt(value: Any) -> str:
    return f"{value:.2g}" if isinstance(value, float) and value < 0.01 else str(value)


@dataclass
class RunSummary:
    """What :meth:`Search.run` did: which trials it ran and which it found finished."""

    project: str
    reused: list[str]
    ran: list[str]
    failed: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = _("project {project}: reused {reused} finished trial(s), ran {ran} new").format(
            project=self.project, reused=len(self.reused), ran=len(self.ran))
        return text + (_(", {failed} failed (their errors are in search.tuner.oracle.trials)").format(
            failed=len(self.failed)) if self.failed else "")


class Search:
    """A tuner, its hypermodel and its project folder; made by :func:`open_search`.

    Attributes:
        tuner: the Keras Tuner object (``RandomSearch``, ``BayesianOptimization``, ``Hyperband``).
        hypermodel: the :class:`TwoPhaseHyperModel`.
        kind, epochs, max_trials, factor: the settings.
        project_dir: where trials, checkpoints and the fingerprint live.
        resumed: the project existed and was reloaded.
    """

    def __init__(self, tuner: keras_tuner.Tuner, hypermodel: TwoPhaseHyperModel, kind: str, epochs: int,
                 max_trials: int, factor: int, project_dir: Path, resumed: bool) -> None:
        self.tuner, self.hypermodel, self.kind = tuner, hypermodel, kind
        self.epochs, self.max_trials, self.factor = epochs, max_trials, factor
        self.project_dir, self.resumed = project_dir, resumed
        self._tested: BestResult | None = None

    @property
    def budget(self) -> Budget:
        """Trials and fine epochs this search runs in all (finished ones included)."""
        return Budget.of(self.kind, self.max_trials, self.epochs, self.factor)

    def finished_trials(self) -> list[str]:
        """Ids of the trials that completed."""
        return [t.trial_id for t in self.tuner.oracle.trials.values() if t.status == "COMPLETED"]

    def remaining_trials(self) -> int:
        """Trials still to run within the budget (an interrupted trial counts: it is run again)."""
        ended = [t for t in self.tuner.oracle.trials.values() if t.status in ("COMPLETED", "FAILED", "INVALID", "STOPPED")]
        return max(self.budget.trials - len(ended), 0)

    def run(self, progress: bool | Callable[[TrialRecord, int, int], None] = True) -> RunSummary:
        """Run the trials still missing from the budget; finished trials are never run again.

        Args:
            progress: ``True`` shows a tqdm bar; a callable gets ``(record, done, total)``
                after each new trial; ``False`` is quiet.

        Example:
            >>> print(search.run())  # doctest: +SKIP
            project build/tuner/lesson06: reused 0 finished trial(s), ran 6 new
        """
        reused = self.finished_trials()
        failed_before = set(self._failed())
        total = self.remaining_trials()
        bar = None
        if progress is True:
            from tqdm.auto import tqdm

            bar = tqdm(total=total, desc=_("{kind} search").format(kind=self.kind), unit=_("trial"))
        done = 0

        def on_trial(record: TrialRecord) -> None:
            nonlocal done
            done += 1
            if bar is not None:
                bar.update(1)
                bar.set_postfix_str(f"K={record.values['blocks']}, fine_lr={record.values['fine_lr']:.1e}, val_acc={record.val_accuracy:.3f}")
            elif callable(progress):
                progress(record, done, total)

        self.hypermodel.on_trial = on_trial
        first = len(self.hypermodel.records)
        try:
            with _expected_noise_silenced():
                self.tuner.search(epochs=self.epochs, verbose=0)
        finally:
            self.hypermodel.on_trial = None
            if bar is not None:
                bar.close()
        ran = [r.trial_id for r in self.hypermodel.records[first:]]
        return RunSummary(str(self.project_dir), reused, ran, [t for t in self._failed() if t not in failed_before])

    def _failed(self) -> list[str]:
        return [t.trial_id for t in self.tuner.oracle.trials.values() if t.status == "FAILED"]

    def results(self) -> pd.DataFrame:
        """One row per trial: hyperparameters, validation accuracy, epochs used; best first.

        Columns: ``trial``, ``fine_lr``, ``blocks``, ``dropout``, ``augment``,
        ``val_accuracy`` (best epoch), ``fine_epochs``, ``status``, and for
        Hyperband ``continued_from``.
        """
        rows = []
        for trial in self.tuner.oracle.trials.values():
            values = trial.hyperparameters.values
            metrics = trial.metrics
            get = lambda name: metrics.get_best_value(name) if metrics.exists(name) else np.nan  # noqa: E731
            row = {"trial": trial.trial_id, **{k: values.get(k) for k in HYPERPARAMETERS},
                   "val_accuracy": get(OBJECTIVE), "fine_epochs": get("fine_epochs"),
                   "status": trial.status}
            if self.kind == "hyperband":
                row["continued_from"] = values.get("tuner/trial_id")
            rows.append(row)
        table = shown_frame(rows, columns=["trial", *HYPERPARAMETERS, "val_accuracy",
                                            "fine_epochs", "status"] + (["continued_from"] if self.kind == "hyperband" else []))
        table["fine_epochs"] = table["fine_epochs"].astype("Int64")
        return table.sort_values("val_accuracy", ascending=False, na_position="last", kind="stable").reset_index(drop=True)

    def plot(self) -> Figure:
        """Validation accuracy over the fine-tuning learning rate (log axis), one colour per depth."""
        return plot_results(self.results(), self.hypermodel.spec.block_names, self.hypermodel.space.fine_lr)

    def best_trial(self) -> keras_tuner.engine.trial.Trial:
        """The finished trial with the highest validation accuracy.

        Raises:
            RuntimeError: no trial has finished yet.
        """
        trials = self.tuner.oracle.get_best_trials(1)
        if not trials:
            raise RuntimeError(_("no finished trial in {folder} yet: run the search first (search.run())").format(
                folder=self.project_dir))
        return trials[0]

    def evaluate_best(self, x_test: Any, y_test: Any, epochs: int | None = None, recipe: Recipe | None = None,
                      progress: bool = False) -> BestResult:
        """Retrain the best configuration once and measure it once on test, next to the probe and the default recipe.

        The retrain runs the trial's recipe (:meth:`TwoPhaseHyperModel.trial_recipe`: the
        probe's head, then ``epochs`` fine epochs on its schedule) and keeps the epoch with
        the best validation accuracy, the probe itself included, as the course's recipe does
        (:func:`tlhelpers.recipe.fine_tune`). The default recipe trains on the same labels.
        ``x_test`` are raw images; they are converted for the backbone in chunks. A second call
        for the same configuration returns the first measurement instead of looking at the
        test split again.

        Args:
            x_test, y_test: the task's untouched test split.
            epochs: fine epochs (default: the search's ``epochs``; Hyperband's ``max_epochs``).
            recipe: the recipe to compare with (default: the active track's,
                :func:`tlhelpers.recipe.default_recipe`).
            progress: show a bar over the epochs of each of the two trainings.
        """
        trial = self.best_trial()
        hp = self.hypermodel.hyperparameters(
            **{k: v for k, v in trial.hyperparameters.values.items() if k not in HYPERBAND_KEYS})
        values = dict(hp.values)
        if self._tested is not None:
            if self._tested.hyperparameters == values:
                return self._tested
            warnings.warn(_(
                "the test split was already used once in this search; every further look at it makes "
                "the test accuracy a less honest estimate"), stacklevel=2,
            )
        h, recipe = self.hypermodel, recipe or default_recipe()
        with _expected_noise_silenced():
            def run(chosen: Recipe, dropout: float) -> tuple[keras.Model, Any]:
                set_seed(h.seed)
                model = h.probe_model(dropout)
                return model, fine_tune(model, h.x_train, h.y_train, validation_data=(h.x_val, h.y_val), recipe=chosen,
                                        seed=h.seed, progress=progress)

            def test_of(model: keras.Model) -> float:
                return accuracy_on(model, x_test, y_test, h.backbone, h.input_size)

            epochs = epochs or self.epochs
            model, best = run(h.trial_recipe(hp, epochs), values["dropout"])
            default_model, default = run(recipe, 0.2)
            probe = h.probe_model(0.2)
        self._tested = BestResult(
            trial_id=trial.trial_id, hyperparameters=values, search_val_accuracy=float(trial.score),
            retrain_val_accuracy=best.val_accuracy, test_accuracy=test_of(model), kept_epoch=best.best_epoch,
            epochs=epochs, probe_val_accuracy=best.start_val_accuracy, probe_test_accuracy=test_of(probe),
            default_recipe=recipe, default_val_accuracy=default.val_accuracy,
            default_test_accuracy=test_of(default_model), default_kept_epoch=default.best_epoch, model=model,
        )
        return self._tested


@contextlib.contextmanager
def _expected_noise_silenced():
    """Silence what a search is expected to trigger, so real warnings stand out.

    * TensorFlow's "triggered tf.function retracing": every trial builds a new model.
    * Keras' "Skipping variable loading for optimizer": a Hyperband trial that continues
      another loads its weights into a fresh optimizer (Keras Tuner's design).
    * scikit-learn's ``ConvergenceWarning`` from BayesianOptimization's Gaussian process
      on a handful of points.
    """
    import tensorflow as tf

    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            warnings.filterwarnings("ignore", message="The optimal value found for dimension")
            yield
    finally:
        logger.setLevel(level)


def accuracy_on(model: keras.Model, images: Any, labels: Any, backbone: str, input_size: int, chunk: int = 1000) -> float:
    """Accuracy of ``model`` on raw ``images``, converted for ``backbone`` ``chunk`` at a time (bounded memory).

    Example:
        >>> accuracy_on(model, task.x_test, task.y_test, "fashion_cnn", 32)  # doctest: +SKIP
    """
    from tlhelpers.pipeline import to_model_input

    labels = np.asarray(labels)
    if len(images) != len(labels) or len(labels) == 0:
        raise ValueError(_("{images} images but {labels} labels; both must match and be non-empty").format(
            images=len(images), labels=len(labels)))
    correct = 0
    for start in range(0, len(labels), chunk):
        x = to_model_input(images[start:start + chunk], backbone, input_size)
        predicted = model.predict(x, batch_size=256, verbose=0).argmax(axis=1)
        correct += int(np.sum(predicted == labels[start:start + chunk]))
    return correct / len(labels)


def open_search(
    hypermodel: TwoPhaseHyperModel,
    tuner: str = "random",
    *,
    max_trials: int = 6,
    epochs: int = 3,
    project_name: str = "lesson06",
    directory: str | os.PathLike | None = None,
    overwrite: bool = False,
    factor: int = 3,
    seed: int = DEFAULT_SEED,
    tuner_options: dict[str, Any] | None = None,
) -> Search:
    """Create a tuner, or reopen its project: the same setup resumes, a different one is refused.

    The project folder gets a fingerprint (:data:`FINGERPRINT_FILE`) of the tuner settings,
    the search space and the setup (backbone, weights, data, head phase, seed). Reopening
    with the same fingerprint reuses every finished trial (raise ``max_trials`` to run
    more); a different fingerprint raises :class:`SearchChangedError` listing what
    changed, and deletes nothing.

    Args:
        hypermodel: the :class:`TwoPhaseHyperModel`.
        tuner: ``"random"``, ``"bayesian"`` or ``"hyperband"`` (see :data:`TUNERS`).
        max_trials: trials in all (random, bayesian); Hyperband's schedule sets its own.
        epochs: fine-tuning epochs per trial; Hyperband's ``max_epochs``.
        project_name: folder name under ``directory``.
        directory: default :func:`default_directory` (``build/tuner``).
        overwrite: delete the project's trials and start over.
        factor: Hyperband's reduction factor.
        seed: the tuner's seed (which configurations are drawn).
        tuner_options: further arguments of the tuner class, e.g. ``{"num_initial_points": 2}``
            for BayesianOptimization (part of the fingerprint).

    Raises:
        ValueError: unknown tuner, or a budget below 1.
        SearchChangedError: the project holds a different search.

    Example:
        >>> search = open_search(hypermodel, "hyperband", epochs=3)  # doctest: +SKIP
    """
    kind = _kind(tuner)
    if max_trials < 1 or epochs < 1:
        raise ValueError(_("max_trials and epochs must be at least 1, got max_trials={max_trials}, epochs={epochs}").format(
            max_trials=max_trials, epochs=epochs))
    if not project_name or Path(project_name).name != project_name:
        raise ValueError(_("project_name must be a plain folder name, got {name!r}").format(name=project_name))
    directory = Path(directory) if directory is not None else default_directory()
    project_dir = directory / project_name
    options = dict(tuner_options or {})
    fingerprint = _fingerprint(hypermodel, kind.name, epochs, factor, options)
    stamp = project_dir / FINGERPRINT_FILE
    existing = project_dir.is_dir() and any(project_dir.iterdir())
    if existing and not overwrite:
        _refuse_if_different(project_dir, stamp, fingerprint)

    arguments: dict[str, Any] = dict(hypermodel=hypermodel, objective=keras_tuner.Objective(OBJECTIVE, "max"), seed=seed,
                                     directory=str(directory), project_name=project_name, overwrite=overwrite)
    if kind.name == "hyperband":
        arguments.update(max_epochs=epochs, factor=factor)
    else:
        arguments.update(max_trials=max_trials)
    clash = set(options) & set(arguments)
    if clash:
        raise ValueError(_("tuner_options may not set {names}: open_search sets them from its own arguments").format(
            names=sorted(clash)))
    arguments.update(options)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):  # Keras Tuner prints "Reloading Tuner from ..."
        instance = kind.cls(**arguments)
    resumed = "Reloading" in printed.getvalue()
    if not resumed:
        project_dir.mkdir(parents=True, exist_ok=True)
        stamp.write_text(json.dumps({
            "what": "tlhelpers.tuning search fingerprint: open_search refuses a different search in this folder",
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "fingerprint": fingerprint,
        }, indent=2))
    return Search(instance, hypermodel, kind.name, epochs, max_trials, factor, project_dir, resumed)


def _refuse_if_different(project_dir: Path, stamp: Path, fingerprint: dict[str, Any]) -> None:
    finished = len(list(project_dir.glob("trial_*/trial.json")))
    keep = _("Nothing was changed or deleted ({finished} trial(s) kept in {folder}). To keep them, choose a new "
             "project_name (e.g. {name!r}); to delete them and start over, pass overwrite=True.").format(
        finished=finished, folder=project_dir, name=project_dir.name + "_2")
    if not stamp.is_file():
        raise SearchChangedError(_(
            "{folder} is not empty but holds no tlhelpers search fingerprint ({file}), so "
            "whether its trials match this search is unknown. {keep}"
        ).format(folder=project_dir, file=FINGERPRINT_FILE, keep=keep))
    try:
        old = json.loads(stamp.read_text())["fingerprint"]
    except (ValueError, KeyError) as err:
        raise SearchChangedError(_("{file} cannot be read ({error}). {keep}").format(file=stamp, error=err, keep=keep)) from err
    changes = fingerprint_differences(old, fingerprint)
    if changes:
        raise SearchChangedError(_(
            "{folder} holds a different search; reusing its trials would mix results that "
            "cannot be compared. What changed:\n  {changes}\n{keep}"
        ).format(folder=project_dir, changes="\n  ".join(changes), keep=keep))


# ---- plots -----------------------------------------------------------------------------------


def plot_results(table, block_names: tuple[str, ...] | None = None, lr_range: Range | None = None) -> Figure:
    """Two panels: validation accuracy over ``fine_lr`` (log axis) coloured by depth, and over depth.

    Args:
        table: :meth:`Search.results` (columns ``fine_lr``, ``blocks``, ``val_accuracy``).
        block_names: the backbone's blocks, bottom to top (labels the depth axis).
        lr_range: the searched learning-rate range (the x axis spans it, so gaps show).

    Returns:
        The Figure (closed; display it with ``display(fig)``). Each depth is one scatter
        collection labelled ``K=<depth>`` on the first axes.

    Example:
        >>> fig = plot_results(search.results())  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    done = table.dropna(subset=["val_accuracy"])
    fig, (ax_lr, ax_k) = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    cmap = plt.get_cmap("viridis")
    depths = sorted(int(k) for k in done["blocks"].unique())
    top = max(depths + [len(block_names) if block_names else 1, 1])
    for k in depths:
        rows = done[done["blocks"] == k]
        color = cmap(k / top)
        ax_lr.scatter(rows["fine_lr"], rows["val_accuracy"], color=color, label=f"K={k}", s=45, edgecolor="black", linewidth=0.5)
        ax_k.scatter(rows["blocks"], rows["val_accuracy"], color=color, s=45, edgecolor="black", linewidth=0.5)
    if len(done):
        best = done.iloc[done["val_accuracy"].to_numpy().argmax()]
        for ax, x in ((ax_lr, best["fine_lr"]), (ax_k, best["blocks"])):
            ax.scatter([x], [best["val_accuracy"]], marker="*", s=260, facecolor="none", edgecolor="crimson", linewidth=1.5, zorder=3)
    ax_lr.set_xscale("log")
    if lr_range is not None:
        ax_lr.set_xlim(lr_range[0] / 1.5, lr_range[1] * 1.5)
    ax_lr.xaxis.set_minor_formatter(NullFormatter())
    ax_lr.set_xlabel(_("fine-tuning learning rate (log scale)"))
    ax_lr.set_ylabel(_("best validation accuracy"))
    ax_lr.set_title(_("accuracy over learning rate"))
    if depths:
        ax_lr.legend(title=_("unfrozen blocks"), fontsize=8, title_fontsize=8)
    ax_k.set_xlabel(_("unfrozen top blocks K"))
    ax_k.set_title(_("accuracy over depth (★ best)"))
    if block_names:
        ax_k.set_xticks(range(len(block_names) + 1))
        ax_k.set_xticklabels([_("0\n(frozen)")] + [f"{k}\n(+{name})" for k, name in enumerate(reversed(block_names), start=1)], fontsize=8)
    for ax in (ax_lr, ax_k):
        ax.grid(alpha=0.3)
    return finished(fig)

