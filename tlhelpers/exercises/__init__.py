"""Exercise checks: one module per lesson (``lesson00`` ... ``lesson07``), one per assignment.

Each lesson's end-of-notebook exercises call a function here that returns a
:class:`tlhelpers.checks.Feedback`. The graded assignments' checks live in ``a1_freezing`` ...
``a4_own_images`` (what they share in ``assignment_common``); their notebooks import them all
through ``assignment_checks``.
"""
