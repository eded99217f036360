"""The course's fine-tuning recipe: a linear probe first, then the top blocks (LP-FT).

Fine-tuning starts from a good head, not a random one (Kumar et al. 2022, "Fine-Tuning can
Distort Pretrained Features": a random head's large gradients distort the pretrained
features before the head is any good). So the recipe has two phases:

1. **LP**: a linear probe on cached features of the frozen base
   (:func:`tlhelpers.features.linear_probe`), put on the base as its head.
2. **FT**: the top ``blocks`` blocks unfrozen, BatchNorm kept frozen
   (:func:`tlhelpers.transfer.unfreeze_top`), and trained with Adam whose learning rate
   warms up over the first epochs and then follows a cosine down to zero
   (:func:`warmup_cosine`). Early stopping on validation accuracy counts the probe itself
   as epoch 0 (:class:`EarlyStoppingFromStart`): the best weights are kept, and if no epoch
   beats the probe on validation, the model ends as the probe.

Without augmentation the frozen blocks map an image to the same output in every epoch, so
phase 2 trains on those outputs, computed once (:func:`split_at`): the same training, a
fraction of the time (cached features, one cut higher). Augmentation needs the whole model
and is used where the track's measurements found it to help (:data:`RECIPES`).

The depth and learning rate of each track's :class:`Recipe` are the setting that scored
best on validation in ``benchmarks/finetune_settings.py`` (``tests/test_recipe.py`` checks
the table against its JSON).

Example:
    >>> recipe = RECIPES["offline"]
    >>> run = fine_tune(model, x_train, y_train, validation_data=(x_val, y_val), recipe=recipe)  # doctest: +SKIP
    >>> run.kept                                                                              # doctest: +SKIP
    'epoch 12 of fine-tuning'
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, fields, replace
from typing import Any

import keras
import numpy as np

from tlhelpers.features import extract_features, linear_probe
from tlhelpers.i18n import _
from tlhelpers.learning_rates import validate_learning_rate
from tlhelpers.preprocessing import input_augmentation
from tlhelpers.training import accuracy, compile_classifier, epoch_bar
from tlhelpers.transfer import (
    FoundBackbone,
    find_backbone,
    set_top_blocks_trainable,
    validate_blocks,
)

__all__ = [
    "PEAK_RATE_RANGES", "RECIPES", "VAL_BATCH", "EarlyStoppingFromStart", "FineTuneRun", "Recipe", "compile_for",
    "default_recipe", "fine_tune", "peak_rate_range", "probe_head", "split_at", "warmup_cosine", "with_augmentation",
]

VAL_BATCH = 256  # validation in a few large batches: the same numbers, less overhead per epoch


@dataclass(frozen=True)
class Recipe:
    """The settings of phase 2 (phase 1, the linear probe, picks its own regularisation).

    Attributes:
        blocks: top blocks of the backbone to unfreeze (BatchNorm stays frozen).
        learning_rate: Adam's peak learning rate, reached after the warm-up.
        max_epochs: most epochs of phase 2; the cosine reaches zero at the last one.
        warmup_epochs: epochs over which the rate climbs from a tenth of its peak to the peak.
        patience: epochs without a better validation accuracy before stopping.
        augment: random flips, rotations, zooms and shifts of the training images
            (:func:`with_augmentation`); off, phase 2 trains on cached outputs of the frozen blocks.
        batch_size: images per step.

    Example:
        >>> Recipe(blocks=2, learning_rate=1e-3).with_(blocks=3).blocks
        3
    """

    blocks: int
    learning_rate: float
    max_epochs: int = 30
    warmup_epochs: int = 2
    patience: int = 10
    augment: bool = False
    batch_size: int = 32

    def __post_init__(self) -> None:
        validate_learning_rate(self.learning_rate)
        if not isinstance(self.blocks, int) or isinstance(self.blocks, bool) or self.blocks < 0:
            raise ValueError(_("blocks must be an integer of 0 or more, got {blocks!r}").format(blocks=self.blocks))
        for name in ("max_epochs", "patience", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(_("{name} must be at least 1, got {value!r}").format(name=name, value=getattr(self, name)))
        if not 0 <= self.warmup_epochs < self.max_epochs:
            raise ValueError(_("warmup_epochs must be from 0 to max_epochs - 1 ({most}), got {value!r}").format(
                most=self.max_epochs - 1, value=self.warmup_epochs))

    def with_(self, **changes: Any) -> Recipe:
        """A copy with some settings changed (names checked).

        Raises:
            ValueError: a name that is not a setting of the recipe.
        """
        names = [f.name for f in fields(self)]
        unknown = sorted(set(changes) - set(names))
        if unknown:
            raise ValueError(_("unknown recipe setting(s) {unknown}; choose from: {choices}").format(
                unknown=unknown, choices=", ".join(names)))
        return replace(self, **changes)


# Per track, the depth and rate that scored best on validation in benchmarks/finetune_settings.py
# (3 seeds, 100 labels per class; tests/test_recipe.py checks this table against its JSON).
RECIPES: dict[str, Recipe] = {
    "offline": Recipe(blocks=3, learning_rate=3e-3),
    "imagenet": Recipe(blocks=5, learning_rate=3e-4),
}


# Per track, the peak rates of phase 2 (Adam, warm-up and decay) that the course's measurements
# support: every setting of the track's benchmarks/finetune_settings.py run that beat the probe on
# validation, and every winner of benchmarks/tuner.py (offline), lies in it, and its top is at most
# twice the highest such rate (tests/test_recipe.py). MobileNetV2 at 96 px takes less: at 1e-3 it
# already falls behind 3e-4, and at a few times 1e-3 a deep unfreeze ends at chance.
PEAK_RATE_RANGES: dict[str, tuple[float, float]] = {
    "offline": (1e-5, 1e-2),
    "imagenet": (1e-5, 1e-3),
}


def peak_rate_range(track: str | None = None) -> tuple[float, float]:
    """The peak learning rates the course's measurements support in ``track`` (default: the active track).

    Raises:
        ValueError: an unknown track.

    Example:
        >>> peak_rate_range("imagenet")
        (1e-05, 0.001)
    """
    return _of_track(PEAK_RATE_RANGES, track)


def default_recipe(track: str | None = None) -> Recipe:
    """The measured recipe of ``track`` (default: the active track).

    Raises:
        ValueError: an unknown track.

    Example:
        >>> default_recipe("offline").blocks
        3
    """
    return _of_track(RECIPES, track)


def _of_track(table: dict[str, Any], track: str | None) -> Any:
    """``table``'s row for ``track`` (default: the active track); an unknown track is a ValueError."""
    if track is None:
        from tlhelpers.config import current_track

        track = current_track().name
    if track not in table:
        raise ValueError(_("unknown track {track!r}; choose one of: {choices}").format(
            track=track, choices=", ".join(table)))
    return table[track]


