"""Lesson 06's exercise checks: placeholders get 'Not yet', right answers pass, mistakes are explained."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

from tlhelpers.exercises import lesson06
from tlhelpers.tuning import SearchSpace


def test_uniform_share_matches_sampling() -> None:
    draws = np.random.default_rng(0).uniform(1e-5, 1e-2, 200_000)
    assert lesson06.uniform_share() == pytest.approx(np.mean(draws < 1e-3), abs=0.003)
    log_draws = 10 ** np.random.default_rng(1).uniform(-5, -2, 200_000)
    assert np.mean(log_draws < 1e-3) == pytest.approx(2 / 3, abs=0.005)  # what the log-scale feedback claims


def test_uniform_share_checks() -> None:
    assert not lesson06.check_uniform_share(None) and "no answer yet" in lesson06.check_uniform_share(None).message
    assert "percentage" in lesson06.check_uniform_share(9.91).message
    assert lesson06.check_uniform_share(0.099) and lesson06.check_uniform_share(0.1)
    wrong = lesson06.check_uniform_share(0.5)
    assert not wrong and "(x - low) / (high - low)" in wrong.message
    log = lesson06.check_uniform_share(2 / 3)
    assert not log and "*log* sampling" in log.message


@pytest.mark.parametrize(("backbone", "half"), [("fashion_cnn", 2), ("mobilenet_v2", 4), ("resnet50", 2)])
def test_search_space_right_answer_in_every_track(backbone, half) -> None:
    right = SearchSpace(fine_lr=(1e-5, 1e-3), blocks=(1, half), dropout=(0.0, 0.5))
    feedback = lesson06.check_search_space(right, backbone)
    assert feedback, feedback.message
    assert "fine_lr, blocks, dropout are searched" in feedback.message


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (None, "no answer yet"),
        ({"fine_lr": (1e-5, 1e-3)}, "should be a tlhelpers.tuning.SearchSpace"),
        (SearchSpace(fine_lr=(1e-5, 1e-2), blocks=(1, 2), dropout=(0.0, 0.5)), "fine_lr should span (1e-5, 1e-3)"),
        (SearchSpace(fine_lr=(1e-5, 1e-3), blocks=None, dropout=(0.0, 0.5)), "allows K=0"),
        (SearchSpace(fine_lr=(1e-5, 1e-3), blocks=(0, 2), dropout=(0.0, 0.5)), "allows K=0"),
        (SearchSpace(fine_lr=(1e-5, 1e-3), blocks=(1, 3), dropout=(0.0, 0.5)), "more than half"),
        (SearchSpace(fine_lr=(1e-5, 1e-3), blocks=(1, 1), dropout=(0.0, 0.5)), "stops short of half"),
        (SearchSpace(fine_lr=(1e-5, 1e-3), blocks=(1, 2)), "dropout should be searched"),
        (SearchSpace(fine_lr=(1e-5, 1e-3), blocks=(1, 9), dropout=(0.0, 0.5)), "not valid for fashion_cnn"),
    ],
)
def test_search_space_mistakes_are_explained(answer, message) -> None:
    feedback = lesson06.check_search_space(answer, "fashion_cnn")
    assert not feedback and message in feedback.message
    assert repr(feedback).startswith("❌ Not yet")


def test_best_is_optimistic_choice() -> None:
    assert lesson06.check_best_is_optimistic("b")
    for wrong in ("a", "c"):
        assert not lesson06.check_best_is_optimistic(wrong)
    placeholder = lesson06.check_best_is_optimistic(None)
    assert not placeholder and "one of 'a', 'b', 'c'" in placeholder.message


def test_docstring_examples() -> None:
    results = doctest.testmod(lesson06)
    assert results.attempted >= 5 and results.failed == 0
