"""Datasets for both tracks, and label budgets.

* Fashion-MNIST, found in this order: the Debian package ``dataset-fashion-mnist``
  (``/usr/share/datasets/fashion-mnist``), the Keras cache (``~/.keras/datasets``), then a
  download through ``keras.datasets``. The offline track shows its items "in the wild",
  as small photos would (:func:`load_fashion_in_the_wild`, rendered once by
  :mod:`tlhelpers.render` and cached); the ``*_clean`` datasets are the published images.
* CIFAR-10 through ``keras.datasets`` (imagenet track).
* A folder of images, one sub-folder per class, through
  ``keras.utils.image_dataset_from_directory`` (a student's own data); :func:`image_files`
  lists the files it reads.

Every loader returns uint8 images ``(N, H, W, C)`` and integer labels; :func:`load_task`
turns one into a :class:`Task`: k labelled training examples per class and at most k
validation examples per class (stratified, seeded), and the untouched test split. Per-class
subsets live here too: :func:`take_per_class` (the first k of each class),
:func:`balanced_subset` (k of each class, drawn at random).

Example:
    >>> from tlhelpers import data
    >>> task = data.load_task("fashion_mnist_target", labels_per_class=5)  # doctest: +SKIP
    >>> task.x_train.shape                                                  # doctest: +SKIP
    (25, 32, 32, 1)
"""

from __future__ import annotations

import gzip
import hashlib
import os
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

import numpy as np

from tlhelpers.errors import DataNotFoundError
from tlhelpers.i18n import N_, _

__all__ = [
    # the datasets
    "FASHION_MNIST_CLASSES", "CIFAR10_CLASSES", "SOURCE_CLASSES", "TARGET_CLASSES", "RENDER_SEEDS",
    "DEBIAN_FASHION_DIR", "FASHION_FILES", "FETCH_FASHION", "FETCH_CIFAR10", "CIFAR10_BATCHES", "Arrays",
    "DataNotFoundError", "read_idx", "keras_cache_dir", "fashion_mnist_search_dirs", "find_fashion_mnist",
    "load_fashion_mnist", "find_cifar10", "load_cifar10", "in_the_wild_cache", "load_fashion_in_the_wild",
    "DATASETS", "load_dataset",
    # a folder of images
    "IMAGE_EXTENSIONS", "class_folders", "image_files", "load_image_folder", "load_folder_task",
    # tasks and label budgets
    "TASK_SUMMARY", "Task", "label_budget", "make_task", "load_task",
    # per-class subsets
    "balanced_subset", "first_per_class", "take_per_class",
]

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)

# The offline track's split (README, "The offline track: Fashion-MNIST in the wild"): the bundled backbone
# learns the source classes; the target task is the other five. Each target class has a
# relative among the source classes (coat and shirt ~ pullover and T-shirt; sneaker and
# ankle boot ~ sandal; trouser ~ dress, long garments), so the features transfer, yet the
# target labels are new, and coat and shirt are among the hardest classes to tell apart.
SOURCE_CLASSES = (0, 2, 3, 5, 8)  # T-shirt/top, Pullover, Dress, Sandal, Bag
TARGET_CLASSES = (1, 4, 6, 7, 9)  # Trouser, Coat, Shirt, Sneaker, Ankle boot
# Fixed seeds of the one rendering "in the wild" of each split (tlhelpers.render).
RENDER_SEEDS = {"train": 2024, "test": 2025}

DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
FETCH_FASHION = N_(  # shown translated (_missing_message, _download)
    "sudo apt-get install dataset-fashion-mnist   "
    "(or, with internet: python -m tlhelpers prefetch --track offline)"
)
FETCH_CIFAR10 = "python -m tlhelpers prefetch --track imagenet"
CIFAR10_BATCHES = (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch")  # training batches, then test
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")

Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an idx file (optionally gzipped) as used by MNIST and Fashion-MNIST.

    The format: two zero bytes, a type code (0x08 = uint8), the number of dimensions,
    one big-endian uint32 per dimension, then the data.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x-idx1-ubyte"
        >>> _ = p.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]))
        >>> read_idx(p).tolist()
        [7, 8, 9]
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0:2] != b"\x00\x00" or raw[2] != 0x08:
        raise ValueError(_("{path} is not a uint8 idx file (header {header!r})").format(path=path, header=raw[:4]))
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(_("{path}: header says shape {shape}, file holds {size} values").format(
            path=path, shape=shape, size=data.size))
    return data.reshape(shape)


