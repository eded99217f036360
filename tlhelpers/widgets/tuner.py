"""A dashboard for lesson 06: set the search budget, press Start, watch the trials come in.

The state and the callbacks live in :class:`TunerDashboard`; tests drive it headlessly
(set ``dashboard.trials.value``, call ``dashboard.start()``, read ``dashboard.status.value``
and ``dashboard.results``). Nothing trains until Start is pressed.

Example:
    >>> from tlhelpers.widgets.tuner import TunerDashboard
    >>> dashboard = TunerDashboard(hypermodel)   # doctest: +SKIP
    >>> dashboard                                 # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from pathlib import Path
from typing import Any

import ipywidgets as widgets
from IPython.display import display

from tlhelpers import tuning
from tlhelpers.i18n import _

__all__ = ["TunerDashboard"]

STYLE = {"description_width": "initial"}


def setup_id(hypermodel: tuning.TwoPhaseHyperModel) -> str:
    """Six hex digits naming the hypermodel's setup (backbone, weights, data, head phase, seed).

    Part of the dashboard's project names, so that new weights or data open a new project
    instead of being refused by (or mixed into) an old one.

    Example:
        >>> setup_id(hypermodel)  # doctest: +SKIP
        '3fa1c2'
    """
    return hashlib.sha256(json.dumps(hypermodel.setup(), sort_keys=True).encode()).hexdigest()[:6]


class TunerDashboard:
    """Budget (tuner, trials, epochs), a Start button, progress, then the results table and plot.

    Args:
        hypermodel: a :class:`tlhelpers.tuning.TwoPhaseHyperModel`.
        project_prefix: start of the project names; the dashboard appends tuner, epochs
            and :func:`setup_id` (e.g. ``lesson06-random-5ep-3fa1c2``). Edit the ``project``
            box to choose any other name.
        directory: where projects go (default ``build/tuner``).
        tuner, max_trials, epochs: the initial budget.
        factor: Hyperband's reduction factor.

    Attributes:
        tuner_kind, trials, epochs, project, overwrite: the controls.
        start_button: runs :meth:`start`.
        progress: one step per new trial; ``status``: what happened, in words.
        search: the last :class:`tlhelpers.tuning.Search`; ``summary``: its
            :class:`~tlhelpers.tuning.RunSummary`; ``results``: its results table;
            ``figure``: its plot.
    """

    def __init__(
        self,
        hypermodel: tuning.TwoPhaseHyperModel,
        project_prefix: str = "lesson06",
        directory: str | Path | None = None,
        tuner: str = "random",
        max_trials: int = 6,
        epochs: int = 5,
        factor: int = 3,
    ) -> None:
        self.hypermodel, self.prefix, self.directory, self.factor = hypermodel, project_prefix, directory, factor
        self._setup = setup_id(hypermodel)
        self.tuner_kind = widgets.Dropdown(
            options=[(_("{name}: {description}").format(name=name, description=re.split("[;；]", str(kind.description))[0]), name)
                     for name, kind in tuning.TUNERS.items()],
            value=tuner, description=_("tuner"), style=STYLE, layout=widgets.Layout(width="520px"),
        )
        self.trials = widgets.BoundedIntText(value=max_trials, min=1, max=500, description=_("trials (random, bayesian)"), style=STYLE)
        self.epochs = widgets.BoundedIntText(value=epochs, min=1, max=200, description=_("fine-tuning epochs per trial"), style=STYLE)
        self.budget = widgets.Label()
        self.project = widgets.Text(value=self._auto_name(), description=_("project"), style=STYLE, layout=widgets.Layout(width="520px"))
        self.overwrite = widgets.Checkbox(value=False, description=_("start over: delete this project's finished trials"), style=STYLE, indent=False)
        self.start_button = widgets.Button(description=_("Start search"), button_style="primary", icon="play",
                                           tooltip=_("run the trials still missing from the budget"))
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description=_("new trials"), style=STYLE)
        self.status = widgets.HTML(value=_("Set the budget, then press <b>Start search</b>."))
        self.output = widgets.Output()
        self.search: tuning.Search | None = None
        self.summary: tuning.RunSummary | None = None
        self.results = None
        self.figure = None
        self._last_auto = self.project.value
        for control in (self.tuner_kind, self.trials, self.epochs):
            control.observe(self._settings_changed, names="value")
        self.start_button.on_click(self.start)
        self._settings_changed()
        self.widget = widgets.VBox([
            self.tuner_kind, widgets.HBox([self.trials, self.epochs]), self.budget, self.project, self.overwrite,
            widgets.HBox([self.start_button, self.progress]), self.status, self.output,
        ])

    def _ipython_display_(self) -> None:
        display(self.widget)

    def _auto_name(self) -> str:
        return f"{self.prefix}-{self.tuner_kind.value}-{self.epochs.value}ep-{self._setup}"

    def _settings_changed(self, change: Any = None) -> None:
        hyperband = self.tuner_kind.value == "hyperband"
        self.trials.disabled = hyperband  # Hyperband's schedule sets the number of trials
        self.epochs.description = _("max epochs (longest trial)") if hyperband else _("fine-tuning epochs per trial")
        self.budget.value = _("Budget: {budget}").format(budget=self.current_budget())
        if self.project.value == self._last_auto:  # follow the settings until the user types a name
            self.project.value = self._last_auto = self._auto_name()

    def settings(self) -> dict[str, Any]:
        """The controls as keyword arguments of :func:`tlhelpers.tuning.open_search`.

        Example:
            >>> search = tuning.open_search(hypermodel, **dashboard.settings())  # doctest: +SKIP
        """
        return dict(tuner=self.tuner_kind.value, max_trials=self.trials.value, epochs=self.epochs.value,
                    project_name=self.project.value.strip(), directory=self.directory, factor=self.factor)

    def current_budget(self) -> tuning.Budget:
        """The budget the controls describe."""
        return tuning.Budget.of(self.tuner_kind.value, self.trials.value, self.epochs.value, self.factor)

    def _say(self, text: str, error: bool = False) -> None:
        color = "#b42318" if error else "inherit"
        self.status.value = f'<div style="color:{color};white-space:pre-wrap">{html.escape(text)}</div>'

    def start(self, _button: Any = None) -> tuning.RunSummary | None:
        """Open (or resume) the project the controls name and run the missing trials.

        Returns the run summary, or ``None`` when the project holds a different search
        (the status then says what changed, and nothing is deleted).
        """
        self.start_button.disabled = True
        try:
            try:
                search = tuning.open_search(self.hypermodel, overwrite=self.overwrite.value, **self.settings())
            except (tuning.SearchChangedError, ValueError) as err:
                self._say(str(err), error=True)
                return None
            self.overwrite.value = False  # deleting was asked for once, not for every later press
            self.search = search
            finished = len(search.finished_trials())
            todo = search.remaining_trials()
            self.progress.max, self.progress.value = max(todo, 1), 0
            opened = (_("resumed project {name}: {finished} finished trial(s) reused, {todo} to run") if search.resumed
                      else _("new project {name}: {finished} finished trial(s) reused, {todo} to run"))
            self._say(opened.format(name=search.project_dir.name, finished=finished, todo=todo))

            def on_trial(record: tuning.TrialRecord, done: int, total: int) -> None:
                self.progress.value = done
                self._say(_("trial {done}/{total}: K={blocks}, fine_lr={rate} -> best validation accuracy {accuracy}").format(
                    done=done, total=total, blocks=record.values["blocks"], rate=f"{record.values['fine_lr']:.1e}",
                    accuracy=f"{record.val_accuracy:.3f}"))

            self.summary = search.run(progress=on_trial)
            self.progress.value = self.progress.max
            self.results = search.results()
            self.figure = search.plot()
            self._say(_("{summary}. Best validation accuracy: {accuracy}").format(
                summary=self.summary, accuracy=f"{self.results['val_accuracy'].max():.3f}"))
            self.output.clear_output()
            with self.output:
                display(self.results)
                display(self.figure)
            return self.summary
        finally:
            self.start_button.disabled = False
