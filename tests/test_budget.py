"""The label-budget experiment of lesson 00 (tlhelpers.budget): budgets cut from one prepared task, one compare each."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from tlhelpers import budget, data, strategies
from tlhelpers.backbones import load_backbone


def budget_results() -> pd.DataFrame:
    """Made-up results of a budget experiment: two strategies, three budgets, two seeds."""
    rows = []
    for k, scratch, probe in [(1, 0.30, 0.50), (5, 0.45, 0.60), (20, 0.70, 0.72)]:
        for seed, jitter in [(0, -0.01), (1, 0.01)]:
            rows.append({"strategy": "scratch", "labels_per_class": k, "seed": seed, "test_accuracy": scratch + jitter})
            rows.append({"strategy": "probe", "labels_per_class": k, "seed": seed, "test_accuracy": probe + jitter})
    return pd.DataFrame(rows)


def test_the_widget_module_still_exports_the_experiment() -> None:
    from tlhelpers.widgets import label_budget

    for name in budget.__all__:
        assert getattr(label_budget, name) is getattr(budget, name), name


def test_summarize_needs_the_right_columns() -> None:
    table = budget.summarize(budget_results())
    assert table.loc[("scratch", 20), "min"] == pytest.approx(0.69) and table.loc[("scratch", 20), "count"] == 2
    with pytest.raises(ValueError, match="test_accuracy"):
        budget.summarize(pd.DataFrame({"strategy": [], "labels_per_class": []}))


def test_plot_budget_curve_draws_the_means_with_chance_and_highlight() -> None:
    fig = budget.plot_budget_curve(budget_results(), highlight=5, chance=0.2)
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines() if not line.get_label().startswith("_")}
    np.testing.assert_allclose(lines[budget.STRATEGY_LABELS["scratch"]].get_ydata(), [0.30, 0.45, 0.70])
    assert "chance (20%)" in lines and [t.get_text() for t in ax.get_xticklabels()] == ["1", "5", "20"]


def _toy_task(k: int) -> data.Task:
    """Like ``load_task(labels_per_class=k)`` with a track that validates on at most 4 per class."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (90, 28, 28, 1)).astype(np.uint8)
    y = np.repeat(np.arange(3), 30)
    return data.make_task("toy", (x, y), (x[:12], y[:12]), ("a", "b", "c"), k, val_per_class=min(k, 4), seed=3)


def test_at_budget_gives_what_load_task_would() -> None:
    big = _toy_task(10)
    prepared = strategies.PreparedTask(big.x_train, big.x_val, big.x_test, f_train=np.arange(30.0)[:, None])
    for k in (1, 4, 10):
        small, small_prepared = budget.at_budget(big, prepared, k)
        direct = _toy_task(k)
        np.testing.assert_array_equal(small.x_train, direct.x_train)
        np.testing.assert_array_equal(small.y_train, direct.y_train)
        np.testing.assert_array_equal(small.x_val, direct.x_val)  # at most k validation labels per class
        np.testing.assert_array_equal(small.y_val, direct.y_val)
        np.testing.assert_array_equal(small_prepared.x_val, direct.x_val)
        assert small_prepared.f_train.shape == (3 * k, 1) and small.labels == 3 * k + 3 * min(k, 4)
    with pytest.raises(ValueError, match="between 1 and the task's 10, got 11"):
        budget.at_budget(big, prepared, 11)


def test_budget_experiment_calls_compare_per_budget(monkeypatch) -> None:
    calls = []

    def fake_compare(task, backbone, strategies, seeds, input_size, prepared, **kwargs):
        calls.append((len(task.y_train), len(prepared.f_train), kwargs))
        return pd.DataFrame([{"strategy": s, "labels_per_class": len(task.y_train) // 3, "test_accuracy": 0.5} for s in strategies])

    monkeypatch.setattr(strategies, "compare", fake_compare)
    big = _toy_task(10)
    prepared = strategies.PreparedTask(big.x_train, big.x_val, big.x_test, f_train=np.zeros((30, 2)))
    results = budget.budget_experiment(big, prepared, "fashion_cnn", budgets=(5, 1, 10), progress=False, max_epochs=3)
    assert [c[:2] for c in calls] == [(3, 3), (15, 15), (30, 30)]
    assert [c[2] for c in calls] == [{"max_epochs": 3, "batch_size": b} for b in (4, 4, 6)]  # auto: ~5 steps/epoch, >= 4
    assert [budget.auto_batch_size(n) for n in (5, 25, 100, 1000)] == [4, 5, 16, 16]
    budget.budget_experiment(big, prepared, "fashion_cnn", budgets=(1,), progress=False, batch_size=32)
    assert calls[-1][2] == {"batch_size": 32}  # an explicit batch size wins
    assert sorted(results["labels_per_class"].unique()) == [1, 5, 10] and len(results) == 6


@pytest.mark.slow
def test_budget_experiment_runs_for_real_on_a_tiny_task() -> None:
    big = _toy_task(4)
    base = load_backbone("fashion_cnn")
    prepared = strategies.prepare(big, "fashion_cnn", base=base)
    results = budget.budget_experiment(big, prepared, "fashion_cnn", budgets=(1, 4), strategies=("probe",),
                                       progress=False, max_epochs=1, patience=1)
    assert list(results["labels_per_class"]) == [1, 4]
    assert results["test_accuracy"].between(0, 1).all()
