"""Assignment 2 (``a2_preprocessing``): preprocessing for two backbones, and spotting the wrong pipelines.

``check_prepare`` runs the student's ``prepare`` on images of one colour (whose resized
version is that colour whatever the resizing) and on random ones; the pipeline question
checks a set of letters. Each check publishes its evidence, which the grader judges again
with the same ``judge_*`` function (:data:`JUDGES`).

Example:
    >>> judge_wrong_pipelines_format({"answer": "b, c"})
    ✅ Correct: your answer lists pipelines B, C (the hidden test checks which are right).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from tlhelpers import evidence
from tlhelpers.checks import Feedback
from tlhelpers.config import Track, current_track
from tlhelpers.exercises.assignment_common import Judge, call_student, fail
from tlhelpers.i18n import N_, _, ngettext

__all__ = [
    "JUDGES", "PIPELINES", "Pipeline", "check_prepare", "check_wrong_pipelines", "check_wrong_pipelines_format",
    "judge_prepare", "judge_wrong_pipelines", "judge_wrong_pipelines_format", "pipelines_markdown",
    "prepare_evidence", "preprocessing_pair",
]


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
    out, failed = call_student(prepare, batch.copy(), backbone, size, what="prepare")
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
        out, failed = call_student(prepare, image, backbone, size, what="prepare")
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
        return fail(str(evidence["failed"]))
    if "not numbers" in evidence:
        return fail(_("{call} should return an array or tensor of numbers, got {got}.").format(
            call=call, got=evidence["not numbers"]))
    expected_shape = (3, size, size, spec.channels)
    if tuple(evidence["shape"]) != expected_shape:
        return fail(_(
            "{call} should return shape {expected} ({channels} channel(s) at {size}x{size}), "
            "got {got}. Hint: tf.image.resize, tf.image.grayscale_to_rgb / rgb_to_grayscale."
        ).format(call=call, expected=expected_shape, channels=spec.channels, size=size, got=tuple(evidence["shape"])))
    colours = _colours(in_channels, spec.channels)
    if len(evidence["colours"]) != len(colours):
        return fail(_("the evidence of {call} is incomplete: {n} of {total} colours.").format(
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
            return fail(_(
                "an image of colour {colour} does not become what {backbone} takes: prepare gives "
                "[{shown}].{diagnosis}"
            ).format(colour=rgb[:in_channels], backbone=backbone, shown=shown, diagnosis=found))
    low, high = evidence["range"]
    if low < lo - tol or high > hi + tol:
        return fail(_("prepare gives values from {low:.4g} to {high:.4g}, outside the range {backbone}'s "
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
        return fail(_("answer with a set of letters from A to G, e.g. {{'A', 'C'}}; got {shown}.").format(shown=shown))
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
        return fail(_(
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


#: The judges of this assignment's checks, by the name they publish their evidence under
#: (see :data:`tlhelpers.exercises.assignment_checks.JUDGES`).
JUDGES: dict[str, Judge] = {
    "prepare": lambda found, key, facts: judge_prepare(found, **key),
    "wrong_pipelines_format": lambda found, key, facts: judge_wrong_pipelines_format(found),
    "wrong_pipelines": lambda found, key, facts: judge_wrong_pipelines(found),
}
