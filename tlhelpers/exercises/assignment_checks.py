"""Checks for the graded assignments in ``assignments/source/``, in the lessons' feedback style.

Every check returns a :class:`tlhelpers.checks.Feedback`; an assignment's test cell calls
``.require()`` on it, so a wrong answer fails the cell with the same message a lesson
exercise shows. The checks test the property a question asks for (which weights train,
what a preprocessing function returns, the accuracy reached), never one reference
solution, so any correct answer passes.

Student code called by a check runs inside :func:`quiet`: nbgrader scores a test cell 0
when anything is written to stderr, so a library warning must not cost a correct answer
its points (warnings are shown on stdout instead).

Example:
    >>> from tlhelpers.exercises import assignment_checks as grade
    >>> grade.check_wrong_pipelines_format({"B", "c"})
    ✅ Correct: your answer lists pipelines B, C (the hidden test checks which are right).
"""

from __future__ import annotations

import contextlib
import io
import time
import warnings
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import numpy as np

from tlhelpers import evidence
from tlhelpers.checks import Feedback, expect
from tlhelpers.config import Track, current_track
from tlhelpers.i18n import N_, _, ngettext
from tlhelpers.quiet import LEVEL, VARIABLE, tensorflow_errors_only

if TYPE_CHECKING:
    from tlhelpers.data import Task

# ---- running student code ----------------------------------------------------------------


def start(log_level: str = LEVEL) -> None:
    """Load TensorFlow and initialise its devices now, in an assignment's setup cell.

    TensorFlow writes one-time start-up messages to stderr when it first runs an op;
    nbgrader scores a graded cell that writes to stderr 0, so they must not land in one.
    ``TF_CPP_MIN_LOG_LEVEL`` (unless already set) also keeps its C++ warnings out of later
    cells. Call it before ``import keras``.

    Example:
        >>> start()
    """
    import os

    os.environ.setdefault(VARIABLE, log_level)
    import tensorflow as tf

    tf.config.list_logical_devices()
    tf.constant(0.0) + 1.0


@contextlib.contextmanager
def _fd_stderr_to(buffer: io.StringIO) -> Iterator[None]:
    """Send what C/C++ code writes to file descriptor 2 into ``buffer`` (best effort)."""
    import os
    import sys
    import tempfile

    try:
        sys.__stderr__.flush()
        saved = os.dup(2)
    except (OSError, AttributeError, ValueError):
        yield
        return
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            buffer.write(sink.read().decode("utf-8", "replace"))


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Run code without writing to stderr: warnings and stderr text are printed on stdout.

    Python warnings, ``sys.stderr`` and (where the platform allows) the C++ log of
    TensorFlow are caught while the block runs, then shown as ``note:`` lines.

    Example:
        >>> import warnings
        >>> with quiet():
        ...     warnings.warn("careful")
        note: UserWarning: careful
    """
    buffer = io.StringIO()
    caught: list = []
    try:
        with (tensorflow_errors_only(), warnings.catch_warnings(record=True) as caught,
              contextlib.redirect_stderr(buffer), _fd_stderr_to(buffer)):
            warnings.simplefilter("always")
            yield
    finally:
        for w in caught:
            print(_("note: {category}: {message}").format(category=w.category.__name__, message=w.message))
        text = buffer.getvalue().strip()
        if text:
            print(_("note: {text}").format(text=text))


def _call(fn: Any, *args: Any, what: str) -> tuple[Any, Feedback | None]:
    """Call a student's function; a crash becomes a Feedback (NotImplementedError passes through)."""
    if not callable(fn):
        return None, Feedback(False, _("{what} should be a function, got {type} {value!r}.").format(
            what=what, type=type(fn).__name__, value=fn))
    try:
        with quiet():
            return fn(*args), None
    except NotImplementedError:
        raise
    except Exception as err:
        return None, Feedback(False, _("{what} raised {error}: {message}").format(
            what=what, error=type(err).__name__, message=err))


def _fail(message: str) -> Feedback:
    return Feedback(False, message)


def _not_a_model(found: dict[str, Any], variable: bool = False) -> Feedback:
    """The evidence names no Keras model (``variable``: the notebook's variable ``model``)."""
    message = _("model should be a keras.Model, got {got}.") if variable else _("the model should be a keras.Model, got {got}.")
    return _fail(message.format(got=found["not a model"]))


def _not_the_backbone(err: Exception) -> Feedback:
    return _fail(_("the model's base is not the backbone it names: {error}.").format(error=err))


def _one_probability_per_class(num_classes: int, shape: tuple) -> Feedback:
    return _fail(_("the model should output one probability per class, shape (None, {num_classes}); got {shape}.").format(
        num_classes=num_classes, shape=shape))


def _keep_batchnorm_frozen(name: str) -> Feedback:
    return _fail(_("BatchNorm layer {name!r} changed during training: keep BatchNorm layers frozen "
                   "(trainable = False).").format(name=name))


# ---- assignment 1: freezing and unfreezing ------------------------------------------------
#
# Each check gathers its evidence from the student's model (each layer's weights and what
# trains, fingerprints of the weights, the optimizer's rate), publishes it, and judges it
# with a ``judge_*`` function that runs no student code. The grader calls the same judges
# outside the kernel, where :func:`backbone_facts` is its own copy of the backbone.

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
    with quiet():
        base = load_backbone(name, weights="default" if pretrained else None, input_size=input_size)
    return {
        layer.name: LayerFacts(block, isinstance(layer, keras.layers.BatchNormalization),
                               tuple(evidence.digest(v.numpy()) for v in layer.weights) if pretrained else ())
        for block, layers in block_of_layers(base, spec).items() for layer in layers if layer.weights
    }


def _params(weights: Any) -> int:
    return sum(int(np.prod(v.shape)) for v in weights)


def _layers_facts(found: dict[str, Any], rows: list[list[Any]]) -> tuple[Any, dict[str, LayerFacts]]:
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
    with quiet():
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
        return _fail(_("build_model should return a keras.Model, got {got}.").format(got=found["not a model"]))
    if "failed" in found:
        return _fail(str(found["failed"]))
    if not found["nested"]:
        return _fail(_("the model should be built on the base you were given (use the `base` argument; do not load "
                       "another one)."))
    shape = tuple(found["output_shape"])
    if shape[-1] != num_classes or len(shape) != 2:
        return _one_probability_per_class(num_classes, shape)
    try:
        spec, _facts = _layers_facts(found, found["base"])
    except ValueError as err:
        return _not_the_backbone(err)
    probs = np.asarray(found["probabilities"], np.float64)
    if probs.min() < -1e-6 or not np.allclose(probs.sum(axis=1), 1.0, atol=1e-3):
        return _fail(_("the outputs should be probabilities that sum to 1: end the head with "
                       "Dense(num_classes, activation='softmax')."))
    trainable_base = sum(int(n) for _, _, n in found["base"])
    if trainable_base:
        return _fail(_("{n} weight tensors of the base would train: freeze it with base.trainable = False.").format(
            n=trainable_base))
    if not found["trainable_params"]:
        return _fail(_("nothing in the model trains: the new head must stay trainable (freeze only the base)."))
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
        return _not_a_model(found)
    if "failed" in found:
        return _fail(str(found["failed"]))
    try:
        spec, facts = _layers_facts(found, found["base"])
    except ValueError as err:
        return _not_the_backbone(err)
    top = spec.block_names[spec.num_blocks - depth:] if depth else ()
    for name, _kind, params, trainable in found["base"]:
        fact, trains = facts[name], trainable > 0
        if not params:
            continue
        if fact.batchnorm:
            if trains:
                return _fail(_(
                    "BatchNorm layer {name!r} in {block} is trainable: keep every BatchNorm layer "
                    "frozen (layer.trainable = False) so its statistics from pretraining stay put."
                ).format(name=name, block=fact.block))
        elif fact.block in top and not trains:
            return _fail(_("{block} is one of the top {depth} block(s) and should train, but its layer {name!r} is "
                           "frozen.").format(block=fact.block, depth=depth, name=name))
        elif fact.block not in top and trains:
            return _fail(_(
                "{block} should stay frozen (only the top {depth} block(s) train), but its layer "
                "{name!r} is trainable."
            ).format(block=fact.block, depth=depth, name=name))
    frozen_head = [name for name, _kind, params, trainable in found["head"] if params and not trainable]
    if frozen_head:
        return _fail(_("the head should keep training, but {name!r} is frozen.").format(name=frozen_head[0]))
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