def keras_cache_dir() -> Path:
    """The Keras cache folder (``$KERAS_HOME`` or ``~/.keras``).

    Example:
        >>> keras_cache_dir().name in (".keras", "keras") or True
        True
    """
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))


def fashion_mnist_search_dirs() -> list[Path]:
    """Folders searched for the Fashion-MNIST idx files, in order.

    Example:
        >>> fashion_mnist_search_dirs()[0]
        PosixPath('/usr/share/datasets/fashion-mnist')
    """
    return [DEBIAN_FASHION_DIR, keras_cache_dir() / "datasets" / "fashion-mnist"]


def _idx_file(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def find_fashion_mnist(search_dirs: list[Path] | None = None) -> Path | None:
    """Return the first folder that holds all four Fashion-MNIST idx files, else None.

    Example:
        >>> find_fashion_mnist([]) is None
        True
    """
    for folder in fashion_mnist_search_dirs() if search_dirs is None else search_dirs:
        if all(_idx_file(Path(folder), stem) for stem in FASHION_FILES.values()):
            return Path(folder)
    return None


def load_fashion_mnist(search_dirs: list[Path] | None = None, download: bool = True) -> Arrays:
    """Load Fashion-MNIST as ``((x_train, y_train), (x_test, y_test))``.

    Images are uint8 ``(N, 28, 28, 1)``, labels uint8 ``(N,)``.

    Args:
        search_dirs: folders to look in (default :func:`fashion_mnist_search_dirs`).
        download: if not found, try ``keras.datasets.fashion_mnist.load_data()``.

    Raises:
        DataNotFoundError: not found and not downloadable; names the command that fetches it.

    Example:
        >>> (x, y), (xt, yt) = load_fashion_mnist()  # doctest: +SKIP
        >>> x.shape, xt.shape                         # doctest: +SKIP
        ((60000, 28, 28, 1), (10000, 28, 28, 1))
    """
    folder = find_fashion_mnist(search_dirs)
    if folder is not None:
        arrays = {key: read_idx(_idx_file(folder, stem)) for key, stem in FASHION_FILES.items()}
        (x, y), (xt, yt) = (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])
    elif download:
        (x, y), (xt, yt) = _download("Fashion-MNIST", FETCH_FASHION, "fashion_mnist")
    else:
        raise DataNotFoundError(_missing_message("Fashion-MNIST", FETCH_FASHION, search_dirs))
    return (x[..., None], y), (xt[..., None], yt)


def find_cifar10(keras_home: Path | None = None) -> Path | None:
    """The folder of CIFAR-10's python batches in the Keras cache, or None if it is not there.

    Two layouts are accepted: Keras 3's (``keras.datasets.cifar10`` downloads the archive
    to ``datasets/cifar-10-batches-py-target_archive`` and extracts it into
    ``datasets/cifar-10-batches-py-target/cifar-10-batches-py/``) and the older one of
    Keras 2 (``datasets/cifar-10-batches-py/``). A folder counts only if it holds all six
    batch files.

    Args:
        keras_home: the Keras cache folder (default :func:`keras_cache_dir`).

    Example:
        >>> find_cifar10(Path("/nonexistent")) is None
        True
    """
    datasets = (keras_cache_dir() if keras_home is None else Path(keras_home)) / "datasets"
    for folder in (datasets / "cifar-10-batches-py-target" / "cifar-10-batches-py", datasets / "cifar-10-batches-py"):
        if all((folder / name).is_file() for name in CIFAR10_BATCHES):
            return folder
    return None


