"""Evaluation helpers on labels, probabilities, images and small models the tests make."""

from __future__ import annotations

import keras
import matplotlib
import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, f1_score, precision_score, recall_score

matplotlib.use("Agg")

from tlhelpers import evaluation as ev  # noqa: E402

NAMES = ("cat", "dog", "bird")


@pytest.fixture
def known() -> tuple[np.ndarray, np.ndarray]:
    """Labels and predictions with known counts: 10 examples, 3 classes."""
    y_true = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
    y_pred = np.array([0, 0, 1, 2, 1, 1, 0, 2, 2, 1])
    return y_true, y_pred


def _probs_for(y_pred: np.ndarray, confidence: float = 0.8) -> np.ndarray:
    probs = np.full((len(y_pred), 3), (1 - confidence) / 2)
    probs[np.arange(len(y_pred)), y_pred] = confidence
    return probs


def test_confusion_counts_match_sklearn_and_hand_counts(known) -> None:
    y_true, y_pred = known
    cm = ev.confusion(y_true, y_pred, 3)
    np.testing.assert_array_equal(cm, confusion_matrix(y_true, y_pred))
    assert cm.tolist() == [[2, 1, 1], [1, 2, 0], [0, 1, 2]]
    assert cm.sum() == len(y_true)
    # a class that never occurs still gets its row and column
    assert ev.confusion([0, 0], [0, 0], 3).tolist() == [[2, 0, 0], [0, 0, 0], [0, 0, 0]]


def test_per_class_metrics_match_sklearn(known) -> None:
    y_true, y_pred = known
    table = ev.per_class_metrics(y_true, y_pred, NAMES)
    assert list(table.index) == [*NAMES, "macro average"]
    np.testing.assert_allclose(table["precision"][:3], precision_score(y_true, y_pred, average=None))
    np.testing.assert_allclose(table["recall"][:3], recall_score(y_true, y_pred, average=None))
    np.testing.assert_allclose(table["f1"][:3], f1_score(y_true, y_pred, average=None))
    assert table.loc["cat", "recall"] == pytest.approx(2 / 4)  # 2 of 4 cats found
    assert table.loc["cat", "precision"] == pytest.approx(2 / 3)  # 2 of 3 "cat" predictions right
    assert table.loc["macro average", "f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    assert table["support"].tolist() == [4, 3, 3, 10]


def test_evaluation_object(known) -> None:
    y_true, y_pred = known
    result = ev.Evaluation(y_true, _probs_for(y_pred), NAMES)
    assert result.accuracy == pytest.approx(0.6)
    np.testing.assert_array_equal(result.y_pred, y_pred)
    assert result.most_confused(2) == [("cat", "dog", 1), ("cat", "bird", 1)]
    assert result.indices(0, 2).tolist() == [3]
    assert result.indices(2, 1).tolist() == [9]
    with pytest.raises(ValueError, match="true_class=5 is out of range"):
        result.indices(5, 0)
    with pytest.raises(ValueError, match="one row per label"):
        ev.Evaluation(y_true, _probs_for(y_pred)[:5], NAMES)


def test_evaluate_runs_a_model(known) -> None:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    x = np.random.default_rng(0).normal(size=(10, 4)).astype(np.float32)
    result = ev.evaluate(model, x, known[0], NAMES)
    np.testing.assert_allclose(result.probs, model.predict(x, verbose=0), rtol=1e-6)
    assert result.accuracy == pytest.approx(np.mean(model.predict(x, verbose=0).argmax(1) == known[0]))


def test_top_losses_orders_by_cross_entropy() -> None:
    y_true = np.array([0, 1, 2, 0])
    probs = np.array([[0.9, 0.05, 0.05], [0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.01, 0.98, 0.01]])
    table = ev.top_losses(y_true, probs, k=3, class_names=NAMES)
    assert table.index.tolist() == [3, 1, 2]
    assert table.loc[3, "true"] == "cat" and table.loc[3, "predicted"] == "dog"
    assert table.loc[3, "p_predicted"] == pytest.approx(0.98)
    assert table.loc[3, "loss"] == pytest.approx(-np.log(0.01))
    assert (np.diff(table["loss"].to_numpy()) <= 0).all()
    with pytest.raises(ValueError, match="k must be"):
        ev.top_losses(y_true, probs, k=0)


def test_confusion_plot_has_class_names_and_counts(known) -> None:
    cm = ev.confusion(*known, 3)
    fig = ev.plot_confusion(cm, NAMES)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == list(NAMES)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(NAMES)
    assert ax.get_xlabel() == "Predicted label" and ax.get_ylabel() == "True label"
    np.testing.assert_array_equal(ax.images[0].get_array(), cm)
    shown = sorted(int(t.get_text()) for t in ax.texts)
    assert shown == sorted(cm.flatten().tolist())
    normalized = ev.plot_confusion(cm, NAMES, normalize=True).axes[0].images[0].get_array()
    np.testing.assert_allclose(np.asarray(normalized).sum(axis=1), 1.0)
    with pytest.raises(ValueError, match="3 class names"):
        ev.plot_confusion(np.zeros((2, 2)), NAMES)


def test_top_losses_grid_shows_true_predicted_probability(known) -> None:
    y_true, y_pred = known
    images = np.arange(10, dtype=np.uint8)[:, None, None, None] * np.ones((1, 6, 6, 1), np.uint8)
    result = ev.Evaluation(y_true, _probs_for(y_pred, 0.9), NAMES)
    fig = ev.plot_top_losses(images, result, k=4, ncols=2)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 4
    first = result.top_losses(4).iloc[0]
    assert axes[0].get_title() == f"true {first.true}\npred {first.predicted} (0.90)\nloss {first.loss:.2f}"
    # the grid shows the images the table names
    shown = images[result.top_losses(4).index[0]][0, 0, 0] / 255  # image_grid shows 0..255 as 0..1
    assert axes[0].images[0].get_array()[0, 0] == pytest.approx(shown)


def test_one_class_predictions_are_caught() -> None:
    assert not ev.check_prediction_spread(np.zeros(50, int), NAMES)
    bad = ev.check_prediction_spread(np.r_[np.zeros(45, int), np.ones(5, int)], NAMES)
    assert not bad.ok and "'cat'" in bad.message and "90%" in bad.message
    assert bad.details["counts"] == [45, 5, 0]
    assert ev.check_prediction_spread(np.arange(30) % 3, NAMES).ok
    with pytest.raises(ValueError, match="max_share"):
        ev.check_prediction_spread([0], NAMES, max_share=0)


def test_preprocessing_mismatch_is_caught() -> None:
    rng = np.random.default_rng(0)
    train = rng.uniform(0, 255, (40, 8, 8, 1))
    test = rng.uniform(0, 255, (60, 8, 8, 1))
    assert ev.check_preprocessing(train, test, expected_range=(0, 255)).ok
    scaled_twice = ev.check_preprocessing(train, test / 255.0)
    assert not scaled_twice.ok and "training range" in scaled_twice.message
    mobilenet_style = train / 127.5 - 1  # preprocess_input applied to train only
    assert not ev.check_preprocessing(mobilenet_style, test, expected_range=(-1, 1)).ok
    shifted = ev.check_preprocessing(train, test + 100)
    assert not shifted.ok and "means differ" in shifted.message
    assert not ev.check_preprocessing(train, rng.uniform(0, 255, (5, 16, 16, 1))).ok  # shapes differ


def test_leakage_between_splits_is_found_by_hashes() -> None:
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, (30, 8, 8, 1), dtype=np.uint8)
    test = rng.integers(0, 256, (20, 8, 8, 1), dtype=np.uint8)
    assert ev.check_leakage({"train": train, "test": test}).ok
    leaky = test.copy()
    leaky[[4, 11]] = train[[7, 2]]
    assert ev.find_leaks(train, leaky) == [(2, 11), (7, 4)]
    val = rng.integers(0, 256, (5, 8, 8, 1), dtype=np.uint8)
    result = ev.check_leakage({"train": train, "val": val, "test": leaky})
    assert not result.ok and "train/test share 2 image(s)" in result.message
    assert repr(result).startswith("⚠️ leakage between splits: train/test share 2")  # names the check, not a verdict
    assert result.details["pairs"] == {"train/test": [(2, 11), (7, 4)]}
    # one changed pixel is not an exact copy
    near = train[:1].copy()
    near[0, 0, 0, 0] ^= 1
    assert ev.find_leaks(train, near) == []
    with pytest.raises(ValueError, match="at least two splits"):
        ev.check_leakage({"train": train})


