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
            print(f"note: {w.category.__name__}: {w.message}")
        text = buffer.getvalue().strip()
        if text:
            print("note:", text)


def _call(fn: Any, *args: Any, what: str) -> tuple[Any, Feedback | None]:
    """Call a student's function; a crash becomes a Feedback (NotImplementedError passes through)."""
    if not callable(fn):
        return None, Feedback(False, f"{what} should be a function, got {type(fn).__name__} {fn!r}.")
    try:
        with quiet():
            return fn(*args), None
    except NotImplementedError:
        raise
    except Exception as err:
        return None, Feedback(False, f"{what} raised {type(err).__name__}: {err}")


def _fail(message: str) -> Feedback:
    return Feedback(False, message)


# ---- assignment 1: freezing and unfreezing ------------------------------------------------


def _nested_base(model: Any, base: Any) -> bool:
    from tlhelpers.keras_internals import all_layers

    layers = {id(layer) for layer in all_layers(model)}
    return all(id(layer) in layers for layer in base.layers)


def check_classifier(model: Any, base: Any, num_classes: int) -> Feedback:
    """A new classifier on ``base``: the base frozen, a trainable softmax head of ``num_classes``.

    Example:
        >>> from tlhelpers import backbones, transfer
        >>> base = backbones.load_backbone("fashion_cnn", weights=None)
        >>> check_classifier(transfer.build_classifier(base, 3), base, 3)  # doctest: +ELLIPSIS
        ✅ Correct: ...
    """
    import keras

    from tlhelpers.transfer import find_backbone

    if not isinstance(model, keras.Model):
        return _fail(f"build_model should return a keras.Model, got {type(model).__name__}.")
    try:
        _, spec = find_backbone(model)
    except ValueError as err:
        return _fail(str(err))
    if not _nested_base(model, base):
        return _fail("the model should be built on the base you were given (use the `base` argument; do not load another one).")
    shape = tuple(model.output_shape)
    if shape[-1] != num_classes or len(shape) != 2:
        return _fail(f"the model should output one probability per class, shape (None, {num_classes}); got {shape}.")
    lo, hi = spec.input_range
    x = np.random.default_rng(0).uniform(lo, hi, (2, *model.input_shape[1:])).astype("float32")
    with quiet():
        probs = np.asarray(model(x, training=False))
    if probs.min() < -1e-6 or not np.allclose(probs.sum(axis=1), 1.0, atol=1e-3):
        return _fail("the outputs should be probabilities that sum to 1: end the head with Dense(num_classes, activation='softmax').")
    trainable = {id(v) for v in model.trainable_weights}
    trainable_base = sum(id(v) in trainable for v in base.weights)  # not base.trainable_weights: see check_unfrozen
    if trainable_base:
        return _fail(f"{trainable_base} weight tensors of the base would train: freeze it with base.trainable = False.")
    if not model.trainable_weights:
        return _fail("nothing in the model trains: the new head must stay trainable (freeze only the base).")
    head_params = sum(int(np.prod(v.shape)) for v in model.trainable_weights)
    return Feedback(True, f"a {num_classes}-class head ({head_params:,} trainable parameters) on a frozen {spec.name} base.")


