"""Assignment 3 (``a3_label_budget``): a target accuracy with k labels per class, in a time budget.

The student's ``solve(task)`` runs on a copy of the task whose test labels are hidden
(:func:`run_timed`); its predictions are scored on the track's fixed test images. The
grader judges the published predictions again with its own test labels (:func:`challenge_truth`),
target and budget, and the time it measured for the cell that ran ``solve`` (:data:`JUDGES`).

Example:
    >>> challenge(current_track("offline")).target_accuracy
    0.74
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from tlhelpers import evidence
from tlhelpers.checks import Feedback
from tlhelpers.config import Track, current_track
from tlhelpers.errors import HiddenLabelsError
from tlhelpers.evaluation import label_accuracy
from tlhelpers.exercises.assignment_common import (
    Judge,
    fail,
    predictions_evidence,
    predictions_form,
)
from tlhelpers.i18n import _
from tlhelpers.quiet import stderr_as_notes

if TYPE_CHECKING:
    from tlhelpers.data import Task

__all__ = [
    "CHALLENGES", "JUDGES", "TEST_SEED", "Challenge", "GroundTruth", "HiddenLabels", "HiddenLabelsError", "challenge",
    "challenge_task", "challenge_truth", "check_challenge", "check_predictions", "judge_challenge",
    "judge_predictions", "run_timed", "task_key", "timing_slack", "without_test_labels",
]


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
    with stderr_as_notes():
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


def judge_predictions(found: dict[str, Any], truth: GroundTruth) -> Feedback:
    """The verdict of :func:`check_predictions` on its evidence (runs no student code).

    Example:
        >>> judge_predictions({"shape": [2, 2], "dtype": "float32", "head": ""}, GroundTruth((0, 1), 2)).correct
        False
    """
    return predictions_form(found, len(truth.labels), truth.num_classes)


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
    accuracy = label_accuracy(truth.labels, found["predictions"])
    if accuracy < settings.target_accuracy:
        return fail(_(
            "test accuracy {accuracy:.3f} is below the target {target:.2f}. Hint: with "
            "{labels} labels per class, start from the pretrained backbone (a new head on "
            "its cached features) and choose epochs and learning rate on the validation split."
        ).format(accuracy=accuracy, target=settings.target_accuracy, labels=settings.labels_per_class))
    if seconds is None:
        return fail(_("the cell that runs solve(task) for this draw of labels did not finish, so its time is unknown."))
    if seconds > settings.budget_seconds + slack:
        return fail(_(
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


#: The judges of this assignment's checks, by the name they publish their evidence under
#: (see :data:`tlhelpers.exercises.assignment_checks.JUDGES`).
JUDGES: dict[str, Judge] = {
    "solve": lambda found, key, facts: Feedback(True, _("solve ran (the grader times its cell).")),
    "predictions": lambda found, key, facts: judge_predictions(found, challenge_truth(current_track())),
    "challenge": lambda found, key, facts: judge_challenge(
        found, challenge_truth(current_track()), _solve_seconds(key, facts), challenge(), timing_slack(challenge())),
}
