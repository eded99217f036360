"""Saving a trained model safely, reloading it, and proving the reload is the same model.

``model.save("name.keras")`` is all Keras needs. What this module adds is what a
student's work deserves:

* **atomic**: the model is written to a temporary file next to the target, then given the
  target's name in one step (a hard link for a new name, ``os.replace`` to overwrite); a
  crash or a full disk mid-save leaves the old file (or no file) intact, never half a model;
* **no silent overwrite**: an existing file is kept and a ``FileExistsError`` says so,
  unless ``overwrite=True``;
* **verified**: :func:`compare_predictions` compares a reloaded model's predictions with
  the model in memory.

Example:
    >>> from tlhelpers.saving import save_model, load_model
    >>> path = save_model(model, "build/models/my_model.keras")  # doctest: +SKIP
    >>> same = load_model(path)                                  # doctest: +SKIP
"""

from __future__ import annotations

import errno
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

from tlhelpers.i18n import _

__all__ = ["compare_predictions", "models_dir", "save_model"]

SUFFIX = ".keras"


def models_dir() -> Path:
    """Where the course keeps saved models by default: ``build/models`` (git-ignored).

    Example:
        >>> models_dir().parts[-2:]
        ('build', 'models')
    """
    from tlhelpers.config import build_dir

    return build_dir() / "models"


def _check_path(path: str | os.PathLike) -> Path:
    path = Path(path)
    if path.suffix != SUFFIX:
        raise ValueError(_("model path {path!r} must end in {suffix!r} (the Keras 3 format), e.g. {example!r}").format(
            path=str(path), suffix=SUFFIX, example=str(path.with_suffix(SUFFIX))))
    if path.is_dir():
        raise IsADirectoryError(_("model path {path!r} is a folder; give a file name ending in {suffix!r}").format(
            path=str(path), suffix=SUFFIX))
    return path


def _refuse(path: Path) -> FileExistsError:
    return FileExistsError(
        errno.EEXIST,
        _("{path} already exists and was kept. Pass overwrite=True to replace it, or choose another "
          "file name").format(path=path),
        str(path),
    )


def save_model(model: keras.Model, path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Save ``model`` to ``path`` atomically; never replace an existing file unless asked.

    The model goes to a temporary ``.keras`` file in the same folder first (so the final
    rename stays on one file system), then ``os.replace`` puts it in place in one step.
    Without ``overwrite``, the rename is a hard link, which fails if the target appeared
    meanwhile, so even a file created during the save is not replaced.

    Args:
        model: the Keras model.
        path: target file, ending in ``.keras``; missing folders are created.
        overwrite: replace an existing file.

    Returns:
        The path written.

    Raises:
        ValueError: the path does not end in ``.keras``.
        FileExistsError: the file exists and ``overwrite`` is False (the file is untouched).

    Example:
        >>> save_model(model, "build/models/lesson05.keras")                  # doctest: +SKIP
        >>> save_model(model, "build/models/lesson05.keras", overwrite=True)  # doctest: +SKIP
    """
    path = _check_path(path)
    if path.exists() and not overwrite:
        raise _refuse(path)  # before the (slow) save: nothing is written
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{SUFFIX}", dir=path.parent)
    os.close(handle)
    temp = Path(temp_name)
    try:
        model.save(temp)
        if overwrite:
            os.replace(temp, path)
        else:
            _publish_new(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return path


def _publish_new(temp: Path, path: Path) -> None:
    """Give ``temp`` the name ``path`` only if nothing has that name yet."""
    try:
        os.link(temp, path)  # atomic, and fails with FileExistsError if path exists
    except FileExistsError:
        raise _refuse(path) from None
    except OSError:  # a file system without hard links: check, then rename
        if path.exists():
            raise _refuse(path) from None
        os.replace(temp, path)


def load_model(path: str | os.PathLike, compile: bool = True) -> keras.Model:
    """Load a model saved with :func:`save_model` (or ``model.save``).

    Raises:
        FileNotFoundError: no such file; the message says where models usually are.

    Example:
        >>> model = load_model("build/models/lesson05.keras")  # doctest: +SKIP
    """
    path = _check_path(path)
    if not path.is_file():
        raise FileNotFoundError(_(
            "no saved model at {path}; save one with tlhelpers.saving.save_model(model, path) "
            "(the course keeps them in {folder})"
        ).format(path=path, folder=models_dir()))
    return keras.saving.load_model(path, compile=compile)


@dataclass(frozen=True)
class Comparison:
    """How two models' predictions on the same inputs compare.

    Attributes:
        n: number of inputs compared.
        max_abs_diff: largest difference of any predicted probability.
        same_class: share of inputs with the same predicted class.
        atol: the tolerance for :attr:`identical`.
    """

    n: int
    max_abs_diff: float
    same_class: float
    atol: float

    @property
    def identical(self) -> bool:
        """Same class everywhere and every probability within ``atol``."""
        return self.same_class == 1.0 and self.max_abs_diff <= self.atol

    def __repr__(self) -> str:
        if self.identical:
            text = _("identical predictions on {n} inputs: same class for {same:.1%}, "
                     "largest probability difference {diff:.2g} (tolerance {atol:g})")
        else:
            text = _("DIFFERENT predictions on {n} inputs: same class for {same:.1%}, "
                     "largest probability difference {diff:.2g} (tolerance {atol:g})")
        return text.format(n=self.n, same=self.same_class, diff=self.max_abs_diff, atol=self.atol)


def compare_predictions(first: Any, second: Any, x: Any, atol: float = 1e-6, batch_size: int = 256,
                        second_x: Any = None) -> Comparison:
    """Run two models on the same images and compare their predictions.

    ``second_x``: the same images in the form ``second`` takes, when it differs from ``x``
    (e.g. raw pixels for a model of raw images, :func:`tlhelpers.pipeline.to_model_input`
    of them for the model inside it).

    Example:
        >>> m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
        >>> compare_predictions(m, m, np.ones((4, 3))).identical
        True
    """
    a = np.asarray(first.predict(x, batch_size=batch_size, verbose=0))
    b = np.asarray(second.predict(x if second_x is None else second_x, batch_size=batch_size, verbose=0))
    if a.shape != b.shape:
        raise ValueError(_("the models' outputs differ in shape: {first} vs {second}").format(first=a.shape, second=b.shape))
    return Comparison(
        n=len(a),
        max_abs_diff=float(np.max(np.abs(a - b))) if a.size else 0.0,
        same_class=float(np.mean(a.argmax(axis=-1) == b.argmax(axis=-1))) if a.size else 1.0,
        atol=atol,
    )
