"""Instant feedback for exercises and graded assignments: right or wrong, and why.

Every check returns a :class:`Feedback` (a :class:`tlhelpers.verdict.Verdict`, like the
sanity checks' and the batch checker's). In a lesson it displays as a short verdict; in
an assignment's test cell, ``feedback.require()`` turns a wrong answer into an
``AssertionError`` carrying the same message, which nbgrader and
``python -m tlhelpers assignments check`` show to the student. Checks test the property
asked for, not one reference solution, so any correct answer passes.

Example:
    >>> expect(2 + 2 == 4, "2 + 2 is 4.", "2 + 2 is not 5: add the two numbers.")
    ✅ Correct: 2 + 2 is 4.
    >>> check_choice("avg", ["avg", "max"], "the pooling", "it gives one vector per image.", hint="see section 3")
    ✅ Correct: the pooling 'avg': it gives one vector per image.
    >>> check_choice(None, ["avg", "max"], "the pooling", "it gives one vector per image.", hint="see section 3")
    ❌ Not yet: the pooling None is not right. Hint: see section 3

A wrong answer is told what is wrong and where to look, never the expected value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Iterable

from tlhelpers.i18n import _
from tlhelpers.verdict import Verdict

__all__ = ["Feedback", "Verdict", "check_choice", "expect", "run_checks"]


@dataclass(frozen=True, repr=False)
class Feedback(Verdict):
    """The verdict of one exercise or assignment check (a :class:`~tlhelpers.verdict.Verdict`).

    Shown as "✅ Correct: ..." or "❌ Not yet: ...", in notebooks in green or red.

    Attributes:
        ok: whether the answer is right (also readable as ``correct``).
        message: what was right, or what was wrong and how to fix it.

    Example:
        >>> Feedback(False, "add the two numbers.")
        ❌ Not yet: add the two numbers.
        >>> Feedback(True, "4.").correct
        True
    """

    ok: bool
    message: str

    colored: ClassVar[bool] = True

    @property
    def correct(self) -> bool:
        """Whether the answer is right: the same as ``ok`` (the name lessons and assignments read)."""
        return self.ok

    def render(self) -> str:
        """The line a student reads: "✅ Correct: message" or "❌ Not yet: message", translated."""
        verdict = _("✅ Correct: {message}") if self.ok else _("❌ Not yet: {message}")
        return verdict.format(message=self.message)


def expect(condition: bool, right: str, wrong: str) -> Feedback:
    """The basic check: ``right`` if ``condition`` holds, else ``wrong``.

    Example:
        >>> expect(3 > 2, "three beats two.", "three should beat two.")
        ✅ Correct: three beats two.
    """
    return Feedback(bool(condition), right if condition else wrong)


def _with_hint(message: str, hint: str | None) -> str:
    return _("{message} Hint: {hint}").format(message=message, hint=hint) if hint else message


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
