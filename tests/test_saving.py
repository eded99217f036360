"""Saving: atomic writes, no silent overwrite, reload with identical predictions."""

from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np
import pytest

from tlhelpers import backbones, saving, transfer


@pytest.fixture
def small_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3, activation="softmax")]
    )


@pytest.fixture
def x() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_save_reload_gives_identical_predictions(small_model, x, tmp_path: Path) -> None:
    path = saving.save_model(small_model, tmp_path / "sub" / "m.keras")
    reloaded = saving.load_model(path)
    comparison = saving.compare_predictions(small_model, reloaded, x)
    assert path == tmp_path / "sub" / "m.keras" and path.is_file()
    assert comparison.identical and comparison.max_abs_diff == 0.0 and comparison.n == 16
    assert reloaded is not small_model
    assert _leftovers(path.parent) == []  # no temporary file left behind


def test_refuses_to_overwrite_and_keeps_the_file(small_model, x, tmp_path: Path) -> None:
    path = saving.save_model(small_model, tmp_path / "m.keras")
    before = path.read_bytes()
    other = keras.models.clone_model(small_model)  # different random weights
    with pytest.raises(FileExistsError, match="overwrite=True"):
        saving.save_model(other, path)
    assert path.read_bytes() == before
    assert _leftovers(tmp_path) == []
    saving.save_model(other, path, overwrite=True)
    assert path.read_bytes() != before
    assert saving.compare_predictions(other, saving.load_model(path), x).identical


def test_a_failed_save_leaves_the_old_file_and_no_temp_file(small_model, tmp_path: Path, monkeypatch) -> None:
    path = saving.save_model(small_model, tmp_path / "m.keras")
    before = path.read_bytes()

    def broken_save(target, *args, **kwargs):
        Path(target).write_bytes(b"half a model")  # the disk filled up mid-write
        raise OSError("No space left on device")

    monkeypatch.setattr(small_model, "save", broken_save)
    with pytest.raises(OSError, match="No space"):
        saving.save_model(small_model, path, overwrite=True)
    assert path.read_bytes() == before
    assert _leftovers(tmp_path) == []


def test_a_file_created_during_the_save_is_not_replaced(small_model, tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "m.keras"
    real_save = small_model.save

    def save_while_someone_else_writes(target, *args, **kwargs):
        path.write_bytes(b"someone else's model")
        real_save(target, *args, **kwargs)

    monkeypatch.setattr(small_model, "save", save_while_someone_else_writes)
    with pytest.raises(FileExistsError):
        saving.save_model(small_model, path)
    assert path.read_bytes() == b"someone else's model"
    assert _leftovers(tmp_path) == []


def test_comparison_detects_a_changed_model(small_model, x) -> None:
    changed = keras.models.clone_model(small_model)
    changed.set_weights([w + 0.5 for w in small_model.get_weights()])
    comparison = saving.compare_predictions(small_model, changed, x)
    assert not comparison.identical and comparison.max_abs_diff > 1e-3
    assert "DIFFERENT" in repr(comparison)


def test_bad_paths_get_clear_errors(small_model, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="must end in '.keras'"):
        saving.save_model(small_model, tmp_path / "m.h5")
    with pytest.raises(FileNotFoundError, match="no saved model"):
        saving.load_model(tmp_path / "missing.keras")
    (tmp_path / "folder.keras").mkdir()
    with pytest.raises(IsADirectoryError):
        saving.save_model(small_model, tmp_path / "folder.keras")


def test_a_classifier_with_a_nested_registry_backbone_round_trips(tmp_path: Path) -> None:
    keras.utils.set_random_seed(0)
    model = transfer.build_classifier(backbones.load_backbone("fashion_cnn", weights=None), 3)
    x = np.random.default_rng(0).uniform(0, 255, (8, 32, 32, 1)).astype(np.float32)
    reloaded = saving.load_model(saving.save_model(model, tmp_path / "clf.keras"))
    comparison = saving.compare_predictions(model, reloaded, x)
    assert comparison.identical
    assert [l.name for l in reloaded.layers] == [l.name for l in model.layers]


def test_default_folder_is_under_build() -> None:
    assert saving.models_dir().parent.name == "build"
    assert "notebooks" not in saving.models_dir().parts
    assert os.fspath(saving.models_dir()).endswith(os.path.join("build", "models"))
