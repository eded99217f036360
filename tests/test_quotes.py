"""Prose that quotes a benchmark says what the benchmark's JSON says (benchmarks/quotes.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import quotes  # noqa: E402


@pytest.fixture(scope="module")
def results() -> quotes.Results:
    return quotes.load()


def test_every_quote_matches_the_json(results) -> None:
    problems = quotes.stale(results)
    assert not problems, "stale quotes (run python benchmarks/quotes.py):\n" + "\n".join(problems)


def test_the_lessons_quote_something(results) -> None:
    found = {m["name"] for path in quotes.files() for text in quotes._markdown_of(path)
             for m in quotes.MARKER.finditer(text)}
    assert {"few_shot.offline.near.crossover", "few_shot.imagenet.near.crossover",
            "finetune_settings.offline.learning_rate", "tuner.offline.test_three"} <= found
    for name in quotes.QUOTES:
        for lang in quotes.WORDS:
            assert quotes.QUOTES[name](results, lang)  # every quote computes from the committed results


def test_chinese_files_get_the_chinese_words(results, tmp_path) -> None:
    (tmp_path / "docs").mkdir()
    page = tmp_path / "docs" / "teachers.zh.md"
    page.write_text("<!-- q:few_shot.imagenet.near.crossover -->x<!-- /q -->，微调领先。\n", encoding="utf-8")
    assert quotes.update(results, tmp_path) == [page]
    assert "个标注" in page.read_text(encoding="utf-8") and quotes.stale(results, tmp_path) == []


def test_update_rewrites_a_stale_value_and_refuses_an_unknown_name(results, tmp_path) -> None:
    (tmp_path / "docs").mkdir()
    page = tmp_path / "README.md"
    page.write_text("fine-tuning wins <!-- q:few_shot.imagenet.near.crossover -->never<!-- /q -->.\n")
    assert quotes.stale(results, tmp_path) and quotes.update(results, tmp_path) == [page]
    assert quotes.stale(results, tmp_path) == [] and "never" not in page.read_text()
    page.write_text("<!-- q:few_shot.nowhere -->1<!-- /q -->")
    with pytest.raises(ValueError, match="unknown quote 'few_shot.nowhere'"):
        quotes.update(results, tmp_path)


def test_lesson_03s_comparisons_hold_in_the_measurements(results) -> None:
    """Lesson 03 explains why fine-tuning pays sooner in the imagenet track and on the far target."""
    offline, imagenet = (results[("few_shot", t)]["summary"] for t in ("offline", "imagenet"))
    never = float("inf")
    near_offline = offline["near"]["crossover"] or never
    assert (imagenet["near"]["crossover"] or never) < near_offline
    assert (offline["far"]["crossover"] or never) < near_offline


def test_lesson_03s_few_labels_sentence_holds(results) -> None:
    """'At 1 and 5 labels per class, these differences are within the few points by which seeds differ.'"""
    for track in ("offline", "imagenet"):
        for target, curve in results[("few_shot", track)]["summary"].items():
            for k in ("1", "5"):
                entry = curve["budgets"][k]["strategies"]
                spread = max(entry[s]["max"] - entry[s]["min"] for s in ("probe", "fine_tune"))
                gain = curve["budgets"][k]["fine_tune_gain"] / 100
                assert abs(gain) <= spread + 1e-9, (track, target, k, gain, spread)



LONG_CELL = 20.0  # seconds: a cell this long in either track says so beforehand (issue 26)


def test_every_long_cell_is_announced_with_its_measured_time(results) -> None:
    """A code cell that ran 20 s or more in either track's course run has a cell_time quote before it."""
    lessons = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in quotes.REPO_DIR.glob("notebooks/[0-9][0-9]_*.ipynb")}
    missing = []
    for track in ("offline", "imagenet"):
        for run in results[("course", track)]["runs"]:
            cells = lessons[run["notebook"]]["cells"]
            ids = [c.get("id") for c in cells]
            for cell_id, seconds in run["cell_seconds"].items():
                if seconds < LONG_CELL or cell_id not in ids:
                    continue  # a cell since removed fails the quote itself, if quoted
                before = "".join("".join(c["source"]) for c in cells[:ids.index(cell_id)] if c["cell_type"] == "markdown")
                if f"<!-- q:cell_time.{cell_id} -->" not in before:
                    missing.append(f"{run['notebook']} cell {cell_id}: {seconds:.0f} s in the {track} track")
    assert not missing, "long cells the lesson does not announce:\n" + "\n".join(missing)


def test_cell_time_quotes_both_tracks(results) -> None:
    some = next(cell for run in results[("course", "offline")]["runs"] for cell in run["cell_seconds"])
    text = quotes.quote(f"cell_time.{some}", results)
    assert "offline track" in text and "imagenet track" in text
    assert "offline 路线" in quotes.quote(f"cell_time.{some}", results, "zh")
    with pytest.raises(ValueError, match="unknown quote 'nowhere'"):
        quotes.quote("nowhere", results)
