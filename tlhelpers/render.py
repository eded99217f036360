"""Fashion-MNIST "in the wild": each item drawn as a small photo of it would show it.

Fashion-MNIST's items are centred, upright, the same size, on a black background: raw
pixels separate them almost as well as any learned features, which hides what transfer
learning is for. Photos are not like that. :func:`render` puts every item on a 32x32
canvas at a random scale, rotation, position and mirror image, with random contrast, over
a smooth random background with a little sensor noise, and lets the item hide the
background behind it.

Rendering uses NumPy only (the per-image angles come from Python's ``math``), so the same
seed gives the same bytes on every machine; ``tests/test_render.py`` holds the hash of the
rendered target arrays.

Example:
    >>> import numpy as np
    >>> items = np.zeros((3, 28, 28, 1), np.uint8); items[:, 8:20, 10:18] = 200
    >>> photos = render(items, seed=0)
    >>> photos.shape, photos.dtype
    ((3, 32, 32, 1), dtype('uint8'))
    >>> bool((render(items, seed=0) == photos).all())
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tlhelpers.i18n import _

CANVAS = 32


@dataclass(frozen=True)
class Scene:
    """The ranges one rendering draws from (each image draws its own values).

    Attributes:
        scale: item size relative to its 28 px original.
        rotation: largest rotation, in degrees, either way.
        mirror: whether half of the items are mirrored left to right.
        contrast: the item's brightness is multiplied by a value in this range.
        background: the brightest a background's smooth pattern gets (0..255).
        noise: standard deviation of the per-pixel noise, in grey levels.
    """

    scale: tuple[float, float] = (0.6, 1.0)
    rotation: float = 25.0
    mirror: bool = True
    contrast: tuple[float, float] = (0.5, 1.0)
    background: tuple[float, float] = (0.0, 160.0)
    noise: float = 8.0


IN_THE_WILD = Scene()


def _bilinear(images: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Sample ``images`` (N, H, W) at float positions (N, h, w); zero outside."""
    n, height, width = images.shape
    r0, c0 = np.floor(rows), np.floor(cols)
    dr, dc = rows - r0, cols - c0
    r0, c0 = r0.astype(np.int64), c0.astype(np.int64)
    out = np.zeros(rows.shape, np.float64)
    batch = np.arange(n)[:, None, None]
    for rr, wr in ((r0, 1 - dr), (r0 + 1, dr)):
        for cc, wc in ((c0, 1 - dc), (c0 + 1, dc)):
            inside = (rr >= 0) & (rr < height) & (cc >= 0) & (cc < width)
            values = images[batch, np.clip(rr, 0, height - 1), np.clip(cc, 0, width - 1)]
            out += np.where(inside, values, 0.0) * wr * wc
    return out


def _backgrounds(rng: np.random.Generator, n: int, scene: Scene) -> np.ndarray:
    """Smooth random backgrounds: a 5x5 grid of random greys blown up to the canvas, plus noise."""
    grid = rng.random((n, 5, 5))
    step = 4 / (CANVAS - 1)
    axis = np.arange(CANVAS) * step
    rows = np.broadcast_to(axis[None, :, None], (n, CANVAS, CANVAS))
    cols = np.broadcast_to(axis[None, None, :], (n, CANVAS, CANVAS))
    smooth = _bilinear(grid, rows, cols)
    brightness = rng.uniform(*scene.background, size=(n, 1, 1))
    return smooth * brightness + rng.normal(0.0, scene.noise, size=(n, CANVAS, CANVAS))


def render(images: np.ndarray, seed: int, scene: Scene = IN_THE_WILD, chunk: int = 4096) -> np.ndarray:
    """Draw each 28x28 item as a small photo: ``(N, 28, 28, 1)`` uint8 in, ``(N, 32, 32, 1)`` out.

    Args:
        images: Fashion-MNIST items, uint8, bright item on black.
        seed: fixes every random choice; the same seed gives the same images everywhere.
        scene: the ranges drawn from (:data:`IN_THE_WILD` by default).
        chunk: images rendered at once (bounds memory).

    Raises:
        ValueError: images of another shape.

    Example:
        >>> import numpy as np
        >>> render(np.zeros((2, 28, 28, 1), np.uint8), seed=1).shape
        (2, 32, 32, 1)
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1:] != (28, 28, 1):
        raise ValueError(_("render takes Fashion-MNIST items of shape (N, 28, 28, 1), got {shape}").format(
            shape=images.shape))
    rng = np.random.default_rng(seed)
    out = np.empty((len(images), CANVAS, CANVAS, 1), np.uint8)
    for start in range(0, len(images), chunk):
        out[start:start + chunk, ..., 0] = _render_chunk(images[start:start + chunk, ..., 0], rng, scene)
    return out


def _render_chunk(items: np.ndarray, rng: np.random.Generator, scene: Scene) -> np.ndarray:
    n = len(items)
    scale = rng.uniform(*scene.scale, size=n)
    degrees = rng.uniform(-scene.rotation, scene.rotation, size=n)
    mirror = rng.random(n) < 0.5 if scene.mirror else np.zeros(n, bool)
    contrast = rng.uniform(*scene.contrast, size=n)
    half = 14.0 * scale  # the item's half-size on the canvas
    centre_r = rng.uniform(half, CANVAS - half)
    centre_c = rng.uniform(half, CANVAS - half)
    background = _backgrounds(rng, n, scene)

    cos = np.array([math.cos(math.radians(d)) for d in degrees])[:, None, None]
    sin = np.array([math.sin(math.radians(d)) for d in degrees])[:, None, None]
    grid = np.arange(CANVAS, dtype=np.float64) + 0.5
    dr = (grid[None, :, None] - centre_r[:, None, None]) / scale[:, None, None]
    dc = (grid[None, None, :] - centre_c[:, None, None]) / scale[:, None, None]
    rows = cos * dr - sin * dc + 13.5  # canvas -> item coordinates (inverse rotation)
    cols = sin * dr + cos * dc
    cols = np.where(mirror[:, None, None], -cols, cols) + 13.5
    item = _bilinear(items.astype(np.float64), rows, cols)
    alpha = np.clip(item / 24.0, 0.0, 1.0)  # the item hides what is behind it
    photo = alpha * item * contrast[:, None, None] + (1 - alpha) * background
    return np.rint(np.clip(photo, 0, 255)).astype(np.uint8)