def snapshot(model: Any) -> dict[int, np.ndarray]:
    """The value of every weight of ``model`` (trainable or not), keyed by the variable's id.

    Example:
        >>> import keras
        >>> m = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> len(snapshot(m))
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
        return _not_a_model(found)
    if found["optimizer"] is None:
        return _fail(_("the model has no optimizer: compile it (model.compile(optimizer=..., loss=..., metrics=...)) "
                       "before fit."))
    if "failed" in found:
        return _fail(str(found["failed"]))
    if found["changed_since_compile"]:
        return _fail(_("the model was not compiled again after its blocks were unfrozen: fine-tuning is a new phase, "
                       "with its own optimizer and learning rate. Call model.compile(...) before fit."))
    lr, schedule = float(found["optimizer"]["lr"]), found["optimizer"]["schedule"]
    if schedule is not None:  # the peak of a warm-up and decay
        initial = schedule["initial_learning_rate"]
        lr = float(schedule["warmup_target"] or (lr if initial is None else initial))
    if not 0 < lr <= max_lr:
        return _fail(_(
            "the optimizer's (peak) learning rate is {lr:g}: too high for fine-tuning pretrained blocks. The course's "
            "measurements support peaks up to {max_lr:g} with Adam (lesson 03); higher, the first steps wreck what "
            "the blocks learned. Compile again after unfreezing, with such a rate."
        ).format(lr=lr, max_lr=max_lr))
    try:
        spec, facts = _layers_facts(found, found["layers"])
    except ValueError as err:
        return _not_the_backbone(err)
    if pretrained and not _starts_pretrained(found):
        return _fail(_("the model's backbone before fine-tuning was not the pretrained {backbone} the test built.").format(
            backbone=spec.name))
    top = spec.block_names[spec.num_blocks - depth:] if depth else ()
    changed = {name: any(b is not None and b != a for b, a in zip(before, after)) for name, _, before, after in found["layers"]}
    for name in changed:
        if facts[name].batchnorm and changed[name]:
            return _fail(_(
                "BatchNorm layer {name!r} changed (its moving statistics or scale): it ran in "
                "training mode. Keep BatchNorm layers frozen (trainable = False) while fine-tuning."
            ).format(name=name))
    for block in spec.block_names:
        if block not in top and any(changed[name] for name in facts if facts[name].block == block):
            return _fail(_("{block} changed, but only the top {depth} block(s) should train: keep it frozen.").format(
                block=block, depth=depth))
    if top and not any(changed[name] for name in facts if facts[name].block in top):
        return _fail(_(
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
        before: :func:`snapshot` of it just before.
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


# ---- assignment 2: preprocessing for two backbones ----------------------------------------


def preprocessing_pair(track: Track | None = None) -> tuple[str, str]:
    """The two backbones of the preprocessing assignment: the track's, and ResNet50.

    Example:
        >>> preprocessing_pair(current_track("offline"))
        ('fashion_cnn', 'resnet50')
    """
    track = track or current_track()
    return (track.backbone, "resnet50") if track.backbone != "resnet50" else ("resnet50", "mobilenet_v2")


def _preprocessed_pixel(preprocess: Callable[[Any], Any], pixel: np.ndarray, size: int = 4) -> np.ndarray:
    image = np.broadcast_to(np.asarray(pixel, np.float32), (1, size, size, len(pixel))).copy()
    return np.asarray(preprocess(image), np.float64).reshape(-1, len(pixel)).mean(axis=0)


def _diagnose(got: np.ndarray, pixel: np.ndarray, backbone: str, tol: float) -> str:
    from tlhelpers.backbones import BACKBONES, get_spec

    spec = get_spec(backbone)
    pre = spec.preprocess
    candidates = [
        (_("the raw 0..255 pixels: the backbone's preprocess_input is missing"), pixel.astype(np.float64)),
        (
            _("pixels divided by 255, but this backbone rescales raw 0..255 pixels itself")
            if spec.built_in_preprocessing else
            _("pixels scaled to 0..1 before preprocess_input, which expects 0..255 (scaled twice)"),
            _preprocessed_pixel(pre, pixel / 255.0),
        ),
        (_("preprocess_input applied twice"), _preprocessed_pixel(lambda x: pre(pre(x)), pixel)),
    ]
    if len(pixel) == 3 and len(set(pixel.tolist())) > 1:
        candidates.append((_("the colour channels in the wrong order (RGB and BGR swapped)"),
                           _preprocessed_pixel(pre, pixel[::-1])))
    for other in BACKBONES.values():
        if other.name != backbone and other.channels == len(pixel):
            candidates.append((_("{other}'s preprocessing, not {backbone}'s").format(other=other.name, backbone=backbone),
                               _preprocessed_pixel(other.preprocess, pixel)))
    errors = [(float(np.max(np.abs(got - value))), label) for label, value in candidates if value.shape == got.shape]
    error, label = min(errors, key=lambda e: e[0], default=(np.inf, ""))  # ties: the first, simplest story
    return _(" It looks like {label}.").format(label=label) if error <= tol else ""


def _colours(in_channels: int, channels: int) -> list[tuple[int, int, int]]:
    colours = [(v, v, v) for v in (0, 128, 255)]
    return colours + [(200, 100, 30)] if in_channels == 3 and channels == 3 else colours


def prepare_evidence(prepare: Any, backbone: str, size: int, in_channels: int = 1) -> dict[str, Any]:
    """What the student's ``prepare`` does on the check's images, as JSON values (runs student code).

    ``{"failed": message}`` when a call fails; else the output shape on a random batch,
    its value range, and the mean output pixel of each one-colour image.

    Example:
        >>> from tlhelpers.pipeline import to_model_input
        >>> prepare_evidence(lambda x, b, s: to_model_input(x, b, s), "fashion_cnn", 32)["shape"]
        [3, 32, 32, 1]
    """
    from tlhelpers.backbones import get_spec

    spec = get_spec(backbone)
    batch = np.random.default_rng(0).integers(0, 256, (3, 28, 28, in_channels), dtype=np.uint8)
    out, failed = _call(prepare, batch.copy(), backbone, size, what="prepare")
    if failed:
        return {"failed": failed.message}
    try:
        out = np.asarray(out, dtype=np.float64)
    except (TypeError, ValueError):
        return {"not numbers": type(out).__name__}
    evidence: dict[str, Any] = {"shape": list(out.shape), "range": [float(out.min()), float(out.max())], "colours": []}
    if out.shape != (3, size, size, spec.channels):
        return evidence
    for rgb in _colours(in_channels, spec.channels):
        image = np.empty((1, 28, 28, in_channels), np.uint8)
        image[...] = rgb[:in_channels]
        out, failed = _call(prepare, image, backbone, size, what="prepare")
        if failed:
            return {"failed": failed.message}
        evidence["colours"].append(np.asarray(out, np.float64).reshape(-1, spec.channels).mean(axis=0).tolist())
    return evidence


def judge_prepare(evidence: dict[str, Any], backbone: str, size: int, in_channels: int = 1) -> Feedback:
    """The verdict on :func:`prepare_evidence` (runs no student code: the grader calls it too).

    Example:
        >>> judge_prepare({"shape": [3, 16, 16, 1], "range": [0, 255], "colours": []}, "fashion_cnn", 32).correct
        False
    """
    from tlhelpers.backbones import get_spec

    spec = get_spec(backbone)
    lo, hi = spec.input_range
    tol = 0.005 * (hi - lo)
    call = _("prepare(images of shape (N, 28, 28, {channels}), {backbone!r}, {size})").format(
        channels=in_channels, backbone=backbone, size=size)
    if "failed" in evidence:
        return _fail(str(evidence["failed"]))
    if "not numbers" in evidence:
        return _fail(_("{call} should return an array or tensor of numbers, got {got}.").format(
            call=call, got=evidence["not numbers"]))
    expected_shape = (3, size, size, spec.channels)
    if tuple(evidence["shape"]) != expected_shape:
        return _fail(_(
            "{call} should return shape {expected} ({channels} channel(s) at {size}x{size}), "
            "got {got}. Hint: tf.image.resize, tf.image.grayscale_to_rgb / rgb_to_grayscale."
        ).format(call=call, expected=expected_shape, channels=spec.channels, size=size, got=tuple(evidence["shape"])))
    colours = _colours(in_channels, spec.channels)
    if len(evidence["colours"]) != len(colours):
        return _fail(_("the evidence of {call} is incomplete: {n} of {total} colours.").format(
            call=call, n=len(evidence["colours"]), total=len(colours)))
    for rgb, got in zip(colours, evidence["colours"]):
        got = np.asarray(got, np.float64)
        pixel = np.asarray(rgb[: spec.channels] if spec.channels == 3 else rgb[:1], np.float64)
        want = _preprocessed_pixel(spec.preprocess, pixel)
        if got.shape != want.shape or np.any(np.abs(got - want) > tol):
            shown = ", ".join(f"{v:.4g}" for v in got)
            found = _diagnose(got, pixel, backbone, tol) or _(
                " Compare each step with {backbone}'s contract (lesson 02, section 3): the value range, the "
                "channel order, and preprocessing applied exactly once."
            ).format(backbone=backbone)
            return _fail(_(
                "an image of colour {colour} does not become what {backbone} takes: prepare gives "
                "[{shown}].{diagnosis}"
            ).format(colour=rgb[:in_channels], backbone=backbone, shown=shown, diagnosis=found))
    low, high = evidence["range"]
    if low < lo - tol or high > hi + tol:
        return _fail(_("prepare gives values from {low:.4g} to {high:.4g}, outside the range {backbone}'s "
                       "preprocess_input produces: check the scaling against its contract (lesson 02, section 3).").format(
            low=low, high=high, backbone=backbone))
    return Feedback(
        True,
        _("prepare turns {in_channels}-channel images into {backbone}'s input: {size}x{size}x{channels}, "
          "values in [{lo:g}, {hi:g}].").format(in_channels=in_channels, backbone=backbone, size=size,
                                                channels=spec.channels, lo=lo, hi=hi),
    )


def check_prepare(prepare: Any, backbone: str, size: int, in_channels: int = 1) -> Feedback:
    """``prepare(images, backbone, size)`` gives what ``backbone`` takes, from uint8 images.

    Checked on images of one colour, whose resized version is the same colour whatever the
    resizing method, so only the size, the channels and the value mapping matter; and on
    random images for the value range. Publishes its evidence (:mod:`tlhelpers.evidence`),
    which the grader judges again with :func:`judge_prepare`.

    Args:
        prepare: the student's function.
        backbone: a registry name.
        size: the side the images must have.
        in_channels: channels of the uint8 images given to ``prepare`` (1 gray, 3 RGB).

    Example:
        >>> from tlhelpers.pipeline import to_model_input
        >>> check_prepare(lambda x, b, s: to_model_input(x, b, s), "resnet50", 32)  # doctest: +ELLIPSIS
        ✅ Correct: prepare turns 1-channel images into resnet50's input...
    """
    key = {"backbone": backbone, "size": size, "in_channels": in_channels}
    found = prepare_evidence(prepare, **key)
    evidence.publish("prepare", key, found)
    return judge_prepare(found, **key)


@dataclass(frozen=True)
class Pipeline:
    """One candidate way to feed images to ResNet50 (assignment 2)."""

    code: str
    wrong: bool
    why: str


PIPELINES: dict[str, Pipeline] = {
    "A": Pipeline(
        "x = tf.image.resize(images, (S, S))\nx = keras.applications.resnet50.preprocess_input(x)",
        False, N_("resize, then ResNet50's own preprocess_input on 0..255 RGB pixels: the contract."),
    ),
    "B": Pipeline(
        "x = tf.image.resize(images, (S, S)) / 255.0\nx = keras.applications.resnet50.preprocess_input(x)",
        True, N_("preprocess_input expects 0..255 pixels; after dividing by 255, subtracting the ImageNet "
                 "means leaves every value near -110: the image is almost flat."),
    ),
    "C": Pipeline(
        "x = tf.image.resize(images[..., ::-1], (S, S))  # RGB -> BGR\nx = keras.applications.resnet50.preprocess_input(x)",
        True, N_("preprocess_input already turns RGB into BGR; flipping first swaps red and blue back, and "
                 "each channel gets another channel's mean."),
    ),
    "D": Pipeline(
        "x = tf.image.resize(images, (S, S))\nx = keras.applications.mobilenet_v2.preprocess_input(x)",
        True, N_("that is MobileNetV2's contract (scale to [-1, 1]); ResNet50 learned on BGR pixels minus "
                 "the ImageNet means ('caffe' mode)."),
    ),
    "E": Pipeline(
        "x = keras.applications.resnet50.preprocess_input(tf.cast(images, 'float32'))\nx = tf.image.resize(x, (S, S))",
        False, N_("preprocessing, then resizing, is fine: subtracting a per-channel mean and resizing "
                  "(weighted averages of neighbours) commute."),
    ),
    "F": Pipeline(
        N_("x = tf.image.resize(images, (S, S))\nx = keras.applications.resnet50.preprocess_input(x)  # in the data pipeline\n"
           "x = keras.applications.resnet50.preprocess_input(x)  # and again in a Lambda layer at the top of the model"),
        True, N_("preprocessing runs twice (in the data pipeline and in the model): the second pass flips BGR "
                 "back to RGB and subtracts the means again."),
    ),
    "G": Pipeline(
        N_("x = tf.image.resize(images, (S, S))  # the model gets 0..255 pixels"),
        True, N_("ResNet50 has no built-in preprocessing: raw 0..255 pixels are far from the "
                 "mean-centred values it learned on."),
    ),
}


def pipelines_markdown() -> str:
    """The candidate pipelines as Markdown (display with ``IPython.display.Markdown``).

    Example:
        >>> pipelines_markdown().splitlines()[0]
        '**A**'
    """
    return "\n\n".join(f"**{letter}**\n```python\n{_(p.code)}\n```" for letter, p in PIPELINES.items())


def _letters(answer: Any) -> set[str] | None:
    if isinstance(answer, str):
        answer = [c for c in answer if not c.isspace() and c != ","]
    try:
        letters = {str(a).strip().upper() for a in answer}
    except TypeError:
        return None
    return letters if letters <= set(PIPELINES) else None


def _answer_evidence(answer: Any) -> dict[str, Any]:
    """The answer as JSON values: a string, a sorted list of strings, or only its ``repr``."""
    if answer is None:
        return {"repr": "None"}
    if isinstance(answer, str):
        return {"answer": answer}
    try:
        return {"answer": sorted(str(a) for a in answer)}
    except TypeError:
        return {"repr": repr(answer)[:200]}


def judge_wrong_pipelines_format(found: dict[str, Any]) -> Feedback:
    """The verdict of :func:`check_wrong_pipelines_format` on its evidence (runs no student code).

    Example:
        >>> judge_wrong_pipelines_format({"answer": ["B", "C"]}).correct
        True
    """
    letters = _letters(found["answer"]) if "answer" in found else None
    if letters is None:
        shown = repr(found["answer"]) if "answer" in found else found.get("repr", "?")
        return _fail(_("answer with a set of letters from A to G, e.g. {{'A', 'C'}}; got {shown}.").format(shown=shown))
    return Feedback(True, _("your answer lists pipelines {letters} (the hidden test checks which are right).").format(
        letters=", ".join(sorted(letters)) or _("none")))


def judge_wrong_pipelines(found: dict[str, Any]) -> Feedback:
    """The verdict of :func:`check_wrong_pipelines` on its evidence (runs no student code).

    Example:
        >>> judge_wrong_pipelines({"answer": "B, C, D, F, G"}).correct
        True
    """
    fmt = judge_wrong_pipelines_format(found)
    if not fmt:
        return fmt
    letters = _letters(found["answer"])
    wrong = {k for k, p in PIPELINES.items() if p.wrong}
    flagged_fine, missed = len(letters - wrong), len(wrong - letters)
    if flagged_fine or missed:
        parts = []
        if flagged_fine:
            parts.append(ngettext("{n} of the pipelines you listed is fine", "{n} of the pipelines you listed are fine",
                                  flagged_fine).format(n=flagged_fine))
        if missed:
            parts.append(ngettext("{n} broken pipeline is missing from your answer",
                                  "{n} broken pipelines are missing from your answer", missed).format(n=missed))
        problems = parts[0] if len(parts) == 1 else _("{first} and {second}").format(first=parts[0], second=parts[1])
        return _fail(_(
            "{problems}. Run each one in your head against ResNet50's contract (lesson 02, section 3): "
            "the range preprocess_input expects, the channel order it produces, whether it runs exactly once, "
            "and whether resizing and preprocessing commute."
        ).format(problems=problems))
    return Feedback(True, " ".join(f"{k}: {_(PIPELINES[k].why)}" for k in sorted(wrong)))


def check_wrong_pipelines_format(answer: Any) -> Feedback:
    """The answer is a set of pipeline letters (not whether they are right); publishes its evidence.

    Example:
        >>> check_wrong_pipelines_format(None)  # doctest: +ELLIPSIS
        ❌ Not yet: answer with a set of letters from A to G...
    """
    found = _answer_evidence(answer)
    evidence.publish("wrong_pipelines_format", {}, found)
    return judge_wrong_pipelines_format(found)


def check_wrong_pipelines(answer: Any) -> Feedback:
    """Exactly the wrong pipelines are named; every mistake is explained; publishes its evidence.

    Example:
        >>> check_wrong_pipelines({"B", "C", "D", "F", "G"})  # doctest: +ELLIPSIS
        ✅ Correct: ...
    """
    found = _answer_evidence(answer)
    evidence.publish("wrong_pipelines", {}, found)
    return judge_wrong_pipelines(found)


# ---- assignment 3: a target accuracy with k labels per class, in a time budget ------------


@dataclass(frozen=True)
class Challenge:
    """The label-budget challenge for one track.

    Attributes:
        labels_per_class: training labels per class the student gets.
        val_per_class: validation examples per class (for choices, early stopping).
        test_per_class: test images per class it is graded on.
        target_accuracy: test accuracy to reach.
        budget_seconds: wall-clock time ``solve(task)`` may take.
        basis: where the target comes from.
    """

    labels_per_class: int
    val_per_class: int
    test_per_class: int
    target_accuracy: float
    budget_seconds: float
    basis: str


CHALLENGES: dict[str, Challenge] = {
    "offline": Challenge(
        labels_per_class=20, val_per_class=10, test_per_class=200, target_accuracy=0.74, budget_seconds=60,
        basis="measured with the bundled backbone on Fashion-MNIST in the wild, label draws 0-4: "
        "see assignments/README.md",
    ),
    "imagenet": Challenge(
        labels_per_class=100, val_per_class=10, test_per_class=100, target_accuracy=0.57, budget_seconds=300,
        basis="measured with stand-ins for MobileNetV2's ImageNet weights and CIFAR-10, label draws 0-4: "
        "see assignments/README.md; check it once with the real downloads before handing it out",
    ),
}
TEST_SEED = 1234  # fixes which test images the challenge is graded on, whatever the label draw


def challenge(track: Track | None = None) -> Challenge:
    """The challenge settings of the active track.

    Example:
        >>> challenge(current_track("offline")).labels_per_class
        20
    """
    return CHALLENGES[(track or current_track()).name]


@lru_cache(maxsize=2)
def _dataset(name: str):
    from tlhelpers.data import load_dataset

    return load_dataset(name)


def challenge_task(seed: int = 0, track: Track | None = None) -> Task:
    """The track's target task with the challenge's label budget; ``seed`` draws the labels.

    The test images are a fixed, class-balanced subset of the test split.

    Example:
        >>> challenge_task(seed=0)  # doctest: +SKIP
        Task('fashion_mnist_target', 5 classes, train=100 + val=50 = 150 labels, test=1000, images=(32, 32, 1))
    """
    from tlhelpers.data import label_budget, make_task

    track = track or current_track()
    settings = challenge(track)
    ((x, y), (xt, yt)), names = _dataset(track.dataset)
    test_idx, _rest = label_budget(yt, settings.test_per_class, 0, seed=TEST_SEED, class_names=names)
    task = make_task(
        track.dataset, (x, y), (xt[test_idx], yt[test_idx]), names,
        settings.labels_per_class, settings.val_per_class, seed,
    )
    _DRAWS[id(task)] = seed  # names the draw in the evidence (task_key), whatever is done to its arrays
    return task


_DRAWS: dict[int, int] = {}


class HiddenLabelsError(RuntimeError):
    """Test labels were used while solving."""


class HiddenLabels:
    """Stands for the test labels while a solution runs: it has a length, nothing else."""

    def __init__(self, n: int) -> None:
        self._n = n

    def __len__(self) -> int:
        return self._n

    def __repr__(self) -> str:
        return f"<{self._n} hidden test labels>"

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise HiddenLabelsError(_(
            "the test labels are hidden while solve() runs: make every choice on the validation "
            "split (task.x_val, task.y_val); the test split only measures the final result."
        ))

    __array__ = __getitem__ = __iter__ = __eq__ = __ne__ = _refuse
    __hash__ = None


def without_test_labels(task):  # Task -> Task
    """A copy of ``task`` whose ``y_test`` is hidden (see :class:`HiddenLabels`).

    Example:
        >>> from tlhelpers.data import make_task
        >>> x = np.zeros((8, 4, 4, 1), np.uint8); y = np.repeat([0, 1], 4)
        >>> without_test_labels(make_task("toy", (x, y), (x, y), ("a", "b"), 2, 1)).y_test
        <8 hidden test labels>
    """
    return replace(task, y_test=HiddenLabels(len(task.x_test)))


def task_key(task) -> dict[str, Any]:  # Task -> key
    """What names one draw of the challenge in the evidence: its seed, or the digest of another task's training images.

    Example:
        >>> task_key(challenge_task(seed=1))  # doctest: +SKIP
        {'draw': 1}
        >>> from tlhelpers.data import make_task
        >>> x = np.zeros((8, 4, 4, 1), np.uint8); y = np.repeat([0, 1], 4)
        >>> list(task_key(make_task("toy", (x, y), (x, y), ("a", "b"), 2, 1)))
        ['task']
    """
    if id(task) in _DRAWS:
        return {"draw": _DRAWS[id(task)]}
    return {"task": evidence.digest(np.asarray(task.x_train))}


def run_timed(solve: Callable[[Any], Any], task, budget: float | None = None) -> tuple[np.ndarray, float]:
    """Run ``solve`` on a copy of ``task`` without test labels; return its predictions and the seconds it took.

    Publishes a ``solve`` record (:func:`task_key`, the seconds): the grader does not take
    those seconds, it times the cell that published the record itself.

    Example:
        >>> predictions, seconds = run_timed(solve, task)  # doctest: +SKIP
        solve(task) took 6.2 s (budget: 60 s)
    """
    budget = challenge().budget_seconds if budget is None else budget
    arrays = {name: np.array(getattr(task, name)) for name in ("x_train", "y_train", "x_val", "y_val", "x_test")}
    copy = replace(without_test_labels(task), **arrays)  # solve may change its arrays in place: the task keeps its own
    start = time.perf_counter()
    with quiet():
        predictions = solve(copy)
    seconds = time.perf_counter() - start
    print(_("solve(task) took {seconds:.1f} s (budget: {budget:g} s)").format(seconds=seconds, budget=budget))
    evidence.publish("solve", task_key(task), {"seconds": seconds})
    return np.asarray(predictions), seconds


@dataclass(frozen=True)
class GroundTruth:
    """What predictions are scored against: the test labels, in order, and the number of classes."""

    labels: tuple[int, ...]
    num_classes: int

    @classmethod
    def of(cls, task) -> GroundTruth:  # Task -> GroundTruth
        """The truth of ``task``'s test split.

        Example:
            >>> from types import SimpleNamespace
            >>> GroundTruth.of(SimpleNamespace(y_test=np.array([0, 1]), num_classes=2))
            GroundTruth(labels=(0, 1), num_classes=2)
        """
        return cls(tuple(int(v) for v in np.asarray(task.y_test)), task.num_classes)


@lru_cache(maxsize=2)
def challenge_truth(track: Track) -> GroundTruth:
    """The challenge's test images and labels in ``track``, from the dataset here (the grader's own copy).

    Example:
        >>> len(challenge_truth(current_track("offline")).labels)  # doctest: +SKIP
        1000
    """
    return GroundTruth.of(challenge_task(0, track))


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


def _predictions_form(found: dict[str, Any], n: int, num_classes: int, what: str = "solve(task)") -> Feedback:
    shape = tuple(found["shape"])
    if shape != (n,):
        hint = _(" Take the most likely class: probabilities.argmax(axis=1).") if len(shape) == 2 else ""
        return _fail(_("{what} should return one class index per test image, shape ({n},); got shape {shape}.{hint}").format(
            what=what, n=n, shape=shape, hint=hint))
    values = found.get("predictions")
    if values is None or (values and (min(values) < 0 or max(values) >= num_classes)):
        return _fail(_("the predictions should be integer class indices from 0 to {last}; "
                       "got {dtype} values {head}...").format(last=num_classes - 1, dtype=found["dtype"], head=found["head"]))
    return Feedback(True, _("{n} predictions, one class index per test image.").format(n=n))


def judge_predictions(found: dict[str, Any], truth: GroundTruth) -> Feedback:
    """The verdict of :func:`check_predictions` on its evidence (runs no student code).

    Example:
        >>> judge_predictions({"shape": [2, 2], "dtype": "float32", "head": ""}, GroundTruth((0, 1), 2)).correct
        False
    """
    return _predictions_form(found, len(truth.labels), truth.num_classes)


def check_predictions(predictions: Any, task) -> Feedback:
    """One integer class index per test image; publishes its evidence.

    Example:
        >>> from types import SimpleNamespace
        >>> task = SimpleNamespace(x_train=np.zeros((2, 2, 2, 1)), x_test=np.zeros((3, 2, 2, 1)), num_classes=2, y_test=np.zeros(3))
        >>> check_predictions(np.array([[0.2, 0.8]] * 3), task)  # doctest: +ELLIPSIS
        ❌ Not yet: solve(task) should return one class index per test image, shape (3,); got shape (3, 2)...
    """
    truth = GroundTruth.of(task)
    found = predictions_evidence(predictions)
    evidence.publish("predictions", task_key(task), found)
    return judge_predictions(found, truth)


def judge_challenge(found: dict[str, Any], truth: GroundTruth, seconds: float | None, settings: Challenge,
                    slack: float = 0.0) -> Feedback:
    """The verdict of :func:`check_challenge` on its evidence: accuracy against ``truth``, ``seconds`` against the budget.

    ``slack`` seconds are allowed on top of the budget (the grader's ``seconds`` are those of
    the whole cell that ran ``solve``, a little more than ``solve`` itself).

    Example:
        >>> rules = Challenge(1, 1, 2, target_accuracy=0.5, budget_seconds=10, basis="")
        >>> judge_challenge(predictions_evidence(np.array([0, 1])), GroundTruth((0, 1), 2), 12.0, rules).message  # doctest: +ELLIPSIS
        'test accuracy 1.000 reaches the target, but solve took 12.0 s, over the budget of 10 s...'
    """
    form = judge_predictions(found, truth)
    if not form:
        return form
    accuracy = float(np.mean(np.asarray(found["predictions"]) == np.asarray(truth.labels)))
    if accuracy < settings.target_accuracy:
        return _fail(_(
            "test accuracy {accuracy:.3f} is below the target {target:.2f}. Hint: with "
            "{labels} labels per class, start from the pretrained backbone (a new head on "
            "its cached features) and choose epochs and learning rate on the validation split."
        ).format(accuracy=accuracy, target=settings.target_accuracy, labels=settings.labels_per_class))
    if seconds is None:
        return _fail(_("the cell that runs solve(task) for this draw of labels did not finish, so its time is unknown."))
    if seconds > settings.budget_seconds + slack:
        return _fail(_(
            "test accuracy {accuracy:.3f} reaches the target, but solve took {seconds:.1f} s, over the "
            "budget of {budget:g} s. Hint: run the frozen backbone once (cached features) "
            "instead of every epoch."
        ).format(accuracy=accuracy, seconds=seconds, budget=settings.budget_seconds))
    return Feedback(
        True, _("test accuracy {accuracy:.3f} (target {target:.2f}) in {seconds:.1f} s (budget {budget:g} s).").format(
            accuracy=accuracy, target=settings.target_accuracy, seconds=seconds, budget=settings.budget_seconds),
    )


def check_challenge(predictions: Any, seconds: float, task, settings: Challenge | None = None) -> Feedback:
    """The target test accuracy, reached within the time budget; publishes its evidence.

    The grader judges the evidence again (:func:`judge_challenge`) with its own test labels,
    target and budget, and the time it measured for the cell that ran ``solve``.

    Example:
        >>> from types import SimpleNamespace
        >>> task = SimpleNamespace(x_train=np.zeros((2, 2, 2, 1)), x_test=np.zeros((4, 2, 2, 1)),
        ...                        y_test=np.array([0, 1, 1, 0]), num_classes=2)
        >>> rules = Challenge(1, 1, 2, target_accuracy=0.7, budget_seconds=10, basis="")
        >>> check_challenge(np.array([0, 1, 1, 1]), 3.0, task, rules)  # doctest: +ELLIPSIS
        ✅ Correct: test accuracy 0.750 (target 0.70) in 3.0 s (budget 10 s).
    """
    settings = settings or challenge()
    truth = GroundTruth.of(task)
    found = {**predictions_evidence(predictions), "seconds": float(seconds)}
    evidence.publish("challenge", task_key(task), found)
    return judge_challenge(found, truth, seconds, settings)


def _solve_seconds(key: dict[str, Any], facts: dict[str, Any]) -> float | None:
    """The grader's seconds for the cell that ran ``solve`` on the draw ``key`` (see :func:`run_timed`)."""
    return facts.get("seconds", {}).get(evidence.key_of({"check": "solve", "key": key}))


