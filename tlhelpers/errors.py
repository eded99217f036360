"""The package's own exceptions, under one base: ``except TLHelpersError`` catches any of them.

Each also derives from the built-in exception it refines (as Keras Tuner's
``FatalValueError(FatalError, ValueError)`` does), so code that catches ``ValueError``,
``FileNotFoundError`` or ``RuntimeError`` keeps catching them. The modules that raise them
import them from here (``tlhelpers.data.DataNotFoundError`` still works).

Example:
    >>> from tlhelpers.errors import SearchChangedError, TLHelpersError
    >>> issubclass(SearchChangedError, TLHelpersError) and issubclass(SearchChangedError, ValueError)
    True
"""

from __future__ import annotations

__all__ = ["ChecksumError", "DataNotFoundError", "HiddenLabelsError", "MarkupError", "SandboxUnavailable",
           "SearchChangedError", "TLHelpersError", "UploadError"]


class TLHelpersError(Exception):
    """An error tlhelpers raises on purpose, with a message that says what to do."""


class DataNotFoundError(TLHelpersError, FileNotFoundError):
    """A dataset is not on this machine and could not be downloaded (:mod:`tlhelpers.data`)."""


class ChecksumError(TLHelpersError, RuntimeError):
    """The bundled weights file does not match its manifest (:mod:`tlhelpers.backbones`)."""


class MarkupError(TLHelpersError, ValueError):
    """The nbgrader markup of a source notebook is broken; names the notebook and cell (:mod:`tlhelpers.grading`)."""


class SearchChangedError(TLHelpersError, ValueError):
    """A tuner project folder holds a search with another setup; nothing was changed or deleted (:mod:`tlhelpers.tuning`)."""


class UploadError(TLHelpersError, ValueError):
    """An upload that cannot be used; the message is meant for the student (:mod:`tlhelpers.widgets.upload`)."""


class HiddenLabelsError(TLHelpersError, RuntimeError):
    """Test labels were used while solving an assignment (:mod:`tlhelpers.exercises.assignment_checks`)."""


class SandboxUnavailable(TLHelpersError, RuntimeError):
    """No sandbox can run on this machine; the message says why and what to do (:mod:`tlhelpers.sandbox`)."""
