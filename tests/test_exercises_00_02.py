"""Exercise checks of lessons 00-02: right, wrong, and the untouched placeholder."""

from __future__ import annotations

import numpy as np
import pytest

from tlhelpers.backbones import load_backbone
from tlhelpers.exercises import lesson00, lesson01, lesson02
from tlhelpers.preprocessing import apply_preprocess, make_augmentation


def test_lesson00_update_rule() -> None:
    assert lesson00.check_update(1.95)
    assert lesson00.check_update("1.95")
    wrong = lesson00.check_update(2.05)
    assert not wrong and "against the gradient" in wrong.message
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


@pytest.mark.parametrize("answer, correct", [(None, False), ("a", False), ("b", True), (" (B) ", True), ("c", False),
                                             ("d", False), ("z", False)])
def test_lesson00_fixed_epochs_question(answer, correct) -> None:
    feedback = lesson00.check_fixed_epochs(answer)
    assert feedback.correct is correct
    if answer == "c":
        assert "one validation image per class" in feedback.message and "Try again" in feedback.message
    if answer is None:
        assert feedback.message == "no answer yet: set answer to one of 'a', 'b', 'c', 'd'."


@pytest.mark.slow
def test_lesson01_head_parameters() -> None:
    base = load_backbone("fashion_cnn", weights=None, pooling="avg")
    features = base.output.shape[-1]
    assert lesson01.check_head_parameters(features * 5 + 5, "fashion_cnn", 5)
    assert lesson01.check_head_parameters(float(features * 5 + 5), "fashion_cnn", 5)
    assert "bias" in lesson01.check_head_parameters(features * 5, "fashion_cnn", 5).message
    assert "backbone" in lesson01.check_head_parameters(features * 5 + 5 + base.count_params(), "fashion_cnn", 5).message
    assert "flattened" in lesson01.check_head_parameters(4 * 4 * features * 5 + 5, "fashion_cnn", 5).message
    assert not lesson01.check_head_parameters(None, "fashion_cnn", 5)
    assert lesson01.check_head_parameters(1280 * 10 + 10, "mobilenet_v2", 10, 96)  # the imagenet track's case


@pytest.mark.slow
def test_lesson01_feature_maps_at_twice_the_size() -> None:
    assert lesson01.check_feature_maps_at((None, 8, 8, 256), "fashion_cnn", 32)
    assert lesson01.check_feature_maps_at([8, 8, 256], "fashion_cnn", 32)  # the batch dimension may be left out
    assert "the size the lesson used" in lesson01.check_feature_maps_at((None, 4, 4, 256), "fashion_cnn", 32).message
    assert "channels" in lesson01.check_feature_maps_at((None, 8, 8, 512), "fashion_cnn", 32).message
    assert not lesson01.check_feature_maps_at((None, 16, 16, 256), "fashion_cnn", 32)
    assert not lesson01.check_feature_maps_at(None, "fashion_cnn", 32)
    assert lesson01.check_feature_maps_at((None, 6, 6, 1280), "mobilenet_v2", 96)  # the imagenet track's case
    assert not lesson01.check_feature_maps_at((None, 3, 3, 1280), "mobilenet_v2", 96)


def test_lesson01_top_blocks_of_another_backbone() -> None:
    assert lesson01.check_top_blocks(["conv4", "conv5"])
    assert lesson01.check_top_blocks(("conv5", "conv4"), "resnet50")
    assert lesson01.check_top_blocks(["block3", "block4"], "fashion_cnn")
    wrong = lesson01.check_top_blocks(["conv1", "conv5"])
    assert not wrong and "one of" in wrong.message and "first block" in wrong.message
    assert "not blocks of resnet50" in lesson01.check_top_blocks(["block4", "conv5"]).message
    assert "2 different blocks" in lesson01.check_top_blocks("conv5").message
    assert not lesson01.check_top_blocks(None)


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


def test_lesson02_pixel_prediction() -> None:
    truth = tuple(apply_preprocess(np.array([[[[255, 0, 0]]]], np.float32), "resnet50").reshape(-1))
    assert lesson02.check_pixel_prediction(truth)
    assert lesson02.check_pixel_prediction([round(v, 2) for v in truth], "resnet50", (255, 0, 0))
    assert "RGB order" in lesson02.check_pixel_prediction(truth[::-1]).message
    assert "raw values" in lesson02.check_pixel_prediction((255, 0, 0)).message
    assert "mobilenet_v2's contract" in lesson02.check_pixel_prediction((1, -1, -1)).message
    assert "three numbers" in lesson02.check_pixel_prediction((1, 2)).message
    assert not lesson02.check_pixel_prediction(None)


def test_lesson02_augmentation_check() -> None:
    assert lesson02.check_augmentation(make_augmentation(flip=True, rotation=0.1, zoom=0.1, contrast=0.1))
    assert not lesson02.check_augmentation(make_augmentation(flip=True, rotation=0.3))
    assert "no RandomFlip layer" in lesson02.check_augmentation(make_augmentation(flip=False, rotation=0.1)).message
    assert not lesson02.check_augmentation(None)
    import keras

    vertical = keras.Sequential([keras.layers.RandomFlip("vertical"), keras.layers.RandomRotation(0.1)])
    assert not lesson02.check_augmentation(vertical)
