"""strategies: scratch / probe / fine_tune trained the same way on a task the test makes."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tlhelpers import data, recipe, strategies
from tlhelpers.backbones import load_backbone


def _toy_task(per_class: int = 8) -> data.Task:
    """Two classes anyone can tell apart: dark images and bright images (32x32x1)."""
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.integers(0, 60, (100, 32, 32, 1)), rng.integers(190, 256, (100, 32, 32, 1))])
    y = np.repeat([0, 1], 100)
    return data.make_task("toy", (x.astype(np.uint8), y), (x.astype(np.uint8), y), ("dark", "bright"), per_class, 5)


@pytest.mark.slow
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


@pytest.mark.slow
def test_fine_tune_is_the_recipe_started_from_the_probe() -> None:
    short = recipe.Recipe(blocks=2, learning_rate=1e-3, max_epochs=3, warmup_epochs=1, patience=3)
    result = strategies.compare(_toy_task(), "fashion_cnn", strategies=["probe", "fine_tune"], recipe=short)
    rows = result.set_index("strategy")
    assert rows.loc["fine_tune", "val_accuracy"] >= rows.loc["probe", "val_accuracy"]  # the probe is its epoch 0
    assert 0 <= rows.loc["fine_tune", "kept_epoch"] <= rows.loc["fine_tune", "epochs"] <= 3
    assert np.isnan(rows.loc["probe", "kept_epoch"])


@pytest.mark.slow
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


@pytest.mark.slow
def test_compare_trains_scratch_on_the_prepared_inputs_without_converting_again(monkeypatch) -> None:
    task = _toy_task()
    prepared = strategies.prepare(task, "fashion_cnn")  # inputs only: all scratch needs
    monkeypatch.setattr(strategies, "to_model_input", lambda *a, **k: pytest.fail("converted again"))
    result = strategies.compare(task, "fashion_cnn", strategies=["scratch"], prepared=prepared, max_epochs=1, patience=1)
    assert list(result.strategy) == ["scratch"]


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


def test_build_scratch_for_an_imagenet_backbone_is_a_small_cnn_at_its_input_size() -> None:
    scratch = strategies.build_scratch("mobilenet_v2", 10, input_size=64)
    base = scratch.get_layer("small_cnn")
    assert scratch.input_shape == (None, 64, 64, 3) and scratch.output_shape == (None, 10)
    assert base.count_params() < 300_000 < load_backbone("mobilenet_v2", weights=None, input_size=64).count_params()


@pytest.mark.slow
def test_compare_counts_labels_and_flags_a_run_at_chance() -> None:
    task = _toy_task(per_class=5)
    result = strategies.compare(task, "fashion_cnn", strategies=["probe"], max_epochs=2)
    assert (result.labels == task.labels).all() and task.labels == 2 * 5 + 2 * 5
    assert not result.at_chance.any()  # dark vs bright: far above chance
    assert strategies.at_chance(0.52, 2) and not strategies.at_chance(0.60, 2)


@pytest.mark.slow
def test_compare_trains_scratch_for_fixed_epochs_with_one_validation_label_per_class() -> None:
    x, y = _toy_task().x_test, _toy_task().y_test
    task = data.make_task("toy", (x, y), (x, y), ("dark", "bright"), 1)  # 1 to train on, 1 to validate with
    result = strategies.compare(task, "fashion_cnn", strategies=["scratch"], max_epochs=1, patience=1)
    assert result.epochs.tolist() == [2]  # every epoch: no early stopping to end a run


def test_with_augmentation_changes_images_only_while_training() -> None:
    model = strategies.build_scratch("fashion_cnn", 2)
    augmented = recipe.with_augmentation(model, seed=0)
    x = _toy_task().x_train[:4].astype("float32")
    np.testing.assert_allclose(augmented(x, training=False), model(x, training=False), rtol=1e-5, atol=1e-6)
    first = augmented.get_layer("augmentation")
    assert not np.allclose(first(x, training=True), x)
