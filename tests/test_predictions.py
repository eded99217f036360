"""Top-k predictions: ImageNet names through decode_predictions, source classes offline."""

from __future__ import annotations

import numpy as np
import pytest

from tlhelpers import predictions
from tlhelpers.backbones import bundled_manifest


@pytest.fixture
def fake_imagenet_names(monkeypatch):
    """ImageNet class names without a download: decode_predictions reads this global first."""
    from keras.src.applications import imagenet_utils

    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX", {str(i): (f"n{i:08d}", f"class_{i}") for i in range(1000)})


def test_top_k_orders_and_names() -> None:
    probs = np.array([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]])
    assert predictions.top_k(probs, ("a", "b", "c"), k=2) == [[("b", 0.6), ("c", 0.3)], [("a", 0.5), ("c", 0.3)]]
    assert len(predictions.top_k(probs, ("a", "b", "c"), k=10)[0]) == 3  # k above the classes: all of them
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        predictions.top_k(probs, ("a", "b"))
    with pytest.raises(ValueError, match="k must be at least 1"):
        predictions.top_k(probs, ("a", "b", "c"), k=0)


def test_decode_imagenet(fake_imagenet_names) -> None:
    probs = np.zeros((1, 1000))
    probs[0, [7, 3, 999]] = [0.5, 0.3, 0.2]
    assert predictions.decode_imagenet(probs, k=3) == [[("class_7", 0.5), ("class_3", 0.3), ("class_999", 0.2)]]


@pytest.mark.slow
def test_imagenet_path_with_random_weights(fake_imagenet_names) -> None:
    model = predictions.load_classifier("mobilenet_v2", weights=None)  # no download: weights=None
    assert model.input_shape == (None, 224, 224, 3) and model.output_shape == (None, 1000)
    images = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3)).astype(np.uint8)
    preds = predictions.predict_top_k(model, images, "mobilenet_v2", k=5)
    assert len(preds) == 2 and all(len(p) == 5 for p in preds)
    assert all(name.startswith("class_") for name, _ in preds[0])
    assert [p for _, p in preds[0]] == sorted((p for _, p in preds[0]), reverse=True)


def test_bundled_backbone_predicts_its_source_classes() -> None:
    images, names = predictions.sample_images("fashion_cnn", n=4, seed=1)
    source = bundled_manifest()["source_classes"]
    assert images.shape == (4, 32, 32, 1) and set(names) <= set(source)  # source items in the wild
    preds = predictions.predict_top_k(predictions.load_classifier("fashion_cnn"), images, "fashion_cnn", k=5)
    assert [len(p) for p in preds] == [5, 5, 5, 5]  # 5 source classes, all ranked
    assert {name for name, _ in preds[0]} == set(source)
    assert abs(sum(p for _, p in preds[0]) - 1) < 1e-3


def test_plot_predictions_titles() -> None:
    fig = predictions.plot_predictions(np.zeros((2, 8, 8, 1)), [[("Bag", 0.9), ("Dress", 0.1)], [("Sandal", 0.7)]],
                                       ["Bag", "Sandal"])
    assert fig.axes[0].get_title(loc="left").splitlines() == ["true: Bag", "Bag 0.90", "Dress 0.10"]
    with pytest.raises(ValueError, match="2 images but 1 predictions"):
        predictions.plot_predictions(np.zeros((2, 8, 8, 1)), [[("a", 1.0)]])


def test_imagenet_backbones_get_the_tracks_images(monkeypatch) -> None:
    from tlhelpers import data

    fake = np.random.default_rng(0).integers(0, 256, (20, 32, 32, 3)).astype(np.uint8)
    labels = np.arange(20) % 10
    monkeypatch.setitem(data.DATASETS, "cifar10", lambda: (((fake, labels), (fake, labels)), data.CIFAR10_CLASSES))
    monkeypatch.setenv("TL_TRACK", "imagenet")
    images, names = predictions.sample_images("mobilenet_v2", n=3)
    assert images.shape == (3, 32, 32, 3) and set(names) <= set(data.CIFAR10_CLASSES)


def test_missing_imagenet_classifier_says_what_to_fetch_and_downloads_nothing(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert predictions.load_classifier("mobilenet_v2") is None
    out = capsys.readouterr().out
    assert out == (f"ImageNet predictions skipped: ImageNet class names and mobilenet_v2 weights (with ImageNet "
                   f"classifier) not in the Keras cache ({tmp_path / 'models'}); "
                   "fetch with: python -m tlhelpers prefetch --track imagenet\n")
    assert not [p for p in tmp_path.rglob("*") if p.is_file()], "nothing may be downloaded"


def test_missing_for_classifier_checks_each_file(tmp_path, monkeypatch) -> None:
    from tlhelpers.prefetch import IMAGENET_CLASS_INDEX, WEIGHTS_FILES

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / IMAGENET_CLASS_INDEX[0]).write_text("{}")
    missing = predictions.missing_for_classifier("mobilenet_v2")
    assert "mobilenet_v2 weights (with ImageNet classifier) not in" in missing and "class names" not in missing
    (tmp_path / "models" / WEIGHTS_FILES["mobilenet_v2"](224, True)).write_bytes(b"tiny stand-in")
    assert predictions.missing_for_classifier("mobilenet_v2") is None
    assert predictions.missing_for_classifier("resnet50", weights="imagenet").startswith(
        "ImageNet predictions skipped: resnet50 weights (with ImageNet classifier) not in")
    # random or bundled weights need no file
    assert predictions.missing_for_classifier("resnet50", weights=None) is None
    assert predictions.missing_for_classifier("fashion_cnn") is None
