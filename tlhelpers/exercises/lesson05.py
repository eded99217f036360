"""Exercise checks for lesson 05 (validation, interpretation, saving).

Each check computes the right answer from the student's own model and evaluation, so it
holds whatever the weights, and explains the usual wrong answers (rows and columns of
the confusion matrix swapped, precision instead of recall, a model saved into the
notebooks folder).

Example:
    >>> import numpy as np
    >>> from tlhelpers.evaluation import Evaluation
    >>> ev = Evaluation(np.array([0, 0, 1, 1]), np.eye(2)[[0, 1, 1, 1]], ("cat", "dog"))
    >>> check_recall(0.5, ev, "cat")
    ✅ Correct: the recall of 'cat' is 0.5: 1 of its 2 test images were predicted 'cat'.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from tlhelpers.checks import Feedback, expect
from tlhelpers.evaluation import Evaluation
from tlhelpers.exercises._common import not_answered


def _class_index(value: Any, names: tuple[str, ...]) -> int | None:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and 0 <= value < len(names):
        return int(value)
    if isinstance(value, str) and value in names:
        return names.index(value)
    return None


def check_false_alarm_source(answer: Any, evaluation: Evaluation, predicted_class: str) -> Feedback:
    """Exercise 1: when the model wrongly predicts ``predicted_class``, which true class did
    those images most often belong to?

    The answer sits in the *column* of ``predicted_class`` (off the diagonal); reading its
    row instead is the usual mistake, and the feedback says so. Any class tied for the
    most is right; classes may be names or indices.

    Example:
        >>> ev = Evaluation(np.array([0, 0, 1, 2, 2]), np.eye(3)[[1, 1, 1, 1, 2]], ("a", "b", "c"))
        >>> check_false_alarm_source("a", ev, "b")
        ✅ Correct: 2 of the 3 wrong 'b' predictions were 'a' images, more than from any other class.
        >>> check_false_alarm_source(None, ev, "b").correct
        False
    """
    names = evaluation.class_names
    if predicted_class not in names:
        raise ValueError(f"unknown class {predicted_class!r}; choose one of: {', '.join(names)}")
    c = names.index(predicted_class)
    cm = evaluation.confusion
    column = cm[:, c].copy()
    column[c] = 0
    row = cm[c].copy()
    row[c] = 0
    if column.max() == 0:
        return expect(answer is None, f"the model never predicts {predicted_class!r} wrongly, so there is no source.",
                      f"{answer!r} is not it: look down the column {predicted_class!r} of the confusion matrix, "
                      "off the diagonal, and count again.")
    if answer is None:
        return not_answered(f"set answer to the true class (a name from the class names, or its index) that the "
                            f"wrong {predicted_class!r} predictions most often come from.")
    t = _class_index(answer, names)
    if t is None:
        return Feedback(False, f"use a class name from {list(names)} (or its index), got {answer!r}.")
    if t == c:
        return Feedback(False, f"{predicted_class!r} images predicted {predicted_class!r} are the correct "
                               "predictions (the diagonal); the question is about the wrong ones.")
    if column[t] == column.max():
        return Feedback(True, f"{int(column[t])} of the {int(column.sum())} wrong {predicted_class!r} predictions "
                              f"were {names[t]!r} images, more than from any other class.")
    if row[t] == row.max():
        return Feedback(False, f"you read the row of {predicted_class!r}: {int(row[t])} {predicted_class!r} images "
                               f"were predicted {names[t]!r}. The question is about the column: images "
                               f"predicted {predicted_class!r} that are something else.")
    return Feedback(False, f"{int(column[t])} wrong {predicted_class!r} predictions were {names[t]!r} images, but "
                           f"another class gave {int(column.max())}. Look down the column {predicted_class!r}.")


def check_recall(answer: Any, evaluation: Evaluation, class_name: str) -> Feedback:
    """Exercise 2: the recall of ``class_name``, computed from the confusion matrix.

    Recall = the diagonal cell divided by the *row* sum (all test images of the class).

    Example:
        >>> ev = Evaluation(np.array([0, 0, 1, 1]), np.eye(2)[[0, 1, 1, 1]], ("cat", "dog"))
        >>> check_recall(2 / 3, ev, "dog").message
        "that is the precision (the diagonal divided by the column: all images predicted 'dog'); recall divides by the row: all test images that are 'dog'."
    """
    names = evaluation.class_names
    if class_name not in names:
        raise ValueError(f"unknown class {class_name!r}; choose one of: {', '.join(names)}")
    if answer is None:
        return not_answered(f"set answer to the recall of {class_name!r}: from the confusion matrix cm, the "
                            "diagonal cell divided by the sum of its row.")
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return Feedback(False, f"the recall should be a number between 0 and 1, got {answer!r}.")
    c = names.index(class_name)
    cm = evaluation.confusion
    row, column = int(cm[c].sum()), int(cm[:, c].sum())
    recall = cm[c, c] / row if row else 0.0
    precision = cm[c, c] / column if column else 0.0
    if abs(value - recall) <= 1e-3:
        return Feedback(True, f"the recall of {class_name!r} is {recall:.3g}: {int(cm[c, c])} of its {row} test "
                              f"images were predicted {class_name!r}.")
    if abs(value - precision) <= 1e-3:
        return Feedback(False, f"that is the precision (the diagonal divided by the column: all images predicted "
                               f"{class_name!r}); recall divides by the row: all test images that are {class_name!r}.")
    if abs(value - evaluation.accuracy) <= 1e-3:
        return Feedback(False, "that is the overall accuracy; recall is for one class: its diagonal cell "
                               "divided by its row.")
    if abs(value - 100 * recall) <= 0.1:
        return Feedback(False, "that looks like a percentage; give the recall as a fraction between 0 and 1.")
    return Feedback(False, f"the recall of {class_name!r} is not {value:.3g}. Take row {c} of the confusion "
                           "matrix (the true class): its diagonal cell divided by the row's sum.")


def check_saved_model(path: Any, model: Any, x: Any) -> Feedback:
    """Exercise 3: a model saved with ``save_model`` outside ``notebooks/`` that reloads
    with the same predictions as ``model`` on ``x``.

    Example:
        >>> check_saved_model(None, None, None).correct
        False
    """
    if path is None:
        return not_answered("save your model with tlhelpers.saving.save_model(model, path) under "
                               "build/models (or a temporary folder) and set saved_path to what it returns.")
    try:
        path = Path(os.fspath(path))
    except TypeError:
        return Feedback(False, f"saved_path should be a path (str or Path), got {path!r}.")
    if path.suffix != ".keras":
        return Feedback(False, f"{path.name} should end in '.keras', the Keras 3 format.")
    if not path.is_file():
        return Feedback(False, f"there is no file at {path}; did save_model run (without an error)?")
    if "notebooks" in path.resolve().parts:
        return Feedback(False, f"{path} is inside the notebooks folder, which students reset and rerun; keep "
                               "models under build/models or another folder of your own.")
    from tlhelpers.saving import compare_predictions, load_model

    try:
        reloaded = load_model(path)
    except Exception as err:  # a damaged file: say so, do not crash the exercise cell
        return Feedback(False, f"{path} could not be loaded ({type(err).__name__}: {err}).")
    try:
        comparison = compare_predictions(model, reloaded, x)
    except Exception as err:
        return Feedback(False, f"the reloaded model does not take the same inputs ({type(err).__name__}: {err}).")
    return expect(
        comparison.identical,
        f"{path.name} reloads with identical predictions on {comparison.n} images.",
        f"{path.name} reloads, but its predictions differ ({comparison!r}); save the model you trained.",
    )