def timing_slack(settings: Challenge) -> float:
    """What the grader allows on top of the budget for the rest of the cell that ran ``solve``: 5%, at least 1 s.

    Example:
        >>> timing_slack(Challenge(1, 1, 1, 0.5, budget_seconds=60, basis=""))
        3.0
    """
    return max(1.0, 0.05 * settings.budget_seconds)


# ---- assignment 4: fine-tuning on your own image folder -----------------------------------

DEMO_CLASSES = {"offline": ("Pullover", "Sneaker", "Bag"), "imagenet": ("airplane", "cat", "ship")}


def make_demo_folder(folder: str | Path, per_class: int = 24, track: Track | None = None) -> Path:
    """Write a small image folder (one sub-folder per class, PNG files) to practise with.

    Images come from the track's dataset (Fashion-MNIST offline, CIFAR-10 imagenet), so
    :func:`check_own_folder` recognises them: the demo folder is for practice, and the
    point for using your own images needs a folder of your own.

    Raises:
        FileExistsError: ``folder`` exists and is not empty (your images are never touched).

    Example:
        >>> make_demo_folder("my_images")  # doctest: +SKIP
        PosixPath('my_images')
    """
    from PIL import Image

    from tlhelpers.data import FASHION_MNIST_CLASSES, load_dataset

    track = track or current_track()
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()):
        raise FileExistsError(_("{folder!r} exists and is not empty; the demo folder is written only into a new or empty "
                                "folder").format(folder=str(folder)))
    dataset = "fashion_mnist" if track.name == "offline" else track.dataset
    (_train, (x, y)), names = load_dataset(dataset)
    if dataset == "fashion_mnist":
        names = FASHION_MNIST_CLASSES
    rng = np.random.default_rng(0)
    for name in DEMO_CLASSES[track.name]:
        target = folder / name.replace("/", "_").replace(" ", "_").lower()
        target.mkdir(parents=True, exist_ok=True)
        picks = rng.choice(np.flatnonzero(y == names.index(name)), per_class, replace=False)
        for i, index in enumerate(picks):
            Image.fromarray(x[index].squeeze()).save(target / f"{i:03d}.png")
    return folder