def warmup_cosine(learning_rate: float, steps_per_epoch: int, epochs: int, warmup_epochs: int) -> keras.optimizers.schedules.CosineDecay:
    """Keras' cosine decay with a linear warm-up, counted in epochs.

    The rate climbs from ``learning_rate / 10`` to ``learning_rate`` over ``warmup_epochs``,
    then falls along a cosine to zero at the end of ``epochs``. The warm-up lets Adam's
    running estimates settle before the steps reach full size, so the first batches do
    not knock the pretrained weights away; the decay lets training settle at the end.

    Example:
        >>> schedule = warmup_cosine(1e-3, steps_per_epoch=10, epochs=5, warmup_epochs=1)
        >>> [round(float(schedule(step)), 5) for step in (0, 10, 30, 50)]
        [0.0001, 0.001, 0.0005, 0.0]
    """
    validate_learning_rate(learning_rate)
    total = steps_per_epoch * epochs
    warmup = steps_per_epoch * warmup_epochs
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=learning_rate / 10 if warmup else learning_rate,
        decay_steps=max(1, total - warmup),
        warmup_target=learning_rate if warmup else None,
        warmup_steps=warmup,
    )


def compile_for(model: keras.Model, recipe: Recipe, train_examples: int) -> keras.Model:
    """Compile ``model`` for phase 2: Adam on :func:`warmup_cosine` over ``recipe.max_epochs``.

    Example:
        >>> m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
        >>> round(float(compile_for(m, Recipe(blocks=1, learning_rate=1e-3), 64).optimizer.learning_rate), 6)
        0.0001
    """
    steps = math.ceil(train_examples / recipe.batch_size)
    schedule = warmup_cosine(recipe.learning_rate, steps, recipe.max_epochs, recipe.warmup_epochs)
    return compile_classifier(model, optimizer=keras.optimizers.Adam(learning_rate=schedule))