def test_average_hash_finds_a_brightened_copy() -> None:
    rng = np.random.default_rng(1)
    train = rng.integers(0, 200, (10, 16, 16, 1), dtype=np.uint8)
    copy = (train[[3]].astype(int) + 40).clip(0, 255).astype(np.uint8)  # re-exposed copy
    assert ev.find_leaks(train, copy, method="exact") == []
    assert (3, 0) in ev.find_leaks(train, copy, method="average")
    with pytest.raises(ValueError, match="unknown hash method"):
        ev.image_hashes(train, method="md5")


def test_pixel_hashing_is_public_and_one_hash_per_image() -> None:
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, (4, 8, 8, 3), dtype=np.uint8)
    images[3] = images[1]
    assert {"exact_hash", "average_hash", "image_hashes", "find_leaks", "HASHERS"} <= set(ev.__all__)
    exact = ev.image_hashes(images)
    assert exact == [ev.exact_hash(x) for x in images] and exact[1] == exact[3] and len(set(exact)) == 3
    assert ev.exact_hash(images[0]) != ev.exact_hash(images[0].astype(np.float32))  # dtype is part of the pixels
    assert ev.image_hashes(images, method="average") == [ev.average_hash(x) for x in images]
    assert ev.HASHERS == {"exact": ev.exact_hash, "average": ev.average_hash}


def test_sanity_checks_are_verdicts() -> None:
    from tlhelpers.verdict import Verdict

    check = ev.SanityCheck("a", False, "broken")
    assert isinstance(check, Verdict) and not check and repr(check) == str(check) == "⚠️ a: broken"
    assert check._repr_html_() is None  # notebooks show the plain text
    with pytest.raises(AssertionError, match="broken"):
        check.require()


def test_sanity_report_summarises() -> None:
    checks = [ev.SanityCheck("a", True, "fine"), ev.SanityCheck("b", False, "broken")]
    report = ev.sanity_report(checks)
    assert report.splitlines() == ["✅ a: fine", "⚠️ b: broken", "1 of 2 checks failed"]
