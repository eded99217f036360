"""The tf.data pipeline: resize, channels, cache, shuffle, augment, preprocess, prefetch."""

from __future__ import annotations

import numpy as np
import pytest

from tlhelpers.pipeline import make_dataset
from tlhelpers.preprocessing import make_augmentation


def _data(n: int = 10) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (n, 28, 28, 1)).astype(np.uint8), np.arange(n)


def _collect(ds) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in ds])
    return np.concatenate(xs), np.concatenate(ys)


def test_resize_and_built_in_preprocessing_keeps_raw_pixels() -> None:
    x, y = _data()
    ds = make_dataset(x, y, "fashion_cnn", 32, batch_size=4)
    assert tuple(ds.element_spec[0].shape) == (None, 32, 32, 1)
    images, labels = _collect(ds)
    assert images.shape == (10, 32, 32, 1)
    np.testing.assert_array_equal(labels, y)  # no shuffle: order kept
    assert 0 <= images.min() and images.max() <= 255 and images.max() > 200


def test_gray_to_rgb_and_preprocess_input() -> None:
    x, y = _data()
    images, _ = _collect(make_dataset(x, y, "mobilenet_v2", 48, batch_size=3))
    assert images.shape == (10, 48, 48, 3)
    assert images.min() >= -1.0 and images.max() <= 1.0 and images.min() < -0.9
    np.testing.assert_allclose(images[..., 0], images[..., 2])  # grey copied to 3 channels
    raw, _ = _collect(make_dataset(x, y, "mobilenet_v2", 48, batch_size=3, preprocess=False))
    assert raw.max() > 1.5


def test_shuffle_reorders_every_epoch_but_keeps_pairs() -> None:
    x, y = _data(20)
    ds = make_dataset(x, y, "fashion_cnn", 28, batch_size=5, shuffle=True, seed=1)
    (a, la), (b, lb) = _collect(ds), _collect(ds)
    assert sorted(la) == sorted(y) and not np.array_equal(la, y) and not np.array_equal(la, lb)
    np.testing.assert_allclose(a, x[la].astype(np.float32))  # each image still with its label
    np.testing.assert_allclose(b, x[lb].astype(np.float32))  # in the second epoch too


def test_augmentation_changes_images_and_keeps_labels(tmp_path) -> None:
    x, y = _data()
    plain, _ = _collect(make_dataset(x, y, "fashion_cnn", 28, batch_size=5))
    aug = make_augmentation(flip=True, rotation=0.2, zoom=0.2, contrast=0.5)
    augmented, labels = _collect(make_dataset(x, y, "fashion_cnn", 28, batch_size=5, augment=aug, cache=str(tmp_path / "c")))
    np.testing.assert_array_equal(labels, y)
    assert augmented.shape == plain.shape and not np.allclose(augmented, plain)
    assert list(tmp_path.iterdir())  # the file cache was written


def test_images_only_and_no_cache() -> None:
    x, _ = _data(6)
    ds = make_dataset(x, None, "resnet50", 32, batch_size=4, cache=False)
    batches = [b.numpy() for b in ds]
    assert [b.shape for b in batches] == [(4, 32, 32, 3), (2, 32, 32, 3)]
    assert min(b.min() for b in batches) < 0  # caffe: means subtracted


def test_bad_arguments_are_named() -> None:
    x, y = _data()
    with pytest.raises(ValueError, match="x has 10 images but y has 3 labels"):
        make_dataset(x, y[:3], "fashion_cnn")
    with pytest.raises(ValueError, match="batch_size must be at least 1, got 0"):
        make_dataset(x, y, "fashion_cnn", batch_size=0)
    with pytest.raises(ValueError, match="unknown backbone"):
        make_dataset(x, y, "vgg16")
