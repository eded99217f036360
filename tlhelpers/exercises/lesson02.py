"""Exercise checks for lesson 02 (preprocessing): a backbone's contract, and augmentation.

Example:
    >>> check_expected_range((-1, 1), "mobilenet_v2").correct
    True
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from tlhelpers.checks import Feedback, expect, run_checks
from tlhelpers.preprocessing import apply_preprocess, check_batch, contract


def check_preprocessed(answer: Any, raw: Any, backbone: str) -> Feedback:
    """Exercise 1: ``answer`` should be ``raw`` prepared for ``backbone`` (preprocessed exactly once).

    Example:
        >>> raw = np.linspace(0, 255, 48, dtype=np.float32).reshape(1, 4, 4, 3)
        >>> check_preprocessed(apply_preprocess(raw, "resnet50"), raw, "resnet50").correct
        True
    """
    if answer is None:
        return Feedback(False, f"set answer to the batch prepared for {backbone}.")
    if isinstance(answer, np.ndarray) and isinstance(raw, np.ndarray) and np.shares_memory(answer, raw):
        return Feedback(False, "answer shares its memory with the raw batch: preprocess_input changed the raw "
                               "images in place (the trap from section 3), so they are not raw any more. "
                               "Hint: re-run the cell, and preprocess a copy: preprocess_input(raw_batch.copy())")
    try:
        x = np.asarray(answer, dtype=np.float32)
    except (TypeError, ValueError):
        return Feedback(False, f"answer should be an array of images, got {type(answer).__name__}.")
    expected = apply_preprocess(raw, backbone)
    if x.shape != expected.shape:
        return Feedback(False, f"answer has shape {x.shape}, expected {expected.shape} (same images, same size).")
    report = check_batch(x, backbone, warn=False)
    if np.allclose(x, expected, atol=1e-3):
        return Feedback(True, f"the batch is {backbone}'s preprocess_input applied once: range "
                              f"{report.observed[0]:g} .. {report.observed[1]:g}.")
    return Feedback(False, f"not {backbone}'s preprocessing applied once: {report.explanation}. "
                           f"Hint: {report.fix or 'apply get_spec(backbone).preprocess to a copy of the raw images'}")


def check_expected_range(answer: Any, backbone: str) -> Feedback:
    """Exercise 2: the ``(min, max)`` range ``backbone``'s input has after its preprocessing.

    Example:
        >>> check_expected_range((0, 255), "mobilenet_v2").correct
        False
    """
    lo, hi = contract(backbone).after
    try:
        a, b = (float(v) for v in answer)
    except (TypeError, ValueError):
        return Feedback(False, f"answer should be a (min, max) pair of numbers, got {answer!r}.")
    tol = 0.01 * (hi - lo)
    return expect(
        abs(a - lo) <= tol and abs(b - hi) <= tol,
        f"{backbone} takes inputs from {lo:g} to {hi:g} after preprocessing.",
        f"{backbone}'s inputs should range over about ({lo:g}, {hi:g}), got ({a:g}, {b:g}). "
        "Hint: look at the contract table, or apply its preprocess_input to 0 and 255.",
    )


def check_augmentation(augmentation: Any, image_size: int = 32, channels: int = 1) -> Feedback:
    """Exercise 3: an augmentation with a random horizontal flip and a rotation of up to 10%.

    Checks what it does, not how it is written: images pass unchanged at
    ``training=False``, change at ``training=True``, and the layers include a horizontal
    flip and a rotation with factor 0.1.

    Example:
        >>> from tlhelpers.preprocessing import make_augmentation
        >>> check_augmentation(make_augmentation(flip=True, rotation=0.1, zoom=0, contrast=0)).correct
        True
    """
    if not isinstance(augmentation, keras.layers.Layer):
        return Feedback(False, f"answer should be a Keras layer or Sequential, got {type(augmentation).__name__}.")
    layers = augmentation.layers if isinstance(augmentation, keras.Sequential) else [augmentation]
    x = np.random.default_rng(0).uniform(0, 255, (4, image_size, image_size, channels)).astype(np.float32)

    def factor(layer: Any) -> tuple[float, float]:
        f = layer.factor
        return (-float(f), float(f)) if isinstance(f, (int, float)) else (float(f[0]), float(f[1]))

    flips = [l for l in layers if isinstance(l, keras.layers.RandomFlip)]
    rotations = [l for l in layers if isinstance(l, keras.layers.RandomRotation)]
    return run_checks(
        lambda: expect(bool(flips) and flips[0].mode == "horizontal", "it flips horizontally.",
                       "it needs keras.layers.RandomFlip('horizontal') (mode 'horizontal', not vertical)."),
        lambda: expect(bool(rotations) and np.allclose(factor(rotations[0]), (-0.1, 0.1)),
                       "it rotates by up to 10% of a turn.",
                       "it needs keras.layers.RandomRotation(0.1)."),
        lambda: expect(np.allclose(keras.ops.convert_to_numpy(augmentation(x, training=False)), x),
                       "at training=False images pass unchanged.",
                       "at training=False it changed the images; augmentation must be off outside training."),
        lambda: expect(not np.allclose(keras.ops.convert_to_numpy(augmentation(x, training=True)), x),
                       "at training=True it changes them.", "at training=True the images did not change."),
    )
