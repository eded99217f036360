"""The benchmark scripts run in --quick mode and write sane JSON; report.py turns it into pages.

Every script runs once (a module-scoped fixture, two at a time) as a subprocess into a
temporary results folder; the tests check the JSON's structure and sanity (keys,
accuracies in [0, 1], ratios > 0, targets consistent with their numbers), never timings.
report.py is then run on those files, writing into a copy of a README with markers in
tmp_path, so the real README and benchmarks/ are never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytestmark = pytest.mark.system  # the benchmark scripts, run as subprocesses

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "benchmarks"
SCRIPTS = ("few_shot", "finetune_settings", "cached_features", "step_cost", "course", "tuner", "sandbox_grading")
KEYS = {"schema", "benchmark", "track", "title", "measures", "quick", "started", "seconds", "machine", "versions", "settings",
        "runs", "summary", "table", "headline", "targets", "met"}
TARGET_KEYS = {"description", "comparison", "threshold", "value", "unit", "note", "judged", "met"}


def run_script(name: str, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    """Run a script; on timeout kill it with its children (e.g. a notebook kernel) and report it as failed.

    The timeout only stops a hung run: alone, each quick run takes 20 to 200 s on 2 cores,
    and beside other TensorFlow processes one took 324 s.
    """
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "MPLBACKEND": "Agg"}
    command = [sys.executable, str(BENCH / f"{name}.py"), *args]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        err += f"\n{name}.py did not finish within {timeout} s and was killed"
    return subprocess.CompletedProcess(command, proc.returncode, out, err)


@pytest.fixture(scope="module")
def quick(tmp_path_factory) -> tuple[Path, dict[str, subprocess.CompletedProcess]]:
    """Every script's quick run: two at a time (much of each is single-threaded start-up), then
    the course's without another script beside it (a notebook kernel sharing 2 cores with
    another TensorFlow process once ran 15 times slower than alone)."""
    out = tmp_path_factory.mktemp("bench_results")
    together = [name for name in SCRIPTS if name != "course"]
    with ThreadPoolExecutor(max_workers=2) as pool:
        procs = dict(zip(together, pool.map(lambda name: run_script(name, "--quick", "--out", str(out)), together)))
    procs["course"] = run_script("course", "--quick", "--out", str(out))
    return out, procs


def result(quick, name: str) -> dict:
    out, procs = quick
    proc = procs[name]
    assert proc.returncode == 0, f"{name}.py --quick failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return json.loads((out / f"{name}.json").read_text())


def in_unit(x: float) -> bool:
    return 0.0 <= x <= 1.0


@pytest.mark.parametrize("name", SCRIPTS)
def test_quick_run_writes_complete_json(quick, name: str) -> None:
    r = result(quick, name)
    assert KEYS <= set(r), f"missing keys: {KEYS - set(r)}"
    assert r["benchmark"] == name and r["quick"] is True and r["headline"]
    assert r["machine"]["cpu_count"] >= 1 and len(r["machine"]["load_average_at_start"]) == 3
    assert r["versions"]["tensorflow"] and r["versions"]["keras"]
    assert r["runs"], "no raw per-run numbers"
    columns, rows = r["table"]["columns"], r["table"]["rows"]
    assert rows and all(len(row) == len(columns) for row in rows)
    assert r["table"]["columns"][0] in quick[1][name].stdout, "the table was not printed"
    for t in r["targets"]:
        assert TARGET_KEYS <= set(t)
        if t["value"] is None or not t["judged"]:
            assert t["met"] is None
        else:
            ok = t["value"] >= t["threshold"] if t["comparison"] == ">=" else (
                t["value"] <= t["threshold"] if t["comparison"] == "<=" else t["value"] < t["threshold"])
            assert t["met"] is ok, t
    verdicts = [t["met"] for t in r["targets"]]
    assert r["met"] == (None if not verdicts or None in verdicts else all(verdicts))
    assert not list(quick[0].glob("*.tmp")), "a temporary file was left behind"


def test_few_shot_accuracies_and_gain(quick) -> None:
    r = result(quick, "few_shot")
    budgets, seeds = r["settings"]["labels_per_class"], r["settings"]["seeds"]
    far = r["settings"]["far_target"]
    assert far == "rotated"  # the offline track's far target
    near_runs = [run for run in r["runs"] if run["target"] == "near"]
    far_runs = [run for run in r["runs"] if run["target"] == "far"]
    assert len(near_runs) == len(budgets) * len(seeds) * 4 and len(far_runs) == len(budgets) * len(seeds) * 2
    for run in r["runs"]:
        assert run["strategy"] in ("scratch", "probe", "fine_tune", "pixels")
        assert in_unit(run["test_accuracy"]) and in_unit(run["val_accuracy"])
        assert run["epochs"] >= (0 if run["strategy"] in ("probe", "pixels") else 1)  # probes are fitted without epochs
        assert run["labels"] == 2 * 5 * run["labels_per_class"]  # k to train on plus k to validate with, 5 classes
        assert (run["kept_epoch"] is None) == (run["strategy"] != "fine_tune")
        if run["strategy"] == "fine_tune":
            probe = next(p for p in r["runs"] if p["strategy"] == "probe" and p["target"] == run["target"]
                         and p["labels_per_class"] == run["labels_per_class"] and p["seed"] == run["seed"])
            assert run["val_accuracy"] >= probe["val_accuracy"] - 1e-6  # it starts from the probe and keeps it unless beaten
    near = r["summary"]["near"]["budgets"]
    for k in budgets:
        entry = near[str(k)]
        for stats in entry["strategies"].values():
            assert stats["min"] <= stats["median"] <= stats["max"] and in_unit(stats["min"]) and in_unit(stats["max"])
        # the recommendation is made on validation accuracy, per seed
        for seed, choice in zip(seeds, entry["recommended_choices"]):
            val = {run["strategy"]: run["val_accuracy"] for run in near_runs
                   if run["labels_per_class"] == k and run["seed"] == seed}
            assert val[choice] == max(val["probe"], val["fine_tune"])
        medians = {s: v["median"] for s, v in entry["strategies"].items()}
        assert entry["gain_over_scratch"] == pytest.approx(100 * (medians["recommended"] - medians["scratch"]), abs=0.01)
        assert entry["gain_over_pixels"] == pytest.approx(100 * (medians["recommended"] - medians["pixels"]), abs=0.01)
        assert entry["fine_tune_gain"] == pytest.approx(100 * (medians["fine_tune"] - medians["probe"]), abs=0.01)
    for target, curve in r["summary"].items():
        gains = {int(k): e["fine_tune_gain"] for k, e in curve["budgets"].items()}
        wins = [k for k in gains if all(gains[j] >= r["settings"]["win_points"] for j in gains if j >= k)]
        assert curve["crossover"] == (min(wins) if wins else None), target
    values = [t["value"] for t in r["targets"]]
    assert values[:4] == [near[str(k)][f"gain_over_{a}"] for k in (5, 20) for a in ("scratch", "pixels")]
    assert values[4] == near["20"]["strategies"]["recommended"]["median"]
    far_gains = [e["fine_tune_gain"] for e in r["summary"]["far"]["budgets"].values()]
    assert values[-1] == max(far_gains) and "far target (rotated)" in r["targets"][-1]["description"]


def test_finetune_settings_picks_the_best_on_validation(quick) -> None:
    r = result(quick, "finetune_settings")
    grid = r["settings"]["grid"]
    assert len(r["runs"]) == len(r["settings"]["seeds"]) * (2 + len(grid["blocks"]) * len(grid["learning_rate"]))
    tuned = {k: v for k, v in r["summary"].items() if k not in ("chosen", "probe", "augmented")}
    best = max(tuned.values(), key=lambda v: v["val_mean"])
    augmented = r["summary"]["augmented"]
    assert (augmented["blocks"], augmented["learning_rate"]) == (best["blocks"], best["learning_rate"])
    assert r["summary"]["chosen"] == {"blocks": best["blocks"], "learning_rate": best["learning_rate"],
                                      "augment": augmented["val_mean"] > best["val_mean"]}
    for run in r["runs"]:
        assert in_unit(run["val"]) and in_unit(run["test"])
        if run["blocks"]:
            probe = next(p for p in r["runs"] if p["blocks"] == 0 and p["seed"] == run["seed"])
            assert run["val"] >= probe["val"] - 1e-6  # fine-tuning keeps the probe unless an epoch beats it


def test_cached_features_ratio_and_accuracies(quick) -> None:
    r = result(quick, "cached_features")
    for entry in r["summary"].values():
        assert entry["speedup_per_epoch"] > 0 and entry["extract_seconds"] > 0
        assert in_unit(entry["cached"]["test_accuracy"]) and in_unit(entry["frozen_base"]["test_accuracy"])
    for run in r["runs"]:
        assert len(run["epoch_seconds"]) == r["settings"]["epochs"] and min(run["epoch_seconds"]) > 0
    main = r["summary"][r["settings"]["judged_run"]]
    assert r["targets"][0]["value"] == pytest.approx(main["speedup_per_epoch"])
    assert r["targets"][1]["value"] == pytest.approx(main["accuracy_difference_points"])


def test_step_cost_ratios(quick) -> None:
    r = result(quick, "step_cost")
    assert set(r["summary"]) == {"fashion_cnn", "mobilenet_v2"}
    for entry in r["summary"].values():
        assert entry["ratio"] > 0 and entry["head"]["median_step_seconds"] > 0
        assert entry["full"]["trainable_params"] > entry["head"]["trainable_params"] > 0
    assert r["targets"] == [] and r["met"] is None


def test_course_quick_subset(quick) -> None:
    r = result(quick, "course")
    assert [run["notebook"] for run in r["runs"]] == r["settings"]["notebooks"]
    assert all(run["status"] == "ok" and run["seconds"] > 0 for run in r["runs"]), r["runs"]
    total = next(t for t in r["targets"] if "seconds" in t["description"])
    assert total["value"] > 0 and total["met"] is None, "a subset must not judge the whole-course target"
    summary = r["summary"]
    assert summary["calibration_seconds"] > 0
    assert summary["speed_scale"] == pytest.approx(summary["calibration_seconds"] / summary["reference_calibration_seconds"],
                                                   abs=1e-3)
    assert total["threshold"] == pytest.approx(600 * summary["speed_scale"], abs=0.1)  # the target, scaled


def test_tuner_curves(quick) -> None:
    r = result(quick, "tuner")
    assert {run["tuner"] for run in r["runs"]} == {"random", "hyperband"}
    for run in r["runs"]:
        assert in_unit(run["best_val_accuracy"]) and run["trials"] >= 1
        spent, best = zip(*run["curve"])
        assert list(spent) == sorted(spent) and list(best) == sorted(best), "a curve must never go down"
        assert spent[-1] == run["fine_epochs"] == r["summary"][run["tuner"]]["planned_fine_epochs"]
        assert best[-1] == run["best_val_accuracy"]
        assert all(in_unit(v) for v in run["test"].values()) and set(run["test"]) == {"probe", "default_recipe", "best"}
        assert run["val"]["best"] >= run["val"]["probe"] and run["val"]["default_recipe"] >= run["val"]["probe"]


README = "# Course\n\nintro text\n\n<!-- bench:start -->\n(not measured yet)\n<!-- bench:end -->\n\n## After\n\nkept\n"


def run_report(results: Path, tmp_path: Path) -> tuple[subprocess.CompletedProcess, Path, Path]:
    readme, page = tmp_path / "README.md", tmp_path / "benchmarks" / "README.md"
    if not readme.exists():
        readme.write_text(README)
    proc = run_script("report", "--results", str(results), "--readme", str(readme), "--bench-readme", str(page), timeout=120)
    return proc, readme, page


def test_sandbox_grading_gives_the_same_scores_both_ways(quick) -> None:
    r = result(quick, "sandbox_grading")
    assert r["summary"]["same_scores"] is True
    assert {row["mode"] for row in r["runs"]} == {"sandbox", "no sandbox"}
    assert all(row["verdict"] == "ok" for row in r["runs"]), r["runs"]
    assert r["settings"]["calibration_seconds"] > 0 and r["summary"]["seconds"]["sandbox"] > 0


def test_report_from_quick_runs(quick, tmp_path: Path) -> None:
    results = {name: result(quick, name) for name in SCRIPTS}
    copy = tmp_path / "results"
    shutil.copytree(quick[0], copy)
    proc, readme, page = run_report(copy, tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = readme.read_text()
    before, rest = text.split("<!-- bench:start -->")
    block, after = rest.split("<!-- bench:end -->")
    assert before == "# Course\n\nintro text\n\n" and after == "\n\n## After\n\nkept\n", "text outside the markers changed"
    assert "(not measured yet)" not in block and "| benchmark | track | result | target | met? |" not in block
    assert "(results/few_shot.png)" in block and "(benchmarks/README.md)" in block
    assert (copy / "few_shot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    few_shot = results["few_shot"]
    for target in ("its target", "a target further from the source (every image turned 90 degrees"):
        assert f"**offline track, {target}" in block
    assert block.count("| fine-tuning minus probe (points) |") == 2
    for k, entry in few_shot["summary"]["near"]["budgets"].items():
        assert f"| {k} ({entry['labels_per_run']:,}) |" in block and f"{entry['fine_tune_gain']:+.1f}" in block
    details = page.read_text()
    assert "| benchmark | track | result | target | met? |" in details
    for name, r in results.items():
        assert r["title"] in details and r["headline"] in details
    assert "quick run" in block and "not run yet" not in block
    any_unmet = any(t["met"] is False for r in results.values() for t in r["targets"])
    assert ("**NOT MET**" in details) == any_unmet and ("Not met" in block) == any_unmet
    proc, readme2, _ = run_report(copy, tmp_path)  # a second run replaces its own block
    assert proc.returncode == 0 and readme2.read_text() == text


def test_report_says_not_run_yet_and_refuses_a_readme_without_markers(quick, tmp_path: Path) -> None:
    only = tmp_path / "only_course"
    only.mkdir()
    (only / "course.json").write_text(json.dumps(result(quick, "course")))
    proc, readme, page = run_report(only, tmp_path)
    assert proc.returncode == 0, proc.stderr
    block = readme.read_text().split("<!-- bench:start -->")[1]
    assert "Not run yet" in block and "python benchmarks/few_shot.py" in page.read_text()
    assert not (only / "few_shot.png").exists() and "few_shot.png" not in block

    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "README.md").write_text("# no markers here\n")
    proc, readme, page = run_report(only, bare)
    assert proc.returncode != 0 and "bench:start" in proc.stderr
    assert readme.read_text() == "# no markers here\n" and not page.exists()


def test_a_quick_run_refuses_to_replace_a_full_run(tmp_path: Path) -> None:
    full = {"benchmark": "course", "quick": False, "started": "2026-01-01T00:00:00+00:00"}
    (tmp_path / "course.json").write_text(json.dumps(full))
    proc = run_script("course", "--quick", "--out", str(tmp_path), timeout=120)
    assert proc.returncode != 0 and "holds a full run" in proc.stderr and "--out" in proc.stderr
    assert json.loads((tmp_path / "course.json").read_text()) == full
