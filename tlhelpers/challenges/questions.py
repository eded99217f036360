"""The common questions: what the course's few-shot benchmark measured, for lesson 07's answers.

Part of :mod:`tlhelpers.challenges` (lesson 07). The numbers come from the benchmark's JSON
(:func:`tlhelpers.measured.benchmark_results`), never typed into the lesson.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tlhelpers.measured import benchmark_results


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
        return ", ".join(f"{k}: {gain:+.1f}" for k, gain in self.gain_over_scratch.items())

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
            where = "the target as it is" if target == "near" else f"the {self.far_target or target} target"
            n = k or self.largest_budget[target]
            labels = f"{n} label{'' if n == 1 else 's'} per class"
            parts.append(f"on {where} " + (f"from {labels} on" if k else f"at no budget up to {labels}"))
        return "; ".join(parts)


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
