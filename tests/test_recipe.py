"""The fine-tuning recipe: its settings, schedule, early stopping from the start, the cut and the cache."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from tlhelpers import backbones, recipe, transfer
from tlhelpers.features import linear_probe
from tlhelpers.recipe import (
    EarlyStoppingFromStart,
    Recipe,
    fine_tune,
    split_at,
    warmup_cosine,
)
from tlhelpers.training import accuracy, compile_classifier

RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "results"


@pytest.fixture
def model() -> keras.Model:
    keras.utils.set_random_seed(0)
    return transfer.build_classifier(backbones.load_backbone("fashion_cnn", weights=None), num_classes=3, dropout=0.0)


@pytest.fixture
def toy_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 16)
    x = rng.uniform(0, 120, (48, 32, 32, 1)).astype("float32")
    x[:, :8, :8] += 100 * y[:, None, None, None]  # a learnable signal
    return x, y


@pytest.mark.parametrize("changes, message", [
    ({"blocks": -1}, "blocks must be an integer of 0 or more, got -1"),
    ({"learning_rate": 0}, "learning_rate must be greater than 0, got 0"),
    ({"max_epochs": 0}, "max_epochs must be at least 1, got 0"),
    ({"warmup_epochs": 30}, r"warmup_epochs must be from 0 to max_epochs - 1 \(29\), got 30"),
])
def test_recipe_rejects_bad_settings(changes, message) -> None:
    with pytest.raises(ValueError, match=message):
        Recipe(**{"blocks": 1, "learning_rate": 1e-3, **changes})


def test_with_changes_a_copy_and_names_unknown_settings() -> None:
    base = Recipe(blocks=2, learning_rate=1e-3)
    assert base.with_(learning_rate=3e-4).learning_rate == 3e-4 and base.learning_rate == 1e-3
    with pytest.raises(ValueError, match=r"unknown recipe setting\(s\) \['lr'\]; choose from: blocks, learning_rate"):
        base.with_(lr=1e-4)


def test_default_recipe_per_track_and_unknown_track() -> None:
    assert recipe.default_recipe("imagenet") is recipe.RECIPES["imagenet"]
    with pytest.raises(ValueError, match="unknown track 'cifar'; choose one of: offline, imagenet"):
        recipe.default_recipe("cifar")


@pytest.mark.parametrize("track", ["offline", "imagenet"])
def test_recipes_hold_the_setting_that_won_on_validation(track: str) -> None:
    """The defaults are the measured ones: benchmarks/finetune_settings.py's choice, per track."""
    name = "finetune_settings.json" if track == "offline" else f"finetune_settings-{track}.json"
    result = json.loads((RESULTS / name).read_text())
    assert not result["quick"]
    summary = result["summary"]
    chosen = summary["chosen"]
    settings = [v for k, v in summary.items() if k not in ("chosen", "probe", "augmented")]
    best = max(settings, key=lambda v: v["val_mean"])
    assert (chosen["blocks"], chosen["learning_rate"]) == (best["blocks"], best["learning_rate"])
    assert chosen["augment"] == (summary["augmented"]["val_mean"] > best["val_mean"])
    default = recipe.RECIPES[track]
    assert (default.blocks, default.learning_rate, default.augment) == \
        (chosen["blocks"], chosen["learning_rate"], chosen["augment"])
    measured_with = {k: v for k, v in result["settings"]["recipe"].items() if k not in ("blocks", "learning_rate", "augment")}
    assert measured_with == {k: v for k, v in vars(default).items() if k not in ("blocks", "learning_rate", "augment")}


@pytest.mark.parametrize("track, name", [("offline", "finetune_settings.json"),
                                         ("imagenet", "finetune_settings-imagenet.json")])
def test_the_supported_peak_rates_follow_the_measurements(track: str, name: str) -> None:
    """Lesson 03's and a1's checks accept peak_rate_range(track): every rate measured good, and not much more."""
    low, high = recipe.peak_rate_range(track)
    summary = json.loads((RESULTS / name).read_text())["summary"]
    probe = summary["probe"]["val_mean"]
    good = [v["learning_rate"] for k, v in summary.items()
            if k not in ("chosen", "probe", "augmented") and v["val_mean"] > probe]
    if track == "offline":  # the tuner benchmark searches the offline track
        good += [run["best_hyperparameters"]["fine_lr"] for run in json.loads((RESULTS / "tuner.json").read_text())["runs"]]
    assert good and all(low <= rate <= high for rate in good), sorted(good)
    assert high <= 2 * max(good), f"{track}: supported up to {high:g}, measured good only up to {max(good):g}"
    with pytest.raises(ValueError, match="unknown track 'mars'"):
        recipe.peak_rate_range("mars")


