"""The teacher's guide (docs/teachers.md) keeps up with the lessons and assignments.

Everything here is read from the files (no TensorFlow, no kernels), so it runs in well
under a second:

- an answer key for every exercise of every lesson (the "**Exercise N.**" / "**N.**"
  headings of each notebook's Exercises section), naming the check functions its cells call;
- the run times the guide quotes per lesson equal those in each lesson's header, and the
  session plan's sums add up;
- the reading times follow the words of the notebooks' markdown at 100 words a minute;
- the assignments table quotes the points of the nbgrader source notebooks, and a2's
  rubric adds up to the points of its hand-graded cell.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "teachers.md"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
ASSIGNMENTS = sorted((ROOT / "assignments" / "source").glob("a[0-9]_*/*.ipynb"))

HEADER_TIMES = re.compile(
    r"running every cell takes (\d+) s in the offline track(?: \([^)]*\))? and (\d+) s in the imagenet track"
)
EXERCISE = re.compile(r"^\*\*(?:Exercise )?(\d+)\.\*\*", re.M)
CHECK_CALL = re.compile(r"\blesson\d\d\.(check_\w+)\(")
KEY_HEADING = re.compile(r"^#### (\d\d) · Exercise (\d+)\s*$", re.M)


def guide() -> str:
    return GUIDE.read_text(encoding="utf-8")


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def source(cell: dict) -> str:
    return "".join(cell["source"])


def lesson(path: Path) -> str:
    return path.name[:2]


def exercises(path: Path) -> dict[int, list[str]]:
    """Exercise number -> the check functions called in the code cells under it."""
    found: dict[int, list[str]] = {}
    current, started = None, False
    for cell in cells(path):
        text = source(cell)
        if cell["cell_type"] == "markdown":
            started = started or bool(re.search(r"^## Exercises", text, re.M))
            numbers = [int(n) for n in EXERCISE.findall(text)] if started else []
            for n in numbers:
                found.setdefault(n, [])
            if numbers:
                current = numbers[-1]
        elif started and current is not None:
            found[current].extend(CHECK_CALL.findall(text))
    return found


def header_times(path: Path) -> tuple[int, int]:
    match = HEADER_TIMES.search(source(cells(path)[0]))
    assert match, f"{path.name}: no 'running every cell takes N s ... M s' in the header"
    return int(match[1]), int(match[2])


def words(path: Path) -> int:
    return sum(len(source(c).split()) for c in cells(path) if c["cell_type"] == "markdown")


def key_sections() -> dict[tuple[str, int], str]:
    """("03", 2) -> the text of the guide under '#### 03 · Exercise 2', up to the next heading."""
    out: dict[tuple[str, int], str] = {}
    key, lines, fenced = None, [], False
    for line in guide().splitlines():
        fenced ^= line.lstrip().startswith("```")
        heading = not fenced and re.match(r"#{1,6} ", line)
        if heading:
            if key:
                out[key] = "\n".join(lines)
            match = KEY_HEADING.match(line)
            key, lines = ((match[1], int(match[2])) if match else None), []
        elif key:
            lines.append(line)
    if key:
        out[key] = "\n".join(lines)
    return out


def table_rows(first_cell: re.Pattern[str]) -> dict[str, list[str]]:
    """Markdown table rows whose first cell matches ``first_cell``: name -> the other cells."""
    rows = {}
    for line in guide().splitlines():
        if line.startswith("|"):
            parts = [p.strip().strip("`") for p in line.strip().strip("|").split("|")]
            if first_cell.fullmatch(parts[0]):
                rows[parts[0]] = parts[1:]
    return rows


def number(cell: str) -> float:
    return float(cell.replace(",", ""))


# ---- the guide itself ---------------------------------------------------------------------


def test_guide_exists_with_every_part():
    text = guide()
    for part in ("Prerequisites", "Session plan", "Answer keys", "Assignments", "comes out the other way",
                 "JupyterHub"):
        assert re.search(rf"^## .*{part}", text, re.M | re.I), f"no section about {part!r}"
    for link in re.findall(r"\]\((\.\./[^)#]+)", text):
        assert (GUIDE.parent / link).resolve().exists(), f"broken link {link}"


def test_notebooks_are_found():
    assert [lesson(p) for p in NOTEBOOKS] == ["00", "01", "02", "03", "04", "05", "06", "07"]
    for path in NOTEBOOKS:
        assert exercises(path), f"{path.name}: no exercises found under '## Exercises'"


# ---- answer keys --------------------------------------------------------------------------


def test_an_answer_key_for_every_exercise_and_no_stale_ones():
    wanted = {(lesson(p), n) for p in NOTEBOOKS for n in exercises(p)}
    have = set(key_sections())
    assert not wanted - have, f"exercises without an answer key: {sorted(wanted - have)}"
    assert not have - wanted, f"answer keys for exercises the lessons no longer have: {sorted(have - wanted)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_key_names_the_check_that_grades_it(path):
    keys = key_sections()
    for n, checks in exercises(path).items():
        assert checks, f"{path.name} exercise {n}: no lessonNN.check_... call found under it"
        for check in checks:
            assert check in keys[(lesson(path), n)], (
                f"the key to {lesson(path)} · Exercise {n} does not name {check}, the check its cell calls")


def test_every_key_gives_an_answer():
    for (nn, n), text in key_sections().items():
        assert "**Answer" in text, f"{nn} · Exercise {n}: no '**Answer' line"
        assert len(text.split()) >= 25, f"{nn} · Exercise {n}: the key says too little to explain why"


# ---- times --------------------------------------------------------------------------------

LESSON_ROW = re.compile(r"\d\d_[a-z_]+")


def test_every_lesson_has_a_row_of_times():
    rows = table_rows(LESSON_ROW)
    assert sorted(rows) == [p.stem for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_quoted_run_times_match_the_lesson_header(path):
    offline, imagenet = header_times(path)
    row = table_rows(LESSON_ROW)[path.stem]
    words_cell, minutes_cell, offline_cell, imagenet_cell = row[:4]
    assert (number(offline_cell), number(imagenet_cell)) == (offline, imagenet), (
        f"{path.stem}: the guide quotes {offline_cell} s / {imagenet_cell} s, the header says {offline} s / {imagenet} s")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_quoted_reading_time_follows_the_words(path):
    row = table_rows(LESSON_ROW)[path.stem]
    quoted_words, quoted_minutes = number(row[0]), number(row[1])
    actual = words(path)
    # the lessons are still edited: a tenth more or fewer words than counted is tolerated
    assert abs(quoted_words - actual) <= 0.1 * actual, f"{path.stem}: guide says {quoted_words:.0f} words, now {actual}"
    assert abs(quoted_minutes - quoted_words / 100) <= 1, f"{path.stem}: {quoted_minutes} min for {quoted_words} words"


def test_session_sums_add_up():
    per_lesson = {lesson(p): (words(p), *header_times(p)) for p in NOTEBOOKS}
    sessions = table_rows(re.compile(r"Session \d"))
    assert len(sessions) >= 2, "no session rows ('| Session 1 | ...') in the plan"
    covered = []
    for name, row in sessions.items():
        lessons = re.findall(r"\b(0\d)\b", row[0])
        assert lessons, f"{name}: which lessons?"
        covered += lessons
        offline = sum(per_lesson[nn][1] for nn in lessons)
        imagenet = sum(per_lesson[nn][2] for nn in lessons)
        reading = sum(per_lesson[nn][0] for nn in lessons) / 100
        assert number(row[2]) == offline, f"{name}: offline run time {row[2]} s, lessons' headers add up to {offline}"
        assert number(row[3]) == imagenet, f"{name}: imagenet run time {row[3]} s, headers add up to {imagenet}"
        assert abs(number(row[1]) - reading) <= 0.1 * reading + 1, f"{name}: {row[1]} min of reading, words say {reading:.0f}"
    assert sorted(covered) == sorted(per_lesson), f"the sessions cover {covered}, not each lesson once"


# ---- assignments --------------------------------------------------------------------------


def points(path: Path) -> tuple[float, float]:
    """(autograded, hand-graded) points of an nbgrader source notebook."""
    auto = manual = 0.0
    for cell in cells(path):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade"):
            if cell["cell_type"] == "code":
                auto += meta.get("points", 0)
            else:
                manual += meta.get("points", 0)
    return auto, manual


@pytest.mark.parametrize("path", ASSIGNMENTS, ids=lambda p: p.parent.name)
def test_assignment_points_match_the_source(path):
    rows = table_rows(re.compile(r"a\d_[a-z_]+"))
    assert path.parent.name in rows, f"{path.parent.name} is not in the guide's assignments table"
    auto, manual = points(path)
    row = rows[path.parent.name]
    assert (number(row[0]), number(row[1])) == (auto, manual), (
        f"{path.parent.name}: the guide says {row[0]} autograded + {row[1]} by hand, the notebook {auto:g} + {manual:g}")


def test_a2_rubric_adds_up_to_its_hand_graded_points():
    a2 = next(p for p in ASSIGNMENTS if p.parent.name.startswith("a2_"))
    _, manual = points(a2)
    assert manual > 0
    text = guide()
    start = text.index("### Rubric")
    section = text[start: text.index("\n## ", start) if "\n## " in text[start:] else len(text)]
    rubric = [line for line in section.splitlines() if line.startswith("|") and re.search(r"\|\s*[\d.]+\s*\|\s*$", line)]
    total = sum(float(re.search(r"\|\s*([\d.]+)\s*\|\s*$", line)[1]) for line in rubric)
    assert rubric and total == manual, f"the rubric's points add up to {total:g}, a2's written answer is worth {manual:g}"