def check_unfrozen(model: Any, depth: int) -> Feedback:
    """Exactly the top ``depth`` blocks train (BatchNorm excluded), lower blocks are frozen, the head trains.

    Reads :func:`tlhelpers.transfer.trainability_report`: which weights of each layer
    train, by the registry's block boundaries, so any way of setting ``trainable`` that
    gives this passes. (In Keras 3 a layer set trainable inside a base whose ``trainable``
    is False still trains as part of the outer model, so the base's own flag is not what
    counts.)

    Example:
        >>> from tlhelpers import backbones, transfer
        >>> model = transfer.build_classifier(backbones.load_backbone("fashion_cnn", weights=None), 5)
        >>> _ = transfer.unfreeze_top(model, 1)
        >>> check_unfrozen(model, 1)  # doctest: +ELLIPSIS
        ✅ Correct: the top 1 block(s) (block4) train...
    """
    import keras

    from tlhelpers.transfer import trainability_report

    if not isinstance(model, keras.Model):
        return _fail(f"the model should be a keras.Model, got {type(model).__name__}.")
    try:
        report = trainability_report(model)
    except ValueError as err:
        return _fail(str(err))
    spec_blocks = [r.block for r in report.rows[:-1]]
    top = spec_blocks[len(spec_blocks) - depth:] if depth else ()
    for row in report.layer_rows:
        trains = row.trainable_params > 0
        if not row.params or row.block == "head":
            continue
        if row.batchnorm:
            if trains:
                return _fail(
                    f"BatchNorm layer {row.layer!r} in {row.block} is trainable: keep every BatchNorm layer "
                    "frozen (layer.trainable = False) so its statistics from pretraining stay put."
                )
        elif row.block in top and not trains:
            return _fail(
                f"{row.block} is one of the top {depth} block(s) and should train, but its layer {row.layer!r} is frozen."
            )
        elif row.block not in top and trains:
            return _fail(
                f"{row.block} should stay frozen (only the top {depth} block(s) train), but its layer "
                f"{row.layer!r} is trainable."
            )
    frozen_head = [r.layer for r in report.layer_rows if r.block == "head" and r.params and not r.trainable_params]
    if frozen_head:
        return _fail(f"the head should keep training, but {frozen_head[0]!r} is frozen.")
    lower = [b for b in spec_blocks if b not in top]
    trains = f"the top {depth} block(s) ({', '.join(top)}) train without their BatchNorm layers" if top else "no block trains"
    frozen = f"{', '.join(lower)} stay frozen" if lower else "no block stays frozen"
    return Feedback(True, f"{trains}; {frozen}; the head trains.")


def snapshot(model: Any) -> dict[int, np.ndarray]:
    """The value of every weight of ``model`` (trainable or not), keyed by the variable's id.

    Example:
        >>> import keras
        >>> m = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> len(snapshot(m))
        2
    """
    return {id(v): np.array(v.numpy()) for v in model.weights}


def _changed(layer: Any, before: dict[int, np.ndarray]) -> bool:
    return any(id(v) in before and not np.array_equal(before[id(v)], v.numpy()) for v in layer.weights)


