"""One verdict type: Feedback, SanityCheck and BatchReport share ``ok``, ``message`` and one display.

Also the naming rule of the vocabulary: a ``check_*`` function returns a verdict (a
``validate_*`` function raises), and the names the modules promise (``__all__``) exist.
"""

from __future__ import annotations

import inspect
import typing
import warnings

import numpy as np
import pytest
from IPython.core.interactiveshell import InteractiveShell

from tlhelpers import checks, evaluation, preprocessing, verdict
from tlhelpers.checks import Feedback
from tlhelpers.evaluation import SanityCheck
from tlhelpers.preprocessing import BatchReport
from tlhelpers.verdict import Verdict

RAW = np.linspace(0, 255, 48, dtype=np.float32).reshape(1, 4, 4, 3)


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TL_LANG", "en")


def verdicts() -> list[tuple[Verdict, bool]]:
    """One passing and one failing verdict of each kind, with whether it passed."""
    once = preprocessing.apply_preprocess(RAW, "mobilenet_v2")
    return [
        (Feedback(True, "2 + 2 is 4."), True),
        (Feedback(False, "add the two numbers."), False),
        (evaluation.check_prediction_spread([0, 1, 1, 0], ("a", "b")), True),
        (evaluation.check_prediction_spread([1, 1, 1, 1], ("a", "b")), False),
        (preprocessing.check_batch(once, "mobilenet_v2", warn=False), True),
        (preprocessing.check_batch(RAW, "mobilenet_v2", warn=False), False),
    ]


def test_every_kind_is_a_verdict_with_ok_and_message() -> None:
    for found, passed in verdicts():
        assert isinstance(found, Verdict)
        assert found.ok is passed and bool(found) is passed
        assert isinstance(found.message, str) and found.message
        assert repr(found) == str(found) == found.render()


def test_require_raises_the_message_of_any_failed_verdict() -> None:
    for found, passed in verdicts():
        if passed:
            assert found.require() is found
        else:
            with pytest.raises(AssertionError) as err:
                found.require()
            assert str(err.value) == found.message


def test_only_feedback_shows_as_a_coloured_line_in_notebooks() -> None:
    shell = InteractiveShell.instance()
    for found, passed in verdicts():
        shown, _ = shell.display_formatter.format(found)
        assert shown["text/plain"] == repr(found)
        if isinstance(found, Feedback):
            color = "#1a7f37" if passed else "#b42318"
            assert shown["text/html"].startswith(f'<div style="color:{color};font-weight:600">')
        else:
            assert "text/html" not in shown  # sanity checks and batch reports show plain text, as they did


def test_the_displays_are_the_ones_students_know() -> None:
    assert repr(Feedback(False, "a < b")) == "❌ Not yet: a < b"
    assert Feedback(False, "a < b")._repr_html_() == '<div style="color:#b42318;font-weight:600">❌ Not yet: a &lt; b</div>'
    assert str(SanityCheck("a", True, "fine")) == "✅ a: fine"
    report = BatchReport("mobilenet_v2", (0.0, 255.0), (-1.0, 1.0), "missing", "raw", "preprocess", "3 channels")
    assert str(report).splitlines() == ["mobilenet_v2: batch range 0 .. 255, expected -1 .. 1", "verdict: MISSING: raw",
                                        "fix: preprocess", "channels: 3 channels"]
    assert report.message == "; ".join(str(report).splitlines())


def test_old_names_still_work() -> None:
    assert Feedback(True, "x").correct is True and Feedback(False, "x").correct is False
    assert Feedback(True, "x") == Feedback(True, "x") != Feedback(False, "x")
    spread = SanityCheck("a", False, "broken", {"n": 1})
    assert (spread.name, spread.ok, spread.message, spread.details) == ("a", False, "broken", {"n": 1})
    report = preprocessing.check_batch(RAW, "mobilenet_v2", warn=False)
    assert (report.verdict, report.backbone, report.expected) == ("missing", "mobilenet_v2", (-1.0, 1.0))
    assert "preprocess_input" in report.explanation and report.fix


def test_the_warning_says_the_report_on_one_line() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = preprocessing.check_batch(RAW, "mobilenet_v2")
    assert [str(w.message) for w in caught] == [report.message]
    assert "\n" not in report.message and report.message.startswith("mobilenet_v2: batch range 0 .. 255")


def test_a_verdict_kind_must_word_itself() -> None:
    with pytest.raises(NotImplementedError):
        Verdict().render()


@pytest.mark.parametrize("module", [checks, evaluation, preprocessing], ids=lambda m: m.__name__)
def test_check_functions_return_a_verdict(module) -> None:
    found = [name for name, f in inspect.getmembers(module, inspect.isfunction)
             if name.startswith("check_") and f.__module__ == module.__name__]
    assert found
    for name in found:
        returned = typing.get_type_hints(getattr(module, name))["return"]
        assert issubclass(returned, Verdict), f"{module.__name__}.{name} returns {returned}: a check_* returns a verdict"


@pytest.mark.parametrize("module", [verdict, checks, evaluation, preprocessing], ids=lambda m: m.__name__)
def test_public_names_exist(module) -> None:
    assert module.__all__ and not [name for name in module.__all__ if not hasattr(module, name)]
