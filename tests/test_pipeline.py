"""Images to backbone inputs."""

import numpy as np
import pytest

from tlhelpers.pipeline import prepare_images


def test_gray_to_rgb_and_resize() -> None:
    x = np.full((2, 28, 28, 1), 200, np.uint8)
    out = prepare_images(x, size=32, channels=3).numpy()
    assert out.shape == (2, 32, 32, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out, 200.0)  # values stay in 0..255


def test_rgb_to_gray() -> None:
    x = np.zeros((1, 32, 32, 3), np.uint8)
    x[..., 1] = 255
    out = prepare_images(x, size=32, channels=1).numpy()
    assert out.shape == (1, 32, 32, 1)
    assert 140 < out.mean() < 160  # green weighs ~0.587


def test_bad_channels_are_named() -> None:
    with pytest.raises(ValueError, match=r"got shape \(1, 8, 8, 4\)"):
        prepare_images(np.zeros((1, 8, 8, 4)), 8, 3)
    with pytest.raises(ValueError, match="channels must be 1 or 3, got 2"):
        prepare_images(np.zeros((1, 8, 8, 3)), 8, 2)
