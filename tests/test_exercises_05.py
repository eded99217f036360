"""Lesson 05's exercise checks: right answers pass, placeholders and usual mistakes explain."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from tlhelpers.evaluation import Evaluation
from tlhelpers.exercises import lesson05
from tlhelpers.saving import save_model

NAMES = ("Pullover", "Coat", "Shirt")


@pytest.fixture
def evaluation() -> Evaluation:
    # confusion matrix: [[5, 3, 0], [1, 6, 1], [0, 0, 4]]: most confused Pullover -> Coat
    y_true = np.array([0] * 8 + [1] * 8 + [2] * 4)
    y_pred = np.array([0] * 5 + [1] * 3 + [0] + [1] * 6 + [2] + [2] * 4)
    return Evaluation(y_true, np.eye(3)[y_pred] * 0.9 + 0.1 / 3, NAMES)


def test_false_alarm_source(evaluation) -> None:
    assert evaluation.confusion.tolist() == [[5, 3, 0], [1, 6, 1], [0, 0, 4]]
    # the wrong "Coat" predictions (column 1): 3 Pullovers, 0 Shirts
    assert lesson05.check_false_alarm_source("Pullover", evaluation, "Coat")
    assert lesson05.check_false_alarm_source(0, evaluation, "Coat")  # indices work too
    # the wrong "Shirt" predictions (column 2) are 1 Coat; the Shirt row has no mistakes
    assert lesson05.check_false_alarm_source("Coat", evaluation, "Shirt")
    # reading the row of "Pullover" (true Pullovers predicted Coat) instead of its column
    row = lesson05.check_false_alarm_source("Coat", evaluation, "Pullover")
    assert row and "1 of the 1 wrong" in row.message  # here the column says Coat as well
    swapped = lesson05.check_false_alarm_source("Shirt", evaluation, "Coat")  # the Coat row: 1 Shirt
    assert not swapped and "you read the row" in swapped.message
    other = lesson05.check_false_alarm_source("Shirt", evaluation, "Pullover")  # neither row nor column
    assert not other and "another class gave 1" in other.message
    diagonal = lesson05.check_false_alarm_source("Coat", evaluation, "Coat")
    assert not diagonal and "diagonal" in diagonal.message
    assert "class name from" in lesson05.check_false_alarm_source("Cat", evaluation, "Coat").message
    placeholder = lesson05.check_false_alarm_source(None, evaluation, "Coat")
    assert not placeholder and "Not yet" in repr(placeholder)
    with pytest.raises(ValueError, match="unknown class 'Dog'"):
        lesson05.check_false_alarm_source("Coat", evaluation, "Dog")


def test_false_alarm_source_explains_reading_the_row() -> None:
    # confusion [[4, 0, 2], [3, 5, 0], [0, 1, 3]]: wrong "Pullover" predictions come from
    # Coat (column 0); the Pullover row's biggest mistake is Shirt
    y_true = np.array([0] * 6 + [1] * 8 + [2] * 4)
    y_pred = np.array([0] * 4 + [2] * 2 + [0] * 3 + [1] * 5 + [1] + [2] * 3)
    ev = Evaluation(y_true, np.eye(3)[y_pred], NAMES)
    assert ev.confusion.tolist() == [[4, 0, 2], [3, 5, 0], [0, 1, 3]]
    assert lesson05.check_false_alarm_source("Coat", ev, "Pullover")
    row = lesson05.check_false_alarm_source("Shirt", ev, "Pullover")
    assert not row and "you read the row" in row.message
    never = Evaluation(np.array([0, 1]), np.eye(3)[[0, 1]], NAMES)  # "Shirt" never predicted
    assert lesson05.check_false_alarm_source(None, never, "Shirt")
    assert not lesson05.check_false_alarm_source("Coat", never, "Shirt")


def test_top_confusion_and_its_usual_mistakes() -> None:
    # confusion [[4, 0, 2], [3, 5, 0], [0, 1, 3]]: Pullover (row 0) is most often mistaken for Shirt, 2 of 6
    y_true = np.array([0] * 6 + [1] * 8 + [2] * 4)
    y_pred = np.array([0] * 4 + [2] * 2 + [0] * 3 + [1] * 5 + [1] + [2] * 3)
    ev = Evaluation(y_true, np.eye(3)[y_pred], NAMES)
    assert lesson05.check_top_confusion(2 / 6, ev, "Pullover")
    assert lesson05.check_top_confusion(np.float32(1 / 3), ev, "Pullover")
    column = lesson05.check_top_confusion(2 / 5, ev, "Pullover")  # Shirt's column: 2 of the 5 predicted Shirt
    assert not column and "column" in column.message
    count = lesson05.check_top_confusion(2, ev, "Pullover")
    assert not count and "count" in count.message
    percent = lesson05.check_top_confusion(100 / 3, ev, "Pullover")
    assert not percent and "percent" in percent.message
    mistakes_only = lesson05.check_top_confusion(1.0, ev, "Pullover")  # 2 of its 2 mistakes
    assert not mistakes_only and "mistakes only" in mistakes_only.message
    coat = lesson05.check_top_confusion(3 / 8, ev, "Coat")  # Coat: 3 of its 8 taken for Pullover
    assert coat and "'Pullover'" in coat.message
    shirt = lesson05.check_top_confusion(1 / 4, ev, "Shirt")  # Shirt: 1 of 4 taken for Coat
    every = lesson05.check_top_confusion(0.5, Evaluation(np.array([0] * 4), np.eye(3)[[0, 0, 1, 2]], NAMES), "Pullover")
    assert shirt and not every and "every mistake" in every.message
    assert not lesson05.check_top_confusion(0.1, ev, "Pullover")
    assert not lesson05.check_top_confusion(None, ev, "Pullover")
    assert "number" in lesson05.check_top_confusion("high", ev, "Pullover").message
    with pytest.raises(ValueError, match="unknown class 'Dog'"):
        lesson05.check_top_confusion(0.5, ev, "Dog")


@pytest.fixture
def model() -> keras.Model:
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])


def test_saved_model(model, tmp_path: Path) -> None:
    x = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
    assert not lesson05.check_saved_model(None, model, x)
    assert "no file" in lesson05.check_saved_model(tmp_path / "missing.keras", model, x).message
    assert "'.keras'" in lesson05.check_saved_model(tmp_path / "m.h5", model, x).message
    assert "a path" in lesson05.check_saved_model(42, model, x).message
    path = save_model(model, tmp_path / "mine.keras")
    assert lesson05.check_saved_model(path, model, x)
    assert lesson05.check_saved_model(str(path), model, x)
    other = keras.models.clone_model(model)
    wrong = lesson05.check_saved_model(path, other, x)
    assert not wrong and "differ" in wrong.message
    in_notebooks = save_model(model, tmp_path / "notebooks" / "m.keras")
    assert "notebooks folder" in lesson05.check_saved_model(in_notebooks, model, x).message
    (tmp_path / "broken.keras").write_bytes(b"not a zip")
    assert "could not be loaded" in lesson05.check_saved_model(tmp_path / "broken.keras", model, x).message