class EarlyStoppingFromStart(keras.callbacks.EarlyStopping):
    """Early stopping on validation accuracy in which the starting model counts as epoch 0.

    Keras' ``EarlyStopping`` only compares the epochs of a ``fit`` with each other.
    Fine-tuning starts from a model that is already good (the probe), so here the starting
    weights and their validation accuracy are the first "best": an epoch is kept only if it
    beats them, and if none does, the model ends as it started. ``best_epoch`` is then 0;
    otherwise it counts the epochs of this ``fit`` from 1.

    Example:
        >>> stop = EarlyStoppingFromStart(start_value=0.80, patience=5)
        >>> model.fit(x, y, validation_data=(xv, yv), epochs=30, callbacks=[stop])  # doctest: +SKIP
    """

    def __init__(self, start_value: float, patience: int = 10, monitor: str = "val_accuracy") -> None:
        super().__init__(monitor=monitor, patience=patience, restore_best_weights=True, mode="max")
        self.start_value = float(start_value)

    def on_train_begin(self, logs: dict | None = None) -> None:
        super().on_train_begin(logs)
        self.best = self.start_value
        self.best_weights = self.model.get_weights()
        self.best_epoch = -1  # Keras counts epochs from 0: -1 is the start

    def on_train_end(self, logs: dict | None = None) -> None:
        self.stopped_epoch = 0  # Keras would print "early stopping" lines with verbose > 0; we report ourselves
        super().on_train_end(logs)
        self.best_epoch += 1  # 0 = the start, 1 = the first epoch, ...


def with_augmentation(model: keras.Model, seed: int = 0) -> keras.Model:
    """``model`` behind :func:`tlhelpers.preprocessing.input_augmentation` (active only in ``fit``).

    The wrapped model shares ``model``'s layers and weights.

    Example:
        >>> from tlhelpers.strategies import build_scratch
        >>> with_augmentation(build_scratch("fashion_cnn", 5)).layers[1].name
        'augmentation'
    """
    inputs = keras.Input(model.input_shape[1:], name="image")
    return keras.Model(inputs, model(input_augmentation(seed)(inputs)), name=f"{model.name}_augmented")