def load_cifar10(download: bool = True) -> Arrays:
    """Load CIFAR-10 (uint8 ``(N, 32, 32, 3)``) from the Keras cache, downloading if allowed.

    The batches found by :func:`find_cifar10` are read directly (with Keras' own parser),
    so a cache from Keras 2 or 3 works without a download; otherwise, if ``download``,
    ``keras.datasets.cifar10.load_data()`` fetches it.

    Raises:
        DataNotFoundError: not cached and not downloadable; names the prefetch command.

    Example:
        >>> (x, y), _ = load_cifar10()  # doctest: +SKIP
        >>> x.shape                      # doctest: +SKIP
        (50000, 32, 32, 3)
    """
    folder = find_cifar10()
    if folder is not None:
        from keras.src.datasets.cifar import (
            load_batch,  # Keras' parser: refuses anything but numpy arrays
        )

        parts = [load_batch(folder / name) for name in CIFAR10_BATCHES]
        x = np.concatenate([images for images, _ in parts]).transpose(0, 2, 3, 1).astype(np.uint8)  # stored NCHW
        y = np.concatenate([np.asarray(labels, dtype=np.uint8) for _, labels in parts])
        n_test = len(parts[-1][1])
        return (x[:-n_test], y[:-n_test]), (x[-n_test:], y[-n_test:])
    if not download:
        raise DataNotFoundError(_missing_message("CIFAR-10", FETCH_CIFAR10, [keras_cache_dir() / "datasets"]))
    (x, y), (xt, yt) = _download("CIFAR-10", FETCH_CIFAR10, "cifar10")
    return (x, y.reshape(-1)), (xt, yt.reshape(-1))


def _missing_message(dataset: str, command: str, searched: list[Path] | None) -> str:
    where = ", ".join(str(p) for p in searched) if searched else _("the usual places")
    return _("{dataset} is not on this machine (looked in: {where}). Fetch it with: {command}").format(
        dataset=dataset, where=where, command=_(command))


def _download(dataset: str, command: str, module: str) -> Arrays:
    import keras

    try:
        return getattr(keras.datasets, module).load_data()
    except Exception as err:  # keras raises a bare Exception wrapping URLError/HTTPError
        raise DataNotFoundError(_(
            "{dataset} is not cached and the download failed ({error_type}: {error}). "
            "Connect to the internet and run: {command}"
        ).format(dataset=dataset, error_type=type(err).__name__, error=err, command=_(command))) from err


def class_folders(paths: Iterable[str]) -> dict[str, list[str]]:
    """The files of an image folder by class, from its listing: the rules Keras' loader follows.

    Each class sub-folder (sorted by name; hidden ones, whose names start with ".", skipped)
    maps to every file under it, nested folders included (Keras looks into them too), as
    paths inside the class folder, sorted. :func:`image_files` applies it to a folder on
    disk; the a4 grader to the listing it made before a notebook ran.

    Args:
        paths: ``/``-separated paths inside the image folder; folders end in ``/``.

    Example:
        >>> class_folders(["b/2.png", "b/1.png", "c/", ".x/1.png", "b/more/", "b/more/0.png", "notes.txt"])
        {'b': ['1.png', '2.png', 'more/0.png'], 'c': []}
    """
    classes: dict[str, list[str]] = {}
    for path in paths:
        name, slash, inside = path.partition("/")
        if slash and name and not name.startswith("."):
            files = classes.setdefault(name, [])
            files += [inside] if inside and not inside.endswith("/") else []  # "class/", "class/sub/": folders
    return {name: sorted(files, key=PurePosixPath) for name, files in sorted(classes.items())}


