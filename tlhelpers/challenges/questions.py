"""The common questions: lesson 07's answers, from its measurements and the few-shot benchmark.

Part of :mod:`tlhelpers.challenges` (lesson 07). :func:`answer_1` ... :func:`answer_6` write
the answers the lesson prints, in the active language, from what its cells measured (passed
by name); the few-shot benchmark's numbers come from its JSON
(:func:`tlhelpers.measured.benchmark_results`, read by :func:`few_shot_evidence`), never
typed into the lesson.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tlhelpers.i18n import _, ngettext
from tlhelpers.measured import benchmark_results

INDENT = "   "  # an answer's lines, under its question


@dataclass(frozen=True)
class FewShotEvidence:
    """The few-shot benchmark of one track, as lesson 07 quotes it.

    Attributes:
        track: ``"offline"`` or ``"imagenet"``.
        seeds: seeds per budget (the values are medians over them).
        gain_over_scratch: labels per class -> the recommended transfer strategy minus
            scratch, in points of test accuracy, on the track's target.
        crossover: ``"near"`` (the track's target) and, where measured, ``"far"`` -> the
            smallest budget from which fine-tuning leads the frozen probe for good
            (``None``: at no budget measured).
        largest_budget: per target, the largest budget measured.
        far_target: the shift that made the far target (``None`` where there is none).
    """

    track: str
    seeds: int
    gain_over_scratch: dict[int, float]
    crossover: dict[str, int | None]
    largest_budget: dict[str, int]
    far_target: str | None

    def gains(self) -> str:
        """``"1: +36.4, 5: +28.9, ..."``: the gain over scratch by labels per class.

        Example:
            >>> FewShotEvidence("offline", 3, {5: 28.94, 20: 16.4}, {"near": 20}, {"near": 20}, None).gains()
            '5: +28.9, 20: +16.4'
        """
        return _(", ").join(f"{k}: {gain:+.1f}" for k, gain in self.gain_over_scratch.items())

    def crossovers(self) -> str:
        """Where fine-tuning overtook the probe, per target, in words.

        Example:
            >>> FewShotEvidence("offline", 3, {}, {"near": 300, "far": 1}, {"near": 300, "far": 300},
            ...                 "rotated").crossovers()
            'on the target as it is from 300 labels per class on; on the rotated target from 1 label per class on'
            >>> FewShotEvidence("imagenet", 3, {}, {"near": None}, {"near": 100}, None).crossovers()
            'on the target as it is at no budget up to 100 labels per class'
        """
        parts = []
        for target, k in self.crossover.items():
            where = _("the target as it is") if target == "near" else _("the {shift} target").format(
                shift=self.far_target or target)
            n = k or self.largest_budget[target]
            labels = ngettext("{n} label per class", "{n} labels per class", n).format(n=n)
            parts.append((_("on {where} from {labels} on") if k else _("on {where} at no budget up to {labels}")).format(
                where=where, labels=labels))
        return _("; ").join(parts)


def few_shot_evidence(track: str, folder: str | Path | None = None,
                      results: dict[str, Any] | None = None) -> FewShotEvidence | None:
    """The few-shot benchmark's full run in ``track``, or ``None`` where it has not run here.

    Reads ``few_shot.json`` (offline) or ``few_shot-<track>.json`` from the benchmarks'
    results; a quick run (``--quick``, too short to mean anything) counts as not run.

    Args:
        track: the track whose results to read.
        folder: the results folder (default: ``benchmarks/results`` of the course).
        results: :func:`tlhelpers.measured.benchmark_results`'s dict, if already read.

    Example:
        >>> evidence = few_shot_evidence("offline")
        >>> evidence is None or evidence.track == "offline"
        True
    """
    results = benchmark_results(folder) if results is None else results
    data = results.get("few_shot" if track == "offline" else f"few_shot-{track}")
    if not data or data.get("quick"):
        return None
    summary = data["summary"]
    near = summary["near"]
    return FewShotEvidence(
        track=track,
        seeds=len(data["settings"]["seeds"]),
        gain_over_scratch={int(k): float(e["gain_over_scratch"]) for k, e in near["budgets"].items()},
        crossover={target: curve["crossover"] for target, curve in summary.items()},
        largest_budget={target: max(int(k) for k in curve["budgets"]) for target, curve in summary.items()},
        far_target=data["settings"].get("far_target"),
    )


def _answer(question: str, *paragraphs: str | None) -> str:
    """The question, then each paragraph given (``None``: left out) on its own indented line."""
    return "\n".join([question, *(INDENT + p for p in paragraphs if p is not None)])


def answer_1(*, task, gains, few_shot: FewShotEvidence | None = None) -> str:
    """How does transfer differ from training from scratch? Section 3's target as it is.

    Args:
        task: the lessons' task (its label budget).
        gains: :func:`~tlhelpers.challenges.shift_gains`'s table; its ``"none"`` row.
        few_shot: :func:`few_shot_evidence` of the track, or ``None`` (the benchmark's line is left out).

    Example:
        >>> import pandas as pd; from types import SimpleNamespace
        >>> task = SimpleNamespace(labels=80, y_train=[0] * 40, y_val=[0] * 40)
        >>> gains = pd.DataFrame({"scratch": [0.5], "probe": [0.75], "gain": [0.25], "scratch_epochs": [9]},
        ...                      index=["none"])
        >>> print(answer_1(task=task, gains=gains))  # doctest: +NORMALIZE_WHITESPACE
        1. How does transfer differ from training from scratch?
           It starts from learned features instead of random weights. Here, on 80 labels (40 to train on,
           40 to validate with): scratch 0.500, a linear probe on the frozen features 0.750 (+0.250);
           scratch needed 9 epochs of full training, the probe one pass of the backbone.
    """
    none = gains.loc["none"]
    epochs = int(none.scratch_epochs)
    benchmark = None
    if few_shot:
        seeds = ngettext("{n} seed", "{n} seeds", few_shot.seeds).format(n=few_shot.seeds)
        benchmark = _("The course's few-shot benchmark in this track, the recommended transfer strategy minus "
                      "scratch in points (median of {seeds}), by labels per class: {gains}.").format(
            seeds=seeds, gains=few_shot.gains())
    return _answer(
        _("1. How does transfer differ from training from scratch?"),
        _("It starts from learned features instead of random weights. Here, on {labels} labels ({train} to train "
          "on, {val} to validate with): scratch {scratch:.3f}, a linear probe on the frozen features {probe:.3f} "
          "({gain:+.3f}); scratch needed {epochs}, the probe one pass of the backbone.").format(
            labels=task.labels, train=len(task.y_train), val=len(task.y_val), scratch=none.scratch,
            probe=none.probe, gain=none.gain,
            epochs=ngettext("{n} epoch of full training", "{n} epochs of full training", epochs).format(n=epochs)),
        benchmark,
    )


def answer_2(*, largest, worst: str, forgetting) -> str:
    """Advantages and costs? Section 1's largest size, section 4's forgetting.

    Args:
        largest: section 1's cost at its largest size, indexed by method (``"fine_tune"``, ``"cached"``...).
        worst: the setting of section 4 whose features moved most.
        forgetting: :func:`~tlhelpers.challenges.forgetting_table`'s table.

    Example:
        >>> import pandas as pd
        >>> largest = pd.DataFrame({"seconds": [12.0, 0.5], "train_images": [480, 480]}, index=["fine_tune", "cached"])
        >>> forgetting = pd.DataFrame({"feature_similarity": [0.61]}, index=["high lr"])
        >>> print(answer_2(largest=largest, worst="high lr", forgetting=forgetting))  # doctest: +NORMALIZE_WHITESPACE
        2. Advantages and costs?
           Cheap training with cached features: 0.50 s vs 12.00 s end to end at 480 images. Costs: a big
           backbone to run (section 5), the risk of forgetting (section 4: the features moved most with
           'high lr', cosine similarity 0.610) and of negative transfer.
    """
    fine, cached = largest.loc["fine_tune"], largest.loc["cached"]
    return _answer(
        _("2. Advantages and costs?"),
        _("Cheap training with cached features: {cached:.2f} s vs {fine:.2f} s end to end at {images} images. "
          "Costs: a big backbone to run (section 5), the risk of forgetting (section 4: the features moved most "
          "with {setting!r}, cosine similarity {similarity:.3f}) and of negative transfer.").format(
            cached=cached.seconds, fine=fine.seconds, images=int(fine.train_images), setting=worst,
            similarity=forgetting.loc[worst, "feature_similarity"]),
    )


def answer_3(*, gains, few_shot: FewShotEvidence | None = None) -> str:
    """When does it apply? Section 3's gain by domain, and where fine-tuning overtook the probe.

    Args:
        gains: :func:`~tlhelpers.challenges.shift_gains`'s table.
        few_shot: :func:`few_shot_evidence` of the track, or ``None`` (the benchmark's line is left out).

    Example:
        >>> import pandas as pd
        >>> gains = pd.DataFrame({"gain": [0.25, -0.02]}, index=["none", "noisy"])
        >>> print(answer_3(gains=gains))  # doctest: +NORMALIZE_WHITESPACE
        3. When does it apply?
           When the target is close to the source. The gain over scratch here, by domain (section 3):
           none +0.250, noisy -0.020; check how far the target is before training (section 3's checks).
    """
    benchmark = None
    if few_shot:
        benchmark = _("Fine-tuning, rather than a probe, pays with more labels: in the benchmark it led the probe "
                      "for good {crossovers}.").format(crossovers=few_shot.crossovers())
    return _answer(
        _("3. When does it apply?"),
        _("When the target is close to the source. The gain over scratch here, by domain (section 3): {gains}; "
          "check how far the target is before training (section 3's checks).").format(
            gains=_(", ").join(f"{shift} {gain:+.3f}" for shift, gain in gains.gain.items())),
        benchmark,
    )


def answer_4(*, fast) -> str:
    """How to choose a pretrained model? Section 5's speeds.

    Args:
        fast: images per second by backbone (section 5's ``speed.images_per_second``).

    Example:
        >>> import pandas as pd
        >>> print(answer_4(fast=pd.Series({"fashion_cnn": 2000.0, "resnet50": 80.0})))
        4. How to choose a pretrained model?
           By accuracy on your validation split and by speed: the backbones of section 5 span 25.0x in images/second. Start small.
    """
    return _answer(
        _("4. How to choose a pretrained model?"),
        _("By accuracy on your validation split and by speed: the backbones of section 5 span {ratio:.1f}x in "
          "images/second. Start small.").format(ratio=fast.max() / fast.min()),
    )


def answer_5(*, task, cost, big) -> str:
    """How to choose and split the target data? The lessons' splits, and section 1's sizes.

    Args:
        task: the lessons' task (its splits).
        cost: :func:`~tlhelpers.challenges.measure_cost`'s table (test accuracy by size and method).
        big: section 1's task (its test images).

    Example:
        >>> import pandas as pd; from types import SimpleNamespace
        >>> task = SimpleNamespace(num_classes=10, y_train=[0] * 40, y_val=[0] * 40, y_test=[0] * 500)
        >>> cost = pd.DataFrame({"train_images": [80, 80, 480, 480], "method": ["cached", "fine_tune"] * 2,
        ...                      "test_accuracy": [0.5, 0.4, 0.7, 0.3]})
        >>> print(answer_5(task=task, cost=cost, big=task))  # doctest: +NORMALIZE_WHITESPACE
        5. How to choose and split the target data?
           Stratified, every class alike: 10 classes x 4 labels to train on, 10 x 4 to validate with (early
           stopping, every choice), 500 test images used only to report.
           More labels: from 80 to 480 training images (section 1), test accuracy rose for 1 of 2 methods
           (cached); with one seed and 500 test images, differences of a few points are noise.
    """
    by_size = cost.pivot(index="train_images", columns="method", values="test_accuracy")
    rose = [m for m in by_size if by_size[m].iloc[-1] > by_size[m].iloc[0]]
    return _answer(
        _("5. How to choose and split the target data?"),
        _("Stratified, every class alike: {classes} classes x {train} labels to train on, {classes} x {val} to "
          "validate with (early stopping, every choice), {test} test images used only to report.").format(
            classes=task.num_classes, train=len(task.y_train) // task.num_classes,
            val=len(task.y_val) // task.num_classes, test=len(task.y_test)),
        _("More labels: from {first} to {last} training images (section 1), test accuracy rose for {rose} of "
          "{methods} methods ({names}); with one seed and {test} test images, differences of a few points are "
          "noise.").format(first=by_size.index[0], last=by_size.index[-1], rose=len(rose), methods=by_size.shape[1],
                           names=_(", ").join(rose) or _("none"), test=len(big.y_test)),
    )


def answer_6(*, spec) -> str:
    """How to load weights, preprocess, train and validate? The track's backbone, lessons 01-05.

    Args:
        spec: the track's backbone (:func:`tlhelpers.backbones.get_spec`).

    Example:
        >>> from tlhelpers.backbones import get_spec
        >>> print(answer_6(spec=get_spec("mobilenet_v2")))  # doctest: +NORMALIZE_WHITESPACE
        6. How to load weights, preprocess, train and validate?
           backbones.load_backbone('mobilenet_v2') with its preprocessing
           (keras.applications.mobilenet_v2.preprocess_input), base.trainable = False, the head first, then the
           top blocks at a low learning rate with their BatchNorm layers kept frozen, validated on the
           validation split: lessons 01-05, and section 4 above for why the order matters.
    """
    preprocessing = (_("built in") if spec.built_in_preprocessing
                     else f"keras.applications.{spec.name}.preprocess_input")
    return _answer(
        _("6. How to load weights, preprocess, train and validate?"),
        _("backbones.load_backbone({backbone!r}) with its preprocessing ({preprocessing}), base.trainable = False, "
          "the head first, then the top blocks at a low learning rate with their BatchNorm layers kept frozen, "
          "validated on the validation split: lessons 01-05, and section 4 above for why the order matters.").format(
            backbone=spec.name, preprocessing=preprocessing),
    )