def split_at(
    model: keras.Model, blocks: int, *, base: FoundBackbone | None = None
) -> tuple[keras.Model, keras.Model]:
    """Cut a classifier below its top ``blocks`` blocks: ``(bottom, top)``, sharing its layers.

    ``bottom`` maps images to the input of the first of the top ``blocks`` blocks; ``top``
    maps that to the classifier's output, so ``top(bottom(x))`` equals ``model(x)``.
    Training ``top`` trains the layers of ``model`` itself. While the lower blocks are frozen
    (BatchNorm included, so they run in inference mode), ``bottom``'s output for an image never
    changes: compute it once and fine-tune ``top`` on it. ``base``:
    :func:`tlhelpers.transfer.find_backbone`'s answer for ``model``, if already found.

    Raises:
        ValueError: ``blocks`` out of range, or a model that is not
            :func:`tlhelpers.transfer.build_classifier`'s input, backbone, then head layers.

    Example:
        >>> bottom, top = split_at(model, blocks=2)              # doctest: +SKIP
        >>> top.fit(bottom.predict(x_train), y_train)            # doctest: +SKIP
    """
    base, spec = find_backbone(model) if base is None else base
    validate_blocks(blocks, spec)
    if base is model or model.layers[1:2] != [base]:
        raise ValueError(_("model {model!r} is not an input, then a backbone, then head layers "
                           "(build it with tlhelpers.transfer.build_classifier or features.attach_head)").format(
            model=model.name))
    if blocks == spec.num_blocks:
        cut = base.inputs[0]
        bottom = keras.Model(base.inputs, base.inputs, name="frozen_bottom")
        top_base = base
    else:
        cut = base.get_layer(spec.blocks[spec.num_blocks - blocks - 1][1]).output
        bottom = keras.Model(base.inputs, cut, name="frozen_bottom")
        top_base = keras.Model(cut, base.output, name="unfrozen_top")
    inputs = keras.Input(cut.shape[1:], name="frozen_output")
    x = top_base(inputs)
    for layer in model.layers[2:]:
        x = layer(x)
    return bottom, keras.Model(inputs, x, name=f"{model.name}_top{blocks}")


@dataclass
class FineTuneRun:
    """What :func:`fine_tune` did.

    Attributes:
        history: Keras' ``History`` of phase 2 (``val_accuracy`` per epoch).
        start_val_accuracy: validation accuracy before phase 2 (the probe's).
        val_accuracy: validation accuracy of the weights kept.
        best_epoch: the epoch kept; 0 means no epoch beat the start, and the model is the probe.
        seconds: time of phase 2, caching included.
        cached: whether phase 2 trained on cached outputs of the frozen blocks.
        recipe: the settings used.
    """

    history: keras.callbacks.History
    start_val_accuracy: float
    val_accuracy: float
    best_epoch: int
    seconds: float
    cached: bool
    recipe: Recipe

    @property
    def epochs(self) -> int:
        """Epochs of phase 2 that ran."""
        return len(self.history.epoch)

    @property
    def kept(self) -> str:
        """In words: which weights the model ended with."""
        if self.best_epoch:
            return _("epoch {epoch} of fine-tuning").format(epoch=self.best_epoch)
        return _("the start (no epoch beat it on validation)")

    def __repr__(self) -> str:
        return _("FineTuneRun(top {blocks} blocks at {rate:g}: validation accuracy "
                 "{start:.3f} -> {end:.3f} after {epochs} epochs, kept {kept})").format(
            blocks=self.recipe.blocks, rate=self.recipe.learning_rate, start=self.start_val_accuracy,
            end=self.val_accuracy, epochs=self.epochs, kept=self.kept)


def probe_head(
    model: keras.Model, x_train: Any, y_train: Any, x_val: Any = None, y_val: Any = None, *,
    base: FoundBackbone | None = None,
) -> keras.Model:
    """Phase 1: fit a linear probe on the frozen base's features and put it on ``model`` as its head.

    Returns the probe (a head on features, see :func:`tlhelpers.features.linear_probe`).
    ``base``: :func:`tlhelpers.transfer.find_backbone`'s answer for ``model``, if already found.

    Example:
        >>> probe = probe_head(model, x_train, y_train, x_val, y_val)  # doctest: +SKIP
    """
    base, _spec = find_backbone(model) if base is None else base
    dense = model.get_layer("head")
    f_train = extract_features(base, x_train)
    f_val = extract_features(base, x_val) if x_val is not None else None
    probe = linear_probe(f_train, y_train, int(dense.units), f_val, y_val)
    dense.set_weights(probe.get_layer("head").get_weights())
    return probe