def check_fine_tuned(model: Any, before: dict[int, np.ndarray], depth: int, max_lr: float | None = None) -> Feedback:
    """After fine-tuning: recompiled, a supported peak rate, the top ``depth`` blocks changed, nothing below, BatchNorm intact.

    Args:
        model: the classifier after the student's fine-tuning.
        before: :func:`snapshot` of it just before.
        depth: blocks that were unfrozen.
        max_lr: the highest peak learning rate accepted (default: the top of
            :data:`tlhelpers.recipe.PEAK_RATE_RANGE`, what the course's measurements support).

    Example:
        >>> check_fine_tuned(model, before, depth=2)  # doctest: +SKIP
    """
    import keras

    from tlhelpers.backbones import block_of_layers
    from tlhelpers.keras_internals import learning_rate_schedule
    from tlhelpers.learning_rates import learning_rate_of
    from tlhelpers.recipe import PEAK_RATE_RANGE
    from tlhelpers.transfer import find_backbone, trainability_report

    max_lr = PEAK_RATE_RANGE[1] if max_lr is None else max_lr
    if not isinstance(model, keras.Model):
        return _fail(f"the model should be a keras.Model, got {type(model).__name__}.")
    lr = learning_rate_of(model)
    if lr is None:
        return _fail("the model has no optimizer: compile it (model.compile(optimizer=..., loss=..., metrics=...)) before fit.")
    if trainability_report(model).needs_recompile:
        return _fail("the model was not compiled again after its blocks were unfrozen: fine-tuning is a new phase, "
                     "with its own optimizer and learning rate. Call model.compile(...) before fit.")
    schedule = learning_rate_schedule(model.optimizer)
    if schedule is not None:  # the peak of a warm-up and decay
        lr = float(getattr(schedule, "warmup_target", None) or getattr(schedule, "initial_learning_rate", lr))
    if not 0 < lr <= max_lr:
        return _fail(
            f"the optimizer's (peak) learning rate is {lr:g}: too high for fine-tuning pretrained blocks. The course's "
            f"measurements support peaks up to {max_lr:g} with Adam (lesson 03); higher, the first steps wreck what "
            "the blocks learned. Compile again after unfreezing, with such a rate."
        )
    try:
        base, spec = find_backbone(model)
    except ValueError as err:
        return _fail(str(err))
    groups = block_of_layers(base, spec)
    top = spec.block_names[spec.num_blocks - depth:] if depth else ()
    for block, layers in groups.items():
        for layer in layers:
            if isinstance(layer, keras.layers.BatchNormalization) and _changed(layer, before):
                return _fail(
                    f"BatchNorm layer {layer.name!r} changed (its moving statistics or scale): it ran in "
                    "training mode. Keep BatchNorm layers frozen (trainable = False) while fine-tuning."
                )
    for block, layers in groups.items():
        if block not in top and any(_changed(l, before) for l in layers):
            return _fail(f"{block} changed, but only the top {depth} block(s) should train: keep it frozen.")
    if top and not any(_changed(l, before) for b in top for l in groups[b]):
        return _fail(
            f"the unfrozen block(s) {', '.join(top)} did not change: train the model (model.fit) after "
            "compiling it with the low learning rate."
        )
    return Feedback(True, f"learning rate {lr:g}; {', '.join(top)} changed, the lower blocks and every BatchNorm layer did not.")


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
        ("the raw 0..255 pixels: the backbone's preprocess_input is missing", pixel.astype(np.float64)),
        (
            "pixels divided by 255, but this backbone rescales raw 0..255 pixels itself"
            if spec.built_in_preprocessing else
            "pixels scaled to 0..1 before preprocess_input, which expects 0..255 (scaled twice)",
            _preprocessed_pixel(pre, pixel / 255.0),
        ),
        ("preprocess_input applied twice", _preprocessed_pixel(lambda x: pre(pre(x)), pixel)),
    ]
    if len(pixel) == 3 and len(set(pixel.tolist())) > 1:
        candidates.append(("the colour channels in the wrong order (RGB and BGR swapped)", _preprocessed_pixel(pre, pixel[::-1])))
    for other in BACKBONES.values():
        if other.name != backbone and other.channels == len(pixel):
            candidates.append((f"{other.name}'s preprocessing, not {backbone}'s", _preprocessed_pixel(other.preprocess, pixel)))
    errors = [(float(np.max(np.abs(got - value))), label) for label, value in candidates if value.shape == got.shape]
    error, label = min(errors, key=lambda e: e[0], default=(np.inf, ""))  # ties: the first, simplest story
    return f" It looks like {label}." if error <= tol else ""


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
    call = f"prepare(images of shape (N, 28, 28, {in_channels}), {backbone!r}, {size})"
    if "failed" in evidence:
        return _fail(str(evidence["failed"]))
    if "not numbers" in evidence:
        return _fail(f"{call} should return an array or tensor of numbers, got {evidence['not numbers']}.")
    expected_shape = (3, size, size, spec.channels)
    if tuple(evidence["shape"]) != expected_shape:
        return _fail(
            f"{call} should return shape {expected_shape} ({spec.channels} channel(s) at {size}x{size}), "
            f"got {tuple(evidence['shape'])}. Hint: tf.image.resize, tf.image.grayscale_to_rgb / rgb_to_grayscale."
        )
    colours = _colours(in_channels, spec.channels)
    if len(evidence["colours"]) != len(colours):
        return _fail(f"the evidence of {call} is incomplete: {len(evidence['colours'])} of {len(colours)} colours.")
    for rgb, got in zip(colours, evidence["colours"]):
        got = np.asarray(got, np.float64)
        pixel = np.asarray(rgb[: spec.channels] if spec.channels == 3 else rgb[:1], np.float64)
        want = _preprocessed_pixel(spec.preprocess, pixel)
        if got.shape != want.shape or np.any(np.abs(got - want) > tol):
            shown = ", ".join(f"{v:.4g}" for v in got)
            found = _diagnose(got, pixel, backbone, tol) or (
                f" Compare each step with {backbone}'s contract (lesson 02, section 3): the value range, the "
                "channel order, and preprocessing applied exactly once."
            )
            return _fail(
                f"an image of colour {rgb[:in_channels]} does not become what {backbone} takes: prepare gives "
                f"[{shown}].{found}"
            )
    low, high = evidence["range"]
    if low < lo - tol or high > hi + tol:
        return _fail(f"prepare gives values from {low:.4g} to {high:.4g}, outside the range {backbone}'s "
                     "preprocess_input produces: check the scaling against its contract (lesson 02, section 3).")
    return Feedback(
        True,
        f"prepare turns {in_channels}-channel images into {backbone}'s input: {size}x{size}x{spec.channels}, "
        f"values in [{lo:g}, {hi:g}].",
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
        False, "resize, then ResNet50's own preprocess_input on 0..255 RGB pixels: the contract.",
    ),
    "B": Pipeline(
        "x = tf.image.resize(images, (S, S)) / 255.0\nx = keras.applications.resnet50.preprocess_input(x)",
        True, "preprocess_input expects 0..255 pixels; after dividing by 255, subtracting the ImageNet "
        "means leaves every value near -110: the image is almost flat.",
    ),
    "C": Pipeline(
        "x = tf.image.resize(images[..., ::-1], (S, S))  # RGB -> BGR\nx = keras.applications.resnet50.preprocess_input(x)",
        True, "preprocess_input already turns RGB into BGR; flipping first swaps red and blue back, and "
        "each channel gets another channel's mean.",
    ),
    "D": Pipeline(
        "x = tf.image.resize(images, (S, S))\nx = keras.applications.mobilenet_v2.preprocess_input(x)",
        True, "that is MobileNetV2's contract (scale to [-1, 1]); ResNet50 learned on BGR pixels minus "
        "the ImageNet means ('caffe' mode).",
    ),
    "E": Pipeline(
        "x = keras.applications.resnet50.preprocess_input(tf.cast(images, 'float32'))\nx = tf.image.resize(x, (S, S))",
        False, "preprocessing, then resizing, is fine: subtracting a per-channel mean and resizing "
        "(weighted averages of neighbours) commute.",
    ),
    "F": Pipeline(
        "x = tf.image.resize(images, (S, S))\nx = keras.applications.resnet50.preprocess_input(x)  # in the data pipeline\n"
        "x = keras.applications.resnet50.preprocess_input(x)  # and again in a Lambda layer at the top of the model",
        True, "preprocessing runs twice (in the data pipeline and in the model): the second pass flips BGR "
        "back to RGB and subtracts the means again.",
    ),
    "G": Pipeline(
        "x = tf.image.resize(images, (S, S))  # the model gets 0..255 pixels",
        True, "ResNet50 has no built-in preprocessing: raw 0..255 pixels are far from the "
        "mean-centred values it learned on.",
    ),
}


