"""Image folders a student might hand in with assignment 4, made by the tests that need one."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def make_stripes(folder: Path, per_class: int = 20, seed: int = 0) -> Path:
    """A student's own image folder: RGB PNGs of several sizes, horizontal vs vertical stripes."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for name in ("horizontal", "vertical"):
        (folder / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            h, w = (int(v) for v in rng.integers(36, 60, 2))
            period = int(rng.integers(6, 12))
            coord = np.arange(h)[:, None] if name == "horizontal" else np.arange(w)[None, :]
            on = np.broadcast_to(((coord + int(rng.integers(0, period))) // (period // 2)) % 2 == 0, (h, w))
            image = np.where(on[..., None], rng.integers(150, 256, 3), rng.integers(0, 100, 3)).astype(np.uint8)
            Image.fromarray(image).save(folder / name / f"{i:02d}.png")
    return folder