def fine_tune(
    model: keras.Model,
    x: Any,
    y: Any,
    *,
    validation_data: tuple[Any, Any],
    recipe: Recipe | None = None,
    probe: bool = False,
    cache: bool = True,
    callbacks: list[keras.callbacks.Callback] | None = None,
    seed: int = 0,
    verbose: int = 0,
    progress: bool = False,
) -> FineTuneRun:
    """Phase 2 of the recipe on ``model``, whose head is already trained (or ``probe=True``).

    Unfreezes the top ``recipe.blocks`` blocks (BatchNorm frozen), compiles with Adam on
    :func:`warmup_cosine`, and trains with :class:`EarlyStoppingFromStart`: ``model`` ends
    with the weights that scored best on validation, the start included. Without
    augmentation (and with ``cache``), it trains on outputs of the frozen blocks computed
    once (:func:`split_at`); the weights it trains are ``model``'s own. It finds the backbone
    in ``model`` once and hands it to every step.

    Args:
        model: a classifier from :func:`tlhelpers.transfer.build_classifier` or
            :func:`tlhelpers.features.attach_head`.
        x, y: training inputs (as the backbone takes them) and integer labels.
        validation_data: ``(x_val, y_val)``: picks the epoch to keep.
        recipe: the settings (default: the active track's, :func:`default_recipe`).
        probe: fit phase 1 first (:func:`probe_head`); leave False when the head is trained.
        cache: train on cached outputs of the frozen blocks when the recipe does not augment.
        callbacks: more Keras callbacks (e.g. a live plot).
        seed: seeds augmentation.
        verbose: Keras ``fit`` verbosity.
        progress: show a bar over the epochs (:func:`tlhelpers.training.epoch_bar`).

    Raises:
        ValueError: ``recipe.blocks`` out of range for the backbone, or no registry backbone
            (checked before any training).

    Example:
        >>> run = fine_tune(model, x_train, y_train, validation_data=(x_val, y_val))  # doctest: +SKIP
        >>> run.best_epoch, run.val_accuracy                                          # doctest: +SKIP
        (14, 0.86)
    """
    recipe = recipe or default_recipe()
    found = find_backbone(model)
    validate_blocks(recipe.blocks, found.spec)
    x_val, y_val = validation_data
    if probe:
        probe_head(model, x, y, x_val, y_val, base=found)
    start = time.perf_counter()
    set_top_blocks_trainable(model, recipe.blocks, base=found)  # as unfreeze_top, without a report to show
    cached = cache and not recipe.augment and recipe.blocks > 0
    if cached:
        bottom, trained = split_at(model, recipe.blocks, base=found)
        x, x_val = (bottom.predict(v, batch_size=VAL_BATCH, verbose=0) for v in (x, x_val))
    else:
        trained = with_augmentation(model, seed) if recipe.augment else model
    compile_for(trained, recipe, len(y))
    start_val = accuracy(trained, x_val, y_val)
    stop = EarlyStoppingFromStart(start_val, patience=recipe.patience)
    history = keras.callbacks.History()  # depth 0 trains nothing more: the probe is the result
    history.epoch, history.history = [], {}
    if recipe.blocks:
        history = trained.fit(
            x, np.asarray(y), validation_data=(x_val, np.asarray(y_val)), epochs=recipe.max_epochs,
            batch_size=recipe.batch_size, validation_batch_size=VAL_BATCH,
            callbacks=[stop, *(callbacks or []), *([epoch_bar(_("fine-tuning"))] if progress else [])],
            verbose=verbose,
        )
    if trained is not model:  # compiled as it trained, so that evaluate() and the trainability report agree
        compile_for(model, recipe, len(y))
    best = stop.best_epoch if recipe.blocks else 0
    return FineTuneRun(history, start_val, float(stop.best) if best else start_val, best,
                       time.perf_counter() - start, cached, recipe)