def pipelines_markdown() -> str:
    """The candidate pipelines as Markdown (display with ``IPython.display.Markdown``).

    Example:
        >>> pipelines_markdown().splitlines()[0]
        '**A**'
    """
    return "\n\n".join(f"**{letter}**\n```python\n{p.code}\n```" for letter, p in PIPELINES.items())


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
        return _fail(f"answer with a set of letters from A to G, e.g. {{'A', 'C'}}; got {shown}.")
    return Feedback(True, f"your answer lists pipelines {', '.join(sorted(letters)) or 'none'} (the hidden test checks which are right).")


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
            parts.append(f"{flagged_fine} of the pipelines you listed {'is' if flagged_fine == 1 else 'are'} fine")
        if missed:
            parts.append(f"{missed} broken pipeline{' is' if missed == 1 else 's are'} missing from your answer")
        return _fail(
            f"{' and '.join(parts)}. Run each one in your head against ResNet50's contract (lesson 02, section 3): "
            "the range preprocess_input expects, the channel order it produces, whether it runs exactly once, "
            "and whether resizing and preprocessing commute."
        )
    return Feedback(True, " ".join(f"{k}: {PIPELINES[k].why}" for k in sorted(wrong)))


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


#: The checks whose evidence the grader judges again, by the name they publish it under.
JUDGES: dict[str, Callable[..., Feedback]] = {
    "prepare": lambda found, key: judge_prepare(found, **key),
    "wrong_pipelines_format": lambda found, key: judge_wrong_pipelines_format(found),
    "wrong_pipelines": lambda found, key: judge_wrong_pipelines(found),
}


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
    test_idx, _ = label_budget(yt, settings.test_per_class, 0, seed=TEST_SEED, class_names=names)
    return make_task(
        track.dataset, (x, y), (xt[test_idx], yt[test_idx]), names,
        settings.labels_per_class, settings.val_per_class, seed,
    )


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
        raise HiddenLabelsError(
            "the test labels are hidden while solve() runs: make every choice on the validation "
            "split (task.x_val, task.y_val); the test split only measures the final result."
        )

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