DEMO_SOURCES = {"offline": ("fashion_mnist", "fashion_mnist_clean"), "imagenet": ("cifar10",)}


@lru_cache(maxsize=2)
def dataset_digests(names: tuple[str, ...]) -> frozenset[str]:
    """:func:`tlhelpers.evidence.digest` of every image of the named datasets (both splits), as an image file reads back.

    Example:
        >>> len(dataset_digests(("fashion_mnist",)))  # doctest: +SKIP
        70000
    """
    from tlhelpers.data import load_dataset

    found: set[str] = set()
    for name in names:
        ((x, _y), (x_test, _y_test)), _names = load_dataset(name)
        for images in (x, x_test):
            images = np.ascontiguousarray(images, dtype=np.uint8)
            if images.shape[-1] == 1:
                images = images[..., 0]  # a gray PNG reads back without the channel axis
            found.update(evidence.digest(image) for image in images)
    return frozenset(found)


def _relative(folder: str | Path) -> str:
    """``folder`` relative to the working folder (the notebook's), ``/``-separated; absolute if outside it."""
    path = Path(folder).resolve()
    try:
        return path.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()  # outside the notebook's folder: never among the files handed in


def _under(folder: str) -> str:
    """The prefix of the paths inside ``folder`` (a path from :func:`_relative`) in a listing."""
    return "" if folder in ("", ".") else f"{folder}/"


