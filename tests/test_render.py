"""Fashion-MNIST in the wild: the rendering is right, seeded, and the same on every machine."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from tlhelpers import data, render

# sha256 of the rendered target classes (training images, then test images), as the
# course ships them: a change here changes every number the lessons and benchmarks show.
TARGET_SHA256 = "a400fc1bc872ab0015d6c5f05cb8b6798141f4e49ad40d0b31d1aaf1a664bf39"


def _item() -> np.ndarray:
    item = np.zeros((1, 28, 28, 1), np.uint8)
    item[0, 4:24, 9:19] = 220  # a bright upright bar, like a trouser leg
    return item


def test_render_shape_type_and_seed() -> None:
    items = np.repeat(_item(), 6, axis=0)
    photos = render.render(items, seed=3)
    assert photos.shape == (6, 32, 32, 1) and photos.dtype == np.uint8
    np.testing.assert_array_equal(photos, render.render(items, seed=3))
    assert not np.array_equal(photos, render.render(items, seed=4))
    assert len({p.tobytes() for p in photos}) == 6  # every copy drawn differently


def test_render_draws_the_item_over_a_background() -> None:
    plain = render.Scene(scale=(1.0, 1.0), rotation=0.0, mirror=False, contrast=(1.0, 1.0),
                         background=(0.0, 0.0), noise=0.0)
    photo = render.render(_item(), seed=0, scene=plain)[0, ..., 0].astype(int)
    assert photo.max() == 220 and (photo == 220).sum() >= 18 * 8  # the bar, whole and unscaled
    assert (photo > 0).sum() <= 22 * 12  # and nothing else: no background, no noise
    busy = render.render(np.zeros((1, 28, 28, 1), np.uint8), seed=0, scene=render.Scene(background=(100.0, 100.0)))
    assert busy.std() > 5  # an empty item shows only the background: not flat


def test_render_refuses_other_shapes() -> None:
    with pytest.raises(ValueError, match=r"shape \(N, 28, 28, 1\), got \(2, 32, 32, 1\)"):
        render.render(np.zeros((2, 32, 32, 1), np.uint8), seed=0)


@pytest.mark.slow
def test_rendered_target_is_the_same_on_every_machine() -> None:
    (x, y), (xt, yt) = data.load_fashion_mnist()
    fresh = render.render(x, data.RENDER_SEEDS["train"]), render.render(xt, data.RENDER_SEEDS["test"])
    target = [images[np.isin(labels, data.TARGET_CLASSES)] for images, labels in zip(fresh, (y, yt))]
    digest = hashlib.sha256(b"".join(a.tobytes() for a in target)).hexdigest()
    assert digest == TARGET_SHA256
    # the cached copy the lessons read holds the same images
    (train, test), names = data.load_dataset("fashion_mnist_target")
    np.testing.assert_array_equal(train[0], target[0])
    np.testing.assert_array_equal(test[0], target[1])
    assert names == ("Trouser", "Coat", "Shirt", "Sneaker", "Ankle boot")
