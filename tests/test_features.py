"""Cached features: extraction in inference mode, the matching head, putting it back on the base."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tlhelpers import backbones, transfer
from tlhelpers.backbones import BUNDLED_WIDTHS
from tlhelpers.features import attach_head, extract_features, feature_head, linear_probe


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


@pytest.mark.slow
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


@pytest.mark.slow
def test_attach_head_on_the_imagenet_track_backbone() -> None:
    base = backbones.load_backbone("mobilenet_v2", weights=None, input_size=32)
    images = np.random.default_rng(0).uniform(-1, 1, (4, 32, 32, 3)).astype("float32")
    features = extract_features(base, images)
    head = feature_head(features.shape[1], 10)
    model = attach_head(base, head)
    np.testing.assert_allclose(model.predict(images, verbose=0), head.predict(features, verbose=0), atol=1e-5)


def _blobs(n: int, classes: int, dim: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs with features on very different scales (as ReLU features are)."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 1, (classes, dim))
    y = np.arange(n) % classes
    scales = np.logspace(-2, 2, dim)
    return ((centers[y] + rng.normal(0, 1.0, (n, dim))) * scales).astype(np.float32), y


def test_linear_probe_head_predicts_what_the_standardized_logistic_regression_does() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    f, y = _blobs(60, 4)
    f_test, _ = _blobs(200, 4, seed=1)
    head = linear_probe(f, y, 4, strengths=(0.1,))
    reference = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=5000)).fit(f, y)
    np.testing.assert_allclose(head.predict(f_test, verbose=0), reference.predict_proba(f_test), atol=1e-4)
    # the folded head is the feature head, ready for attach_head
    assert [layer.name for layer in head.layers] == [layer.name for layer in feature_head(12, 4).layers]


def test_linear_probe_picks_the_strength_that_scores_best_on_validation() -> None:
    f, y = _blobs(40, 3)
    f_val, y_val = _blobs(300, 3, seed=2)
    weak, strong = (linear_probe(f, y, 3, strengths=(c,)) for c in (1e-4, 10.0))
    scores = [float(np.mean(h.predict(f_val, verbose=0).argmax(1) == y_val)) for h in (weak, strong)]
    picked = linear_probe(f, y, 3, f_val, y_val, strengths=(1e-4, 10.0))
    best = (weak, strong)[int(np.argmax(scores))]
    np.testing.assert_allclose(picked.get_layer("head").get_weights()[0], best.get_layer("head").get_weights()[0])
    assert scores[0] != scores[1]  # otherwise the test would not tell the two apart


def test_linear_probe_handles_two_classes_and_a_class_without_labels() -> None:
    f, y = _blobs(30, 2)
    probs = linear_probe(f, y, 3).predict(f, verbose=0)  # class 2 has no label
    assert probs.shape == (30, 3)
    assert np.mean(probs.argmax(1) == y) > 0.9
    assert probs[:, 2].max() < 1e-6