def _listing(folder: str | Path, images: bool = False) -> dict[str, str | None]:
    """:func:`tlhelpers.evidence.files` of ``folder`` as the grader holds them: paths from the working folder."""
    prefix = _under(_relative(folder))
    found = {prefix + path: digest for path, digest in evidence.files(folder, images=images).items()}
    return {prefix: None, **found} if prefix and Path(folder).is_dir() else found


def class_files(listing: dict[str, str | None], folder: str) -> dict[str, list[str]]:
    """The class sub-folders of ``folder`` in ``listing`` (hidden ones left out), each with its files' names, sorted.

    Example:
        >>> class_files({"imgs/b/2.png": None, "imgs/b/1.png": None, "imgs/c/": None, "imgs/.x/1.png": None}, "imgs")
        {'b': ['1.png', '2.png'], 'c': []}
    """
    prefix = _under(folder)
    classes: dict[str, list[str]] = {}
    for path in listing:
        parts = path[len(prefix):].split("/") if path.startswith(prefix) else []
        if len(parts) == 2 and parts[0] and not parts[0].startswith("."):
            files = classes.setdefault(parts[0], [])
            files += [parts[1]] if parts[1] else []  # "class/": the folder itself
    return {name: sorted(files) for name, files in sorted(classes.items())}