def run_timed(solve: Callable[[Any], Any], task, budget: float | None = None) -> tuple[np.ndarray, float]:
    """Run ``solve(task without test labels)``; return its predictions and the seconds it took.

    Example:
        >>> predictions, seconds = run_timed(solve, task)  # doctest: +SKIP
        solve(task) took 6.2 s (budget: 60 s)
    """
    budget = challenge().budget_seconds if budget is None else budget
    start = time.perf_counter()
    with quiet():
        predictions = solve(without_test_labels(task))
    seconds = time.perf_counter() - start
    print(f"solve(task) took {seconds:.1f} s (budget: {budget:g} s)")
    return np.asarray(predictions), seconds


def check_predictions(predictions: Any, task) -> Feedback:
    """One integer class index per test image.

    Example:
        >>> from types import SimpleNamespace
        >>> task = SimpleNamespace(x_test=np.zeros((3, 2, 2, 1)), num_classes=2)
        >>> check_predictions(np.array([[0.2, 0.8]] * 3), task)  # doctest: +ELLIPSIS
        ❌ Not yet: solve(task) should return one class index per test image, shape (3,); got shape (3, 2)...
    """
    p = np.asarray(predictions)
    n = len(task.x_test)
    if p.shape != (n,):
        hint = " Take the most likely class: probabilities.argmax(axis=1)." if p.ndim == 2 else ""
        return _fail(f"solve(task) should return one class index per test image, shape ({n},); got shape {p.shape}.{hint}")
    if not np.issubdtype(p.dtype, np.integer) or p.min() < 0 or p.max() >= task.num_classes:
        return _fail(f"the predictions should be integer class indices from 0 to {task.num_classes - 1}; got {p.dtype} values {p[:5]}...")
    return Feedback(True, f"{n} predictions, one class index per test image.")


def check_challenge(predictions: Any, seconds: float, task, settings: Challenge | None = None) -> Feedback:
    """The target test accuracy, reached within the time budget.

    Example:
        >>> from types import SimpleNamespace
        >>> task = SimpleNamespace(x_test=np.zeros((4, 2, 2, 1)), y_test=np.array([0, 1, 1, 0]), num_classes=2)
        >>> rules = Challenge(1, 1, 2, target_accuracy=0.7, budget_seconds=10, basis="")
        >>> check_challenge(np.array([0, 1, 1, 1]), 3.0, task, rules)  # doctest: +ELLIPSIS
        ✅ Correct: test accuracy 0.750 (target 0.70) in 3.0 s (budget 10 s).
    """
    settings = settings or challenge()
    form = check_predictions(predictions, task)
    if not form:
        return form
    accuracy = float(np.mean(np.asarray(predictions) == np.asarray(task.y_test)))
    if accuracy < settings.target_accuracy:
        return _fail(
            f"test accuracy {accuracy:.3f} is below the target {settings.target_accuracy:.2f}. Hint: with "
            f"{settings.labels_per_class} labels per class, start from the pretrained backbone (a new head on "
            "its cached features) and choose epochs and learning rate on the validation split."
        )
    if seconds > settings.budget_seconds:
        return _fail(
            f"test accuracy {accuracy:.3f} reaches the target, but solve took {seconds:.1f} s, over the "
            f"budget of {settings.budget_seconds:g} s. Hint: run the frozen backbone once (cached features) "
            "instead of every epoch."
        )
    return Feedback(
        True, f"test accuracy {accuracy:.3f} (target {settings.target_accuracy:.2f}) in {seconds:.1f} s "
        f"(budget {settings.budget_seconds:g} s).",
    )


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
        raise FileExistsError(f"{str(folder)!r} exists and is not empty; the demo folder is written only into a new or empty folder")
    dataset = "fashion_mnist" if track.name == "offline" else track.dataset
    (_, (x, y)), names = load_dataset(dataset)
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


def _dataset_fingerprints(names: tuple[str, ...]) -> tuple[set[int], set[tuple[int, ...]]]:
    """Hashes of every image of the named datasets (both splits), and the image shapes."""
    from tlhelpers.data import load_dataset

    hashes: set[int] = set()
    shapes: set[tuple[int, ...]] = set()
    for name in names:
        ((x, _), (x_test, _)), _ = load_dataset(name)
        for images in (x, x_test):
            images = np.ascontiguousarray(images, dtype=np.uint8)
            shape = tuple(images.shape[1:])
            shapes.add(shape[:-1] if shape[-1] == 1 else shape)  # a gray PNG reads back without the channel axis
            hashes.update(hash(row.tobytes()) for row in images.reshape(len(images), -1))
    return hashes, shapes


