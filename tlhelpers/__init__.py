"""tlhelpers: the plumbing behind the transfer-learning course.

Each module does one thing: :mod:`~tlhelpers.config` (track, paths, seeds),
:mod:`~tlhelpers.data` (datasets, label budgets), :mod:`~tlhelpers.backbones` (the
registry), :mod:`~tlhelpers.pipeline` (images to backbone inputs). Importing the package
touches no network and loads no TensorFlow; import the modules you need.

Example:
    >>> import tlhelpers
    >>> tlhelpers.__version__
    '0.1.0'
"""

__version__ = "0.1.0"