def judge_own_folder(found: dict[str, Any], listing: dict[str, str | None], track: Track) -> Feedback:
    """The verdict of :func:`check_own_folder` on its evidence and the folder's files (``listing``, images digested).

    Example:
        >>> judge_own_folder({"folder": "imgs"}, {}, current_track("offline")).correct
        False
    """
    from tlhelpers.data import IMAGE_EXTENSIONS

    folder = found["folder"]
    if folder is None:
        return _fail(_("set the image folder (a path to my_images/, one sub-folder per class)."))
    if not any(path.startswith(_under(folder)) for path in listing):
        return _fail(_("there is no folder {folder!r}: put your images in it, one sub-folder per class (and hand "
                       "it in with the notebook).").format(folder=folder))
    classes = class_files(listing, folder)
    files = [f"{_under(folder)}{c}/{name}" for c, names in classes.items() for name in names
             if Path(name).suffix.lower() in IMAGE_EXTENSIONS]
    if not files:
        return _fail(_("{folder!r} has no image files in its class sub-folders.").format(folder=folder))
    sources = DEMO_SOURCES.get(track.name, (track.dataset,))
    try:
        with quiet():  # a first load may render and cache the dataset: nothing of it on stderr in a graded cell
            digests = dataset_digests(sources)
    except Exception as err:  # the dataset is not on this machine: nothing to compare with
        return Feedback(True, _("{n} images; not compared with the track's dataset, which this machine "
                                "cannot load ({error}).").format(n=len(files), error=type(err).__name__))
    from_dataset = sum(listing[path] in digests for path in files if listing[path])
    if from_dataset:
        return _fail(_(
            "{n} of the {total} images in {folder!r} are images of the track's dataset "
            "({sources}): that is the demo folder, or part of it. The demo folder is for practice: "
            "every question runs and is checked on it, but this point needs a folder of your own images. Replace "
            "them with images of your own ({folder!r}, one sub-folder per class) and run all cells again."
        ).format(n=from_dataset, total=len(files), folder=folder, sources=", ".join(sources)))
    return Feedback(True, _("{n} images of your own in {classes} classes ({names}): none "
                            "comes from the track's dataset.").format(n=len(files), classes=len(classes),
                                                                      names=", ".join(classes)))


