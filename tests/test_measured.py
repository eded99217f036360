"""measured: the benchmarks' results as lessons read them."""

from __future__ import annotations

import json

import pytest

from tlhelpers import measured


def test_benchmark_results_reads_every_json_and_skips_a_broken_one(tmp_path) -> None:
    assert measured.benchmark_results(tmp_path / "missing") == {}
    (tmp_path / "few_shot.json").write_text(json.dumps({"rows": [1]}))
    (tmp_path / "broken.json").write_text("{")
    with pytest.warns(UserWarning, match="broken.json"):
        results = measured.benchmark_results(tmp_path)
    assert results == {"few_shot": {"rows": [1]}}


def test_benchmark_names_the_command_when_a_run_is_missing_or_quick(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="run: TL_TRACK=imagenet python benchmarks/few_shot.py"):
        measured.benchmark("few_shot", "imagenet", tmp_path)
    (tmp_path / "few_shot.json").write_text(json.dumps({"benchmark": "few_shot", "quick": True}))
    with pytest.raises(FileNotFoundError, match="holds a quick run"):
        measured.benchmark("few_shot", "offline", tmp_path)


def _entry(probe: float, fine: float, fine_tuned: int) -> dict:
    return {"strategies": {"probe": {"median": probe}, "fine_tune": {"median": fine}},
            "fine_tune_gain": round(100 * (fine - probe), 2), "fine_tuned_runs": fine_tuned}


def test_crossover_table_holds_each_target_and_budget(tmp_path) -> None:
    summary = {"near": {"budgets": {"5": _entry(0.7, 0.7, 0), "100": _entry(0.8, 0.83, 3)}, "crossover": 100},
               "far": {"budgets": {"5": _entry(0.6, 0.65, 2)}, "crossover": 5}}
    data = {"benchmark": "few_shot", "quick": False, "summary": summary,
            "settings": {"seeds": [0, 1, 2], "far_target": "rotated"}}
    (tmp_path / "few_shot.json").write_text(json.dumps(data))
    table = measured.crossover_table("offline", tmp_path)
    assert table.loc[("near", 100), "fine_tune_gain"] == 3.0 and table.loc[("far", 5), "fine_tuned_runs"] == 2
    assert table.attrs == {"crossover": {"near": 100, "far": 5}, "seeds": 3, "far_target": "rotated"}


@pytest.mark.parametrize("track", ["offline", "imagenet"])
def test_the_committed_few_shot_results_have_a_crossover_table(track: str) -> None:
    table = measured.crossover_table(track)
    assert (table["fine_tune"] <= 1).all() and table.attrs["seeds"] == 3
