"""Cached features: extraction in inference mode, the matching head, putting it back on the base."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tlhelpers import backbones, transfer
from tlhelpers.backbones import BUNDLED_WIDTHS
from tlhelpers.features import attach_head, extract_features, feature_head


@pytest.fixture
def base() -> keras.Model:
    keras.utils.set_random_seed(0)
    return backbones.load_backbone("fashion_cnn", weights=None)


@pytest.fixture
def images() -> np.ndarray:
    return np.random.default_rng(0).uniform(0, 255, (20, 32, 32, 1)).astype("float32")


def test_features_are_the_pooled_base_output_in_inference_mode(base, images) -> None:
    features = extract_features(base, images, batch_size=7)
    assert features.shape == (20, BUNDLED_WIDTHS[-1]) and features.dtype == np.float32
    expected = keras.ops.convert_to_numpy(base([images], training=False)).mean(axis=(1, 2))
    np.testing.assert_allclose(features, expected, rtol=1e-4, atol=1e-5)


def test_batch_size_does_not_change_features(base, images) -> None:
    np.testing.assert_allclose(extract_features(base, images, batch_size=3), extract_features(base, images), atol=1e-5)
    with pytest.raises(ValueError, match="batch_size must be at least 1, got 0"):
        extract_features(base, images, batch_size=0)


def test_pooled_base_passes_through() -> None:
    pooled = backbones.load_backbone("fashion_cnn", weights=None, pooling="avg")
    assert extract_features(pooled, np.zeros((2, 32, 32, 1), "float32")).shape == (2, BUNDLED_WIDTHS[-1])


def test_feature_head_matches_the_classifier_head(base) -> None:
    head = feature_head(BUNDLED_WIDTHS[-1], 5)
    model = transfer.build_classifier(base, 5)
    assert head.get_layer("head").count_params() == model.get_layer("head").count_params()
    with pytest.raises(ValueError, match="num_classes >= 2"):
        feature_head(8, 1)


def test_attach_head_predicts_on_images_what_the_head_did_on_features(base, images) -> None:
    keras.utils.set_random_seed(1)
    head = feature_head(BUNDLED_WIDTHS[-1], 4, dropout=0.3)
    features = extract_features(base, images)
    head.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    head.fit(features, np.arange(20) % 4, epochs=2, verbose=0)  # trained, not the initial weights
    model = attach_head(base, head)
    np.testing.assert_allclose(model.predict(images, verbose=0), head.predict(features, verbose=0), atol=1e-5)
    assert transfer.trainability_report(model).trainable_blocks == []  # the base starts frozen
    assert model.get_layer("head_dropout").rate == pytest.approx(0.3)


def test_attach_head_refuses_a_mismatched_head(base) -> None:
    with pytest.raises(ValueError, match="needs .* the head was trained on features of another backbone"):
        attach_head(base, feature_head(64, 5))
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="out")], name="plain")
    with pytest.raises(ValueError, match="head model 'plain' has no Dense layer named 'head'"):
        attach_head(base, plain)


def test_attach_head_on_the_imagenet_track_backbone() -> None:
    base = backbones.load_backbone("mobilenet_v2", weights=None, input_size=32)
    images = np.random.default_rng(0).uniform(-1, 1, (4, 32, 32, 3)).astype("float32")
    features = extract_features(base, images)
    head = feature_head(features.shape[1], 10)
    model = attach_head(base, head)
    np.testing.assert_allclose(model.predict(images, verbose=0), head.predict(features, verbose=0), atol=1e-5)
