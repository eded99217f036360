"""Exercise checks for lesson 01 (pretrained models): predict, then check.

Each exercise asks for something the lesson does not print, but that follows from its
ideas: what a new head on pooled features costs, how feature maps scale with the image,
and which blocks to fine-tune on a backbone not shown. Each check computes the truth
(building the architecture with random weights where it needs one), works in either track,
and never shows the expected answer for a missing or wrong one.

Example:
    >>> check_head_parameters(None, "fashion_cnn", 5)
    ❌ Not yet: no answer yet: set answer to the number of parameters the new head adds (a whole number).
    >>> check_top_blocks(["conv1", "conv2"]).correct
    False
"""

from __future__ import annotations

from typing import Any

from tlhelpers.backbones import get_spec
from tlhelpers.checks import Feedback
from tlhelpers.exercises._common import architecture_at, as_number, not_answered
from tlhelpers.i18n import _

__all__ = ["check_feature_maps_at", "check_head_parameters", "check_top_blocks"]

OTHER_BACKBONE = "resnet50"  # exercise 3: a backbone whose blocks the lesson does not print


def check_head_parameters(answer: Any, backbone: str, num_classes: int, input_size: int | None = None) -> Feedback:
    """Exercise 1: how many parameters a new ``Dense(num_classes)`` head adds on ``pooling="avg"``.

    The head's input is the pooled vector (one number per channel of the last feature
    maps); a Dense layer has one weight per (input, output) pair and one bias per output.

    Example:
        >>> check_head_parameters(256 * 5 + 5, "fashion_cnn", 5).correct
        True
        >>> check_head_parameters(256 * 5, "fashion_cnn", 5).message
        'the head adds more than 1,280: that counts the weights, one per (input, output) pair, but each of the 5 outputs also has a bias.'
    """
    if answer is None:
        return not_answered(_("set answer to the number of parameters the new head adds (a whole number)."))
    value = as_number(answer)
    if value is None or value != int(value):
        return Feedback(False, _("answer should be a whole number of parameters, got {answer!r}.").format(answer=answer))
    value = int(value)
    size = input_size or get_spec(backbone).input_size
    maps = architecture_at(backbone, size)
    height, width, features = (int(v) for v in maps.output.shape[1:])
    weights = features * num_classes
    expected = weights + num_classes
    if value == expected:
        backbone_params = maps.count_params()
        return Feedback(True, _("the head adds {expected:,} parameters: {features} pooled features × {num_classes} "
                                "outputs = {weights:,} weights, plus {num_classes} biases. Next to the backbone's "
                                "{backbone_params:,} that is {share:.2%}: a new head is cheap "
                                "to train, which is why transfer learning starts there.").format(
            expected=expected, features=features, num_classes=num_classes, weights=weights,
            backbone_params=backbone_params, share=expected / backbone_params))
    if value == weights:
        why = _("that counts the weights, one per (input, output) pair, but each of the {num_classes} outputs "
                "also has a bias.").format(num_classes=num_classes)
        return Feedback(False, _("the head adds more than {value:,}: {why}").format(value=value, why=why))
    if value == height * width * features * num_classes + num_classes:
        why = _("that is what a head on the flattened feature maps (pooling=None) would add; with pooling='avg' "
                "the head gets one number per channel.")
    elif value == expected + maps.count_params():
        why = _("that includes the backbone's parameters; the question asks only for what the head adds.")
    elif value in (features, features + num_classes, num_classes):
        why = _("that is one layer's width, not a parameter count: a Dense layer has one weight for every "
                "(input, output) pair, and one bias per output.")
    else:
        why = _("a Dense layer has one weight for every (input, output) pair plus one bias per output. Its input "
                "here is the pooled vector: section 2 shows its length.")
    return Feedback(False, _("the head does not add {value:,} parameters: {why}").format(value=value, why=why))


def _as_shape(value: Any) -> tuple | None:
    try:
        return tuple(None if v is None else int(v) for v in value)
    except (TypeError, ValueError):
        return None


