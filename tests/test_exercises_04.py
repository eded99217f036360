"""Lesson 04's exercise checks: the LR finder read-off and a block's discriminative rate."""

from __future__ import annotations

import numpy as np
import pytest

from tlhelpers import backbones, transfer
from tlhelpers.exercises import lesson04
from tlhelpers.lr_finder import LRFinder


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
    feedback = lesson04.check_lr_choice(answer, finder)
    assert feedback.correct is correct
    assert says in feedback.message
    if not correct:  # a wrong answer is told where to look, not the values that bound the right ones
        for boundary in (1e-3, finder.diverged_lr, finder.suggestion()):
            assert f"{boundary:.2g}" not in feedback.message and f"{boundary:g}" not in feedback.message


def test_lr_choice_before_the_finder_ran() -> None:
    feedback = lesson04.check_lr_choice(1e-4, LRFinder())
    assert not feedback and "run the LR finder first" in feedback.message


@pytest.mark.parametrize("name, block", [("fashion_cnn", "block2"), ("mobilenet_v2", "stage5_160")])
def test_block_rate(name: str, block: str) -> None:
    model = transfer.build_classifier(backbones.load_backbone(name, weights=None, input_size=32), 3)
    assert "no answer yet" in lesson04.check_block_rate(None, model).message
    right = lesson04.check_block_rate(1.25e-4, model)
    assert right and block in right.message
    for off_by_one in (2.5e-4, 6.25e-5):
        feedback = lesson04.check_block_rate(off_by_one, model)
        assert not feedback and "one factor of decay off" in feedback.message and "0.000125" not in feedback.message
    other = lesson04.check_block_rate(1e-3, model)
    assert not other and "1.25e-04" not in other.message and "0.000125" not in other.message
    assert not lesson04.check_block_rate("x", model)