def check_own_folder(folder: str | Path, track: Track | None = None) -> Feedback:
    """The image folder holds the student's own images, not the demo folder's.

    Every image file is compared, pixel for pixel (by :func:`tlhelpers.evidence.digest`), with
    the images of the track's dataset, which is where :func:`make_demo_folder` takes its
    images from (renaming or moving the files does not change that). A folder that mixes in
    dataset images does not count either. Publishes the folder it checked: the grader judges
    the files that were handed in there, as it listed them before the notebook ran.

    Example:
        >>> check_own_folder("my_images")  # doctest: +SKIP
        ✅ Correct: 40 images of your own in 2 classes (horizontal, vertical): none comes from the track's dataset.
    """
    track = track or current_track()
    found = {"folder": None if folder is None else _relative(folder)}
    evidence.publish("own_folder", {}, found)
    return judge_own_folder(found, {} if folder is None else _listing(folder, images=True), track)


def folder_task_evidence(task: Any, folder: str | Path) -> dict[str, Any]:
    """What :func:`check_folder_task` reads from the task: its classes, images per class and split, test images seen in training.

    Example:
        >>> folder_task_evidence(None, "my_images")
        {'not a task': 'NoneType'}
    """
    from tlhelpers.data import Task

    if not isinstance(task, Task):
        return {"not a task": type(task).__name__}
    train = {hash(x.tobytes()) for x in np.concatenate([task.x_train, task.x_val])}
    return {
        "folder": _relative(folder), "class_names": list(task.class_names),
        "sizes": {split: len(getattr(task, f"y_{split}")) for split in ("train", "val", "test")},
        "counts": {split: [int(np.sum(np.asarray(getattr(task, f"y_{split}")) == c)) for c in range(task.num_classes)]
                   for split in ("train", "val", "test")},
        "leaked": sum(hash(x.tobytes()) in train for x in task.x_test),
    }


def judge_folder_task(found: dict[str, Any], listing: dict[str, str | None]) -> Feedback:
    """The verdict of :func:`check_folder_task` on its evidence; the classes must be the folder's (``listing``).

    Example:
        >>> judge_folder_task({"not a task": "dict"}, {}).correct
        False
    """
    if "not a task" in found:
        return _fail(_("task should be a tlhelpers.data.Task (e.g. from data.load_folder_task), got {got}.").format(
            got=found["not a task"]))
    folder, names = found["folder"], found["class_names"]
    classes = list(class_files(listing, folder))
    if names != classes:
        return _fail(_("the task's classes {names} should be the sub-folders of {folder!r}: {classes}.").format(
            names=names, folder=folder, classes=classes))
    for split in ("train", "val", "test"):
        missing = [name for name, count in zip(names, found["counts"][split]) if not count]
        if split != "val" and missing:
            return _fail(_("the {split} split has no image of {missing}; every class needs examples in train and "
                           "test.").format(split=split, missing=missing))
    if found["leaked"]:
        return _fail(_("{n} test image(s) also appear in the training or validation split: the test images must be "
                       "held out.").format(n=found["leaked"]))
    sizes = found["sizes"]
    return Feedback(
        True, _("{n} classes ({names}): {train} training, {val} validation and {test} held-out test images.").format(
            n=len(names), names=", ".join(names), train=sizes["train"], val=sizes["val"], test=sizes["test"]),
    )


def check_folder_task(task: Any, folder: str | Path) -> Feedback:
    """A task from the folder: its classes, each class in train and test, no test image in train; publishes its evidence.

    Example:
        >>> check_folder_task(task, "my_images")  # doctest: +SKIP
    """
    found = folder_task_evidence(task, folder)
    evidence.publish("folder_task", {}, found)
    return judge_folder_task(found, _listing(folder))


def own_model_evidence(model: Any, num_classes: int) -> dict[str, Any]:
    """What :func:`check_own_model` reads: the output shape and the digests of each backbone layer's weights.

    Example:
        >>> own_model_evidence(None, 3)
        {'not a model': 'NoneType'}
    """
    import keras

    from tlhelpers.transfer import find_backbone

    if not isinstance(model, keras.Model):
        return {"not a model": type(model).__name__}
    try:
        base, spec = find_backbone(model)
    except ValueError as err:
        return {"failed": str(err)}
    return {"backbone": spec.name, "input_size": base.input_shape[1], "num_classes": num_classes,
            "output_shape": list(model.output_shape),
            "layers": [[layer.name, type(layer).__name__, [evidence.digest(v.numpy()) for v in layer.weights]]
                       for layer in base.layers if layer.weights]}


def judge_own_model(found: dict[str, Any]) -> Feedback:
    """The verdict of :func:`check_own_model`: the weights against the pretrained ones (:func:`backbone_facts`).

    Example:
        >>> judge_own_model({"failed": "model 'm' has no backbone from the registry"}).correct
        False
    """
    if "not a model" in found:
        return _not_a_model(found, variable=True)
    if "failed" in found:
        return _fail(str(found["failed"]))
    num_classes = found["num_classes"]
    if tuple(found["output_shape"]) != (None, num_classes):
        return _one_probability_per_class(num_classes, tuple(found["output_shape"]))
    try:
        spec, facts = _layers_facts(found, found["layers"])
        pretrained = backbone_facts(spec.name, found["input_size"], pretrained=True)
    except ValueError as err:
        return _not_the_backbone(err)
    changed = []
    for block in spec.block_names:
        layers = [(name, digests) for name, _, digests in found["layers"] if name in pretrained and facts[name].block == block]
        for name, digests in layers:
            if facts[name].batchnorm and tuple(digests) != pretrained[name].digests:
                return _keep_batchnorm_frozen(name)
        if any(tuple(digests) != pretrained[name].digests for name, digests in layers):
            changed.append(block)
    if not changed:
        return _fail(_("the backbone is exactly the pretrained one: after training the head, unfreeze the top block(s) "
                       "and fine-tune them."))
    if spec.block_names[0] in changed:
        return _fail(_("the lowest block ({block}) changed: with a few labels keep the lower blocks frozen, fine-tune only "
                       "the top.").format(block=spec.block_names[0]))
    return Feedback(True, _("fine-tuned {blocks} of the pretrained {backbone}; lower blocks and BatchNorm untouched.").format(
        blocks=", ".join(changed), backbone=spec.name))


