"""Lesson 03's BatchNorm demonstration: in Keras 3 only a BN layer's own trainable flag keeps its statistics."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tlhelpers import backbones, batchnorm, transfer
from tlhelpers.recipe import Recipe


def _start_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    return transfer.build_classifier(backbones.load_backbone("fashion_cnn"), num_classes=3)  # base(x, training=False)


def _data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(0.5, 1.0, (n, 32, 32, 1)).astype("float32"), rng.integers(0, 3, n)


@pytest.mark.slow
def test_statistics_move_only_when_batchnorm_trains() -> None:
    x, y = _data(24, 0)
    runs = batchnorm.experiment(_start_model, x, y, _data(12, 1),
                                recipe=Recipe(blocks=2, learning_rate=1e-3, max_epochs=2, warmup_epochs=0, batch_size=8))
    frozen, trainable = runs.loc["BatchNorm frozen"], runs.loc["BatchNorm trainable"]
    assert frozen["BatchNorm layers training"] == 0 and trainable["BatchNorm layers training"] > 0
    assert frozen["moving mean change"] == 0 and frozen["moving variance change"] == 0
    # training=False on the base did not stop fit()'s training=True from reaching the trainable BN layers
    assert trainable["moving mean change"] > 1e-3 and trainable["moving variance change"] > 1e-3
    assert frozen["val accuracy before"] == trainable["val accuracy before"]  # the same start


def test_unfreeze_top_leaves_batchnorm_frozen_unless_asked() -> None:
    model = _start_model()
    kept = transfer.unfreeze_top(model, blocks=2)
    assert not any(row.trainable for row in kept.layer_rows if row.batchnorm)
    opened = transfer.unfreeze_top(model, blocks=2, batchnorm=True)
    top_two = set(backbones.get_spec("fashion_cnn").block_names[-2:])
    bn_rows = [row for row in opened.layer_rows if row.batchnorm]
    assert {row.block for row in bn_rows if row.trainable} == top_two & {row.block for row in bn_rows}
    assert all(not row.trainable for row in bn_rows if row.block not in top_two)


def test_moving_statistics_reads_nested_layers_and_shift_checks_its_inputs() -> None:
    stats = batchnorm.moving_statistics(_start_model())
    assert stats and all(mean.shape == variance.shape for mean, variance in stats.values())
    with pytest.raises(ValueError, match="different BatchNorm layers"):
        batchnorm.statistics_shift(stats, {})
    with pytest.raises(ValueError, match="no BatchNormalization layer"):
        batchnorm.statistics_shift({}, {})
