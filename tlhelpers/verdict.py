"""One verdict type for every check: ``ok``, ``message``, and one way to show them.

In this package a ``check_*`` function returns a verdict and a ``validate_*`` function
raises. Three kinds of verdict share this base:

* :class:`tlhelpers.checks.Feedback`: an exercise's or assignment's answer, right or not;
* :class:`tlhelpers.evaluation.SanityCheck`: a classic evaluation mistake, found or not;
* :class:`tlhelpers.preprocessing.BatchReport`: a batch against its backbone's input contract.

Each has ``ok`` (passed?) and ``message`` (what was found, and what to do), is truthy
exactly when it passed, shows the same text for ``repr``, ``str`` and ``print`` (its
:meth:`Verdict.render`), and can :meth:`Verdict.require` to turn a failure into an
``AssertionError`` for graded test cells. A kind that sets ``colored`` also shows in a
notebook as a green or red line (HTML); the others show their plain text.

Subclasses are frozen dataclasses declared with ``repr=False`` (so the dataclass keeps the
display here); they may compute ``ok`` or ``message`` as a property instead of a field.

Example:
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True, repr=False)
    ... class Answer(Verdict):
    ...     ok: bool
    ...     message: str
    ...     def render(self) -> str:
    ...         return ("right: " if self.ok else "wrong: ") + self.message
    >>> Answer(False, "add the two numbers")
    wrong: add the two numbers
    >>> bool(Answer(True, "4")), str(Answer(True, "4"))
    (True, 'right: 4')
    >>> Answer(False, "add the two numbers").require()
    Traceback (most recent call last):
    AssertionError: add the two numbers
"""

from __future__ import annotations

import html
from typing import ClassVar, TypeVar

__all__ = ["FAILED_COLOR", "PASSED_COLOR", "Verdict"]

PASSED_COLOR = "#1a7f37"
FAILED_COLOR = "#b42318"

V = TypeVar("V", bound="Verdict")


class Verdict:
    """The verdict of one check: whether it passed and why, shown one way.

    Attributes:
        ok: True when the check passed (nothing wrong found).
        message: what was right or found, or what was wrong and how to fix it.
        colored: class setting; show in notebooks as a coloured HTML line (else as plain text).

    Example:
        >>> Verdict.colored
        False
    """

    ok: bool
    message: str
    colored: ClassVar[bool] = False

    def render(self) -> str:
        """The verdict as a student reads it: what ``repr``, ``str`` and ``print`` show."""
        raise NotImplementedError  # each kind of verdict words itself

    def __bool__(self) -> bool:
        return bool(self.ok)

    def __repr__(self) -> str:
        return self.render()

    def __str__(self) -> str:
        return self.render()

    def _repr_html_(self) -> str | None:
        """A green or red line in notebooks when ``colored``; None lets IPython show the plain text."""
        if not self.colored:
            return None
        color = PASSED_COLOR if self.ok else FAILED_COLOR
        return f'<div style="color:{color};font-weight:600">{html.escape(self.render())}</div>'

    def require(self: V) -> V:
        """Raise ``AssertionError(message)`` if the check failed (for graded test cells); else return self."""
        if not self.ok:
            raise AssertionError(self.message)
        return self
