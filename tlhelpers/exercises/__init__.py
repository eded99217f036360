"""Exercise checks, one module per lesson (``lesson00`` ... ``lesson07``).

Each lesson's end-of-notebook exercises call a function here that returns a
:class:`tlhelpers.checks.Feedback`; graded assignments use the same functions.
"""
