"""Instant feedback for exercises and graded assignments: right or wrong, and why.

Every check returns a :class:`Feedback`. In a lesson it displays as a short verdict; in
an assignment's test cell, ``feedback.require()`` turns a wrong answer into an
``AssertionError`` carrying the same message, which nbgrader and
``python -m tlhelpers assignments check`` show to the student. Checks test the property
asked for, not one reference solution, so any correct answer passes.

Example:
    >>> check_equal(2 + 2, 4, "2 + 2")
    ✅ Correct: 2 + 2 is 4.
    >>> check_close(0.29, 0.3, tol=0.05, what="the dropout rate")
    ✅ Correct: the dropout rate is 0.29, within 0.05 of 0.3.
    >>> check_equal(5, 4, "2 + 2", hint="add the two numbers")
    ❌ Not yet: 2 + 2 is not 5. Hint: add the two numbers

A wrong answer is told what is wrong and where to look, never the expected value.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from tlhelpers.i18n import _


@dataclass(frozen=True)
class Feedback:
    """The verdict of one check.

    Attributes:
        correct: whether the answer is right.
        message: what was right, or what was wrong and how to fix it.
    """

    correct: bool
    message: str

    def __bool__(self) -> bool:
        return self.correct

    def __repr__(self) -> str:
        verdict = _("✅ Correct: {message}") if self.correct else _("❌ Not yet: {message}")
        return verdict.format(message=self.message)

    def _repr_html_(self) -> str:
        color = "#1a7f37" if self.correct else "#b42318"
        return f'<div style="color:{color};font-weight:600">{html.escape(repr(self))}</div>'

    def require(self) -> Feedback:
        """Raise ``AssertionError(message)`` if wrong (for graded test cells); else return self."""
        if not self.correct:
            raise AssertionError(self.message)
        return self


def expect(condition: bool, right: str, wrong: str) -> Feedback:
    """The basic check: ``right`` if ``condition`` holds, else ``wrong``.

    Example:
        >>> expect(3 > 2, "three beats two.", "three should beat two.")
        ✅ Correct: three beats two.
    """
    return Feedback(bool(condition), right if condition else wrong)


def _with_hint(message: str, hint: str | None) -> str:
    return _("{message} Hint: {hint}").format(message=message, hint=hint) if hint else message


def check_equal(actual: Any, expected: Any, what: str, hint: str | None = None) -> Feedback:
    """``actual == expected``.

    Example:
        >>> check_equal("avg", "avg", "the pooling")
        ✅ Correct: the pooling is 'avg'.
    """
    shown = repr(expected) if isinstance(expected, str) else expected
    return expect(
        actual == expected, _("{what} is {shown}.").format(what=what, shown=shown),
        _with_hint(_("{what} is not {actual!r}.").format(what=what, actual=actual), hint),
    )


def check_close(actual: float, expected: float, tol: float, what: str, hint: str | None = None) -> Feedback:
    """``|actual - expected| <= tol``.

    Example:
        >>> check_close(1e-3, 1e-4, tol=1e-4, what="the learning rate")
        ❌ Not yet: the learning rate 0.001 is not within 0.0001 of the right value.
    """
    try:
        ok = abs(float(actual) - float(expected)) <= tol
    except (TypeError, ValueError):
        return Feedback(False, _with_hint(
            _("{what} should be a number, got {actual!r}.").format(what=what, actual=actual), hint))
    return expect(
        ok, _("{what} is {actual:g}, within {tol:g} of {expected:g}.").format(
            what=what, actual=actual, tol=tol, expected=expected),
        _with_hint(_("{what} {actual:g} is not within {tol:g} of the right value.").format(
            what=what, actual=actual, tol=tol), hint),
    )


def check_choice(actual: Any, accepted: Iterable[Any], what: str, why: str, hint: str | None = None) -> Feedback:
    """``actual`` is one of ``accepted``; ``why`` explains the right answer.

    Example:
        >>> check_choice("b", {"b"}, "your answer", "BatchNorm must stay in inference mode.")
        ✅ Correct: your answer 'b': BatchNorm must stay in inference mode.
    """
    accepted = list(accepted)
    return expect(
        actual in accepted, _("{what} {actual!r}: {why}").format(what=what, actual=actual, why=why),
        _with_hint(_("{what} {actual!r} is not right.").format(what=what, actual=actual), hint),
    )


def run_checks(*checks: Callable[[], Feedback] | Feedback) -> Feedback:
    """Combine checks: correct when all are; the message lists the first failure or all passes.

    Callables are evaluated in order and stop at the first wrong one, so later checks may
    rely on earlier ones (e.g. "is a model" before "has 3 layers").

    Example:
        >>> run_checks(expect(True, "a.", "not a."), expect(True, "b.", "not b."))
        ✅ Correct: a. b.
    """
    passed = []
    for item in checks:
        try:
            feedback = item() if callable(item) else item
        except Exception as err:  # a student's object may break a check: say so, don't crash
            return Feedback(False, _("checking raised {error_type}: {error}").format(
                error_type=type(err).__name__, error=err))
        if not feedback:
            return feedback
        passed.append(feedback.message)
    return Feedback(True, " ".join(passed))
