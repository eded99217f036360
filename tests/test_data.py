"""The data module: idx parsing, the search order, label budgets, tasks, image folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import write_idx
from tlhelpers import data


def test_read_idx_plain_and_gzipped(tmp_path: Path) -> None:
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    for gz in (False, True):
        path = write_idx(tmp_path / f"a{gz}-idx3-ubyte", array, gz=gz)
        np.testing.assert_array_equal(data.read_idx(path), array)


def test_read_idx_rejects_other_files(tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("hello world")
    with pytest.raises(ValueError, match="not a uint8 idx file"):
        data.read_idx(bad)
    short = tmp_path / "short-idx1-ubyte"
    short.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 9, 1, 2]))
    with pytest.raises(ValueError, match=r"header says shape \(9,\), file holds 2 values"):
        data.read_idx(short)


def test_load_fashion_mnist_from_a_folder(tiny_fashion) -> None:
    folder, arrays = tiny_fashion
    (x, y), (xt, yt) = data.load_fashion_mnist([folder], download=False)
    assert x.shape == (120, 28, 28, 1) and xt.shape == (30, 28, 28, 1)
    np.testing.assert_array_equal(x[..., 0], arrays["x_train"])
    np.testing.assert_array_equal(yt, arrays["y_test"])


def test_search_order_takes_the_first_complete_folder(tiny_fashion, tmp_path: Path) -> None:
    folder, _ = tiny_fashion
    incomplete = tmp_path / "incomplete"
    incomplete.mkdir()
    write_idx(incomplete / "train-images-idx3-ubyte", np.zeros((1, 28, 28), np.uint8))
    assert data.find_fashion_mnist([incomplete, folder]) == folder
    assert data.fashion_mnist_search_dirs()[0] == Path("/usr/share/datasets/fashion-mnist")
    assert data.fashion_mnist_search_dirs()[1].parts[-2:] == ("datasets", "fashion-mnist")


def test_missing_data_names_dataset_and_command(tmp_path: Path) -> None:
    with pytest.raises(data.DataNotFoundError) as err:
        data.load_fashion_mnist([tmp_path], download=False)
    message = str(err.value)
    assert "Fashion-MNIST" in message and "apt-get install dataset-fashion-mnist" in message
    assert str(tmp_path) in message


def test_missing_cifar10_names_the_prefetch_command(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(data.DataNotFoundError, match="prefetch --track imagenet"):
        data.load_cifar10(download=False)


def test_label_budget_is_stratified_seeded_and_nested() -> None:
    y = np.repeat(np.arange(4), 30)
    train, val = data.label_budget(y, 5, 10, seed=3)
    assert np.bincount(y[train]).tolist() == [5] * 4
    assert np.bincount(y[val]).tolist() == [10] * 4
    assert not set(train) & set(val)
    again, _ = data.label_budget(y, 5, 10, seed=3)
    np.testing.assert_array_equal(train, again)
    other, _ = data.label_budget(y, 5, 10, seed=4)
    assert set(other) != set(train)
    larger, val_larger = data.label_budget(y, 8, 12, seed=3)
    assert set(train) <= set(larger)  # a bigger budget adds examples, keeps the old ones
    assert set(val) <= set(val_larger)
    assert not set(larger) & set(val)  # no budget's training examples validate another's


def test_label_budget_validates_on_as_many_labels_as_it_trains_on() -> None:
    y = np.repeat(np.arange(3), 20)
    train, val = data.label_budget(y, 4, seed=0)
    assert np.bincount(y[train]).tolist() == np.bincount(y[val]).tolist() == [4] * 3
    task = data.make_task("toy", (np.zeros((60, 2, 2, 1)), y), (np.zeros((3, 2, 2, 1)), y[:3]), ("a", "b", "c"), 4)
    assert task.labels == 24 and "train=12 + val=12 = 24 labels" in repr(task)


def test_label_budget_too_large_names_class_and_count() -> None:
    y = np.array([0] * 10 + [1] * 3)
    with pytest.raises(ValueError, match=r"class 'boots' has only 3 examples.*needs 4"):
        data.label_budget(y, 2, 2, class_names=("shoes", "boots"))
    with pytest.raises(ValueError, match="labels_per_class must be at least 1, got 0"):
        data.label_budget(y, 0)


def test_make_task_keeps_test_untouched() -> None:
    x = np.arange(40 * 4).reshape(40, 2, 2, 1).astype(np.uint8)
    y = np.repeat([0, 1], 20)
    xt, yt = x[:6], np.array([0, 1, 0, 1, 0, 1])
    task = data.make_task("toy", (x, y), (xt, yt), ("a", "b"), 3, 4, seed=1)
    assert (len(task.y_train), len(task.y_val), len(task.y_test)) == (6, 8, 6)
    assert task.num_classes == 2
    np.testing.assert_array_equal(task.x_test, xt)
    train_rows = {row.tobytes() for row in task.x_train}
    assert not train_rows & {row.tobytes() for row in task.x_val}


def test_real_fashion_mnist_source_and_target_split() -> None:
    if data.find_fashion_mnist() is None:
        pytest.fail("Fashion-MNIST is not installed: run `make data`")
    assert not set(data.SOURCE_CLASSES) & set(data.TARGET_CLASSES)
    assert sorted(data.SOURCE_CLASSES + data.TARGET_CLASSES) == list(range(10))
    task = data.load_task("fashion_mnist_target", labels_per_class=5, val_per_class=10)
    assert task.class_names == ("Trouser", "Coat", "Shirt", "Sneaker", "Ankle boot")
    assert task.x_train.shape == (25, 32, 32, 1) and task.x_train.dtype == np.uint8  # rendered in the wild
    assert len(task.y_val) == 50 and len(task.y_test) == 5000 and set(task.y_test.tolist()) == set(range(5))
    clean = data.load_task("fashion_mnist_target_clean", labels_per_class=5)
    assert clean.x_train.shape == (25, 28, 28, 1) and len(clean.y_val) == 25  # Fashion-MNIST as published


def test_load_task_never_validates_on_more_labels_than_it_trains_on() -> None:
    task = data.load_task(labels_per_class=3)
    assert len(task.y_val) == len(task.y_train) == 3 * task.num_classes


def test_unknown_dataset_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown dataset 'mnist'; choose one of: fashion_mnist_source"):
        data.load_dataset("mnist")


def _image_folder(root: Path) -> Path:
    rng = np.random.default_rng(0)
    for name, fmt in (("cats", "PNG"), ("dogs", "JPEG")):
        (root / name).mkdir(parents=True)
        for i in range(4):
            pixels = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.{fmt.lower()}", fmt)
    return root


def test_load_image_folder(tmp_path: Path) -> None:
    folder = _image_folder(tmp_path / "pets")
    x, y, names = data.load_image_folder(folder, (16, 16))
    assert names == ("cats", "dogs")
    assert x.shape == (8, 16, 16, 3) and x.dtype == np.uint8
    assert np.bincount(y).tolist() == [4, 4]
    task = data.load_folder_task(folder, labels_per_class=2, val_per_class=1, test_fraction=0.25, image_size=(16, 16))
    assert (len(task.y_train), len(task.y_val), len(task.y_test)) == (4, 2, 2)


def test_image_folder_skips_non_images_with_a_warning(tmp_path: Path) -> None:
    folder = _image_folder(tmp_path / "pets")
    (folder / "cats" / "notes.txt").write_text("not a picture")
    with pytest.warns(UserWarning, match=r"skipping .*notes\.txt: not an image file"):
        x, _, _ = data.load_image_folder(folder, (16, 16))
    assert len(x) == 8


def test_image_folder_names_a_corrupt_image(tmp_path: Path) -> None:
    folder = _image_folder(tmp_path / "pets")
    (folder / "dogs" / "broken.jpg").write_bytes(b"\xff\xd8\xff this is no jpeg")
    with pytest.raises(ValueError, match=r"broken\.jpg"):
        data.load_image_folder(folder, (16, 16))


def test_image_folder_needs_two_classes(tmp_path: Path) -> None:
    (tmp_path / "only").mkdir()
    with pytest.raises(ValueError, match="needs at least two"):
        data.load_image_folder(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        data.load_image_folder(tmp_path / "nowhere")


def test_with_test_subset_draws_the_same_images_for_the_same_seed() -> None:
    x = np.arange(40, dtype=np.uint8).reshape(40, 1, 1, 1)
    y = np.repeat([0, 1], 20)
    task = data.make_task("toy", (x, y), (x, y), ("a", "b"), 3)
    small = task.with_test_subset(7)
    assert len(small.y_test) == 7 and small.x_test.shape == (7, 1, 1, 1)
    assert np.array_equal(small.x_test, task.with_test_subset(7).x_test)  # repeatable
    assert list(small.x_test.ravel()) == sorted(small.x_test.ravel())  # in the split's order
    assert not np.array_equal(small.x_test, task.with_test_subset(7, seed=1).x_test)
    assert task.with_test_subset(None) is task and task.with_test_subset(40) is task
    with pytest.raises(ValueError, match="n must be at least 1"):
        task.with_test_subset(0)


def test_image_files_lists_what_keras_loads(tmp_path: Path) -> None:
    import keras

    folder = _image_folder(tmp_path / "pets")
    (folder / "cats" / "indoor" / "deeper").mkdir(parents=True)  # nested: Keras reads these too
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "cats" / "indoor" / "deeper" / "x.png")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "cats" / "indoor" / "a.png")
    (folder / ".thumbnails").mkdir()  # a hidden folder is no class
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / ".thumbnails" / "t.png")
    (folder / "dogs" / "notes.txt").write_text("listed, not loaded")
    (folder / "README").write_text("a file beside the classes is no class")
    files = data.image_files(folder)
    assert list(files) == ["cats", "dogs"]
    assert [p.relative_to(folder).as_posix() for p in files["cats"]] == [
        "cats/0.png", "cats/1.png", "cats/2.png", "cats/3.png", "cats/indoor/a.png", "cats/indoor/deeper/x.png"]
    assert files["dogs"][-1].name == "notes.txt" and all(p.is_absolute() == folder.is_absolute() for p in files["dogs"])
    loaded = keras.utils.image_dataset_from_directory(folder, batch_size=None, shuffle=False, image_size=(8, 8),
                                                      verbose=False)
    assert loaded.class_names == list(files)
    images = [p for c in files for p in files[c] if p.suffix.lower() in data.IMAGE_EXTENSIONS]
    assert sorted(map(str, images)) == sorted(loaded.file_paths)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        data.image_files(folder / "nowhere")


def test_per_class_subsets_share_one_home() -> None:
    x, y = np.arange(12) * 10, np.array([2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 0])
    idx = data.first_per_class(y, 2)
    assert idx.tolist() == [1, 4, 2, 5, 0, 3]  # class by class, first ones first
    assert data.first_per_class(y, 1).tolist() == [1, 2, 0] and set(data.first_per_class(y, 1)) <= set(idx)
    xs, ys = data.take_per_class(x, y, 2)
    assert xs.tolist() == x[idx].tolist() and ys.tolist() == [0, 0, 1, 1, 2, 2]
    with pytest.raises(ValueError, match=r"k must be between 1 and 3 \(the smallest class\), got 4"):
        data.take_per_class(x, y, 4)
    with pytest.raises(ValueError, match="got 0"):
        data.take_per_class(x, y, 0)
    bx, by = data.balanced_subset((x, y), 2, seed=1)
    assert np.bincount(by).tolist() == [2, 2, 2] and list(bx) == sorted(bx)  # drawn, in the split's order
    assert np.array_equal(bx, data.balanced_subset((x, y), 2, seed=1)[0])
