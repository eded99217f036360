"""The hypermodel of lesson 06: both phases of fine-tuning in one Keras Tuner trial.

A trial of :class:`TwoPhaseHyperModel` runs the course's recipe (:mod:`tlhelpers.recipe`):

1. **head phase**: the linear probe on *cached features* of the frozen base (computed once
   for the whole search, see :mod:`tlhelpers.features`), the same for every trial;
2. **fine phase**: the probe's weights copied into the full classifier, the top ``K`` blocks
   unfrozen (BatchNorm stays frozen, :func:`tlhelpers.transfer.unfreeze_top`), recompiled
   with the trial's peak learning rate on the recipe's warm-up and cosine decay
   (:func:`tlhelpers.recipe.warmup_cosine`), and trained on the images.

What a trial really built is recorded as a :class:`TrialRecord`; a :class:`TrialProgress`
among the tuner's callbacks hears of each one as it ends.

Example:
    >>> hypermodel = TwoPhaseHyperModel.from_task(data.load_task())            # doctest: +SKIP
    >>> model = hypermodel.build(hypermodel.hyperparameters(blocks=2))        # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import hashlib
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import keras
import keras_tuner
import numpy as np

from tlhelpers.backbones import get_spec, load_backbone
from tlhelpers.config import DEFAULT_SEED, set_seed
from tlhelpers.features import extract_features, linear_probe
from tlhelpers.i18n import _
from tlhelpers.keras_internals import learning_rate_schedule
from tlhelpers.preprocessing import input_augmentation
from tlhelpers.recipe import Recipe, compile_for
from tlhelpers.training import compile_classifier
from tlhelpers.transfer import build_classifier, set_top_blocks_trainable, trainability_report
from tlhelpers.tuning.space import SearchSpace

__all__ = ["OBJECTIVE", "VAL_BATCH", "TrialProgress", "TrialRecord", "TwoPhaseHyperModel"]

OBJECTIVE = "val_accuracy"
VAL_BATCH = 256  # validation in few large batches: same numbers, less per-epoch overhead


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


class TrialProgress(keras.callbacks.Callback):
    """Hands each trial's :class:`TrialRecord` to ``report``, through the tuner's own callbacks.

    Pass it to ``tuner.search(..., callbacks=[TrialProgress(report)])``: Keras Tuner gives
    ``search``'s callbacks to :meth:`TwoPhaseHyperModel.fit`, which calls ``report(record)``
    once the trial has trained. It does nothing during training itself.

    Args:
        report: ``callable(record)``, e.g. a progress bar's update.

    Example:
        >>> import copy
        >>> seen = []
        >>> progress = TrialProgress(seen.append)
        >>> copy.deepcopy(progress).report("trial 0")  # Keras Tuner copies it for every trial...
        >>> seen  # ...and the copy reports to the same place
        ['trial 0']
    """

    def __init__(self, report: Callable[[TrialRecord], None]) -> None:
        super().__init__()
        self.report = report

    def __deepcopy__(self, memo: dict[int, Any]) -> TrialProgress:
        # Keras Tuner deep-copies search()'s callbacks for every trial; the copy must still
        # report to the same place (deepcopy would copy a bound method's object).
        return type(self)(self.report)


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
        set_top_blocks_trainable(model, int(values["blocks"]))
        compile_classifier(model, values["fine_lr"])
        model.run_eagerly = self.run_eagerly
        return model

    def fit(self, hp: keras_tuner.HyperParameters, model: keras.Model, *args: Any, epochs: int = 3,
            initial_epoch: int = 0, callbacks: list | None = None, verbose: int = 0, **kwargs: Any) -> keras.callbacks.History:
        """Run the fine phase on ``model`` (from :meth:`build`, holding the probe); return its History.

        The data live in the hypermodel (the cached features must match the images), so
        ``tuner.search()`` is called with ``epochs=`` only (and ``callbacks=``: a
        :class:`TrialProgress` among them gets this trial's :class:`TrialRecord`). The model
        is compiled again with the trial's schedule over the epochs this call runs
        (:func:`trial_recipe`). A
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
        set_top_blocks_trainable(model, recipe.blocks)  # a no-op on a model from build(); makes the depth count on any other
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
        for callback in callbacks or []:
            if isinstance(callback, TrialProgress):
                callback.report(record)
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
