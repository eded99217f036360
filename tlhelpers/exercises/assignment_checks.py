"""Checks for the graded assignments in ``assignments/source/``, in the lessons' feedback style.

Every check returns a :class:`tlhelpers.checks.Feedback`; an assignment's test cell calls
``.require()`` on it, so a wrong answer fails the cell with the same message a lesson
exercise shows. The checks test the property a question asks for (which weights train,
what a preprocessing function returns, the accuracy reached), never one reference
solution, so any correct answer passes.

This module is the assignments' face (they import it as ``grade``); the checks live in one
module per assignment, like the lessons':

* :mod:`~tlhelpers.exercises.a1_freezing`: a new classifier, unfreezing, fine-tuning;
* :mod:`~tlhelpers.exercises.a2_preprocessing`: preprocessing for two backbones, the wrong pipelines;
* :mod:`~tlhelpers.exercises.a3_label_budget`: a target accuracy with few labels, in a time budget;
* :mod:`~tlhelpers.exercises.a4_own_images`: fine-tuning on the student's own image folder;

with what they share in :mod:`~tlhelpers.exercises.assignment_common`. Here are
:data:`JUDGES`, the grader's table of all their judges, and :func:`start` for the
setup cells.

Student code called by a check runs inside :func:`tlhelpers.quiet.stderr_as_notes` (also
``grade.quiet``): nbgrader scores a test cell 0 when anything is written to stderr, so a
library warning must not cost a correct answer its points (warnings are shown on stdout
instead).

Example:
    >>> from tlhelpers.exercises import assignment_checks as grade
    >>> grade.check_wrong_pipelines_format({"B", "c"})
    ✅ Correct: your answer lists pipelines B, C (the hidden test checks which are right).
"""

from __future__ import annotations

from tlhelpers.errors import HiddenLabelsError
from tlhelpers.exercises import (
    a1_freezing,
    a2_preprocessing,
    a3_label_budget,
    a4_own_images,
)
from tlhelpers.exercises.a1_freezing import (
    check_classifier,
    check_fine_tuned,
    check_unfrozen,
    classifier_evidence,
    fine_tuned_evidence,
    judge_classifier,
    judge_fine_tuned,
    judge_unfrozen,
    unfrozen_evidence,
    weight_values,
)
from tlhelpers.exercises.a2_preprocessing import (
    PIPELINES,
    Pipeline,
    check_prepare,
    check_wrong_pipelines,
    check_wrong_pipelines_format,
    judge_prepare,
    judge_wrong_pipelines,
    judge_wrong_pipelines_format,
    pipelines_markdown,
    prepare_evidence,
    preprocessing_pair,
)
from tlhelpers.exercises.a3_label_budget import (
    CHALLENGES,
    TEST_SEED,
    Challenge,
    GroundTruth,
    HiddenLabels,
    challenge,
    challenge_task,
    challenge_truth,
    check_challenge,
    check_predictions,
    judge_challenge,
    judge_predictions,
    run_timed,
    task_key,
    timing_slack,
    without_test_labels,
)
from tlhelpers.exercises.a4_own_images import (
    DEMO_CLASSES,
    DEMO_SOURCES,
    check_folder_task,
    check_own_folder,
    check_own_model,
    check_predict,
    check_predict_file,
    class_files,
    dataset_digests,
    folder_task_evidence,
    judge_folder_task,
    judge_own_folder,
    judge_own_model,
    judge_predict,
    judge_predict_file,
    make_demo_folder,
    own_model_evidence,
)
from tlhelpers.exercises.assignment_common import (
    MAX_INPUT_SIZE,
    Judge,
    LayerFacts,
    backbone_facts,
    predictions_evidence,
)
from tlhelpers.quiet import start_tensorflow as start
from tlhelpers.quiet import stderr_as_notes

__all__ = [
    # running student code (tlhelpers.quiet)
    "quiet", "start", "stderr_as_notes",
    # the grader's table, and what the judges share
    "JUDGES", "Judge", "LayerFacts", "MAX_INPUT_SIZE", "backbone_facts", "predictions_evidence",
    # assignment 1
    "check_classifier", "check_fine_tuned", "check_unfrozen", "classifier_evidence", "fine_tuned_evidence",
    "judge_classifier", "judge_fine_tuned", "judge_unfrozen", "unfrozen_evidence", "weight_values",
    # assignment 2
    "PIPELINES", "Pipeline", "check_prepare", "check_wrong_pipelines", "check_wrong_pipelines_format",
    "judge_prepare", "judge_wrong_pipelines", "judge_wrong_pipelines_format", "pipelines_markdown",
    "prepare_evidence", "preprocessing_pair",
    # assignment 3
    "CHALLENGES", "TEST_SEED", "Challenge", "GroundTruth", "HiddenLabels", "HiddenLabelsError", "challenge",
    "challenge_task", "challenge_truth", "check_challenge", "check_predictions", "judge_challenge",
    "judge_predictions", "run_timed", "task_key", "timing_slack", "without_test_labels",
    # assignment 4
    "DEMO_CLASSES", "DEMO_SOURCES", "check_folder_task", "check_own_folder", "check_own_model", "check_predict",
    "check_predict_file", "class_files", "dataset_digests", "folder_task_evidence", "judge_folder_task",
    "judge_own_folder", "judge_own_model", "judge_predict", "judge_predict_file", "make_demo_folder",
    "own_model_evidence",
]

#: The name the assignments' README uses for :func:`tlhelpers.quiet.stderr_as_notes`.
quiet = stderr_as_notes

#: The checks whose evidence the grader judges again, by the name they publish it under: each
#: takes the record's data, its key (the check's arguments, as the teacher's reference
#: published them) and the facts the grader measured outside the kernel (``files``: the
#: submission's files as handed in; ``seconds``: each evidence key's cell, timed).
JUDGES: dict[str, Judge] = {
    **a1_freezing.JUDGES, **a2_preprocessing.JUDGES, **a3_label_budget.JUDGES, **a4_own_images.JUDGES,
}
