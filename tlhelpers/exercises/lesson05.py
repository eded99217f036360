"""Exercise checks for lesson 05 (validation, interpretation, saving).

Each check computes the right answer from the student's own model and evaluation, so it
holds whatever the weights, and explains the usual wrong answers (rows and columns of
the confusion matrix swapped, a count instead of a share, a model saved into the
notebooks folder).

Example:
    >>> import numpy as np
    >>> from tlhelpers.evaluation import Evaluation
    >>> ev = Evaluation(np.array([0, 0, 1, 1]), np.eye(2)[[0, 1, 1, 1]], ("cat", "dog"))
    >>> check_top_confusion(0.5, ev, "cat")
    ✅ Correct: 'cat' is most often mistaken for 'dog': 1 of its 2 test images (0.5).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from tlhelpers.checks import Feedback, expect
from tlhelpers.evaluation import Evaluation
from tlhelpers.exercises._common import not_answered
from tlhelpers.i18n import _

__all__ = ["check_false_alarm_source", "check_saved_model", "check_top_confusion"]


def _class_index(value: Any, names: tuple[str, ...]) -> int | None:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and 0 <= value < len(names):
        return int(value)
    if isinstance(value, str) and value in names:
        return names.index(value)
    return None


def _unknown_class(name: str, names: tuple[str, ...]) -> str:
    return _("unknown class {name!r}; choose one of: {choices}").format(name=name, choices=", ".join(names))


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
        raise ValueError(_unknown_class(predicted_class, names))
    c = names.index(predicted_class)
    cm = evaluation.confusion
    column = cm[:, c].copy()
    column[c] = 0
    row = cm[c].copy()
    row[c] = 0
    if column.max() == 0:
        return expect(answer is None,
                      _("the model never predicts {predicted!r} wrongly, so there is no source.").format(
                          predicted=predicted_class),
                      _("{answer!r} is not it: look down the column {predicted!r} of the confusion matrix, "
                        "off the diagonal, and count again.").format(answer=answer, predicted=predicted_class))
    if answer is None:
        return not_answered(_("set answer to the true class (a name from the class names, or its index) that the "
                              "wrong {predicted!r} predictions most often come from.").format(predicted=predicted_class))
    t = _class_index(answer, names)
    if t is None:
        return Feedback(False, _("use a class name from {names} (or its index), got {answer!r}.").format(
            names=list(names), answer=answer))
    if t == c:
        return Feedback(False, _("{predicted!r} images predicted {predicted!r} are the correct "
                                 "predictions (the diagonal); the question is about the wrong ones.").format(
            predicted=predicted_class))
    if column[t] == column.max():
        return Feedback(True, _("{count} of the {total} wrong {predicted!r} predictions "
                                "were {true!r} images, more than from any other class.").format(
            count=int(column[t]), total=int(column.sum()), predicted=predicted_class, true=names[t]))
    if row[t] == row.max():
        return Feedback(False, _("you read the row of {predicted!r}: {count} {predicted!r} images "
                                 "were predicted {true!r}. The question is about the column: images "
                                 "predicted {predicted!r} that are something else.").format(
            predicted=predicted_class, count=int(row[t]), true=names[t]))
    return Feedback(False, _("{count} wrong {predicted!r} predictions were {true!r} images, but "
                             "another class gave {most}. Look down the column {predicted!r}.").format(
        count=int(column[t]), predicted=predicted_class, true=names[t], most=int(column.max())))


def check_top_confusion(answer: Any, evaluation: Evaluation, class_name: str) -> Feedback:
    """Exercise 2: the share of ``class_name``'s test images labelled as the class it is most often mistaken for.

    From the confusion matrix: the largest cell of the class's *row* off the diagonal,
    divided by the row's sum (all test images of the class). No table of the lesson prints
    it; the usual slips (dividing by the column, giving every mistake, only the mistakes, a
    count or a percentage) get their own explanation, without the number.

    Example:
        >>> ev = Evaluation(np.array([0, 0, 0, 0, 1, 2]), np.eye(3)[[0, 1, 1, 2, 1, 2]], ("cat", "dog", "fox"))
        >>> check_top_confusion(0.5, ev, "cat")
        ✅ Correct: 'cat' is most often mistaken for 'dog': 2 of its 4 test images (0.5).
    """
    names = evaluation.class_names
    if class_name not in names:
        raise ValueError(_unknown_class(class_name, names))
    if answer is None:
        return not_answered(_("set answer to the share (between 0 and 1) of the test images that are {name!r} "
                              "which the model labelled as the class it confuses them with most.").format(
            name=class_name))
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return Feedback(False, _("a share is a number between 0 and 1, got {answer!r}.").format(answer=answer))
    c = names.index(class_name)
    cm = evaluation.confusion
    row = cm[c].astype(float)
    wrong = row.copy()
    wrong[c] = -1
    other = int(wrong.argmax())
    right = row[other] / row.sum() if row.sum() else 0.0
    close = lambda v: abs(value - v) <= 1e-3  # noqa: E731
    if close(right):
        return Feedback(True, _("{name!r} is most often mistaken for {other!r}: {count} of its "
                                "{total} test images ({share:.3g}).").format(
            name=class_name, other=names[other], count=int(row[other]), total=int(row.sum()), share=right))
    if cm[:, other].sum() and close(cm[c, other] / cm[:, other].sum()):
        return Feedback(False, _("you divided by a column: that is a share of the images *predicted* as the other "
                                 "class. The question is about the images that *are* {name!r}: their row.").format(
            name=class_name))
    if abs(value - int(row[other])) < 0.5 and value >= 1:
        return Feedback(False, _("that is a count of images; divide it by the class's number of test images."))
    if abs(value - 100 * right) <= 0.1:
        return Feedback(False, _("that looks like a percentage; give a fraction between 0 and 1."))
    if row.sum() and close(1 - row[c] / row.sum()):
        return Feedback(False, _("that counts every mistake of the row; take only the largest off-diagonal cell."))
    if row.sum() > row[c] and close(row[other] / (row.sum() - row[c])):
        return Feedback(False, _("that is a share of the mistakes only; divide by all of the class's test images "
                                 "(the whole row)."))
    return Feedback(False, _("not {value:.3g}. In row {row} of cm (the true class {name!r}), find the largest "
                             "cell off the diagonal and divide it by the row's sum.").format(
        value=value, row=c, name=class_name))


def check_saved_model(path: Any, model: Any, x: Any) -> Feedback:
    """Exercise 3: a model saved with ``save_model`` outside ``notebooks/`` that reloads
    with the same predictions as ``model`` on ``x``.

    Example:
        >>> check_saved_model(None, None, None).correct
        False
    """
    if path is None:
        return not_answered(_("save your model with tlhelpers.saving.save_model(model, path) under "
                              "build/models (or a temporary folder) and set saved_path to what it returns."))
    try:
        path = Path(os.fspath(path))
    except TypeError:
        return Feedback(False, _("saved_path should be a path (str or Path), got {path!r}.").format(path=path))
    if path.suffix != ".keras":
        return Feedback(False, _("{name} should end in '.keras', the Keras 3 format.").format(name=path.name))
    if not path.is_file():
        return Feedback(False, _("there is no file at {path}; did save_model run (without an error)?").format(path=path))
    if "notebooks" in path.resolve().parts:
        return Feedback(False, _("{path} is inside the notebooks folder, which students reset and rerun; keep "
                                 "models under build/models or another folder of your own.").format(path=path))
    from tlhelpers.saving import compare_predictions, load_model

    try:
        reloaded = load_model(path)
    except Exception as err:  # a damaged file: say so, do not crash the exercise cell
        return Feedback(False, _("{path} could not be loaded ({error_type}: {error}).").format(
            path=path, error_type=type(err).__name__, error=err))
    try:
        comparison = compare_predictions(model, reloaded, x)
    except Exception as err:
        return Feedback(False, _("the reloaded model does not take the same inputs ({error_type}: {error}).").format(
            error_type=type(err).__name__, error=err))
    return expect(
        comparison.identical,
        _("{name} reloads with identical predictions on {count} images.").format(name=path.name, count=comparison.n),
        _("{name} reloads, but its predictions differ ({comparison!r}); save the model you trained.").format(
            name=path.name, comparison=comparison),
    )
