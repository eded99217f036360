"""Each backbone's input contract, a checker for batches, and augmentation layers.

Every pretrained backbone was trained on pixels scaled one particular way, and it must
see the same scaling again. The registry (:mod:`tlhelpers.backbones`) records each
backbone's ``preprocess_input``; this module makes the contract visible and checks it:

* :func:`contract` / :func:`contract_table`: the value range before and after
  ``preprocess_input``, *measured* by applying the function to every pixel value 0..255.
* :func:`check_batch`: is this batch what the backbone expects, raw pixels (preprocessing
  missing), preprocessed twice, or scaled by hand to 0..1? Returns a :class:`BatchReport`
  (a :class:`tlhelpers.verdict.Verdict`: ``ok``, ``message``) and warns with a
  :class:`PreprocessingWarning` that says what to fix.
* :func:`make_augmentation`: Keras random-augmentation layers, active only when called
  with ``training=True``.

A trap worth knowing: ``keras.applications.*.preprocess_input`` changes a float NumPy
array *in place* and returns it, so ``x2 = preprocess_input(x)`` also changes ``x``;
preprocess it again later and it is preprocessed twice. :func:`apply_preprocess` copies first.

Example:
    >>> import numpy as np
    >>> contract("mobilenet_v2").after
    (-1.0, 1.0)
    >>> raw = np.linspace(0, 255, 48, dtype=np.float32).reshape(1, 4, 4, 3)
    >>> check_batch(raw, "mobilenet_v2", warn=False).verdict
    'missing'
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from tlhelpers.backbones import BackboneSpec, get_spec
from tlhelpers.i18n import N_, LazyText, _
from tlhelpers.verdict import Verdict

__all__ = [
    "CANDIDATES", "CONTRACT_COLUMNS", "FIXES", "RAW_RANGE", "SCHEMES", "BatchReport", "Contract",
    "PreprocessingWarning", "apply_preprocess", "augment_examples", "check_batch", "contract", "contract_table",
    "input_augmentation", "make_augmentation",
]

RAW_RANGE = (0.0, 255.0)

# How each registry backbone scales its input, in words (the ranges are measured, not typed).
SCHEMES: dict[str, str] = {
    "fashion_cnn": N_("built in: a Rescaling(1/255) layer inside the model; feed raw 0..255 pixels"),
    "mobilenet_v2": N_("'tf' mode: x / 127.5 - 1, so 0..255 becomes -1..1"),
    "resnet50": N_("'caffe' mode: RGB -> BGR, then minus the ImageNet mean of each channel; no scaling"),
    "efficientnet_b0": N_("built in: Rescaling and Normalization layers inside the model; preprocess_input passes through"),
    "inception_v3": N_("'tf' mode: x / 127.5 - 1, so 0..255 becomes -1..1"),
}


OTHER_SCHEME = N_("see the backbone's preprocess_input")


class PreprocessingWarning(UserWarning):
    """A batch does not look like what its backbone expects."""


def apply_preprocess(images: Any, backbone: str | BackboneSpec) -> np.ndarray:
    """``preprocess_input`` of ``backbone`` on a *copy* of ``images`` (never in place).

    Example:
        >>> x = np.full((1, 2, 2, 3), 255.0, np.float32)
        >>> float(apply_preprocess(x, "mobilenet_v2").max()), float(x.max())
        (1.0, 255.0)
    """
    spec = get_spec(backbone) if isinstance(backbone, str) else backbone
    x = np.array(images, dtype=np.float32, copy=True)
    return np.asarray(spec.preprocess(x), dtype=np.float32)


def _ramp(channels: int) -> np.ndarray:
    """Every pixel value 0..255 in every channel: ``(1, 16, 16, channels)`` float32."""
    return np.repeat(np.arange(256, dtype=np.float32).reshape(1, 16, 16, 1), channels, axis=-1)


def _range(x: np.ndarray) -> tuple[float, float]:
    return round(float(np.min(x)), 4), round(float(np.max(x)), 4)


@dataclass(frozen=True)
class Contract:
    """What a backbone expects: the pixel range going in, the range after ``preprocess_input``.

    Attributes:
        backbone: registry name.
        scheme: how the scaling works, in words.
        built_in: the model rescales raw pixels itself (``preprocess_input`` is a no-op).
        before: range of raw pixels (0..255).
        after: range after ``preprocess_input``, measured on every value 0..255.
        channels: 1 (grayscale) or 3 (RGB).
    """

    backbone: str
    scheme: str
    built_in: bool
    before: tuple[float, float]
    after: tuple[float, float]
    channels: int


def contract(backbone: str) -> Contract:
    """Measure ``backbone``'s preprocessing contract.

    Raises:
        ValueError: an unknown backbone (the message lists the registry's names).

    Example:
        >>> contract("resnet50").after
        (-123.68, 151.061)
        >>> contract("fashion_cnn").built_in
        True
    """
    spec = get_spec(backbone)
    after = _range(apply_preprocess(_ramp(spec.channels), spec))
    return Contract(
        backbone=spec.name,
        scheme=_(SCHEMES.get(spec.name, OTHER_SCHEME)),
        built_in=spec.built_in_preprocessing,
        before=RAW_RANGE,
        after=after,
        channels=spec.channels,
    )


# contract_table's columns: English to code (table["after"]), shown in the active language.
CONTRACT_COLUMNS = tuple(LazyText(c) for c in (
    N_("backbone"), N_("channels"), N_("before"), N_("after"), N_("built in"), N_("scheme"),
))


def contract_table(backbones: list[str] | tuple[str, ...]):  # -> pandas.DataFrame
    """One row per backbone: channels, range before and after ``preprocess_input``, scheme.

    Example:
        >>> contract_table(["fashion_cnn", "mobilenet_v2"]).loc["mobilenet_v2", "after"]
        '-1 .. 1'
    """
    import pandas as pd

    def show(r: tuple[float, float]) -> str:
        return f"{r[0]:g} .. {r[1]:g}"

    rows = []
    for name in backbones:
        c = contract(name)
        values = (c.backbone, c.channels, show(c.before), show(c.after), _("yes") if c.built_in else _("no"), c.scheme)
        rows.append(dict(zip(CONTRACT_COLUMNS, values)))
    return pd.DataFrame(rows).set_index(CONTRACT_COLUMNS[0])


# ---- the batch checker -----------------------------------------------------------------

# The ways a batch can have been prepared: (key, description, function of (ramp, preprocess)).
CANDIDATES: tuple[tuple[str, str], ...] = (
    ("ok", N_("preprocessed once, as the backbone expects")),
    ("missing", N_("raw pixels 0..255: preprocess_input was not applied")),
    ("double", N_("preprocessed twice")),
    ("scaled", N_("scaled to 0..1 by hand instead of the backbone's own preprocessing")),
    ("scaled_then_preprocessed", N_("scaled to 0..1 by hand, then preprocess_input on top")),
)
FIXES: dict[str, str] = {
    "missing": N_("apply the backbone's preprocess_input once (tlhelpers.pipeline.to_model_input does)"),
    "double": N_("apply preprocess_input only once: keras' preprocess_input changes float NumPy arrays in "
                 "place, so the array you passed may already be preprocessed"),
    "scaled": N_("feed raw 0..255 pixels and apply only the backbone's preprocess_input"),
    "scaled_then_preprocessed": N_("do not divide by 255 yourself: preprocess_input expects raw 0..255 pixels"),
    "unknown": N_("start again from raw 0..255 pixels and apply only the backbone's preprocess_input"),
    "narrow": N_("check how the batch was scaled: start from raw 0..255 pixels and apply only the "
                 "backbone's preprocess_input"),
}
UNKNOWN_RANGE = N_("values outside every range this backbone's input could have")
EXPLANATIONS = {
    "narrow": N_("values fill only {share:.1%} of the range they seem to be in: scaled twice, or blank images?"),
}
# A batch of real images fills far more of the expected range than this share.
NARROW = 0.02
# When the batch fits the expected range, accept it unless another explanation is this many
# times tighter (a real batch rarely fills a range; a wrong one fits a far tighter one).
TIGHTER = 1.25


def _candidate_ranges(spec: BackboneSpec) -> dict[str, tuple[float, float]]:
    ramp = _ramp(spec.channels)
    once = apply_preprocess(ramp, spec)
    return {
        "ok": _range(once),
        "missing": RAW_RANGE,
        "double": _range(apply_preprocess(once, spec)),
        "scaled": (0.0, 1.0),
        "scaled_then_preprocessed": _range(apply_preprocess(ramp / 255.0, spec)),
    }


@dataclass(frozen=True, repr=False)
class BatchReport(Verdict):
    """What :func:`check_batch` found: a :class:`~tlhelpers.verdict.Verdict` with details.

    Shown as a few lines: the batch's range against the expected one, the verdict, the fix
    and any channel problem (plain text, also in notebooks); ``message`` is the same on one
    line, as the warning says it.

    Attributes:
        backbone: registry name checked against.
        observed: ``(min, max)`` of the batch.
        expected: ``(min, max)`` the backbone's input takes after its preprocessing.
        verdict: ``"ok"``, ``"missing"``, ``"double"``, ``"scaled"``,
            ``"scaled_then_preprocessed"``, ``"narrow"`` or ``"unknown"``.
        explanation: what the verdict means.
        fix: what to do (empty when ok).
        shape_problem: a channel mismatch, if any.

    Example:
        >>> report = BatchReport("mobilenet_v2", (0.0, 255.0), (-1.0, 1.0), "missing", "raw pixels", "preprocess")
        >>> report.ok, report.message
        (False, 'mobilenet_v2: batch range 0 .. 255, expected -1 .. 1; verdict: MISSING: raw pixels; fix: preprocess')
    """

    backbone: str
    observed: tuple[float, float]
    expected: tuple[float, float]
    verdict: str
    explanation: str
    fix: str
    shape_problem: str = ""

    @property
    def ok(self) -> bool:
        """True when the range and the channels are what the backbone expects."""
        return self.verdict == "ok" and not self.shape_problem

    @property
    def message(self) -> str:
        """The report on one line, as the :class:`PreprocessingWarning` says it."""
        return self.render().replace("\n", _("; "))

    def render(self) -> str:
        """The lines a student reads: ranges, verdict, fix and channel problem, translated."""
        lo, hi = self.observed
        elo, ehi = self.expected
        lines = [
            _("{backbone}: batch range {lo:g} .. {hi:g}, expected {elo:g} .. {ehi:g}").format(
                backbone=self.backbone, lo=lo, hi=hi, elo=elo, ehi=ehi),
            _("verdict: {verdict}: {explanation}").format(
                verdict="OK" if self.ok else self.verdict.upper(), explanation=self.explanation),
        ]
        if self.fix:
            lines.append(_("fix: {fix}").format(fix=self.fix))
        if self.shape_problem:
            lines.append(_("channels: {problem}").format(problem=self.shape_problem))
        return "\n".join(lines)


def check_batch(batch: Any, backbone: str, warn: bool = True) -> BatchReport:
    """Check a batch against ``backbone``'s expected input range; warn about a mistake.

    The batch's ``(min, max)`` is compared with the range each way of preparing it would
    give (measured on every pixel value 0..255): preprocessed once, not at all, twice,
    scaled to 0..1 by hand, or scaled and then preprocessed. The tightest range that holds
    the batch names the verdict, but a batch that fits the expected range is accepted
    unless another explanation fits more than 1.25 times more tightly. A batch that fills
    less than 2% of the range it falls in is ``"narrow"`` (e.g. divided by 255 after
    preprocessing, or blank images).

    Args:
        batch: images ``(N, H, W, C)`` (NumPy or tensor), as they would enter the backbone.
        backbone: registry name.
        warn: emit a :class:`PreprocessingWarning` when the batch looks wrong.

    Returns:
        A :class:`BatchReport`.

    Raises:
        ValueError: an unknown backbone, or a batch with NaN/inf values or no values.

    Example:
        >>> x = np.linspace(0, 255, 48, dtype=np.float32).reshape(1, 4, 4, 3)
        >>> once = apply_preprocess(x, "mobilenet_v2")
        >>> check_batch(once, "mobilenet_v2").verdict
        'ok'
        >>> check_batch(apply_preprocess(once, "mobilenet_v2"), "mobilenet_v2", warn=False).verdict
        'double'
    """
    spec = get_spec(backbone)
    x = np.asarray(batch, dtype=np.float32)
    if x.size == 0:
        raise ValueError(_("the batch is empty (shape {shape}); pass at least one image").format(shape=x.shape))
    if not np.all(np.isfinite(x)):
        raise ValueError(_("the batch holds NaN or infinite values; check how it was made"))
    observed = _range(x)
    ranges = _candidate_ranges(spec)
    span = max(observed[1] - observed[0], 1e-6)

    def holds(r: tuple[float, float]) -> bool:
        tol = 0.02 * (r[1] - r[0]) + 1e-3
        return r[0] - tol <= observed[0] and observed[1] <= r[1] + tol

    fitting = [key for key, _ in CANDIDATES if holds(ranges[key])]
    width = {key: max(ranges[key][1] - ranges[key][0], 1e-6) for key in fitting}
    if not fitting:
        verdict = "unknown"
    else:
        tightest = min(fitting, key=lambda k: (width[k], k != "ok"))
        accept = "ok" in fitting and width["ok"] <= TIGHTER * max(width[tightest], span)
        verdict = "ok" if accept else tightest
    share = span / width[verdict] if verdict in width else 1.0
    if share < NARROW:
        verdict = "narrow"
    explanation = _(EXPLANATIONS.get(verdict) or dict(CANDIDATES).get(verdict, UNKNOWN_RANGE))
    if verdict == "narrow":
        explanation = explanation.format(share=share)
    if verdict == "ok" and spec.built_in_preprocessing:
        explanation = _("raw 0..255 pixels, as this backbone (preprocessing built in) expects")
    elif verdict == "scaled" and spec.built_in_preprocessing:
        explanation = _("scaled to 0..1, but {backbone} rescales raw pixels itself, so they would be "
                        "scaled twice").format(backbone=spec.name)
    shape_problem = ""
    if x.ndim == 4 and x.shape[-1] != spec.channels:
        shape_problem = _("the batch has {channels} channel(s), {backbone} takes {expected}; "
                          "convert with tlhelpers.pipeline.prepare_images").format(
            channels=x.shape[-1], backbone=spec.name, expected=spec.channels)
    report = BatchReport(spec.name, observed, ranges["ok"], verdict, explanation,
                         _(FIXES[verdict]) if verdict in FIXES else "", shape_problem)
    if warn and not report.ok:
        warnings.warn(report.message, PreprocessingWarning, stacklevel=2)
    return report


# ---- augmentation ----------------------------------------------------------------------

def make_augmentation(
    *,
    flip: bool = True,
    rotation: float = 0.05,
    zoom: float = 0.1,
    contrast: float = 0.2,
    translation: float = 0.0,
    seed: int = 0,
    name: str = "augmentation",
) -> keras.Sequential:
    """Random augmentation as Keras layers; a factor of 0 leaves that layer out.

    The layers change images only when called with ``training=True`` (inside ``fit``);
    with every factor at 0 and no flip, the result is a single ``Identity`` layer.
    at ``training=False`` (``predict``, ``evaluate``) they pass images through unchanged.
    Only the value layer (``contrast``) assumes a range, raw 0..255: with it, put the layers
    before the backbone's preprocessing. Flips, rotations, zooms and shifts work on any
    range (:func:`input_augmentation` leaves contrast out for that reason).

    Args:
        flip: random horizontal flips.
        rotation: largest rotation as a fraction of a full turn (0.05 = 18 degrees).
        zoom: largest zoom in or out, as a fraction of the image side.
        contrast: largest contrast change, as a fraction.
        translation: largest shift, as a fraction of the image side.
        seed: makes the random draws repeatable.
        name: the Sequential's name.

    Raises:
        ValueError: a factor outside 0..1 (0..0.5 for rotation).

    Example:
        >>> aug = make_augmentation(flip=True, rotation=0.1, zoom=0, contrast=0)
        >>> [layer.__class__.__name__ for layer in aug.layers]
        ['RandomFlip', 'RandomRotation']
    """
    limits = {"rotation": (rotation, 0.5), "zoom": (zoom, 1.0), "contrast": (contrast, 1.0),
              "translation": (translation, 1.0)}
    for what, (value, top) in limits.items():
        if not 0 <= value <= top:
            raise ValueError(_("{what} must be between 0 and {top}, got {value!r}").format(what=what, top=top, value=value))
    layers: list[keras.layers.Layer] = []
    if flip:
        layers.append(keras.layers.RandomFlip("horizontal", seed=seed, name="flip"))
    if rotation:
        layers.append(keras.layers.RandomRotation(rotation, fill_mode="constant", seed=seed + 1, name="rotation"))
    if zoom:
        layers.append(keras.layers.RandomZoom(zoom, fill_mode="constant", seed=seed + 2, name="zoom"))
    if translation:
        layers.append(keras.layers.RandomTranslation(translation, translation, fill_mode="constant",
                                                     seed=seed + 3, name="translation"))
    if contrast:
        layers.append(keras.layers.RandomContrast(contrast, value_range=RAW_RANGE, seed=seed + 4, name="contrast"))
    if not layers:  # everything off: an explicit no-op (an empty Sequential cannot be called)
        layers.append(keras.layers.Identity(name="identity"))
    return keras.Sequential(layers, name=name)


def input_augmentation(seed: int = 0) -> keras.Sequential:
    """The course's augmentation for fine-tuning: flips, small rotations, zooms and shifts.

    No contrast change, so the layers work on any backbone's *preprocessed* inputs (any
    value range); put them in front of the backbone (``build_classifier(...,
    augmentation=...)``). Like every augmentation layer, they act only inside ``fit``.

    Example:
        >>> [layer.name for layer in input_augmentation().layers]
        ['flip', 'rotation', 'zoom', 'translation']
    """
    return make_augmentation(flip=True, rotation=0.05, zoom=0.1, contrast=0, translation=0.1, seed=seed)


def augment_examples(images: Any, augmentation: keras.Sequential, copies: int = 4) -> np.ndarray:
    """``copies`` random augmentations of each image: ``(copies, N, H, W, C)`` float32, 0..255.

    Example:
        >>> aug = make_augmentation(rotation=0.1)
        >>> augment_examples(np.zeros((2, 8, 8, 1), np.uint8), aug, copies=3).shape
        (3, 2, 8, 8, 1)
    """
    x = keras.ops.convert_to_tensor(np.asarray(images, dtype=np.float32))
    out = [keras.ops.convert_to_numpy(augmentation(x, training=True)) for _ in range(copies)]
    return np.clip(np.stack(out), *RAW_RANGE).astype(np.float32)
