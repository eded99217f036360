"""BatchNormalization during fine-tuning in Keras 3: what moves its statistics, measured.

A BatchNormalization layer keeps a *moving mean and variance* of its inputs, collected
during pretraining, and normalises with them in inference mode. In training mode it
normalises with each batch's own statistics and nudges the moving ones towards them.

Which mode runs inside ``fit``? In Keras 3, ``fit`` calls the model with
``training=True``, and that value reaches a nested backbone even when the model calls it
as ``base(inputs, training=False)`` (keras-team/keras#20285). What keeps a BatchNorm layer
in inference mode is its own ``trainable = False``. Older guides, Keras' own
transfer-learning guide among them, describe Keras 2, where ``training=False`` sufficed.

:func:`experiment` trains the same unfrozen model twice, BatchNorm frozen and BatchNorm
trainable, and reports how far the moving statistics moved and the validation accuracy.

Example:
    >>> from tlhelpers import backbones, transfer
    >>> model = transfer.build_classifier(backbones.load_backbone("fashion_cnn", weights=None), 5)
    >>> len(moving_statistics(model)) > 0
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import keras
import numpy as np

from tlhelpers.config import set_seed
from tlhelpers.i18n import N_, LazyText, _
from tlhelpers.recipe import Recipe, compile_for
from tlhelpers.training import epoch_bar
from tlhelpers.transfer import unfreeze_top

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["experiment"]

Statistics = dict[str, tuple[np.ndarray, np.ndarray]]


def moving_statistics(model: keras.Model) -> Statistics:
    """``{layer path: (moving mean, moving variance)}`` of every BatchNormalization layer in ``model``.

    Nested models (a backbone inside a classifier) are searched too.

    Example:
        >>> m = keras.Sequential([keras.Input((3,)), keras.layers.BatchNormalization(name="bn")], name="tiny")
        >>> mean, variance = moving_statistics(m)["tiny/bn"]
        >>> mean.tolist(), variance.tolist()
        ([0.0, 0.0, 0.0], [1.0, 1.0, 1.0])
    """
    stats = {}
    for variable in model.non_trainable_variables + model.trainable_variables:
        layer_path, _sep, name = variable.path.rpartition("/")
        if name in ("moving_mean", "moving_variance"):
            mean, variance = stats.get(layer_path, (None, None))
            value = keras.ops.convert_to_numpy(variable).copy()
            stats[layer_path] = (value, variance) if name == "moving_mean" else (mean, value)
    return stats


def statistics_shift(before: Statistics, after: Statistics) -> dict[str, float]:
    """Mean absolute change of the moving means and of the moving variances, over every channel.

    Example:
        >>> before = {"bn": (np.zeros(2), np.ones(2))}
        >>> statistics_shift(before, {"bn": (np.array([0.5, -0.5]), np.ones(2))})
        {'moving mean': 0.5, 'moving variance': 0.0}
    """
    if set(before) != set(after):
        raise ValueError(_("the two snapshots hold different BatchNorm layers: {layers}").format(
            layers=sorted(set(before) ^ set(after))))
    if not before:
        raise ValueError(_("the model has no BatchNormalization layer: there are no statistics to compare"))
    shifts = {}
    for index, what in enumerate(("moving mean", "moving variance")):
        changes = np.concatenate([np.abs(after[k][index] - before[k][index]).ravel() for k in before])
        shifts[what] = float(changes.mean())
    return shifts


# The experiment's table: its runs (index) and columns, English to code and shown in the
# active language (i18n.LazyText): runs.loc["BatchNorm frozen", "moving mean change"] works in both.
RUNS = (LazyText(N_("BatchNorm frozen")), LazyText(N_("BatchNorm trainable")))
COLUMNS = tuple(LazyText(c) for c in (
    N_("run"), N_("BatchNorm layers training"), N_("moving mean change"), N_("moving variance change"),
    N_("val accuracy before"), N_("val accuracy after"),
))


def experiment(
    start_model: Callable[[], keras.Model],
    x: Any,
    y: Any,
    validation_data: tuple[Any, Any],
    *,
    recipe: Recipe,
    seed: int = 0,
    progress: bool = False,
) -> pd.DataFrame:
    """Fine-tune the same start twice, BatchNorm frozen and BatchNorm trainable; what changed.

    ``start_model()`` must return a fresh classifier (the trained head on the pretrained
    backbone, called with ``training=False``). Both runs unfreeze its top ``recipe.blocks``
    blocks with :func:`tlhelpers.transfer.unfreeze_top`; the second also unfreezes their
    BatchNorm layers. Both train on the images for ``recipe.max_epochs`` epochs with the
    recipe's schedule (:func:`tlhelpers.recipe.compile_for`), the same seed and batches,
    and no early stopping: the runs show what each setting does, however it ends.
    ``progress`` shows a bar over each run's epochs.

    Returns:
        One row per run: how many BatchNorm layers trained, the mean absolute change of
        the moving means and variances over the run, and the validation accuracy before
        and after.

    Example:
        >>> experiment(start_model, x, y, (x_val, y_val), recipe=default_recipe().with_(max_epochs=3))  # doctest: +SKIP
    """
    import pandas as pd

    rows = []
    for label, batchnorm in ((RUNS[0], False), (RUNS[1], True)):
        model = start_model()
        report = unfreeze_top(model, recipe.blocks, batchnorm=batchnorm)
        compile_for(model, recipe, len(y))
        val_before = model.evaluate(*validation_data, verbose=0)[1]
        before = moving_statistics(model)
        set_seed(seed)
        model.fit(x, y, validation_data=validation_data, epochs=recipe.max_epochs, batch_size=recipe.batch_size,
                  verbose=0, callbacks=[epoch_bar(str(label))] if progress else [])
        shift = statistics_shift(before, moving_statistics(model))
        trained = sum(1 for row in report.layer_rows if row.batchnorm and row.trainable)
        values = (label, trained, shift["moving mean"], shift["moving variance"], val_before,
                  model.evaluate(*validation_data, verbose=0)[1])
        rows.append(dict(zip(COLUMNS, values)))
    return pd.DataFrame(rows).set_index(COLUMNS[0])
