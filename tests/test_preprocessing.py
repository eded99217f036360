"""Preprocessing contracts, the batch checker and augmentation layers."""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest

from tlhelpers import preprocessing as pp


def _fashion_like(channels: int = 3) -> np.ndarray:
    """Raw 0..255 images with a black background, like Fashion-MNIST."""
    rng = np.random.default_rng(0)
    x = np.zeros((4, 16, 16, channels), np.float32)
    x[:, 4:12, 4:12] = rng.uniform(30, 255, (4, 8, 8, channels))
    x[0, 8, 8] = 255.0
    return x


def test_contracts_of_four_backbones_are_measured() -> None:
    assert pp.contract("fashion_cnn").after == (0.0, 255.0)
    assert pp.contract("fashion_cnn").built_in and pp.contract("fashion_cnn").channels == 1
    assert pp.contract("mobilenet_v2").after == (-1.0, 1.0)
    assert pp.contract("resnet50").after == (-123.68, 151.061)  # caffe: minus the ImageNet means
    assert pp.contract("efficientnet_b0").after == (0.0, 255.0)
    assert pp.contract("efficientnet_b0").built_in
    table = pp.contract_table(["fashion_cnn", "mobilenet_v2", "resnet50", "efficientnet_b0"])
    assert table.loc["resnet50", "after"] == "-123.68 .. 151.061"
    assert list(table["built in"]) == ["yes", "no", "no", "yes"]
    with pytest.raises(ValueError, match="unknown backbone 'vgg'"):
        pp.contract("vgg")


def test_keras_preprocess_is_in_place_but_apply_preprocess_copies() -> None:
    x = np.full((1, 2, 2, 3), 255.0, np.float32)
    keras.applications.mobilenet_v2.preprocess_input(x)
    assert x.max() == 1.0  # the trap the lesson warns about
    y = np.full((1, 2, 2, 3), 255.0, np.float32)
    out = pp.apply_preprocess(y, "mobilenet_v2")
    assert y.max() == 255.0 and out.max() == 1.0


@pytest.mark.parametrize("backbone", ["mobilenet_v2", "resnet50", "inception_v3"])
def test_checker_tells_ok_missing_and_double(backbone: str) -> None:
    raw = _fashion_like()
    once = pp.apply_preprocess(raw, backbone)
    twice = pp.apply_preprocess(once, backbone)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a correct batch must not warn
        assert pp.check_batch(once, backbone).verdict == "ok"
    with pytest.warns(pp.PreprocessingWarning, match="preprocessed twice"):
        report = pp.check_batch(twice, backbone)
    assert report.verdict == "double" and not report.ok and not report and "once" in report.fix
    assert report.message == repr(report).replace("\n", "; ")  # the warning's one line
    assert pp.check_batch(raw, backbone, warn=False).verdict == "missing"
    assert pp.check_batch(raw / 255.0, backbone, warn=False).verdict == "scaled"
    assert pp.check_batch(pp.apply_preprocess(raw / 255.0, backbone), backbone, warn=False).verdict == "scaled_then_preprocessed"


@pytest.mark.parametrize("backbone", ["fashion_cnn", "efficientnet_b0"])
def test_checker_on_built_in_preprocessing(backbone: str) -> None:
    raw = _fashion_like(pp.contract(backbone).channels)
    report = pp.check_batch(raw, backbone)
    assert report.ok and "built in" in report.explanation
    with pytest.warns(pp.PreprocessingWarning, match="scaled twice"):
        report = pp.check_batch(raw / 255.0, backbone)
    assert report.verdict == "scaled"


def test_checker_reports_channels_and_bad_values() -> None:
    report = pp.check_batch(_fashion_like(3), "fashion_cnn", warn=False)
    assert not report.ok and "3 channel(s), fashion_cnn takes 1" in report.shape_problem
    assert "fashion_cnn: batch range 0 .. 255" in repr(report)
    assert pp.check_batch(np.full((1, 4, 4, 3), 900.0), "mobilenet_v2", warn=False).verdict == "unknown"
    once = pp.apply_preprocess(_fashion_like(), "mobilenet_v2")
    narrow = pp.check_batch(once / 255.0, "mobilenet_v2", warn=False)  # divided by 255 after preprocessing
    assert narrow.verdict == "narrow" and "0.8% of the range" in narrow.explanation
    assert pp.check_batch(np.zeros((2, 4, 4, 3)), "mobilenet_v2", warn=False).verdict == "narrow"  # blank images
    with pytest.raises(ValueError, match="NaN"):
        pp.check_batch(np.full((1, 2, 2, 3), np.nan), "mobilenet_v2")
    with pytest.raises(ValueError, match="empty"):
        pp.check_batch(np.zeros((0, 2, 2, 3)), "mobilenet_v2")


def test_augmentation_is_active_only_in_training() -> None:
    aug = pp.make_augmentation(flip=True, rotation=0.1, zoom=0.1, contrast=0.2, translation=0.1, seed=1)
    assert [l.name for l in aug.layers] == ["flip", "rotation", "zoom", "translation", "contrast"]
    x = np.random.default_rng(0).uniform(0, 255, (4, 16, 16, 1)).astype(np.float32)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(aug(x, training=False)), x)
    assert not np.allclose(keras.ops.convert_to_numpy(aug(x, training=True)), x)
    assert [l.name for l in pp.make_augmentation(flip=False, rotation=0, zoom=0, contrast=0.3).layers] == ["contrast"]
    off = pp.make_augmentation(flip=False, rotation=0, zoom=0, contrast=0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(off(x, training=True)), x)
    with pytest.raises(ValueError, match="rotation must be between 0 and 0.5, got 0.7"):
        pp.make_augmentation(rotation=0.7)


def test_augment_examples_shape_and_range() -> None:
    x = np.random.default_rng(0).integers(0, 256, (2, 12, 12, 1)).astype(np.uint8)
    out = pp.augment_examples(x, pp.make_augmentation(contrast=0.9), copies=3)
    assert out.shape == (3, 2, 12, 12, 1) and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 255
    assert not np.allclose(out[0], out[1])  # each copy is a new random draw