def _folder_images(folder: Path) -> list[Path]:
    from tlhelpers.data import IMAGE_EXTENSIONS

    return sorted(
        path for sub in Path(folder).iterdir() if sub.is_dir() and not sub.name.startswith(".")
        for path in sub.iterdir() if path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS
    )


def check_own_folder(folder: str | Path, track: Track | None = None) -> Feedback:
    """The image folder holds the student's own images, not the demo folder's.

    Every image file is compared, pixel for pixel, with the images of the track's dataset,
    which is where :func:`make_demo_folder` takes its images from (renaming or moving the
    files does not change that). A folder that mixes in dataset images does not count either.

    Example:
        >>> check_own_folder("my_images")  # doctest: +SKIP
        ✅ Correct: 40 images of your own in 2 classes (horizontal, vertical): none comes from the track's dataset.
    """
    from PIL import Image

    track = track or current_track()
    if folder is None:
        return _fail("set the image folder (a path to my_images/, one sub-folder per class).")
    folder = Path(folder)
    if not folder.is_dir():
        return _fail(f"there is no folder {str(folder)!r}: put your images in it, one sub-folder per class.")
    files = _folder_images(folder)
    if not files:
        return _fail(f"{str(folder)!r} has no image files in its class sub-folders.")
    sources = DEMO_SOURCES.get(track.name, (track.dataset,))
    try:
        with quiet():  # a first load may render and cache the dataset: nothing of it on stderr in a graded cell
            hashes, shapes = _dataset_fingerprints(sources)
    except Exception as err:  # the dataset is not on this machine: nothing to compare with
        return Feedback(True, f"{len(files)} images; not compared with the track's dataset, which this machine "
                              f"cannot load ({type(err).__name__}).")
    from_dataset = 0
    for path in files:
        try:
            with Image.open(path) as image:
                pixels = np.asarray(image)
        except Exception:  # unreadable files are load_folder_task's business
            continue
        if pixels.dtype == np.uint8 and tuple(pixels.shape) in shapes and hash(pixels.tobytes()) in hashes:
            from_dataset += 1
    classes = _class_folders(folder)
    if from_dataset:
        return _fail(
            f"{from_dataset} of the {len(files)} images in {str(folder)!r} are images of the track's dataset "
            f"({', '.join(sources)}): that is the demo folder, or part of it. The demo folder is for practice: "
            "every question runs and is checked on it, but this point needs a folder of your own images. Replace "
            f"them with images of your own ({str(folder)!r}, one sub-folder per class) and run all cells again."
        )
    return Feedback(True, f"{len(files)} images of your own in {len(classes)} classes ({', '.join(classes)}): none "
                          "comes from the track's dataset.")


def _class_folders(folder: Path) -> list[str]:
    return sorted(p.name for p in Path(folder).iterdir() if p.is_dir() and not p.name.startswith("."))


def check_folder_task(task: Any, folder: str | Path) -> Feedback:
    """A task from the folder: its classes, each class in train and test, no test image in train.

    Example:
        >>> check_folder_task(task, "my_images")  # doctest: +SKIP
    """
    from tlhelpers.data import Task

    if not isinstance(task, Task):
        return _fail(f"task should be a tlhelpers.data.Task (e.g. from data.load_folder_task), got {type(task).__name__}.")
    classes = _class_folders(Path(folder))
    if list(task.class_names) != classes:
        return _fail(f"the task's classes {list(task.class_names)} should be the sub-folders of {str(folder)!r}: {classes}.")
    for split in ("train", "val", "test"):
        y = np.asarray(getattr(task, f"y_{split}"))
        missing = [task.class_names[c] for c in range(task.num_classes) if not np.any(y == c)]
        if split != "val" and missing:
            return _fail(f"the {split} split has no image of {missing}; every class needs examples in train and test.")
    train = {hash(x.tobytes()) for x in np.concatenate([task.x_train, task.x_val])}
    leaked = sum(hash(x.tobytes()) in train for x in task.x_test)
    if leaked:
        return _fail(f"{leaked} test image(s) also appear in the training or validation split: the test images must be held out.")
    return Feedback(
        True, f"{task.num_classes} classes ({', '.join(task.class_names)}): {len(task.y_train)} training, "
        f"{len(task.y_val)} validation and {len(task.y_test)} held-out test images.",
    )


