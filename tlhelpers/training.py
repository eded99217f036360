"""Compiling and the two-phase fine-tuning recipe.

Phase 1 trains a new head on the frozen backbone; phase 2 unfreezes the top K blocks
(BatchNorm stays frozen), recompiles with a lower learning rate and continues from the
epoch where phase 1 stopped (``initial_epoch``). The histories come back merged.

Example:
    >>> history = fine_tune(model, x, y, validation_data=(xv, yv), blocks=2)  # doctest: +SKIP
    >>> history.history["phase"]                                            # doctest: +SKIP
    ['head', 'head', 'head', 'fine', 'fine', 'fine']
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from tlhelpers.discriminative import block_learning_rates, discriminative_optimizer
from tlhelpers.learning_rates import check_learning_rate
from tlhelpers.transfer import check_blocks, find_backbone, freeze, unfreeze_top


OPTIMIZERS = {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD, "rmsprop": keras.optimizers.RMSprop}


def compile_classifier(
    model: keras.Model,
    learning_rate: float | None = None,
    optimizer: str | keras.optimizers.Optimizer = "adam",
    steps_per_execution: int = 1,
) -> keras.Model:
    """Compile for integer labels with accuracy, by keyword (Keras 3).

    ``optimizer`` is a name from :data:`OPTIMIZERS` (then ``learning_rate`` is required) or
    an optimizer already made (e.g. :func:`tlhelpers.discriminative.discriminative_optimizer`;
    then leave ``learning_rate`` out). ``steps_per_execution`` runs that many batches per
    call into the compiled graph: worth raising when a step is so cheap (a head on cached
    features) that Keras' per-step overhead dominates.

    Example:
        >>> m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
        >>> type(compile_classifier(m, 1e-3).optimizer).__name__
        'Adam'
        >>> type(compile_classifier(m, optimizer=keras.optimizers.SGD(0.1)).optimizer).__name__
        'SGD'
    """
    if isinstance(optimizer, keras.optimizers.Optimizer):
        if learning_rate is not None:
            raise ValueError("give learning_rate to the optimizer you pass, not to compile_classifier as well")
    elif optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose one of: {', '.join(OPTIMIZERS)}, or pass a keras optimizer")
    else:
        optimizer = OPTIMIZERS[optimizer](learning_rate=check_learning_rate(learning_rate))
    model.compile(
        optimizer=optimizer,
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
    return model


def accuracy(model: keras.Model, x: Any, y: Any, batch_size: int = 256) -> float:
    """Share of ``x`` that ``model`` (softmax outputs) assigns to its label in ``y``.

    Example:
        >>> m = keras.Sequential([keras.Input((2,)), keras.layers.Softmax()])
        >>> accuracy(m, np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0, 0]))
        0.5
    """
    return float(np.mean(model.predict(x, batch_size=batch_size, verbose=0).argmax(axis=1) == np.asarray(y)))


def merge_histories(*histories: keras.callbacks.History, phases: tuple[str, ...] | None = None) -> keras.callbacks.History:
    """One ``History`` holding the epochs of several ``fit`` calls in order.

    Adds ``history["phase"]`` naming each epoch's phase when ``phases`` is given.

    Example:
        >>> merged = merge_histories(h1, h2, phases=("head", "fine"))  # doctest: +SKIP
    """
    merged = keras.callbacks.History()
    merged.epoch, merged.history = [], {}
    for i, h in enumerate(histories):
        merged.epoch += list(h.epoch)
        for key, values in h.history.items():
            merged.history.setdefault(key, []).extend(values)
        if phases:
            merged.history.setdefault("phase", []).extend([phases[i]] * len(h.epoch))
    if histories:
        merged.set_model(histories[-1].model)
    return merged


def fine_tune(
    model: keras.Model,
    x: Any,
    y: Any = None,
    *,
    validation_data: Any = None,
    blocks: int = 1,
    head_epochs: int = 5,
    fine_epochs: int = 5,
    head_lr: float = 1e-3,
    fine_lr: float = 1e-4,
    batch_size: int | None = 32,
    callbacks: list[keras.callbacks.Callback] | None = None,
    verbose: int = 0,
    layer_decay: float | None = None,
) -> keras.callbacks.History:
    """The two-phase recipe: train the head on a frozen base, then fine-tune the top blocks.

    Args:
        model: a classifier around a registry backbone (see
            :func:`tlhelpers.transfer.build_classifier`).
        x, y: training data as for ``model.fit`` (arrays, or a ``tf.data.Dataset`` as ``x``).
        validation_data: as for ``model.fit``.
        blocks: how many top blocks to unfreeze in phase 2 (0 skips phase 2's unfreezing).
        head_epochs, fine_epochs: epochs of each phase.
        head_lr, fine_lr: learning rates; ``fine_lr`` is usually 10-100x lower.
        batch_size: for array inputs (ignored for datasets).
        callbacks: passed to both phases (e.g. a live plot).
        verbose: Keras ``fit`` verbosity.
        layer_decay: if given, phase 2 uses discriminative learning rates: the head
            ``fine_lr``, the top block ``fine_lr * layer_decay``, the next
            ``fine_lr * layer_decay**2``... (see :mod:`tlhelpers.discriminative`).

    Returns:
        One merged ``History``; ``history["phase"]`` says which phase each epoch belongs to.

    Raises:
        ValueError: a learning rate <= 0, negative epochs, ``blocks`` out of range or a
            model without a registry backbone: all checked before any training.

    Example:
        >>> history = fine_tune(model, x, y, validation_data=(xv, yv), blocks=2, fine_lr=1e-4)  # doctest: +SKIP
    """
    check_learning_rate(head_lr, "head_lr")
    check_learning_rate(fine_lr, "fine_lr")
    if head_epochs < 0 or fine_epochs < 0:
        raise ValueError(f"epochs must be 0 or more, got head_epochs={head_epochs}, fine_epochs={fine_epochs}")
    check_blocks(blocks, find_backbone(model)[1])
    if layer_decay is not None and not 0 < layer_decay <= 1:
        raise ValueError(f"layer_decay must be in (0, 1] or None, got {layer_decay!r}")
    fit_args = dict(validation_data=validation_data, callbacks=callbacks or [], verbose=verbose)
    if not hasattr(x, "element_spec"):
        fit_args["batch_size"] = batch_size

    freeze(model)
    compile_classifier(model, head_lr)
    head = model.fit(x, y, epochs=head_epochs, **fit_args)

    unfreeze_top(model, blocks)
    if layer_decay is None:
        compile_classifier(model, fine_lr)
    else:
        compile_classifier(model, optimizer=discriminative_optimizer(model, block_learning_rates(model, fine_lr, layer_decay)))
    fine = model.fit(x, y, epochs=head_epochs + fine_epochs, initial_epoch=head_epochs, **fit_args)
    return merge_histories(head, fine, phases=("head", "fine"))
