"""The lesson-05 tuner dashboard, driven headlessly: budget, Start, progress, resume, refusal."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from tlhelpers import tuning  # noqa: E402
from tlhelpers.widgets.tuner import TunerDashboard, setup_id  # noqa: E402


def _hypermodel(space: tuning.SearchSpace | None = None) -> tuning.TwoPhaseHyperModel:
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 4)
    x = rng.uniform(0, 255, (12, 32, 32, 1)).astype("float32")
    return tuning.TwoPhaseHyperModel("fashion_cnn", x, y, x[:9], y[:9], weights=None, space=space,
                                     batch_size=8, seed=0, run_eagerly=True)


@pytest.fixture(scope="module")
def hypermodel() -> tuning.TwoPhaseHyperModel:
    return _hypermodel()


def test_controls_and_budget(hypermodel, tmp_path) -> None:
    dash = TunerDashboard(hypermodel, project_prefix="t", directory=tmp_path, max_trials=4, epochs=2)
    assert [dash.tuner_kind.description, dash.start_button.description] == ["tuner", "Start search"]
    assert dash.budget.value == "Budget: random: 4 trials, 8 fine-tuning epochs in all (plus the probe, fitted once)"
    assert dash.project.value == f"t-random-2ep-{setup_id(hypermodel)}"
    dash.tuner_kind.value = "hyperband"
    assert dash.trials.disabled and dash.epochs.description.startswith("max epochs")
    assert dash.budget.value.startswith("Budget: hyperband: 2 trials, 4 fine-tuning epochs")  # max_epochs=2, factor=3
    assert dash.project.value == f"t-hyperband-2ep-{setup_id(hypermodel)}"  # the name follows the settings
    dash.project.value = "my-search"
    dash.epochs.value = 3
    assert dash.project.value == "my-search"  # ...until the user types one
    assert dash.progress.value == 0 and not list(tmp_path.iterdir())  # nothing trains before Start


@pytest.mark.slow
def test_start_runs_shows_progress_and_results_then_resumes(hypermodel, tmp_path) -> None:
    dash = TunerDashboard(hypermodel, project_prefix="t", directory=tmp_path, max_trials=2, epochs=1)
    seen = []
    dash.progress.observe(lambda change: seen.append(change["new"]), names="value")
    summary = dash.start_button.click() or dash.summary  # the button's handler, as a click would
    assert summary is not None and len(summary.ran) == 2 and summary.reused == []
    assert 1 in seen and dash.progress.value == dash.progress.max == 2
    assert "ran 2 new" in dash.status.value and "Best validation accuracy" in dash.status.value
    assert len(dash.results) == 2 and set(dash.results["status"]) == {"COMPLETED"}
    lr_axes = dash.figure.axes[0]
    assert sorted(np.concatenate([c.get_offsets() for c in lr_axes.collections[:-1]])[:, 0]) == pytest.approx(
        sorted(dash.results["fine_lr"]))
    assert not dash.start_button.disabled

    reopened = tuning.open_search(hypermodel, **dash.settings())  # what the notebook does to show resuming
    assert reopened.resumed and reopened.run(progress=False).ran == []

    dash.trials.value = 3  # a bigger budget is one change away: only the missing trial runs
    summary = dash.start()
    assert len(summary.reused) == 2 and len(summary.ran) == 1 and len(dash.results) == 3
    assert "2 finished trial(s) reused" not in dash.status.value  # the final status replaces the opening one
    assert "reused 2 finished trial(s), ran 1 new" in dash.status.value


@pytest.mark.slow
def test_changed_space_shows_the_message_and_keeps_the_trials(hypermodel, tmp_path) -> None:
    TunerDashboard(hypermodel, project_prefix="t", directory=tmp_path, max_trials=1, epochs=1).start()
    changed = _hypermodel(space=tuning.SearchSpace(fine_lr=(1e-4, 1e-3)))
    dash = TunerDashboard(changed, project_prefix="t", directory=tmp_path, max_trials=1, epochs=1)
    assert dash.project.value.endswith(setup_id(hypermodel))  # same setup, same project name
    assert dash.start() is None
    assert "holds a different search" in dash.status.value and "space.fine_lr" in dash.status.value
    assert "overwrite=True" in dash.status.value and dash.search is None
    assert list((tmp_path / dash.project.value).glob("trial_*/trial.json"))  # kept

    dash.overwrite.value = True  # asked for: start over
    summary = dash.start()
    assert summary is not None and summary.reused == [] and len(summary.ran) == 1
    assert dash.overwrite.value is False  # asked once, not for every later press


def test_bad_project_name_is_reported_not_raised(hypermodel, tmp_path) -> None:
    dash = TunerDashboard(hypermodel, directory=tmp_path)
    dash.project.value = "../outside"
    assert dash.start() is None and "plain folder name" in dash.status.value
