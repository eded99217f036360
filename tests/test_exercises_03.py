"""Lesson 03's exercise checks: placeholders get 'Not yet', right answers pass, mistakes are explained."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tlhelpers import backbones, transfer
from tlhelpers.exercises import lesson03
from tlhelpers.lr_finder import LRFinder
from tlhelpers.training import compile_classifier


@pytest.fixture
def model() -> keras.Model:
    keras.utils.set_random_seed(0)
    model = transfer.build_classifier(backbones.load_backbone("fashion_cnn", weights=None), num_classes=5)
    return compile_classifier(model, 1e-3)  # as the notebook hands it out


def test_unfreeze_placeholder_and_right_answer(model) -> None:
    feedback = lesson03.check_unfreeze(model)  # the student has not done anything yet
    assert not feedback and "no block of the backbone trains yet" in feedback.message
    assert repr(feedback).startswith("❌ Not yet")
    transfer.unfreeze_top(model, blocks=2)
    compile_classifier(model, 1e-5)
    feedback = lesson03.check_unfreeze(model)
    assert feedback and "block3, block4 train" in feedback.message


def test_unfreeze_explains_each_mistake(model) -> None:
    transfer.unfreeze_top(model, blocks=2)
    feedback = lesson03.check_unfreeze(model)
    assert not feedback and "not compiled since" in feedback.message  # forgot to recompile
    compile_classifier(model, 1e-3)
    feedback = lesson03.check_unfreeze(model)
    assert not feedback and "learning rate 0.001" in feedback.message and "at most 0.0001" in feedback.message
    transfer.unfreeze_top(model, blocks=3)
    compile_classifier(model, 1e-5)
    feedback = lesson03.check_unfreeze(model)
    assert not feedback and "['block2', 'block3', 'block4']: not the top 2" in feedback.message
    assert "['block3', 'block4']" not in feedback.message  # the check does not name the answer
    for layer in transfer.find_backbone(model)[0].layers:
        layer.trainable = True  # everything, BatchNorm included
    compile_classifier(model, 1e-5)
    feedback = lesson03.check_unfreeze(model)
    assert not feedback and "BatchNormalization" in feedback.message and "block1_bn1" in feedback.message


def test_unfreeze_on_something_else() -> None:
    own = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)], name="homemade")
    feedback = lesson03.check_unfreeze(own)
    assert not feedback and "not the exercise model" in feedback.message


@pytest.mark.parametrize("answer, correct", [(None, False), ("a", False), ("b", True), (" B ", True), ("c", False),
                                             ("d", False), ("z", False), (2, False)])
def test_batchnorm_question(answer, correct) -> None:
    feedback = lesson03.check_batchnorm(answer)
    assert feedback.correct is correct
    if answer is None:
        assert feedback.message == "no answer yet: set answer to one of 'a', 'b', 'c', 'd'."  # no hint at the answer
    elif correct:
        assert "trainable = False" in lesson03.BATCHNORM_CHOICES["b"][0] and "inference mode" in feedback.message
    elif answer == "a":
        assert "keras-team/keras#20285" in feedback.message and "Try again" in feedback.message


@pytest.fixture
def finder() -> LRFinder:
    """A recorded sweep: the smoothed loss falls until 1e-3, then rises and diverges at 1e-1."""
    finder = LRFinder(min_lr=1e-6, max_lr=1.0, steps=100)
    lrs = np.array([finder.lr_at(i) for i in range(84)])
    smooth = np.where(lrs <= 1e-3, 1.0 - 0.1 * np.log10(lrs / 1e-6), 0.7 + 2.0 * np.log10(lrs / 1e-3))
    finder.lrs, finder.smoothed, finder.losses = list(lrs), list(smooth), list(smooth)
    finder.diverged_lr = float(lrs[-1])
    return finder


@pytest.mark.parametrize(
    "answer, correct, says",
    [
        (None, False, "set answer to a learning rate"),
        ("fast", False, "should be a number"),
        (-1e-4, False, "positive number"),
        (1e-4, True, "falling part of the curve"),
        (5e-4, True, "falling part of the curve"),
        (5e-3, False, "right of the curve's lowest point"),
        (0.5, False, "where the finder stopped"),
        (1e-7, False, "training would crawl"),
    ],
)
def test_lr_choice(finder, answer, correct, says) -> None:
    feedback = lesson03.check_lr_choice(answer, finder)
    assert feedback.correct is correct
    assert says in feedback.message
    if not correct:  # a wrong answer is told where to look, not the values that bound the right ones
        for boundary in (1e-3, finder.diverged_lr, finder.suggestion()):
            assert f"{boundary:.2g}" not in feedback.message and f"{boundary:g}" not in feedback.message


def test_lr_choice_before_the_finder_ran() -> None:
    feedback = lesson03.check_lr_choice(1e-4, LRFinder())
    assert not feedback and "run the LR finder first" in feedback.message


def test_unfreeze_check_on_the_imagenet_track_backbone() -> None:
    base = backbones.load_backbone("mobilenet_v2", weights=None, input_size=32)
    model = compile_classifier(transfer.build_classifier(base, 10), 1e-3)
    transfer.unfreeze_top(model, blocks=2)
    compile_classifier(model, 1e-5)
    feedback = lesson03.check_unfreeze(model)
    assert feedback and "stage6_320, top_conv train" in feedback.message
