"""Exercise checks for lesson 01 (pretrained models): parameters, pooled shapes, blocks.

Example:
    >>> check_specific_block("block4", "fashion_cnn").correct
    True
"""

from __future__ import annotations

from typing import Any

import keras

from tlhelpers.backbones import get_spec
from tlhelpers.checks import Feedback, check_choice, check_equal


def check_parameter_count(answer: Any, base: keras.Model) -> Feedback:
    """Exercise 1: how many parameters (trainable and not) does ``base`` have?

    Example:
        >>> m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> check_parameter_count(8, m).correct
        True
    """
    return check_equal(answer, base.count_params(), f"the number of parameters of {base.name}",
                       hint="base.count_params(), or the total in base.summary()")


def _as_shape(value: Any) -> tuple | None:
    try:
        return tuple(None if v is None else int(v) for v in value)
    except (TypeError, ValueError):
        return None


def check_pooled_shape(answer: Any, backbone: str, input_size: int | None = None, pooling: str = "max") -> Feedback:
    """Exercise 2: the output shape of ``backbone`` with ``include_top=False`` and ``pooling``.

    The batch dimension may be written as ``None`` or left out.

    Example:
        >>> check_pooled_shape((None, 256), "fashion_cnn").correct
        True
    """
    from tlhelpers.backbones import load_backbone

    base = load_backbone(backbone, weights=None, input_size=input_size, pooling=pooling)
    expected = tuple(base.output.shape)
    shape = _as_shape(answer)
    if shape is not None and len(shape) == len(expected) - 1:
        shape = (None, *shape)
    return check_equal(shape if shape is not None else answer, expected,
                       f"the output shape with pooling={pooling!r}",
                       hint="global pooling averages (or maxes) each feature map to one number: one per channel")


def check_specific_block(answer: Any, backbone: str) -> Feedback:
    """Exercise 3: which block of ``backbone`` is the most specific to its source task?

    Example:
        >>> check_specific_block("block1", "fashion_cnn").correct
        False
    """
    spec = get_spec(backbone)
    top = spec.block_names[-1]
    return check_choice(
        answer, [top], "your answer",
        f"{top} is the top block: it combines everything below into features for the source classes, "
        "so it is the least reusable and the first to fine-tune or replace.",
        hint=f"the blocks, bottom to top: {', '.join(spec.block_names)}",
    )