def image_files(folder: str | os.PathLike) -> dict[str, list[Path]]:
    """The files of an image folder, by class: what ``keras.utils.image_dataset_from_directory`` reads.

    The rules are :func:`class_folders`'. Files of any kind are listed: Keras reads only
    those with an image extension (:data:`IMAGE_EXTENSIONS`); keep those to get what it loads.

    Args:
        folder: e.g. ``"my_photos"`` holding ``my_photos/cats/*.jpg``, ``my_photos/dogs/*.jpg``.

    Raises:
        FileNotFoundError: ``folder`` is not a folder.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> for name in ("dogs/a.png", "cats/b.jpg", "cats/more/c.jpg", ".hidden/d.png"):
        ...     (root / name).parent.mkdir(parents=True, exist_ok=True)
        ...     _ = (root / name).write_bytes(b"")
        >>> {c: [p.relative_to(root).as_posix() for p in files] for c, files in image_files(root).items()}
        {'cats': ['cats/b.jpg', 'cats/more/c.jpg'], 'dogs': ['dogs/a.png']}
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(_("image folder {folder!r} does not exist").format(folder=str(folder)))
    listing = []
    for c in folder.iterdir():
        if c.is_dir():  # a class folder, or a link to one
            listing += [f"{c.name}/", *(f"{c.name}/{p.relative_to(c).as_posix()}" for p in c.rglob("*") if p.is_file())]
    return {c: [folder / c / f for f in files] for c, files in class_folders(listing).items()}


def _check_folder(folder: Path) -> list[str]:
    """Return class names; raise on corrupt images, warn on files that will be skipped."""
    from PIL import Image, UnidentifiedImageError

    files = image_files(folder)
    classes = list(files)
    if len(classes) < 2:
        raise ValueError(_(
            "image folder {folder!r} has {n} class sub-folders; it needs at "
            "least two, one per class (e.g. photos/cats/*.jpg, photos/dogs/*.jpg)"
        ).format(folder=str(folder), n=len(classes)))
    corrupt = []
    for path in sorted(p for paths in files.values() for p in paths):
        if path.suffix.lower() not in IMAGE_EXTENSIONS:
            warnings.warn(_("skipping {path}: not an image file (accepted: {accepted})").format(
                path=path, accepted=", ".join(IMAGE_EXTENSIONS)))
            continue
        try:
            with Image.open(path) as im:
                im.verify()
        except (UnidentifiedImageError, OSError, SyntaxError) as err:
            corrupt.append(f"{path} ({err})")
    if corrupt:
        raise ValueError(_(
            "these files have an image extension but cannot be read as images; "
            "delete or replace them, then load again:"
        ) + "\n  " + "\n  ".join(corrupt))
    return classes


def load_image_folder(
    folder: str | os.PathLike, image_size: tuple[int, int] = (96, 96), color_mode: str = "rgb"
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Load a folder with one sub-folder of images per class into uint8 arrays.

    Files without an image extension are skipped with a warning naming each one; an image
    file that cannot be decoded raises a ``ValueError`` naming it (never a TF traceback).

    Args:
        folder: e.g. ``"my_photos"`` holding ``my_photos/cats/*.jpg``, ``my_photos/dogs/*.jpg``.
        image_size: ``(height, width)`` every image is resized to.
        color_mode: ``"rgb"`` or ``"grayscale"``.

    Returns:
        ``(images, labels, class_names)``.

    Example:
        >>> x, y, names = load_image_folder("my_photos", (64, 64))  # doctest: +SKIP
    """
    import keras

    folder = Path(folder)
    classes = _check_folder(folder)
    ds = keras.utils.image_dataset_from_directory(
        folder, labels="inferred", label_mode="int", class_names=classes, color_mode=color_mode,
        image_size=image_size, batch_size=None, shuffle=False, verbose=False,
    )
    images, labels = [], []
    for image, label in ds.as_numpy_iterator():
        images.append(image)
        labels.append(label)
    if not images:
        raise ValueError(_("image folder {folder!r} holds no images").format(folder=str(folder)))
    x = np.clip(np.stack(images), 0, 255).round().astype(np.uint8)
    return x, np.asarray(labels, dtype=np.int64), tuple(classes)


# A task in one line: its repr, and (translated) what print(task) shows.
TASK_SUMMARY = N_("Task({name!r}, {classes} classes, train={train} + val={val} = {labels} labels, "
                  "test={test}, images={shape})")


