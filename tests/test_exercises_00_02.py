"""Exercise checks of lessons 00-02: right, wrong, and the untouched placeholder."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tlhelpers.backbones import load_backbone
from tlhelpers.exercises import lesson00, lesson01, lesson02
from tlhelpers.preprocessing import apply_preprocess, make_augmentation


def test_lesson00_update_rule() -> None:
    assert lesson00.check_update(1.95)
    assert lesson00.check_update("1.95")
    wrong = lesson00.check_update(2.05)
    assert not wrong and "2.0 − 0.1 × 0.5" in wrong.message
    placeholder = lesson00.check_update(None)
    assert not placeholder and repr(placeholder).startswith("❌ Not yet")
    assert lesson00.check_update(0.7, theta=1.0, gradient=3.0, learning_rate=0.1)


def test_lesson00_freezing() -> None:
    model = lesson00.exercise_model()
    untouched = lesson00.check_frozen(model)
    assert not untouched and "'first' is still trainable" in untouched.message
    model.get_layer("first").trainable = False
    assert lesson00.check_frozen(model)
    model.get_layer("second").trainable = False
    assert "'second' is frozen too" in lesson00.check_frozen(model).message
    assert not lesson00.check_frozen(None)


def test_lesson00_winner_is_read_from_the_run() -> None:
    results = pd.DataFrame({"strategy": ["scratch", "probe", "scratch", "probe"], "labels_per_class": [1, 1, 5, 5],
                            "test_accuracy": [0.4, 0.3, 0.5, 0.9]})
    assert lesson00.check_winner("scratch", results)  # at the smallest budget, scratch won this (made-up) run
    assert not lesson00.check_winner("probe", results)
    assert lesson00.check_winner("probe", results, labels_per_class=5)
    assert "Not yet" in repr(lesson00.check_winner(None, results))
    assert not lesson00.check_winner("probe", None)
    assert "no runs with 3" in lesson00.check_winner("probe", results, labels_per_class=3).message


def test_lesson01_checks() -> None:
    base = load_backbone("fashion_cnn", weights=None)
    assert lesson01.check_parameter_count(base.count_params(), base)
    assert not lesson01.check_parameter_count(None, base)
    assert lesson01.check_pooled_shape((None, 256), "fashion_cnn")
    assert lesson01.check_pooled_shape([256], "fashion_cnn")
    assert not lesson01.check_pooled_shape((None, 4, 4, 256), "fashion_cnn")
    assert not lesson01.check_pooled_shape(None, "fashion_cnn")
    assert lesson01.check_specific_block("block4", "fashion_cnn")
    assert lesson01.check_specific_block("top_conv", "mobilenet_v2")
    wrong = lesson01.check_specific_block("block1", "fashion_cnn")
    assert not wrong and "block1, block2, block3, block4" in wrong.message
    assert not lesson01.check_specific_block(None, "fashion_cnn")


def test_lesson02_checks() -> None:
    raw = np.random.default_rng(0).integers(0, 256, (2, 8, 8, 3)).astype(np.float32)
    once = apply_preprocess(raw, "resnet50")
    assert lesson02.check_preprocessed(once, raw, "resnet50")
    twice = lesson02.check_preprocessed(apply_preprocess(once, "resnet50"), raw, "resnet50")
    assert not twice and "once" in twice.message
    assert not lesson02.check_preprocessed(raw, raw, "resnet50")
    assert not lesson02.check_preprocessed(None, raw, "resnet50")
    assert "shape" in lesson02.check_preprocessed(once[:1], raw, "resnet50").message
    import keras

    raw_float = raw.copy()
    in_place = lesson02.check_preprocessed(keras.applications.resnet50.preprocess_input(raw_float), raw_float, "resnet50")
    assert not in_place and "in place" in in_place.message  # the trap, named
    raw_uint8 = raw.astype(np.uint8)  # what the notebook hands out: preprocess_input copies uint8 input
    assert lesson02.check_preprocessed(keras.applications.resnet50.preprocess_input(raw_uint8), raw_uint8, "resnet50")
    assert lesson02.check_expected_range((-1, 1), "mobilenet_v2")
    assert lesson02.check_expected_range([0, 255], "fashion_cnn")
    assert not lesson02.check_expected_range((0, 1), "mobilenet_v2")
    assert not lesson02.check_expected_range(None, "mobilenet_v2")


def test_lesson02_augmentation_check() -> None:
    assert lesson02.check_augmentation(make_augmentation(flip=True, rotation=0.1, zoom=0.1, contrast=0.1))
    assert not lesson02.check_augmentation(make_augmentation(flip=True, rotation=0.3))
    assert "RandomFlip('horizontal')" in lesson02.check_augmentation(make_augmentation(flip=False, rotation=0.1)).message
    assert not lesson02.check_augmentation(None)
    import keras

    vertical = keras.Sequential([keras.layers.RandomFlip("vertical"), keras.layers.RandomRotation(0.1)])
    assert not lesson02.check_augmentation(vertical)