def check_feature_maps_at(answer: Any, backbone: str, input_size: int, scale: int = 2) -> Feedback:
    """Exercise 2: the feature maps' shape (no top, no pooling) for images ``scale`` times larger.

    The lesson prints the maps of ``backbone`` at ``input_size``; the question is about
    the same architecture at ``scale * input_size`` px. The batch dimension may be written
    as ``None`` or left out.

    Example:
        >>> check_feature_maps_at((None, 8, 8, 256), "fashion_cnn", 32).correct
        True
        >>> check_feature_maps_at((None, 4, 4, 256), "fashion_cnn", 32).message
        'not (None, 4, 4, 256): that is the shape at the size the lesson used. The maps cover the image: a larger image gives larger maps, shrunk by the same factor.'
    """
    if answer is None:
        return not_answered(_("set answer to a shape tuple such as (None, height, width, channels)."))
    shape = _as_shape(answer)
    if shape is None or len(shape) not in (3, 4):
        return Feedback(False, _("answer should be a shape tuple (None, height, width, channels), got {answer!r}.").format(
            answer=answer))
    if len(shape) == 3:
        shape = (None, *shape)
    size = scale * input_size
    shown = tuple(architecture_at(backbone, input_size).output.shape)
    expected = tuple(architecture_at(backbone, size).output.shape)
    if shape[1:] == expected[1:]:
        return Feedback(True, _("at {size} px the maps are {height}x{width} with {channels} channels "
                                "(at {input_size} px: {shown_height}x{shown_width}): the poolings and strided "
                                "convolutions shrink height and width by the same factor at any size, and the "
                                "convolutions keep their number of filters. Pooled, the vector has the same length at "
                                "both sizes: the head does not depend on the image size.").format(
            size=size, height=expected[1], width=expected[2], channels=expected[3], input_size=input_size,
            shown_height=shown[1], shown_width=shown[2]))
    if shape[3] != expected[3]:
        why = _("the number of channels is set by the last block's convolutions, whatever the image size.")
    elif shape[1:] == shown[1:]:
        why = _("that is the shape at the size the lesson used. The maps cover the image: a larger image gives "
                "larger maps, shrunk by the same factor.")
    elif shape[1] != shape[2]:
        why = _("the input is square, and so are the maps.")
    else:
        why = _("height and width shrink by the same factor at any input size: find that factor from the input "
                "side and the last maps in section 4, then apply it to the new size.")
    return Feedback(False, _("not {shape}: {why}").format(shape=_shape_text(shape), why=why))


def _shape_text(shape: tuple) -> str:
    return "(" + ", ".join("None" if v is None else str(v) for v in shape) + ")"


def check_top_blocks(answer: Any, backbone: str = OTHER_BACKBONE, count: int = 2) -> Feedback:
    """Exercise 3: the ``count`` blocks of ``backbone`` to fine-tune first (the most specific ones).

    Example:
        >>> check_top_blocks(["conv4", "conv5"]).correct
        True
        >>> check_top_blocks(["conv1", "conv5"]).message
        "one of ['conv1', 'conv5'] is right, the other is not. The first block, conv1, detects edges and textures any image has, the most reusable features there are; fine-tuning starts at the other end."
    """
    spec = get_spec(backbone)
    names = list(spec.block_names)
    where = _("get_spec({backbone!r}).block_names lists its blocks from the input up").format(backbone=backbone)
    if answer is None:
        return not_answered(_("set answer to a list of {count} block names of {backbone}: {where}.").format(
            count=count, backbone=backbone, where=where))
    picked = [answer] if isinstance(answer, str) else answer
    try:
        picked = [str(name) for name in picked]
    except TypeError:
        return Feedback(False, _("answer should be a list of {count} block names, got {answer!r}.").format(
            count=count, answer=answer))
    unknown = [name for name in picked if name not in names]
    if unknown:
        return Feedback(False, _("{unknown} are not blocks of {backbone}: {where}.").format(
            unknown=unknown, backbone=backbone, where=where))
    if len(set(picked)) != count:
        return Feedback(False, _("name {count} different blocks, got {picked!r}.").format(count=count, picked=picked))
    top = names[-count:]
    if set(picked) == set(top):
        order = ", ".join(names)
        return Feedback(True, _("{top} are {backbone}'s top {count} blocks (from the input: {order}): "
                                "the most specific to its source task, so the first to adapt to a new one; the "
                                "blocks below hold generic features that transfer as they are.").format(
            top=_(" and ").join(top), backbone=backbone, count=count, order=order))
    right = len(set(picked) & set(top))
    lowest = names[0]
    if lowest in picked:
        why = _("The first block, {lowest}, detects edges and textures any image has, the most reusable features "
                "there are; fine-tuning starts at the other end.").format(lowest=lowest)
    else:
        why = _("Features get more specific block by block from the input up, and fine-tuning starts with the most "
                "specific.")
    if right == 1:
        head = _("one of {picked!r} is right, the other is not.").format(picked=picked)
    else:
        head = _("neither of {picked!r} is right.").format(picked=picked)
    return Feedback(False, _("{head} {why}").format(head=head, why=why))