@dataclass
class Task:
    """A target task with a label budget: train / validation / untouched test.

    Attributes:
        name: dataset name, e.g. ``"fashion_mnist_target"``.
        class_names: names, indexed by label.
        x_train, y_train: ``labels_per_class`` examples per class.
        x_val, y_val: ``val_per_class`` further examples per class.
        x_test, y_test: the dataset's test split, never used for choices.
    """

    name: str
    class_names: tuple[str, ...]
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.class_names)

    def _describe(self, template: str) -> str:
        return template.format(
            name=self.name, classes=self.num_classes, train=len(self.y_train), val=len(self.y_val),
            labels=self.labels, test=len(self.y_test), shape=self.x_train.shape[1:],
        )

    def __repr__(self) -> str:
        return self._describe(TASK_SUMMARY)

    def __str__(self) -> str:
        """What ``print(task)`` shows: :meth:`__repr__` in the active language."""
        return self._describe(_(TASK_SUMMARY))

    @property
    def labels(self) -> int:
        """Labels this task spends: training plus validation (the test split is not counted)."""
        return len(self.y_train) + len(self.y_val)

    def with_test_subset(self, n: int | None, seed: int = 0) -> Task:
        """The task scored on ``n`` of its test images, drawn at random with ``seed`` (in their order).

        The same ``n`` and ``seed`` give the same images, so runs stay comparable; ``None``, or
        an ``n`` at least the test split's size, returns the task unchanged.

        Example:
            >>> x = np.zeros((20, 4, 4, 1), np.uint8); y = np.repeat([0, 1], 10)
            >>> make_task("toy", (x, y), (x, y), ("a", "b"), 3).with_test_subset(5)
            Task('toy', 2 classes, train=6 + val=6 = 12 labels, test=5, images=(4, 4, 1))
        """
        if n is None or n >= len(self.y_test):
            return self
        if n < 1:
            raise ValueError(_("n must be at least 1 (or None for the whole test split), got {n!r}").format(n=n))
        keep = np.sort(np.random.default_rng(seed).choice(len(self.y_test), n, replace=False))
        return replace(self, x_test=self.x_test[keep], y_test=self.y_test[keep])


