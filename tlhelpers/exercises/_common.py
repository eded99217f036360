"""Helpers shared by the exercise checks: the placeholder answer, numbers, architectures.

Checks never show the expected answer when an answer is missing or wrong: they say what
is wrong and where to look (``tests/test_checks_no_answers.py`` holds them to it).

Example:
    >>> not_answered("set answer to a number.")
    ❌ Not yet: no answer yet: set answer to a number.
    >>> as_number("1.5"), as_number(True), as_number("x")
    (1.5, None, None)
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from tlhelpers.checks import Feedback
from tlhelpers.i18n import _
from tlhelpers.keras_internals import all_layers

if TYPE_CHECKING:
    import keras


def not_answered(what: str) -> Feedback:
    """The feedback for the untouched placeholder ``answer = None``: what to set, no answer."""
    return Feedback(False, _("no answer yet: {what}").format(what=what))


def multiple_choice(answer: Any, choices: dict[str, tuple[str, str]], right: str) -> Feedback:
    """A multiple-choice answer against ``choices`` (key -> (option, why)): the ``why`` of the
    picked option, translated; a missing or unknown key says which keys there are.

    Example:
        >>> multiple_choice("(A)", {"a": ("yes", "right."), "b": ("no", "no: wrong.")}, "a")
        ✅ Correct: (a) right.
    """
    keys = _(", ").join(repr(k) for k in choices)
    if answer is None:
        return not_answered(_("set answer to one of {keys}.").format(keys=keys))
    key = str(answer).strip().lower().strip("()")
    if key not in choices:
        return Feedback(False, _("answer {answer!r} is not one of {keys}.").format(answer=answer, keys=keys))
    why = _(choices[key][1])
    if key == right:
        return Feedback(True, _("({key}) {why}").format(key=key, why=why))
    return Feedback(False, _("({key}) {why} Try again.").format(key=key, why=why))


def as_number(answer: Any) -> float | None:
    """``answer`` as a finite float (numbers, NumPy scalars, numeric strings), else None."""
    if answer is None or isinstance(answer, bool):
        return None
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def architecture_at(backbone: str, input_size: int) -> keras.Model:
    """The backbone's architecture (no top, no pooling, random weights) at ``input_size``.

    The bundled backbone's weights file is fixed at 32 px, but its architecture (the same
    layers, built by :func:`tlhelpers.backbones.small_cnn`) takes any size.

    Example:
        >>> architecture_at("fashion_cnn", 64).output.shape
        (None, 8, 8, 256)
    """
    from tlhelpers.backbones import get_spec, load_backbone, small_cnn

    spec = get_spec(backbone)
    if spec.weights == "bundled":
        return small_cnn(int(input_size), spec.channels)
    return load_backbone(backbone, weights=None, input_size=int(input_size))


def multiply_adds(model) -> int:
    """Multiply-adds of one image through ``model``'s convolutions and dense layers.

    Counted from the layers' output shapes: a convolution does one multiply-add per output
    position, per kernel weight. (Elementwise layers, BatchNorm and activations, are left
    out: they scale with the pixels too.)

    Example:
        >>> import keras
        >>> m = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Conv2D(2, 3, padding="same")])
        >>> multiply_adds(m)  # 4 x 4 positions x 3 x 3 x 1 inputs x 2 filters
        288
    """
    import keras

    total = 0
    for layer in all_layers(model, include_self=False):
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            _, h, w, _ = layer.output.shape
            kh, kw = layer.kernel_size
            total += h * w * kh * kw * layer.input.shape[-1] * layer.depth_multiplier
        elif isinstance(layer, keras.layers.Conv2D):
            _, h, w, out = layer.output.shape
            kh, kw = layer.kernel_size
            total += h * w * kh * kw * layer.input.shape[-1] * out // layer.groups
        elif isinstance(layer, keras.layers.Dense):
            total += layer.input.shape[-1] * layer.units
    return int(total)