def test_warmup_cosine_rises_then_falls_to_zero() -> None:
    schedule = warmup_cosine(1e-3, steps_per_epoch=4, epochs=10, warmup_epochs=2)
    rates = [float(schedule(step)) for step in range(41)]
    assert rates[0] == pytest.approx(1e-4)
    assert max(rates) == pytest.approx(1e-3) and int(np.argmax(rates)) == 8
    assert all(a <= b for a, b in zip(rates[:9], rates[1:9]))  # warm-up: up
    assert all(a >= b for a, b in zip(rates[8:], rates[9:]))  # then down
    assert rates[40] == pytest.approx(0.0, abs=1e-9)
    flat_start = warmup_cosine(1e-3, steps_per_epoch=4, epochs=10, warmup_epochs=0)
    assert float(flat_start(0)) == pytest.approx(1e-3)


def test_early_stopping_from_start_keeps_the_start_when_no_epoch_beats_it(model, toy_data) -> None:
    x, y = toy_data
    compile_classifier(model, 1e-2)
    start = [w.copy() for w in model.get_weights()]
    stop = EarlyStoppingFromStart(start_value=1.01, patience=2)  # no epoch can beat it
    history = model.fit(x, y, validation_data=(x, y), epochs=5, batch_size=16, verbose=0, callbacks=[stop])
    assert len(history.epoch) == 2  # stopped after `patience` epochs without a better one
    assert stop.best_epoch == 0
    for old, new in zip(start, model.get_weights()):
        np.testing.assert_array_equal(old, new)


@pytest.mark.slow
def test_early_stopping_from_start_keeps_a_better_epoch(model, toy_data) -> None:
    x, y = toy_data
    compile_classifier(model, 1e-2)
    stop = EarlyStoppingFromStart(start_value=0.0, patience=3)
    history = model.fit(x, y, validation_data=(x, y), epochs=4, batch_size=16, verbose=0, callbacks=[stop])
    best = int(np.argmax(history.history["val_accuracy"])) + 1
    assert stop.best_epoch == best and stop.best == max(history.history["val_accuracy"])


@pytest.mark.parametrize("blocks", [1, 2, 4])
def test_split_at_cuts_the_bundled_classifier_into_two_that_compose(model, toy_data, blocks) -> None:
    x, _ = toy_data
    bottom, top = split_at(model, blocks)
    np.testing.assert_allclose(top.predict(bottom.predict(x, verbose=0), verbose=0), model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
    top_layers = {layer.name for layer in top.layers[1].layers}
    assert f"block{5 - blocks}_conv1" in top_layers  # the lowest block it trains
    if blocks < 4:
        assert f"block{4 - blocks}_conv1" not in top_layers  # the one below stays in bottom
    assert top.get_layer("head") is model.get_layer("head")  # shared: training top trains model


def test_split_at_a_keras_applications_backbone() -> None:
    keras.utils.set_random_seed(0)
    model = transfer.build_classifier(backbones.load_backbone("mobilenet_v2", weights=None, input_size=32), 4)
    bottom, top = split_at(model, 3)
    assert bottom.output.shape[1:] == model.layers[1].get_layer("block_12_add").output.shape[1:]
    x = np.random.default_rng(0).uniform(-1, 1, (3, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(top.predict(bottom.predict(x, verbose=0), verbose=0), model.predict(x, verbose=0),
                               rtol=1e-4, atol=1e-5)


def test_split_at_rejects_depths_and_models_it_cannot_cut(model) -> None:
    with pytest.raises(ValueError, match="blocks=5 is out of range for fashion_cnn"):
        split_at(model, 5)
    wrapped = keras.Sequential([keras.Input((32, 32, 1)), keras.layers.Identity(), model])
    with pytest.raises(ValueError, match="is not an input, then a backbone, then head layers"):
        split_at(wrapped, 1)


@pytest.mark.slow
def test_fine_tune_on_cached_outputs_trains_as_on_images(toy_data) -> None:
    """The cache is only a shortcut: the same seed gives the same weights either way."""
    x, y = toy_data
    settings = Recipe(blocks=2, learning_rate=1e-3, max_epochs=3, warmup_epochs=1, patience=3, batch_size=16)
    results = []
    for cache in (True, False):
        keras.utils.set_random_seed(0)
        m = transfer.build_classifier(backbones.load_backbone("fashion_cnn", weights=None), 3, dropout=0.0)
        keras.utils.set_random_seed(1)
        run = fine_tune(m, x, y, validation_data=(x[:12], y[:12]), recipe=settings, cache=cache)
        assert run.cached is cache
        results.append((m.get_weights(), run.history.history["val_accuracy"]))
    (cached, cached_curve), (plain, plain_curve) = results
    np.testing.assert_allclose(cached_curve, plain_curve, atol=1e-6)
    for a, b in zip(cached, plain):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


@pytest.mark.slow
def test_fine_tune_from_the_probe_never_ends_below_it_on_validation(model, toy_data) -> None:
    x, y = toy_data
    run = fine_tune(model, x, y, validation_data=(x[:24], y[:24]), probe=True,
                    recipe=Recipe(blocks=1, learning_rate=0.5, max_epochs=3, warmup_epochs=0, patience=3))
    base, _ = transfer.find_backbone(model)
    from tlhelpers.features import extract_features

    probe = linear_probe(extract_features(base, x), y, 3, extract_features(base, x[:24]), y[:24])
    assert run.start_val_accuracy == pytest.approx(accuracy(probe, extract_features(base, x[:24]), y[:24]))
    assert run.val_accuracy >= run.start_val_accuracy
    assert run.val_accuracy == pytest.approx(accuracy(model, x[:24], y[:24]))  # the model holds what was kept
    assert transfer.trainability_report(model).trainable_blocks == ["block4"]
    assert not transfer.trainability_report(model).needs_recompile
    assert "validation accuracy" in repr(run) and run.kept


def test_fine_tune_checks_blocks_before_training(model, toy_data) -> None:
    x, y = toy_data
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match="blocks=7 is out of range for fashion_cnn"):
        fine_tune(model, x, y, validation_data=(x, y), recipe=Recipe(blocks=7, learning_rate=1e-3))
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)


def test_fine_tune_at_depth_zero_keeps_the_head(model, toy_data) -> None:
    x, y = toy_data
    before = [w.copy() for w in model.get_weights()]
    run = fine_tune(model, x, y, validation_data=(x, y), recipe=Recipe(blocks=0, learning_rate=1e-3))
    assert run.epochs == 0 and run.best_epoch == 0 and run.val_accuracy == run.start_val_accuracy
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)


