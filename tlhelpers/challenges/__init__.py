"""Lesson 07's experiments: what makes transfer learning hard, measured on small runs.

* **Compute cost** as the data grows (:func:`measure_cost`): end-to-end fine-tuning,
  cached features, a smaller input resolution and mixed precision (where the hardware
  supports it, :func:`mixed_precision_support`).
* **Past one device** (:func:`configure_cpu_devices`, :func:`data_parallel_strategy`):
  ``tf.distribute.MirroredStrategy`` over two logical CPU devices; the same code spans GPUs.
* **Domain shift** (:data:`SHIFTS`, :func:`shift_task`, :func:`pretraining_checks`): a
  target moved away from what the backbone saw, and two checks that warn before training.
* **Forgetting** (:func:`forgetting_run`): the source accuracy of the backbone before and
  after fine-tuning at a given learning rate.
* **Choosing a backbone** (:func:`backbone_speed`): parameters and images per second of
  every registry architecture.
* **The common questions** (:func:`answer_1` ... :func:`answer_6`): the answers the lesson
  prints, in the active language, from its own measurements and what the course's few-shot
  benchmark measured in the active track (:func:`few_shot_evidence`).

Every function measures; none returns a stored number. One module a topic, its plots
beside it: :mod:`~tlhelpers.challenges.devices`, :mod:`~tlhelpers.challenges.cost`,
:mod:`~tlhelpers.challenges.domain_shift`, :mod:`~tlhelpers.challenges.forgetting`,
:mod:`~tlhelpers.challenges.backbone_speed` and :mod:`~tlhelpers.challenges.questions`;
everything public is also here, as ``challenges.<name>``. The benchmarks' figures are read
through :mod:`tlhelpers.measured`.

Example:
    >>> from tlhelpers import challenges
    >>> sorted(challenges.SHIFTS)
    ['inverted', 'noisy', 'none', 'rotated']
"""

from tlhelpers.challenges.backbone_speed import backbone_speed, plot_backbones
from tlhelpers.challenges.cost import (
    COST_METHODS,
    METHOD_LABELS,
    CostResult,
    at_largest,
    growth_exponent,
    growth_report,
    measure_cost,
    plot_cost,
    take_per_class,
)
from tlhelpers.challenges.devices import (
    BF16_CPU_FLAGS,
    backbone_variant,
    configure_cpu_devices,
    cpu_flags,
    data_parallel_strategy,
    dtype_policy,
    hide_distribute_notes,
    mixed_precision_support,
)
from tlhelpers.challenges.domain_shift import (
    CHECK_WARNS_WHEN,
    SHIFTS,
    centroid_similarity,
    check_warnings,
    domain_classifier_accuracy,
    linear_probe_accuracy,
    plot_domain_shift,
    pretraining_checks,
    shift_gains,
    shift_images,
    shift_task,
)
from tlhelpers.challenges.forgetting import (
    ForgettingResult,
    feature_drift,
    forgetting_run,
    forgetting_table,
    plot_forgetting,
    source_data,
    source_model,
)
from tlhelpers.challenges.questions import (
    FewShotEvidence,
    answer_1,
    answer_2,
    answer_3,
    answer_4,
    answer_5,
    answer_6,
    few_shot_evidence,
)

__all__ = [
    "answer_1",
    "answer_2",
    "answer_3",
    "answer_4",
    "answer_5",
    "answer_6",
    "at_largest",
    "backbone_speed",
    "backbone_variant",
    "BF16_CPU_FLAGS",
    "centroid_similarity",
    "check_warnings",
    "CHECK_WARNS_WHEN",
    "configure_cpu_devices",
    "COST_METHODS",
    "CostResult",
    "cpu_flags",
    "data_parallel_strategy",
    "domain_classifier_accuracy",
    "dtype_policy",
    "feature_drift",
    "few_shot_evidence",
    "FewShotEvidence",
    "forgetting_run",
    "forgetting_table",
    "ForgettingResult",
    "growth_exponent",
    "growth_report",
    "hide_distribute_notes",
    "linear_probe_accuracy",
    "measure_cost",
    "METHOD_LABELS",
    "mixed_precision_support",
    "plot_backbones",
    "plot_cost",
    "plot_domain_shift",
    "plot_forgetting",
    "pretraining_checks",
    "shift_gains",
    "shift_images",
    "shift_task",
    "SHIFTS",
    "source_data",
    "source_model",
    "take_per_class",
]