def label_budget(
    y: np.ndarray,
    labels_per_class: int,
    val_per_class: int | None = None,
    seed: int = 0,
    class_names: tuple[str, ...] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Pick ``labels_per_class`` training and ``val_per_class`` validation indices per class.

    Stratified and seeded. Each class's examples are shuffled once per seed; training
    examples are taken from the front of that order, validation examples from the back. So
    with the same seed a smaller budget's training (and validation) examples are the first
    ones of a larger budget's, and the two splits never overlap.

    Args:
        y: integer labels.
        labels_per_class: training labels per class.
        val_per_class: validation labels per class; default ``labels_per_class`` (a budget
            of k labels per class is k to train on plus k to validate with).
        seed: picks the examples.
        class_names: for the error message.

    Raises:
        ValueError: a budget below 1, or a class that holds fewer examples than asked for.

    Example:
        >>> y = np.array([0, 0, 0, 1, 1, 1])
        >>> train, val = label_budget(y, 1, seed=0)
        >>> sorted(y[train].tolist()), sorted(y[val].tolist())
        ([0, 1], [0, 1])
    """
    if labels_per_class < 1:
        raise ValueError(_("labels_per_class must be at least 1, got {value}").format(value=labels_per_class))
    val_per_class = labels_per_class if val_per_class is None else val_per_class
    if val_per_class < 0:
        raise ValueError(_("val_per_class must be 0 or more, got {value}").format(value=val_per_class))
    rng = np.random.default_rng(seed)
    train, val = [], []
    need = labels_per_class + val_per_class
    for label in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == label))
        if len(idx) < need:
            name = class_names[label] if class_names else label
            raise ValueError(_(
                "class {name!r} has only {have} examples, but labels_per_class={labels_per_class} + "
                "val_per_class={val_per_class} needs {need}; choose labels_per_class <= {most}"
            ).format(name=name, have=len(idx), labels_per_class=labels_per_class, val_per_class=val_per_class,
                     need=need, most=len(idx) - val_per_class))
        train.append(idx[:labels_per_class])
        val.append(idx[::-1][:val_per_class])  # from the back: the same first ones whatever the budget
    return np.concatenate(train), np.concatenate(val)


def _subset(x: np.ndarray, y: np.ndarray, classes: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    keep = np.isin(y, classes)
    remap = {c: i for i, c in enumerate(classes)}
    return x[keep], np.array([remap[int(v)] for v in y[keep]], dtype=np.int64)


def in_the_wild_cache() -> Path:
    """The file that keeps the rendered Fashion-MNIST after the first load (in the Keras cache).

    Example:
        >>> in_the_wild_cache().suffix
        '.npz'
    """
    from tlhelpers import render

    # the seeds, the scene and the renderer's code: a change to any of them renders anew
    recipe = f"{RENDER_SEEDS}{render.IN_THE_WILD}".encode() + Path(render.__file__).read_bytes()
    key = hashlib.sha256(recipe).hexdigest()[:12]
    return keras_cache_dir() / "datasets" / f"fashion-mnist-in-the-wild-{key}.npz"


def load_fashion_in_the_wild() -> Arrays:
    """All of Fashion-MNIST rendered as small photos (:func:`tlhelpers.render.render`), 32x32.

    Rendered once with the fixed seeds :data:`RENDER_SEEDS` (about 10 s), then read from
    :func:`in_the_wild_cache`: the same images on every machine.

    Example:
        >>> (x, y), (xt, yt) = load_fashion_in_the_wild()  # doctest: +SKIP
        >>> x.shape                                          # doctest: +SKIP
        (60000, 32, 32, 1)
    """
    from tlhelpers.render import render

    path = in_the_wild_cache()
    if path.is_file():
        with np.load(path) as saved:
            return (saved["x"], saved["y"]), (saved["xt"], saved["yt"])
    (x, y), (xt, yt) = load_fashion_mnist()
    x, xt = render(x, RENDER_SEEDS["train"]), render(xt, RENDER_SEEDS["test"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}-{os.getpid()}.npz")  # write, then move into place
    np.savez(tmp, x=x, y=y, xt=xt, yt=yt)
    os.replace(tmp, path)
    return (x, y), (xt, yt)


def _fashion(classes: tuple[int, ...], loader: Callable[[], Arrays]) -> Callable[[], tuple[Arrays, tuple[str, ...]]]:
    def load() -> tuple[Arrays, tuple[str, ...]]:
        (x, y), (xt, yt) = loader()
        names = tuple(FASHION_MNIST_CLASSES[c] for c in classes)
        return (_subset(x, y, classes), _subset(xt, yt, classes)), names

    return load


def _cifar10() -> tuple[Arrays, tuple[str, ...]]:
    return load_cifar10(), CIFAR10_CLASSES


# name -> loader returning ((x_train, y_train), (x_test, y_test)), class_names
# The offline track's datasets show items as photos would (load_fashion_in_the_wild);
# the "_clean" ones are Fashion-MNIST as published: centred 28 px items on black.
DATASETS: dict[str, Callable[[], tuple[Arrays, tuple[str, ...]]]] = {
    "fashion_mnist_source": _fashion(SOURCE_CLASSES, load_fashion_in_the_wild),
    "fashion_mnist_target": _fashion(TARGET_CLASSES, load_fashion_in_the_wild),
    "fashion_mnist": _fashion(tuple(range(10)), load_fashion_in_the_wild),
    "fashion_mnist_source_clean": _fashion(SOURCE_CLASSES, load_fashion_mnist),
    "fashion_mnist_target_clean": _fashion(TARGET_CLASSES, load_fashion_mnist),
    "fashion_mnist_clean": _fashion(tuple(range(10)), load_fashion_mnist),
    "cifar10": _cifar10,
}


def load_dataset(name: str) -> tuple[Arrays, tuple[str, ...]]:
    """Load a named dataset in full: ``(((x, y), (x_test, y_test)), class_names)``.

    Example:
        >>> _, names = load_dataset("fashion_mnist_source")  # doctest: +SKIP
        >>> names                                             # doctest: +SKIP
        ('T-shirt/top', 'Trouser', 'Dress', 'Sandal', 'Bag')
    """
    if name not in DATASETS:
        raise ValueError(_("unknown dataset {name!r}; choose one of: {choices}").format(
            name=name, choices=", ".join(DATASETS)))
    return DATASETS[name]()


def make_task(
    name: str,
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    class_names: tuple[str, ...],
    labels_per_class: int,
    val_per_class: int | None = None,
    seed: int = 0,
) -> Task:
    """Apply a label budget to full train/test arrays (see :func:`label_budget`).

    Example:
        >>> x = np.zeros((20, 4, 4, 1), np.uint8); y = np.repeat([0, 1], 10)
        >>> make_task("toy", (x, y), (x, y), ("a", "b"), 3, 2)
        Task('toy', 2 classes, train=6 + val=4 = 10 labels, test=20, images=(4, 4, 1))
    """
    x, y = train
    train_idx, val_idx = label_budget(y, labels_per_class, val_per_class, seed, class_names)
    return Task(name, tuple(class_names), x[train_idx], y[train_idx], x[val_idx], y[val_idx], *test)


def load_task(
    name: str | None = None, *, labels_per_class: int | None = None, val_per_class: int | None = None,
    seed: int = 0,
) -> Task:
    """Load a dataset with a label budget; the defaults come from the active track.

    The test split is the dataset's, or the track's fixed class-balanced subset of it
    (``test_per_class``; the imagenet track's laptop profile scores on 2,000 images).

    Args:
        name: a name from :data:`DATASETS`; default: the track's target dataset.
        labels_per_class: training labels per class; default: the track's budget.
        val_per_class: validation labels per class; default: the track's, but never more
            than ``labels_per_class``.
        seed: picks which examples form the budget.

    Example:
        >>> task = load_task(labels_per_class=5)  # doctest: +SKIP
    """
    from tlhelpers.config import current_track

    track = current_track()
    (train, test), names = load_dataset(name or track.dataset)
    if track.test_per_class is not None:
        test = balanced_subset(test, track.test_per_class)
    k = track.labels_per_class if labels_per_class is None else labels_per_class
    val = min(k, track.val_per_class) if val_per_class is None else val_per_class
    return make_task(name or track.dataset, train, test, names, k, val, seed)


def balanced_subset(split: tuple[np.ndarray, np.ndarray], per_class: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``per_class`` examples of each class of ``(x, y)``, drawn at random (fixed by ``seed``), in their original order.

    For the first ones of each class instead, nested from one size to the next, see :func:`take_per_class`.

    Example:
        >>> x, y = np.arange(6), np.array([0, 1, 0, 1, 0, 1])
        >>> balanced_subset((x, y), 2)[1].tolist()
        [0, 1, 0, 1]
    """
    x, y = split
    keep = np.sort(_per_class_indices(y, per_class, np.random.default_rng(seed)))
    return x[keep], y[keep]


def _per_class_indices(y: np.ndarray, k: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """Indices of ``k`` examples of each class, class by class: the first ``k``, or (with ``rng``) ``k`` drawn."""
    return np.concatenate([
        (np.flatnonzero(y == c) if rng is None else rng.permutation(np.flatnonzero(y == c)))[:k]
        for c in np.unique(y)
    ])


def first_per_class(y: np.ndarray, k: int) -> np.ndarray:
    """Indices of the first ``k`` examples of each class, class by class (nested: k=5 is inside k=10).

    A class with fewer than ``k`` examples gives all it has; :func:`take_per_class` refuses that.

    Example:
        >>> first_per_class(np.array([0, 1, 0, 1, 0, 1]), 2).tolist()
        [0, 2, 1, 3]
    """
    return _per_class_indices(y, k)


def take_per_class(x: np.ndarray, y: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``k`` examples of each class, in class order (nested: k=5 is inside k=10).

    Raises:
        ValueError: ``k`` below 1 or above the smallest class.

    Example:
        >>> x, y = take_per_class(np.arange(6), np.array([0, 1, 0, 1, 0, 1]), 2)
        >>> x.tolist(), y.tolist()
        ([0, 2, 1, 3], [0, 0, 1, 1])
    """
    counts = np.bincount(y)
    if k < 1 or k > counts[counts > 0].min():
        raise ValueError(_("k must be between 1 and {most} (the smallest class), got {k}").format(
            most=counts[counts > 0].min(), k=k))
    idx = first_per_class(y, k)
    return x[idx], y[idx]


def load_folder_task(
    folder: str | os.PathLike, *, labels_per_class: int, val_per_class: int = 5,
    test_fraction: float = 0.2, image_size: tuple[int, int] = (96, 96), seed: int = 0,
) -> Task:
    """A :class:`Task` from a folder of images: a stratified test split first, then a budget.

    Example:
        >>> task = load_folder_task("my_photos", labels_per_class=10)  # doctest: +SKIP
    """
    if not 0 < test_fraction < 1:
        raise ValueError(_("test_fraction must be between 0 and 1, got {value}").format(value=test_fraction))
    x, y, names = load_image_folder(folder, image_size)
    rng = np.random.default_rng(seed)
    test_idx = np.concatenate([
        rng.permutation(np.flatnonzero(y == c))[: max(1, int(round(test_fraction * np.sum(y == c))))]
        for c in np.unique(y)
    ])
    rest = np.setdiff1d(np.arange(len(y)), test_idx)
    return make_task(
        Path(folder).name, (x[rest], y[rest]), (x[test_idx], y[test_idx]), names,
        labels_per_class, val_per_class, seed,
    )