def check_own_model(model: Any, num_classes: int) -> Feedback:
    """Fine-tuned from the pretrained backbone: top block(s) changed, the lowest block and BatchNorm not.

    The model's backbone is compared, block by block, with a freshly loaded pretrained copy
    (weight by weight, by :func:`tlhelpers.evidence.digest`). Publishes its evidence.

    Example:
        >>> check_own_model(model, task.num_classes)  # doctest: +SKIP
    """
    found = own_model_evidence(model, num_classes)
    evidence.publish("own_model", {}, found)
    return judge_own_model(found)


def judge_predict(found: dict[str, Any], margin: float) -> Feedback:
    """The verdict of :func:`check_predict` on its evidence (the predictions and the task's test labels).

    Example:
        >>> judge_predict({**predictions_evidence(np.array([0, 1])), "labels": [0, 1], "num_classes": 2}, 0.1).correct
        True
    """
    if "failed" in found:
        return _fail(str(found["failed"]))
    y = np.asarray(found["labels"], int)
    form = _predictions_form(found, len(y), found["num_classes"], what="predict(images)")
    if not form:
        return form
    accuracy = float(np.mean(np.asarray(found["predictions"]) == y))
    baseline = float(np.bincount(y, minlength=found["num_classes"]).max() / len(y))
    return expect(
        accuracy >= baseline + margin,
        _("held-out test accuracy {accuracy:.3f}; always guessing the largest class gives {baseline:.3f}.").format(
            accuracy=accuracy, baseline=baseline),
        _("held-out test accuracy {accuracy:.3f} is not clearly better than always guessing the largest class "
          "({baseline:.3f}). Hint: prepare test images exactly as the training images (size, channels, "
          "preprocessing).").format(accuracy=accuracy, baseline=baseline),
    )


def check_predict(predict: Any, task, margin: float = 0.1) -> Feedback:
    """``predict(images)`` beats always guessing the largest class by ``margin`` on the held-out test; publishes its evidence.

    Example:
        >>> check_predict(predict, task)  # doctest: +SKIP
    """
    predictions, failed = _call(predict, task.x_test.copy(), what="predict")
    found: dict[str, Any] = {"failed": failed.message} if failed else {
        **predictions_evidence(predictions), "labels": np.asarray(task.y_test).tolist(), "num_classes": task.num_classes}
    evidence.publish("predict", {"margin": margin}, found)
    return judge_predict(found, margin)


def judge_predict_file(found: dict[str, Any], per_class: int) -> Feedback:
    """The verdict of :func:`check_predict_file` on its evidence: each file asked about, and the answer.

    A file's class is the folder it is in: answers that only read the path name it right,
    and so pass this check whether the grader or the kernel judges them.

    Example:
        >>> judge_predict_file({"folder": "imgs", "class_names": ["a", "b"], "answers": [["imgs/a/1.png", "a"]]}, 3).correct
        True
    """
    if "failed" in found:
        return _fail(str(found["failed"]))
    folder, names, answers = found["folder"], list(found["class_names"]), found["answers"]
    for path, answer in answers:
        if not isinstance(answer, str) or answer not in names:
            shown = repr(answer) if isinstance(answer, str) else str(answer.get("repr"))
            return _fail(_("predict_file({path!r}) should return a class name, one of {names}; got {shown}.").format(
                path=path, names=names, shown=shown))
    if not answers:
        return _fail(_("there are no files in the class folders of {folder!r} to ask predict_file about.").format(
            folder=folder))
    classes = [path[len(_under(folder)):].split("/")[0] if path.startswith(_under(folder)) else None for path, _ in answers]
    if any(c not in names or classes.count(c) > per_class for c in classes):
        return _fail(_("the answers are not for files the test picks (at most {per_class} of each class folder of "
                       "{folder!r}): was the test changed?").format(per_class=per_class, folder=folder))
    right = sum(c == answer for c, (_, answer) in zip(classes, answers))
    baseline = 1 / len(names)
    return expect(
        right / len(answers) > baseline,
        _("predict_file named {right} of {total} images right.").format(right=right, total=len(answers)),
        _("predict_file named only {right} of {total} images right (guessing gives {baseline:.2f}). Hint: load "
          "the file at the size, channels and preprocessing the model was trained with.").format(
            right=right, total=len(answers), baseline=baseline),
    )


def check_predict_file(predict_file: Any, folder: str | Path, class_names: tuple[str, ...], per_class: int = 3) -> Feedback:
    """``predict_file(path)`` names a class for image files, mostly the right one; publishes its evidence.

    Tried on the first ``per_class`` files of each class folder.

    Example:
        >>> check_predict_file(predict_file, "my_images", task.class_names)  # doctest: +SKIP
    """
    folder, rel = Path(folder), _relative(folder)
    asked = [(name, path) for name in class_names for path in
             sorted(p for p in (folder / name).iterdir() if p.is_file() and not p.name.startswith("."))[:per_class]]
    found: dict[str, Any] = {"folder": rel, "class_names": list(class_names), "answers": []}
    for name, path in asked:
        answer, failed = _call(predict_file, path, what=f"predict_file({str(path)!r})")
        if failed:
            found = {"failed": failed.message}
            break
        found["answers"].append([_under(rel) + f"{name}/{path.name}", answer if isinstance(answer, str) else {"repr": repr(answer)}])
        if answer not in class_names:
            break
    evidence.publish("predict_file", {"per_class": per_class}, found)
    return judge_predict_file(found, per_class)


#: The checks whose evidence the grader judges again, by the name they publish it under: each
#: takes the record's data, its key (the check's arguments, as the teacher's reference
#: published them) and the facts the grader measured outside the kernel (``files``: the
#: submission's files as handed in; ``seconds``: each evidence key's cell, timed).
JUDGES: dict[str, Callable[[dict[str, Any], dict[str, Any], dict[str, Any]], Feedback]] = {
    "classifier": lambda found, key, facts: judge_classifier(found, key["num_classes"]),
    "unfrozen": lambda found, key, facts: judge_unfrozen(found, key["depth"]),
    "fine_tuned": lambda found, key, facts: judge_fine_tuned(found, key["depth"], key["pretrained"]),
    "prepare": lambda found, key, facts: judge_prepare(found, **key),
    "wrong_pipelines_format": lambda found, key, facts: judge_wrong_pipelines_format(found),
    "wrong_pipelines": lambda found, key, facts: judge_wrong_pipelines(found),
    "solve": lambda found, key, facts: Feedback(True, _("solve ran (the grader times its cell).")),
    "predictions": lambda found, key, facts: judge_predictions(found, challenge_truth(current_track())),
    "challenge": lambda found, key, facts: judge_challenge(
        found, challenge_truth(current_track()), _solve_seconds(key, facts), challenge(), timing_slack(challenge())),
    "own_folder": lambda found, key, facts: judge_own_folder(found, facts["files"], current_track()),
    "folder_task": lambda found, key, facts: judge_folder_task(found, facts["files"]),
    "own_model": lambda found, key, facts: judge_own_model(found),
    "predict": lambda found, key, facts: judge_predict(found, key["margin"]),
    "predict_file": lambda found, key, facts: judge_predict_file(found, key["per_class"]),
}
