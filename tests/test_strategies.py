"""strategies: scratch / probe / fine_tune trained the same way on a task the test makes."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tlhelpers import data, strategies
from tlhelpers.backbones import load_backbone


def _toy_task(per_class: int = 8) -> data.Task:
    """Two classes anyone can tell apart: dark images and bright images (32x32x1)."""
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.integers(0, 60, (100, 32, 32, 1)), rng.integers(190, 256, (100, 32, 32, 1))])
    y = np.repeat([0, 1], 100)
    return data.make_task("toy", (x.astype(np.uint8), y), (x.astype(np.uint8), y), ("dark", "bright"), per_class, 5)


def test_compare_gives_one_row_per_strategy_and_learns_an_easy_task() -> None:
    # from random weights even dark vs bright takes a couple of dozen epochs
    result = strategies.compare(_toy_task(per_class=40), "fashion_cnn", max_epochs=12, patience=3)
    assert list(result.strategy) == ["scratch", "probe", "fine_tune"]
    assert (result.labels_per_class == 40).all()
    assert (result.seconds > 0).all()
    epochs = dict(zip(result.strategy, result.epochs))
    assert epochs["probe"] == 0 and epochs["scratch"] >= 1 and epochs["fine_tune"] >= 1  # the probe is closed-form
    # dark vs bright is learnt by every strategy; a broken one sits near 0.5
    assert (result.test_accuracy >= 0.9).all(), result


def test_compare_runs_every_strategy_once_per_seed() -> None:
    result = strategies.compare(_toy_task(), "fashion_cnn", strategies=["probe"], seeds=(0, 1), max_epochs=2)
    assert list(result.strategy) == ["probe", "probe"]
    assert list(result.seed) == [0, 1]


def test_compare_rejects_an_unknown_strategy_by_name() -> None:
    with pytest.raises(ValueError, match="unknown strategy 'finetune'; choose from: scratch, probe, fine_tune"):
        strategies.compare(_toy_task(), "fashion_cnn", strategies=["probe", "finetune"])


def test_compare_reuses_prepared_features_without_loading_the_backbone_again(monkeypatch) -> None:
    task = _toy_task()
    prepared = strategies.prepare(task, "fashion_cnn", base=load_backbone("fashion_cnn"))
    monkeypatch.setattr(strategies, "load_backbone", lambda *a, **k: pytest.fail("backbone loaded again"))
    result = strategies.compare(task, "fashion_cnn", strategies=["probe"], prepared=prepared, max_epochs=2)
    assert list(result.strategy) == ["probe"]


def test_compare_caches_features_with_the_base_it_is_given(monkeypatch) -> None:
    base = load_backbone("fashion_cnn")
    calls = []
    monkeypatch.setattr(strategies, "load_backbone", lambda *a, **k: calls.append(a) or base)
    strategies.compare(_toy_task(), "fashion_cnn", strategies=["probe"], base=base, max_epochs=2)
    assert calls == []


def test_prepare_caches_the_frozen_base_features_for_every_split() -> None:
    task = _toy_task()
    base = load_backbone("fashion_cnn")
    prepared = strategies.prepare(task, "fashion_cnn", base=base)
    width = base.output_shape[-1]
    assert prepared.f_train.shape == (len(task.y_train), width)
    assert prepared.f_val.shape == (len(task.y_val), width)
    assert prepared.f_test.shape == (len(task.y_test), width)
    assert strategies.prepare(task, "fashion_cnn").f_train is None  # no base, no features


def test_build_scratch_is_the_same_architecture_from_random_weights() -> None:
    scratch = strategies.build_scratch("fashion_cnn", 3)
    pretrained = load_backbone("fashion_cnn")
    base = scratch.get_layer("fashion_cnn")
    assert scratch.output_shape == (None, 3)
    assert base.count_params() == pretrained.count_params()
    assert all(layer.trainable for layer in scratch.layers)
    norms = [layer for layer in base.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert norms and all(layer.momentum == 0.9 for layer in norms)
    first = "block1_conv1"
    assert not np.allclose(base.get_layer(first).get_weights()[0], pretrained.get_layer(first).get_weights()[0])
