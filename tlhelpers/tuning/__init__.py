"""Keras Tuner over both phases of fine-tuning: learning rate and unfreeze depth in one trial.

A trial of :class:`TwoPhaseHyperModel` runs both phases of the course's recipe, the head on
cached features, then the top blocks fine-tuned (:mod:`tlhelpers.tuning.hypermodel` says how).

The search space (:class:`SearchSpace`) holds the peak fine-tuning learning rate (log
scale), the depth ``K`` in blocks of the backbone registry, and optionally the dropout
before the head and augmentation. :func:`open_search` creates a RandomSearch, BayesianOptimization or Hyperband
tuner in ``build/tuner/<project>`` and guards the project: the same project with the same
setup resumes (finished trials are not run again); a project that holds a *different*
search is refused with a message, and nothing is deleted unless ``overwrite=True``.

One module a section, everything public also here, as ``tuning.<name>``:
:mod:`~tlhelpers.tuning.space` (the search space), :mod:`~tlhelpers.tuning.hypermodel`
(a trial), :mod:`~tlhelpers.tuning.search` (the tuners and their budgets, the guarded
resumable project, the best configuration tested once) and :mod:`~tlhelpers.tuning.plots`.

Example:
    >>> from tlhelpers import data, tuning
    >>> task = data.load_task()                                          # doctest: +SKIP
    >>> hypermodel = tuning.TwoPhaseHyperModel.from_task(task)           # doctest: +SKIP
    >>> search = tuning.open_search(hypermodel, "random", max_trials=6, epochs=3)  # doctest: +SKIP
    >>> search.run()                                                     # doctest: +SKIP
    >>> search.results()                                                 # doctest: +SKIP
"""

from tlhelpers.tuning.hypermodel import (
    OBJECTIVE,
    VAL_BATCH,
    TrialProgress,
    TrialRecord,
    TwoPhaseHyperModel,
)
from tlhelpers.tuning.plots import plot_results
from tlhelpers.tuning.search import (
    FINGERPRINT_FILE,
    HYPERBAND_KEYS,
    SEARCHED_BOOLEAN,
    TUNERS,
    BestResult,
    Budget,
    RunSummary,
    Search,
    SearchChangedError,
    TunerKind,
    default_directory,
    fingerprint_differences,
    hyperband_schedule,
    open_search,
)
from tlhelpers.tuning.space import HYPERPARAMETERS, Range, SearchSpace

__all__ = [  # every submodule's __all__
    "FINGERPRINT_FILE", "HYPERBAND_KEYS", "HYPERPARAMETERS", "OBJECTIVE", "SEARCHED_BOOLEAN", "TUNERS",
    "VAL_BATCH", "BestResult", "Budget", "Range", "RunSummary", "Search", "SearchChangedError", "SearchSpace",
    "TrialProgress", "TrialRecord", "TunerKind", "TwoPhaseHyperModel", "default_directory",
    "fingerprint_differences", "hyperband_schedule", "open_search", "plot_results",
]