@pytest.fixture
def no_reports(monkeypatch) -> None:
    """Fail on any trainability report: fine_tune shows none, so it must build none."""
    monkeypatch.setattr(transfer, "trainability_report", lambda *a, **k: pytest.fail("a report fine_tune throws away"))


def test_fine_tune_finds_the_backbone_once_and_builds_no_report(model, toy_data, searches, no_reports) -> None:
    x, y = toy_data
    fine_tune(model, x, y, validation_data=(x[:12], y[:12]), probe=True, recipe=Recipe(blocks=0, learning_rate=1e-3))
    assert searches == [model.name]


@pytest.mark.slow
@pytest.mark.parametrize("augment", [False, True])
def test_fine_tune_finds_the_backbone_once_while_it_trains(model, toy_data, searches, no_reports, augment) -> None:
    x, y = toy_data
    settings = Recipe(blocks=2, learning_rate=1e-3, max_epochs=1, warmup_epochs=0, augment=augment)
    run = fine_tune(model, x, y, validation_data=(x[:12], y[:12]), probe=True, recipe=settings)
    assert searches == [model.name] and run.cached == (not augment) and run.epochs == 1


def test_split_at_and_probe_head_take_the_backbone_found(model, toy_data, searches) -> None:
    x, y = toy_data
    found = transfer.find_backbone(model)
    searches.clear()
    bottom, top = split_at(model, 2, base=found)
    recipe.probe_head(model, x, y, x[:12], y[:12], base=found)
    assert searches == []
    np.testing.assert_allclose(top.predict(bottom.predict(x[:4], verbose=0), verbose=0),
                               model.predict(x[:4], verbose=0), rtol=1e-5, atol=1e-6)


def test_validate_learning_rate_is_the_check_renamed() -> None:
    from tlhelpers import learning_rates

    assert learning_rates.validate_learning_rate(3e-4) == 3e-4
    with pytest.raises(ValueError, match="head_lr must be greater than 0, got 0"):
        learning_rates.validate_learning_rate(0, "head_lr")


@pytest.mark.slow
def test_fine_tune_with_augmentation_trains_the_whole_model(model, toy_data) -> None:
    x, y = toy_data
    run = fine_tune(model, x, y, validation_data=(x, y),
                    recipe=Recipe(blocks=1, learning_rate=1e-3, max_epochs=2, warmup_epochs=0, augment=True))
    assert not run.cached and run.epochs >= 1