def check_own_model(model: Any, num_classes: int) -> Feedback:
    """Fine-tuned from the pretrained backbone: top block(s) changed, the lowest block and BatchNorm not.

    The model's backbone is compared, block by block, with a freshly loaded pretrained copy.

    Example:
        >>> check_own_model(model, task.num_classes)  # doctest: +SKIP
    """
    import keras

    from tlhelpers.backbones import block_of_layers, load_backbone
    from tlhelpers.transfer import find_backbone

    if not isinstance(model, keras.Model):
        return _fail(f"model should be a keras.Model, got {type(model).__name__}.")
    try:
        base, spec = find_backbone(model)
    except ValueError as err:
        return _fail(str(err))
    if tuple(model.output_shape) != (None, num_classes):
        return _fail(f"the model should output one probability per class, shape (None, {num_classes}); got {model.output_shape}.")
    with quiet():
        pretrained = load_backbone(spec.name, input_size=base.input_shape[1])
    mine, theirs = block_of_layers(base, spec), block_of_layers(pretrained, spec)

    def differs(a: Any, b: Any) -> bool:
        return any(not np.allclose(v.numpy(), w.numpy(), rtol=0, atol=1e-7) for v, w in zip(a.weights, b.weights))

    changed = []
    for block in spec.block_names:
        for a, b in zip(mine[block], theirs[block]):
            if isinstance(a, keras.layers.BatchNormalization) and differs(a, b):
                return _fail(f"BatchNorm layer {a.name!r} changed during training: keep BatchNorm layers frozen (trainable = False).")
        if any(differs(a, b) for a, b in zip(mine[block], theirs[block])):
            changed.append(block)
    if not changed:
        return _fail("the backbone is exactly the pretrained one: after training the head, unfreeze the top block(s) and fine-tune them.")
    if spec.block_names[0] in changed:
        return _fail(f"the lowest block ({spec.block_names[0]}) changed: with a few labels keep the lower blocks frozen, fine-tune only the top.")
    return Feedback(True, f"fine-tuned {', '.join(changed)} of the pretrained {spec.name}; lower blocks and BatchNorm untouched.")


def check_predict(predict: Any, task, margin: float = 0.1) -> Feedback:
    """``predict(images)`` beats always guessing the largest class by ``margin`` on the held-out test.

    Example:
        >>> check_predict(predict, task)  # doctest: +SKIP
    """
    y = np.asarray(task.y_test)
    predictions, failed = _call(predict, task.x_test.copy(), what="predict")
    if failed:
        return failed
    form = check_predictions(predictions, task)
    if not form:
        return Feedback(False, form.message.replace("solve(task)", "predict(images)"))
    accuracy = float(np.mean(np.asarray(predictions) == y))
    baseline = float(np.bincount(y, minlength=task.num_classes).max() / len(y))
    return expect(
        accuracy >= baseline + margin,
        f"held-out test accuracy {accuracy:.3f}; always guessing the largest class gives {baseline:.3f}.",
        f"held-out test accuracy {accuracy:.3f} is not clearly better than always guessing the largest class "
        f"({baseline:.3f}). Hint: prepare test images exactly as the training images (size, channels, preprocessing).",
    )


def check_predict_file(predict_file: Any, folder: str | Path, class_names: tuple[str, ...], per_class: int = 3) -> Feedback:
    """``predict_file(path)`` names a class for image files, mostly the right one.

    Tried on the first ``per_class`` files of each class folder.

    Example:
        >>> check_predict_file(predict_file, "my_images", task.class_names)  # doctest: +SKIP
    """
    folder = Path(folder)
    right = total = 0
    for label, name in enumerate(class_names):
        files = sorted(p for p in (folder / name).iterdir() if p.is_file() and not p.name.startswith("."))[:per_class]
        for path in files:
            answer, failed = _call(predict_file, path, what=f"predict_file({str(path)!r})")
            if failed:
                return failed
            if answer not in class_names:
                return _fail(f"predict_file({str(path)!r}) should return a class name, one of {list(class_names)}; got {answer!r}.")
            right += answer == name
            total += 1
    baseline = 1 / len(class_names)
    return expect(
        right / total > baseline,
        f"predict_file named {right} of {total} images right.",
        f"predict_file named only {right} of {total} images right (guessing gives {baseline:.2f}). Hint: load "
        "the file at the size, channels and preprocessing the model was trained with.",
    )
