"""What the four graded assignments' checks share: running student code, verdicts, the backbone's facts.

Each assignment has its module (``a1_freezing`` ... ``a4_own_images``); a check there
gathers evidence from the student's objects, publishes it (:mod:`tlhelpers.evidence`) and
judges it with a ``judge_*`` function that runs no student code, which the grader calls
again outside the kernel (each module's ``JUDGES``, gathered in
:data:`tlhelpers.exercises.assignment_checks.JUDGES`). Here is what several of them use:
:func:`call_student` (a student's function, its crash a verdict, its warnings off stderr),
the verdicts several judges give, :func:`backbone_facts` (a judge's own copy of a
registry backbone), and predictions as evidence.

Example:
    >>> call_student(lambda x: x + 1, 1, what="f")
    (2, None)
    >>> call_student(None, 1, what="f")[1]
    ❌ Not yet: f should be a function, got NoneType None.
    >>> predictions_form(predictions_evidence(np.array([0, 1])), 2, 2)
    ✅ Correct: 2 predictions, one class index per test image.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

import numpy as np

from tlhelpers import evidence
from tlhelpers.checks import Feedback
from tlhelpers.i18n import _
from tlhelpers.quiet import stderr_as_notes

__all__ = [
    "MAX_INPUT_SIZE", "Judge", "LayerFacts", "backbone_facts", "call_student", "fail", "layers_facts",
    "not_a_model", "not_the_backbone", "one_probability_per_class", "predictions_evidence", "predictions_form",
]

#: A judge of the grader's table: (the record's data, its key, the facts the grader measured) -> verdict.
Judge = Callable[[dict[str, Any], dict[str, Any], dict[str, Any]], Feedback]

# ---- running student code, and the verdicts several judges give ----------------------------


def call_student(fn: Any, *args: Any, what: str) -> tuple[Any, Feedback | None]:
    """Call a student's function; a crash becomes a Feedback (NotImplementedError passes through).

    It runs inside :func:`tlhelpers.quiet.stderr_as_notes`: nbgrader scores a test cell 0 when
    anything is written to stderr, so a library warning must not cost a correct answer its points.
    """
    if not callable(fn):
        return None, Feedback(False, _("{what} should be a function, got {type} {value!r}.").format(
            what=what, type=type(fn).__name__, value=fn))
    try:
        with stderr_as_notes():
            return fn(*args), None
    except NotImplementedError:
        raise
    except Exception as err:
        return None, Feedback(False, _("{what} raised {error}: {message}").format(
            what=what, error=type(err).__name__, message=err))


def fail(message: str) -> Feedback:
    """A failed check saying ``message``."""
    return Feedback(False, message)


def not_a_model(found: dict[str, Any], variable: bool = False) -> Feedback:
    """The evidence names no Keras model (``variable``: the notebook's variable ``model``)."""
    message = _("model should be a keras.Model, got {got}.") if variable else _("the model should be a keras.Model, got {got}.")
    return fail(message.format(got=found["not a model"]))


def not_the_backbone(err: Exception) -> Feedback:
    """The evidence's layers are not those of the registry backbone it names."""
    return fail(_("the model's base is not the backbone it names: {error}.").format(error=err))


def one_probability_per_class(num_classes: int, shape: tuple) -> Feedback:
    """The model's output is not one probability per class."""
    return fail(_("the model should output one probability per class, shape (None, {num_classes}); got {shape}.").format(
        num_classes=num_classes, shape=shape))


# ---- what a judge knows about a registry backbone ------------------------------------------

#: The largest input size a judge builds a backbone at (evidence naming a larger one fails).
MAX_INPUT_SIZE = 1024


@dataclass(frozen=True)
class LayerFacts:
    """What the registry says about one weighted layer of a backbone.

    Attributes:
        block: the block it belongs to.
        batchnorm: a BatchNormalization layer.
        digests: :func:`tlhelpers.evidence.digest` of each pretrained weight (empty unless asked for).
    """

    block: str
    batchnorm: bool
    digests: tuple[str, ...] = ()


@lru_cache(maxsize=8)
def backbone_facts(name: str, input_size: int, pretrained: bool = False) -> dict[str, LayerFacts]:
    """Each weighted layer of the registry backbone ``name``, in order, built here (never a student's model).

    Raises:
        ValueError: an unknown backbone, or an input size outside 8..:data:`MAX_INPUT_SIZE`.

    Example:
        >>> facts = backbone_facts("fashion_cnn", 32)
        >>> facts["block1_bn1"]
        LayerFacts(block='block1', batchnorm=True, digests=())
    """
    import keras

    from tlhelpers.backbones import block_of_layers, get_spec, load_backbone

    spec = get_spec(name)
    if type(input_size) is not int or not 8 <= input_size <= MAX_INPUT_SIZE:
        raise ValueError(_("input size {size!r} is not one a backbone is built at (8..{largest})").format(
            size=input_size, largest=MAX_INPUT_SIZE))
    with stderr_as_notes():
        base = load_backbone(name, weights="default" if pretrained else None, input_size=input_size)
    return {
        layer.name: LayerFacts(block, isinstance(layer, keras.layers.BatchNormalization),
                               tuple(evidence.digest(v.numpy()) for v in layer.weights) if pretrained else ())
        for block, layers in block_of_layers(base, spec).items() for layer in layers if layer.weights
    }


def layers_facts(found: dict[str, Any], rows: list[list[Any]]) -> tuple[Any, dict[str, LayerFacts]]:
    """The evidence's backbone spec, and the facts of each layer in ``rows`` (``[name, class name, ...]``).

    A layer the backbone lacks (the head of a model built on the backbone's own layers)
    joins the top block, as in :func:`tlhelpers.backbones.block_of_layers`.

    Raises:
        ValueError: the evidence names no registry backbone, or lacks one of its layers.
    """
    from tlhelpers.backbones import get_spec

    spec = get_spec(found["backbone"])
    facts = backbone_facts(spec.name, found["input_size"])
    names = [row[0] for row in rows]
    missing = [name for name in facts if name not in names]
    if missing:
        raise ValueError(_("the evidence lacks layer {layer!r} of {backbone}").format(layer=missing[0], backbone=spec.name))
    top = spec.block_names[-1]
    return spec, {row[0]: facts.get(row[0]) or LayerFacts(top, row[1] == "BatchNormalization") for row in rows}


# ---- predictions as evidence ----------------------------------------------------------------


def predictions_evidence(predictions: Any) -> dict[str, Any]:
    """Predictions as JSON values: their shape and type, the first few, and all of them when they are class indices.

    Example:
        >>> predictions_evidence(np.array([2, 0]))
        {'shape': [2], 'dtype': 'int64', 'head': '[2 0]', 'predictions': [2, 0]}
    """
    p = np.asarray(predictions)
    found: dict[str, Any] = {"shape": list(p.shape), "dtype": str(p.dtype), "head": str(p[:5] if p.ndim else p)}
    if p.ndim == 1 and np.issubdtype(p.dtype, np.integer):
        found["predictions"] = p.tolist()
    return found


def predictions_form(found: dict[str, Any], n: int, num_classes: int, what: str = "solve(task)") -> Feedback:
    """``n`` predictions, each a class index below ``num_classes`` (``what`` made them), or what is wrong."""
    shape = tuple(found["shape"])
    if shape != (n,):
        hint = _(" Take the most likely class: probabilities.argmax(axis=1).") if len(shape) == 2 else ""
        return fail(_("{what} should return one class index per test image, shape ({n},); got shape {shape}.{hint}").format(
            what=what, n=n, shape=shape, hint=hint))
    values = found.get("predictions")
    if values is None or (values and (min(values) < 0 or max(values) >= num_classes)):
        return fail(_("the predictions should be integer class indices from 0 to {last}; "
                      "got {dtype} values {head}...").format(last=num_classes - 1, dtype=found["dtype"], head=found["head"]))
    return Feedback(True, _("{n} predictions, one class index per test image.").format(n=n))

