"""Assignment 1 (``a1_freezing``): a new classifier on a frozen base, unfreezing the top blocks, fine-tuning.

Each check gathers its evidence from the student's model (each layer's weights and what
trains, fingerprints of the weights, the optimizer's rate), publishes it, and judges it
with a ``judge_*`` function that runs no student code. The grader calls the same judges
outside the kernel (:data:`JUDGES`), where
:func:`~tlhelpers.exercises.assignment_common.backbone_facts` is its own copy of the backbone.

Example:
    >>> judge_unfrozen({"not a model": "NoneType"}, 2)
    ❌ Not yet: the model should be a keras.Model, got NoneType.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tlhelpers import evidence
from tlhelpers.checks import Feedback
from tlhelpers.exercises.assignment_common import (
    Judge,
    backbone_facts,
    fail,
    layers_facts,
    not_a_model,
    not_the_backbone,
    one_probability_per_class,
)
from tlhelpers.i18n import _
from tlhelpers.quiet import stderr_as_notes

__all__ = [
    "JUDGES", "check_classifier", "check_fine_tuned", "check_unfrozen", "classifier_evidence", "fine_tuned_evidence",
    "judge_classifier", "judge_fine_tuned", "judge_unfrozen", "unfrozen_evidence", "weight_values",
]


def _params(weights: Any) -> int:
    return sum(int(np.prod(v.shape)) for v in weights)


def _nested_base(model: Any, base: Any) -> bool:
    from tlhelpers.keras_internals import all_layers

    layers = {id(layer) for layer in all_layers(model)}
    return all(id(layer) in layers for layer in base.layers)


def classifier_evidence(model: Any, base: Any) -> dict[str, Any]:
    """What :func:`check_classifier` reads from the student's model, as JSON values.

    Example:
        >>> from tlhelpers import backbones, transfer
        >>> base = backbones.load_backbone("fashion_cnn", weights=None)
        >>> classifier_evidence(transfer.build_classifier(base, 3), base)["output_shape"]
        [None, 3]
    """
    import keras

    from tlhelpers.transfer import find_backbone

    if not isinstance(model, keras.Model):
        return {"not a model": type(model).__name__}
    try:
        _base, spec = find_backbone(model)
    except ValueError as err:
        return {"failed": str(err)}
    found: dict[str, Any] = {"backbone": spec.name, "input_size": base.input_shape[1], "nested": _nested_base(model, base),
                             "output_shape": list(model.output_shape)}
    if not found["nested"] or len(found["output_shape"]) != 2:
        return found
    lo, hi = spec.input_range
    x = np.random.default_rng(0).uniform(lo, hi, (2, *model.input_shape[1:])).astype("float32")
    with stderr_as_notes():
        found["probabilities"] = np.round(np.asarray(model(x, training=False), np.float64), 6).tolist()
    trainable = {id(v) for v in model.trainable_weights}  # not base.trainable_weights: see check_unfrozen
    found["base"] = [[layer.name, type(layer).__name__, sum(id(v) in trainable for v in layer.weights)]
                     for layer in base.layers if layer.weights]
    found["trainable_params"] = _params(model.trainable_weights)
    return found


def judge_classifier(found: dict[str, Any], num_classes: int) -> Feedback:
    """The verdict on :func:`classifier_evidence` (runs no student code: the grader calls it too).

    Example:
        >>> judge_classifier({"not a model": "NoneType"}, 3).message
        'build_model should return a keras.Model, got NoneType.'
    """
    if "not a model" in found:
        return fail(_("build_model should return a keras.Model, got {got}.").format(got=found["not a model"]))
    if "failed" in found:
        return fail(str(found["failed"]))
    if not found["nested"]:
        return fail(_("the model should be built on the base you were given (use the `base` argument; do not load "
                      "another one)."))
    shape = tuple(found["output_shape"])
    if shape[-1] != num_classes or len(shape) != 2:
        return one_probability_per_class(num_classes, shape)
    try:
        spec, _facts = layers_facts(found, found["base"])
    except ValueError as err:
        return not_the_backbone(err)
    probs = np.asarray(found["probabilities"], np.float64)
    if probs.min() < -1e-6 or not np.allclose(probs.sum(axis=1), 1.0, atol=1e-3):
        return fail(_("the outputs should be probabilities that sum to 1: end the head with "
                      "Dense(num_classes, activation='softmax')."))
    trainable_base = sum(int(n) for _, _, n in found["base"])
    if trainable_base:
        return fail(_("{n} weight tensors of the base would train: freeze it with base.trainable = False.").format(
            n=trainable_base))
    if not found["trainable_params"]:
        return fail(_("nothing in the model trains: the new head must stay trainable (freeze only the base)."))
    return Feedback(True, _("a {num_classes}-class head ({params:,} trainable parameters) on a frozen {backbone} base.").format(
        num_classes=num_classes, params=found["trainable_params"], backbone=spec.name))


def check_classifier(model: Any, base: Any, num_classes: int) -> Feedback:
    """A new classifier on ``base``: the base frozen, a trainable softmax head of ``num_classes``.

    Publishes its evidence (:func:`classifier_evidence`), judged by :func:`judge_classifier`.

    Example:
        >>> from tlhelpers import backbones, transfer
        >>> base = backbones.load_backbone("fashion_cnn", weights=None)
        >>> check_classifier(transfer.build_classifier(base, 3), base, 3)  # doctest: +ELLIPSIS
        ✅ Correct: ...
    """
    found = classifier_evidence(model, base)
    evidence.publish("classifier", {"num_classes": num_classes}, found)
    return judge_classifier(found, num_classes)


def _layer_rows(model: Any) -> dict[str, Any]:
    """Each weighted layer of the backbone in ``model`` and of its head: name, parameters, trainable parameters."""
    import keras

    from tlhelpers.transfer import find_backbone

    base, spec = find_backbone(model)
    head = [] if base is model else [l for l in model.layers if l is not base and not isinstance(l, keras.layers.InputLayer)]

    def rows(layers: list) -> list[list[Any]]:
        return [[l.name, type(l).__name__, _params(l.weights), _params(l.trainable_weights)] for l in layers if l.weights]

    return {"backbone": spec.name, "input_size": base.input_shape[1], "base": rows(base.layers), "head": rows(head)}


def unfrozen_evidence(model: Any) -> dict[str, Any]:
    """What :func:`check_unfrozen` reads: each weighted layer's parameters and trainable parameters.

    Example:
        >>> from tlhelpers import backbones, transfer
        >>> model = transfer.build_classifier(backbones.load_backbone("fashion_cnn", weights=None), 5)
        >>> unfrozen_evidence(model)["base"][0]
        ['block1_conv1', 'Conv2D', 144, 0]
    """
    import keras

    if not isinstance(model, keras.Model):
        return {"not a model": type(model).__name__}
    try:
        return _layer_rows(model)
    except ValueError as err:
        return {"failed": str(err)}


def judge_unfrozen(found: dict[str, Any], depth: int) -> Feedback:
    """The verdict on :func:`unfrozen_evidence`; blocks and BatchNorm layers come from :func:`backbone_facts`.

    Example:
        >>> judge_unfrozen({"failed": "model 'm' has no backbone from the registry"}, 2).correct
        False
    """
    if "not a model" in found:
        return not_a_model(found)
    if "failed" in found:
        return fail(str(found["failed"]))
    try:
        spec, facts = layers_facts(found, found["base"])
    except ValueError as err:
        return not_the_backbone(err)
    top = spec.block_names[spec.num_blocks - depth:] if depth else ()
    for name, _kind, params, trainable in found["base"]:
        fact, trains = facts[name], trainable > 0
        if not params:
            continue
        if fact.batchnorm:
            if trains:
                return fail(_(
                    "BatchNorm layer {name!r} in {block} is trainable: keep every BatchNorm layer "
                    "frozen (layer.trainable = False) so its statistics from pretraining stay put."
                ).format(name=name, block=fact.block))
        elif fact.block in top and not trains:
            return fail(_("{block} is one of the top {depth} block(s) and should train, but its layer {name!r} is "
                          "frozen.").format(block=fact.block, depth=depth, name=name))
        elif fact.block not in top and trains:
            return fail(_(
                "{block} should stay frozen (only the top {depth} block(s) train), but its layer "
                "{name!r} is trainable."
            ).format(block=fact.block, depth=depth, name=name))
    frozen_head = [name for name, _kind, params, trainable in found["head"] if params and not trainable]
    if frozen_head:
        return fail(_("the head should keep training, but {name!r} is frozen.").format(name=frozen_head[0]))
    lower = [b for b in spec.block_names if b not in top]
    trains = (_("the top {depth} block(s) ({blocks}) train without their BatchNorm layers").format(
        depth=depth, blocks=", ".join(top)) if top else _("no block trains"))
    frozen = _("{blocks} stay frozen").format(blocks=", ".join(lower)) if lower else _("no block stays frozen")
    return Feedback(True, _("{trains}; {frozen}; the head trains.").format(trains=trains, frozen=frozen))


def check_unfrozen(model: Any, depth: int) -> Feedback:
    """Exactly the top ``depth`` blocks train (BatchNorm excluded), lower blocks are frozen, the head trains.

    Reads which weights of each layer train (:func:`unfrozen_evidence`, published), and
    places each layer in its block by the registry's block boundaries
    (:func:`judge_unfrozen`), so any way of setting ``trainable`` that gives this passes.
    (In Keras 3 a layer set trainable inside a base whose ``trainable`` is False still
    trains as part of the outer model, so the base's own flag is not what counts.)

    Example:
        >>> from tlhelpers import backbones, transfer
        >>> model = transfer.build_classifier(backbones.load_backbone("fashion_cnn", weights=None), 5)
        >>> _ = transfer.unfreeze_top(model, 1)
        >>> check_unfrozen(model, 1)  # doctest: +ELLIPSIS
        ✅ Correct: the top 1 block(s) (block4) train...
    """
    found = unfrozen_evidence(model)
    evidence.publish("unfrozen", {"depth": depth}, found)
    return judge_unfrozen(found, depth)


def weight_values(model: Any) -> dict[int, np.ndarray]:
    """The value of every weight of ``model`` (trainable or not), keyed by the variable's id.

    Example:
        >>> import keras
        >>> m = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> len(weight_values(m))
        2
    """
    return {id(v): np.array(v.numpy()) for v in model.weights}


def fine_tuned_evidence(model: Any, before: dict[int, np.ndarray]) -> dict[str, Any]:
    """What :func:`check_fine_tuned` reads: the optimizer's rate, the layers changed since compile, weight digests.

    Each weighted layer of the backbone comes with the :func:`tlhelpers.evidence.digest` of
    each weight in ``before`` (``None`` for a weight not in it) and now.

    Example:
        >>> fine_tuned_evidence(None, {})
        {'not a model': 'NoneType'}
    """
    import keras

    from tlhelpers.keras_internals import learning_rate_schedule
    from tlhelpers.learning_rates import learning_rate_of
    from tlhelpers.transfer import find_backbone, trainability_report

    if not isinstance(model, keras.Model):
        return {"not a model": type(model).__name__}
    lr = learning_rate_of(model)
    if lr is None:
        return {"optimizer": None}
    schedule = learning_rate_schedule(model.optimizer)
    peak = None if schedule is None else {name: getattr(schedule, name, None) for name in ("warmup_target", "initial_learning_rate")}
    found: dict[str, Any] = {"optimizer": {"lr": lr, "schedule": peak and {k: v and float(v) for k, v in peak.items()}}}
    try:
        found["changed_since_compile"] = trainability_report(model).changed_since_compile
        base, spec = find_backbone(model)
    except ValueError as err:
        return {**found, "failed": str(err)}

    def digests(layer: Any) -> list[list[str | None]]:
        return [[evidence.digest(before[id(v)]) if id(v) in before else None for v in layer.weights],
                [evidence.digest(v.numpy()) for v in layer.weights]]

    found.update(backbone=spec.name, input_size=base.input_shape[1],
                 layers=[[layer.name, type(layer).__name__, *digests(layer)] for layer in base.layers if layer.weights])
    return found


def _starts_pretrained(found: dict[str, Any]) -> bool:
    """Whether the evidence's weights before fine-tuning are the pretrained backbone's (per :func:`backbone_facts`)."""
    if "layers" not in found:
        return False
    try:
        pretrained = backbone_facts(found["backbone"], found["input_size"], pretrained=True)
    except ValueError:  # no registry backbone at a size one is built at: not the pretrained one
        return False
    before = {name: digests for name, _, digests, _ in found["layers"]}
    return all(tuple(before.get(name, ())) == fact.digests for name, fact in pretrained.items())


def judge_fine_tuned(found: dict[str, Any], depth: int, pretrained: bool, max_lr: float | None = None) -> Feedback:
    """The verdict on :func:`fine_tuned_evidence`; when ``pretrained``, the weights before must be the registry's own.

    Example:
        >>> judge_fine_tuned({"optimizer": None}, 2, False).correct
        False
    """
    from tlhelpers.recipe import peak_rate_range

    max_lr = peak_rate_range()[1] if max_lr is None else max_lr
    if "not a model" in found:
        return not_a_model(found)
    if found["optimizer"] is None:
        return fail(_("the model has no optimizer: compile it (model.compile(optimizer=..., loss=..., metrics=...)) "
                      "before fit."))
    if "failed" in found:
        return fail(str(found["failed"]))
    if found["changed_since_compile"]:
        return fail(_("the model was not compiled again after its blocks were unfrozen: fine-tuning is a new phase, "
                      "with its own optimizer and learning rate. Call model.compile(...) before fit."))
    lr, schedule = float(found["optimizer"]["lr"]), found["optimizer"]["schedule"]
    if schedule is not None:  # the peak of a warm-up and decay
        initial = schedule["initial_learning_rate"]
        lr = float(schedule["warmup_target"] or (lr if initial is None else initial))
    if not 0 < lr <= max_lr:
        return fail(_(
            "the optimizer's (peak) learning rate is {lr:g}: too high for fine-tuning pretrained blocks. The course's "
            "measurements support peaks up to {max_lr:g} with Adam (lesson 03); higher, the first steps wreck what "
            "the blocks learned. Compile again after unfreezing, with such a rate."
        ).format(lr=lr, max_lr=max_lr))
    try:
        spec, facts = layers_facts(found, found["layers"])
    except ValueError as err:
        return not_the_backbone(err)
    if pretrained and not _starts_pretrained(found):
        return fail(_("the model's backbone before fine-tuning was not the pretrained {backbone} the test built.").format(
            backbone=spec.name))
    top = spec.block_names[spec.num_blocks - depth:] if depth else ()
    changed = {name: any(b is not None and b != a for b, a in zip(before, after)) for name, _, before, after in found["layers"]}
    for name in changed:
        if facts[name].batchnorm and changed[name]:
            return fail(_(
                "BatchNorm layer {name!r} changed (its moving statistics or scale): it ran in "
                "training mode. Keep BatchNorm layers frozen (trainable = False) while fine-tuning."
            ).format(name=name))
    for block in spec.block_names:
        if block not in top and any(changed[name] for name in facts if facts[name].block == block):
            return fail(_("{block} changed, but only the top {depth} block(s) should train: keep it frozen.").format(
                block=block, depth=depth))
    if top and not any(changed[name] for name in facts if facts[name].block in top):
        return fail(_(
            "the unfrozen block(s) {blocks} did not change: train the model (model.fit) after "
            "compiling it with the low learning rate."
        ).format(blocks=", ".join(top)))
    return Feedback(True, _("learning rate {lr:g}; {blocks} changed, the lower blocks and every BatchNorm layer did "
                            "not.").format(lr=lr, blocks=", ".join(top)))


def check_fine_tuned(model: Any, before: dict[int, np.ndarray], depth: int, max_lr: float | None = None) -> Feedback:
    """After fine-tuning: recompiled, a supported peak rate, the top ``depth`` blocks changed, nothing below, BatchNorm intact.

    Publishes its evidence (:func:`fine_tuned_evidence`), judged by :func:`judge_fine_tuned`;
    the evidence says whether the model started from the pretrained weights, which the
    grader then compares with its own copy.

    Args:
        model: the classifier after the student's fine-tuning.
        before: :func:`weight_values` of it just before.
        depth: blocks that were unfrozen.
        max_lr: the highest peak learning rate accepted (default: the top of
            :func:`tlhelpers.recipe.peak_rate_range`, what the course's measurements support in the track).

    Example:
        >>> check_fine_tuned(model, before, depth=2)  # doctest: +SKIP
    """
    found = fine_tuned_evidence(model, before)
    pretrained = _starts_pretrained(found)
    evidence.publish("fine_tuned", {"depth": depth, "pretrained": pretrained}, found)
    return judge_fine_tuned(found, depth, pretrained, max_lr)


#: The judges of this assignment's checks, by the name they publish their evidence under
#: (see :data:`tlhelpers.exercises.assignment_checks.JUDGES`).
JUDGES: dict[str, Judge] = {
    "classifier": lambda found, key, facts: judge_classifier(found, key["num_classes"]),
    "unfrozen": lambda found, key, facts: judge_unfrozen(found, key["depth"]),
    "fine_tuned": lambda found, key, facts: judge_fine_tuned(found, key["depth"], key["pretrained"]),
}
