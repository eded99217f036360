"""Exercise checks for lesson 02 (preprocessing): a backbone's contract, and augmentation.

Checks never show the expected answer for a missing or wrong one: they say what is
wrong and where to look.

Example:
    >>> check_pixel_prediction(None).correct
    False
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from tlhelpers.checks import Feedback, expect, run_checks
from tlhelpers.exercises._common import not_answered
from tlhelpers.i18n import _
from tlhelpers.preprocessing import apply_preprocess, check_batch

__all__ = ["check_augmentation", "check_pixel_prediction", "check_preprocessed"]


def check_preprocessed(answer: Any, raw: Any, backbone: str) -> Feedback:
    """Exercise 1: ``answer`` should be ``raw`` prepared for ``backbone`` (preprocessed exactly once).

    Example:
        >>> raw = np.linspace(0, 255, 48, dtype=np.float32).reshape(1, 4, 4, 3)
        >>> check_preprocessed(apply_preprocess(raw, "resnet50"), raw, "resnet50").correct
        True
    """
    if answer is None:
        return not_answered(_("set answer to the batch prepared for {backbone}.").format(backbone=backbone))
    if isinstance(answer, np.ndarray) and isinstance(raw, np.ndarray) and np.shares_memory(answer, raw):
        if raw.min() >= 0 and raw.max() <= 255 and np.array_equal(raw, np.round(raw)):
            return Feedback(False, _("answer is still the raw batch: {backbone} needs its preprocessing first (its "
                                     "contract is in section 3).").format(backbone=backbone))
        return Feedback(False, _("answer shares its memory with the raw batch: preprocess_input changed the raw "
                                 "images in place (the trap from section 3), so they are not raw any more. "
                                 "Hint: re-run the cell, and preprocess a copy of the raw batch."))
    try:
        x = np.asarray(answer, dtype=np.float32)
    except (TypeError, ValueError):
        return Feedback(False, _("answer should be an array of images, got {kind}.").format(kind=type(answer).__name__))
    expected = apply_preprocess(raw, backbone)
    if x.shape != expected.shape:
        return Feedback(False, _("answer has shape {shape}, expected {expected} (same images, same size).").format(
            shape=x.shape, expected=expected.shape))
    report = check_batch(x, backbone, warn=False)
    if np.allclose(x, expected, atol=1e-3):
        return Feedback(True, _("the batch is {backbone}'s preprocess_input applied once: range "
                                "{low:g} .. {high:g}.").format(
            backbone=backbone, low=report.observed[0], high=report.observed[1]))
    return Feedback(False, _("not {backbone}'s preprocessing applied once: {explanation}. Hint: {fix}").format(
        backbone=backbone, explanation=report.explanation,
        fix=report.fix or _("apply get_spec(backbone).preprocess to a copy of the raw images")))


RED = (255, 0, 0)  # exercise 2's pixel, RGB


def _through(preprocess, pixel) -> np.ndarray:
    image = np.asarray(pixel, np.float32).reshape(1, 1, 1, -1).copy()
    return np.asarray(preprocess(image), np.float64).reshape(-1)


def check_pixel_prediction(answer: Any, backbone: str = "resnet50", pixel: tuple[int, int, int] = RED) -> Feedback:
    """Exercise 2: the three values ``backbone``'s ``preprocess_input`` makes of one RGB ``pixel``.

    The values are asked in the order the backbone gets its channels. Usual mistakes are
    named: the channels left in RGB order, each mean subtracted from the wrong channel,
    another backbone's contract, preprocessing forgotten.

    Example:
        >>> check_pixel_prediction((-103.939, -116.779, 131.32)).correct
        True
        >>> check_pixel_prediction((131.32, -116.779, -103.939)).message
        "not (131.32, -116.779, -103.939): each channel has its mean subtracted, but the values are in RGB order. resnet50's preprocess_input ('caffe' mode) reorders the channels before it subtracts the means."
    """
    from tlhelpers.backbones import BACKBONES, get_spec

    spec = get_spec(backbone)
    if answer is None:
        return not_answered(_("set answer to the three values {backbone} gets for the pixel {pixel}, as a tuple "
                              "in the order the backbone takes its channels.").format(backbone=backbone, pixel=pixel))
    try:
        values = tuple(float(v) for v in answer)
    except (TypeError, ValueError):
        return Feedback(False, _("answer should be a tuple of three numbers, got {answer!r}.").format(answer=answer))
    if len(values) != 3:
        return Feedback(False, _("answer should hold three numbers, one per channel, got {count}.").format(
            count=len(values)))
    shown = "(" + ", ".join(f"{v:g}" for v in values) + ")"
    got = np.asarray(values)
    pixel_array = np.asarray(pixel, np.float64)
    expected = _through(spec.preprocess, pixel)

    def near(x: np.ndarray) -> bool:
        return x.shape == got.shape and bool(np.all(np.abs(got - x) <= 0.01))

    if near(expected):
        return Feedback(True, _("{backbone} gets {shown} for the RGB pixel {pixel}: its preprocess_input "
                                "reorders the channels to BGR, then subtracts each channel's ImageNet mean. The "
                                "flip is why a red object has its large value in the last channel.").format(
            backbone=backbone, shown=shown, pixel=pixel))
    if near(expected[::-1]):
        why = _("each channel has its mean subtracted, but the values are in RGB order. {backbone}'s "
                "preprocess_input ('caffe' mode) reorders the channels before it subtracts the means.").format(
            backbone=backbone)
    elif near(_through(spec.preprocess, pixel_array[::-1])[::-1]) or near(_through(spec.preprocess, pixel_array[::-1])):
        why = _("each mean belongs to one channel: subtract the blue mean from the blue value, and so on.")
    elif near(pixel_array):
        why = _("those are the raw values; {backbone} gets them only after its preprocess_input.").format(
            backbone=backbone)
    elif near(pixel_array[::-1]):
        why = _("the channels are reordered, but the means still have to come off.")
    else:
        others = [name for name, other in BACKBONES.items()
                  if name != backbone and other.channels == 3 and near(_through(other.preprocess, pixel))]
        if others:
            why = _("that is {other}'s contract; {backbone}'s is in the contract table of section 3.").format(
                other=others[0], backbone=backbone)
        else:
            why = _("apply {backbone}'s contract step by step: the scheme in the contract table of section 3, "
                    "then the means given in the exercise.").format(backbone=backbone)
    return Feedback(False, _("not {shown}: {why}").format(shown=shown, why=why))


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
    if augmentation is None:
        return not_answered(_("set answer to your augmentation: a Keras layer, or a keras.Sequential of layers."))
    if not isinstance(augmentation, keras.layers.Layer):
        return Feedback(False, _("answer should be a Keras layer or Sequential, got {kind}.").format(
            kind=type(augmentation).__name__))
    layers = augmentation.layers if isinstance(augmentation, keras.Sequential) else [augmentation]
    x = np.random.default_rng(0).uniform(0, 255, (4, image_size, image_size, channels)).astype(np.float32)

    def factor(layer: Any) -> tuple[float, float]:
        f = layer.factor
        return (-float(f), float(f)) if isinstance(f, (int, float)) else (float(f[0]), float(f[1]))

    flips = [l for l in layers if isinstance(l, keras.layers.RandomFlip)]
    rotations = [l for l in layers if isinstance(l, keras.layers.RandomRotation)]
    flip_found = (_("yours flips with mode {mode!r}").format(mode=flips[0].mode) if flips
                  else _("it has no RandomFlip layer"))
    turn_found = (_("yours has factor {factor!r}").format(factor=rotations[0].factor) if rotations
                  else _("it has no RandomRotation layer"))
    return run_checks(
        lambda: expect(bool(flips) and flips[0].mode == "horizontal", _("it flips horizontally."),
                       _("it needs a keras.layers.RandomFlip that mirrors images left to right; {found}. "
                         "Hint: the mode names the direction of the flip.").format(found=flip_found)),
        lambda: expect(bool(rotations) and np.allclose(factor(rotations[0]), (-0.1, 0.1)),
                       _("it rotates by up to 10% of a turn."),
                       _("it needs a keras.layers.RandomRotation that turns images by up to 10% of a full turn, "
                         "either way; {found}. Hint: help(keras.layers.RandomRotation) says in what unit its "
                         "factor counts.").format(found=turn_found)),
        lambda: expect(np.allclose(keras.ops.convert_to_numpy(augmentation(x, training=False)), x),
                       _("at training=False images pass unchanged."),
                       _("at training=False it changed the images; augmentation must be off outside training.")),
        lambda: expect(not np.allclose(keras.ops.convert_to_numpy(augmentation(x, training=True)), x),
                       _("at training=True it changes them."), _("at training=True the images did not change.")),
    )
