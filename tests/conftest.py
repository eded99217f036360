"""Shared fixtures: the track every test module starts in, and small data the tests make themselves."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(autouse=True, scope="module")
def offline_laptop_track():
    """Pin the offline track and laptop profile for every test module here.

    A developer's ``TL_TRACK`` or ``TL_PROFILE`` must not change what the unit tests check
    (tests that need another track set it themselves); the notebooks, outside ``tests/``,
    still follow ``TL_TRACK``.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TL_TRACK", "offline")
        patch.setenv("TL_PROFILE", "laptop")
        yield


@pytest.fixture
def searches(monkeypatch) -> list[str]:
    """The names of the models searched for their backbone (``transfer.find_backbone``), in order,
    wherever the search is called from (tests count how often a helper looks)."""
    from tlhelpers import recipe, transfer

    calls: list[str] = []
    real = transfer.find_backbone

    def counting(model):
        calls.append(model.name)
        return real(model)

    for module in (transfer, recipe):
        monkeypatch.setattr(module, "find_backbone", counting)
    return calls


def write_idx(path: Path, array: np.ndarray, gz: bool = True) -> Path:
    """Write ``array`` (uint8) as an idx file, the format Fashion-MNIST ships in."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    target = path.with_name(path.name + ".gz") if gz else path
    target.write_bytes(gzip.compress(payload) if gz else payload)
    return target


@pytest.fixture
def tiny_fashion(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    """A Fashion-MNIST-shaped folder: 10 classes, 12 train and 3 test images each."""
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (120, 28, 28), dtype=np.uint8),
        "y_train": np.repeat(np.arange(10, dtype=np.uint8), 12),
        "x_test": rng.integers(0, 256, (30, 28, 28), dtype=np.uint8),
        "y_test": np.repeat(np.arange(10, dtype=np.uint8), 3),
    }
    from tlhelpers.data import FASHION_FILES

    for key, stem in FASHION_FILES.items():
        write_idx(tmp_path / stem, arrays[key])
    return tmp_path, arrays
