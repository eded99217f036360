"""The teacher's guides (docs/teachers.md, and in Chinese docs/teachers.zh.md) keep up with the
lessons and assignments.

Everything here is read from the files (no TensorFlow, no kernels), so it runs in well
under a second. Each check is made of both guides: the English one against the lessons in
notebooks/ and the assignments in assignments/source/, the Chinese one against the Chinese
twins in notebooks/zh/ and assignments/zh/source/:

- an answer key for every exercise of every lesson (the "**Exercise N.**" / "**练习 N.**" /
  "**N.**" headings of each notebook's Exercises section), naming the check functions its
  cells call;
- the run times the guide quotes per lesson equal those in each lesson's header, and the
  session plan's sums add up;
- the reading times: the English guide's follow the words of the notebooks' markdown at 100
  words a minute and agree with the lesson headers' rounded minutes; the Chinese guide's are
  the Chinese lesson headers' minutes (``**时间**：约 N 分钟阅读``, Chinese characters at 300 a
  minute plus other words at 100, rounded up to 5), skipped while a Chinese header has none;
- the assignments table quotes the points of the nbgrader source notebooks, and a2's
  rubric adds up to the points of its hand-graded cell;
- the links to repository files resolve, and the Chinese guide links the Chinese lessons and
  assignments wherever a Chinese twin exists.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSONS = "[0-9][0-9]_*.ipynb"


@dataclass(frozen=True)
class Guide:
    """One language's guide and what it is checked against."""

    lang: str
    path: Path
    notebooks: tuple[Path, ...]
    assignments: tuple[Path, ...]
    parts: tuple[str, ...]          # the sections it must have (matched in its "## " headings)
    key_heading: re.Pattern[str]    # "#### 03 · Exercise 2": (lesson, exercise)
    answer: str                     # how each answer key's answer line starts
    session_row: re.Pattern[str]    # the first cell of a session row of the plan
    rubric: str                     # the heading of a2's rubric
    lesson_columns: tuple[int | None, int, int, int]  # words (English only), minutes, offline s, imagenet s

    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")


EN = Guide(
    lang="en",
    path=ROOT / "docs" / "teachers.md",
    notebooks=tuple(sorted((ROOT / "notebooks").glob(LESSONS))),
    assignments=tuple(sorted((ROOT / "assignments" / "source").glob("a[0-9]_*/*.ipynb"))),
    parts=("Prerequisites", "Session plan", "Answer keys", "Assignments", "comes out the other way", "JupyterHub"),
    key_heading=re.compile(r"^#### (\d\d) · Exercise (\d+)\s*$", re.M),
    answer="**Answer",
    session_row=re.compile(r"Session \d"),
    rubric="### Rubric",
    lesson_columns=(0, 1, 2, 3),
)
ZH = Guide(
    lang="zh",
    path=ROOT / "docs" / "teachers.zh.md",
    notebooks=tuple(sorted((ROOT / "notebooks" / "zh").glob(LESSONS))),
    assignments=tuple(sorted((ROOT / "assignments" / "zh" / "source").glob("a[0-9]_*/*.ipynb"))),
    parts=("预备知识", "课时安排", "练习答案", "作业", "与预期相反", "JupyterHub"),
    key_heading=re.compile(r"^#### (\d\d) · 练习 (\d+)\s*$", re.M),
    answer="**答案",
    session_row=re.compile(r"第 \d 次课"),
    rubric="### 评分细则",
    lesson_columns=(None, 0, 1, 2),
)
GUIDES = (EN, ZH)

# English header: "... running every cell takes 31 s in the offline track and 73 s in the imagenet track ..."
HEADER_TIMES = re.compile(
    r"running every cell takes (\d+) s in the offline track(?: \([^)]*\))? and (\d+) s in the imagenet track"
)
# Chinese header (scripts/lesson_headers.py): "... offline 路线需 31 秒，imagenet 路线需 73 秒 ..."
HEADER_TIMES_ZH = re.compile(r"offline\s*路线需\s*(\d+)\s*秒.*?imagenet\s*路线需\s*(\d+)\s*秒", re.S)
HEADER_MINUTES = {"en": re.compile(r"\*\*Time\*\*: about (\d+) minutes to read"),
                  "zh": re.compile(r"\*\*时间\*\*[：:]\s*约\s*(\d+)\s*分钟")}
EXERCISES_HEADING = re.compile(r"^## (?:Exercises|练习)", re.M)
EXERCISE = re.compile(r"^\*\*(?:Exercise |练习 ?)?(\d+)[.．]\*\*", re.M)
CHECK_CALL = re.compile(r"\blesson\d\d\.(check_\w+)\(")
CJK = re.compile(r"[\u4e00-\u9fff]")


def by_guide(items):
    """pytest params over both guides: ``items(guide)`` lists what to check in each."""
    return [pytest.param(g, x, id=f"{g.lang}-{x.name if x.parent.name in ('notebooks', 'zh') else x.parent.name}")
            for g in GUIDES for x in items(g)]


guides = pytest.mark.parametrize("g", GUIDES, ids=lambda g: g.lang)


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def source(cell: dict) -> str:
    return "".join(cell["source"])


def lesson(path: Path) -> str:
    return path.name[:2]


def english(path: Path) -> Path:
    """The English lesson of a Chinese twin (itself for an English lesson)."""
    return ROOT / "notebooks" / path.name


def exercises(path: Path) -> dict[int, list[str]]:
    """Exercise number -> the check functions called in the code cells under it."""
    found: dict[int, list[str]] = {}
    current, started = None, False
    for cell in cells(path):
        text = source(cell)
        if cell["cell_type"] == "markdown":
            started = started or bool(EXERCISES_HEADING.search(text))
            numbers = [int(n) for n in EXERCISE.findall(text)] if started else []
            for n in numbers:
                found.setdefault(n, [])
            if numbers:
                current = numbers[-1]
        elif started and current is not None:
            found[current].extend(CHECK_CALL.findall(text))
    return found


def header_times(path: Path) -> tuple[int, int]:
    """(offline, imagenet) seconds to run every cell, from the lesson's header.

    A Chinese twin runs the same code cells as its English lesson, and its header quotes the
    English lesson's times; while the twin's header is not Chinese yet, the English one's count.
    """
    header = source(cells(path)[0])
    if match := HEADER_TIMES_ZH.search(header):
        return int(match[1]), int(match[2])
    match = HEADER_TIMES.search(header) or HEADER_TIMES.search(source(cells(english(path))[0]))
    assert match, f"{path.name}: no 'running every cell takes N s ... M s' in the header"
    return int(match[1]), int(match[2])


def header_minutes(path: Path, lang: str) -> int | None:
    """The reading minutes the lesson's header states, in the guide's language (None: not yet)."""
    match = HEADER_MINUTES[lang].search(source(cells(path)[0]))
    return int(match[1]) if match else None


def zh_header_minutes_or_skip(paths) -> dict[str, int]:
    minutes = {lesson(p): header_minutes(p, "zh") for p in paths}
    missing = sorted(nn for nn, m in minutes.items() if m is None)
    if missing:
        pytest.skip(f"no '**时间**：约 N 分钟' in the header of Chinese lesson(s) {', '.join(missing)} yet "
                    "(python scripts/lesson_headers.py notebooks/zh/*.ipynb writes it once they are translated)")
    return minutes


def words(path: Path) -> int:
    return sum(len(source(c).split()) for c in cells(path) if c["cell_type"] == "markdown")


def size(text: str) -> float:
    """Words, a Chinese character counting a third (the reading rates: 100 words or 300 characters a minute)."""
    return len(CJK.sub(" ", text).split()) + len(CJK.findall(text)) / 3


def key_sections(g: Guide) -> dict[tuple[str, int], str]:
    """("03", 2) -> the text of the guide under '#### 03 · Exercise 2', up to the next heading."""
    out: dict[tuple[str, int], str] = {}
    key, lines, fenced = None, [], False
    for line in g.text().splitlines():
        fenced ^= line.lstrip().startswith("```")
        heading = not fenced and re.match(r"#{1,6} ", line)
        if heading:
            if key:
                out[key] = "\n".join(lines)
            match = g.key_heading.match(line)
            key, lines = ((match[1], int(match[2])) if match else None), []
        elif key:
            lines.append(line)
    if key:
        out[key] = "\n".join(lines)
    return out


def table_rows(g: Guide, first_cell: re.Pattern[str]) -> dict[str, list[str]]:
    """Markdown table rows whose first cell matches ``first_cell``: name -> the other cells."""
    rows = {}
    for line in g.text().splitlines():
        if line.startswith("|"):
            parts = [p.strip().strip("`") for p in line.strip().strip("|").split("|")]
            if first_cell.fullmatch(parts[0]):
                rows[parts[0]] = parts[1:]
    return rows


def number(cell: str) -> float:
    return float(cell.replace(",", ""))


# ---- the guide itself ---------------------------------------------------------------------


@guides
def test_guide_exists_with_every_part(g):
    text = g.text()
    for part in g.parts:
        assert re.search(rf"^## .*{part}", text, re.M | re.I), f"{g.path.name}: no section about {part!r}"
    for link in re.findall(r"\]\((\.\./[^)#]+)", text):
        assert (g.path.parent / link).resolve().exists(), f"{g.path.name}: broken link {link}"


def test_the_chinese_guide_links_the_chinese_lessons_and_assignments():
    for link in re.findall(r"\]\((\.\./[^)#]+)", ZH.text()):
        twin = re.sub(r"^\.\./(notebooks|assignments)/", r"../\1/zh/", link)
        if link.startswith(("../notebooks/", "../assignments/source/")) and "/zh/" not in link:
            assert not (ZH.path.parent / twin).resolve().exists(), f"{ZH.path.name} links {link}, not its Chinese twin {twin}"


@guides
def test_notebooks_are_found(g):
    assert [lesson(p) for p in g.notebooks] == ["00", "01", "02", "03", "04", "05", "06", "07"]
    for path in g.notebooks:
        assert exercises(path), f"{path}: no exercises found under '## Exercises' (or '## 练习')"


# ---- answer keys --------------------------------------------------------------------------


@guides
def test_an_answer_key_for_every_exercise_and_no_stale_ones(g):
    wanted = {(lesson(p), n) for p in g.notebooks for n in exercises(p)}
    have = set(key_sections(g))
    assert not wanted - have, f"{g.path.name}: exercises without an answer key: {sorted(wanted - have)}"
    assert not have - wanted, f"{g.path.name}: answer keys for exercises the lessons no longer have: {sorted(have - wanted)}"


@pytest.mark.parametrize("g, path", by_guide(lambda g: g.notebooks))
def test_each_key_names_the_check_that_grades_it(g, path):
    keys = key_sections(g)
    for n, checks in exercises(path).items():
        assert checks, f"{path} exercise {n}: no lessonNN.check_... call found under it"
        for check in checks:
            assert check in keys[(lesson(path), n)], (
                f"{g.path.name}: the key to {lesson(path)} · exercise {n} does not name {check}, the check its cell calls")


@guides
def test_every_key_gives_an_answer(g):
    for (nn, n), text in key_sections(g).items():
        assert g.answer in text, f"{g.path.name} {nn} · exercise {n}: no '{g.answer}' line"
        assert size(text) >= 25, f"{g.path.name} {nn} · exercise {n}: the key says too little to explain why"


# ---- times --------------------------------------------------------------------------------

LESSON_ROW = re.compile(r"\d\d_[a-z_]+")


@guides
def test_every_lesson_has_a_row_of_times(g):
    rows = table_rows(g, LESSON_ROW)
    assert sorted(rows) == [p.stem for p in g.notebooks]


@pytest.mark.parametrize("g, path", by_guide(lambda g: g.notebooks))
def test_quoted_run_times_match_the_lesson_header(g, path):
    offline, imagenet = header_times(path)
    row = table_rows(g, LESSON_ROW)[path.stem]
    offline_cell, imagenet_cell = row[g.lesson_columns[2]], row[g.lesson_columns[3]]
    assert (number(offline_cell), number(imagenet_cell)) == (offline, imagenet), (
        f"{g.path.name} {path.stem}: the guide quotes {offline_cell} s / {imagenet_cell} s, "
        f"the header says {offline} s / {imagenet} s")


@pytest.mark.parametrize("path", EN.notebooks, ids=lambda p: p.name)
def test_quoted_reading_time_follows_the_words(path):
    row = table_rows(EN, LESSON_ROW)[path.stem]
    quoted_words, quoted_minutes = number(row[EN.lesson_columns[0]]), number(row[EN.lesson_columns[1]])
    actual = words(path)
    # the lessons are still edited: a tenth more or fewer words than counted is tolerated
    assert abs(quoted_words - actual) <= 0.1 * actual, f"{path.stem}: guide says {quoted_words:.0f} words, now {actual}"
    assert abs(quoted_minutes - quoted_words / 100) <= 1, f"{path.stem}: {quoted_minutes} min for {quoted_words} words"
    header = header_minutes(path, "en")
    assert header is not None, f"{path.name}: no '**Time**: about N minutes to read' in the header"
    # the header rounds the same count up to 5 minutes
    assert header - 5 <= quoted_minutes <= header, (
        f"{path.stem}: the guide says {quoted_minutes:g} min, the header (rounded up to 5) {header} min")


@pytest.mark.parametrize("path", ZH.notebooks, ids=lambda p: p.name)
def test_quoted_reading_time_follows_the_chinese_header(path):
    header = zh_header_minutes_or_skip([path])[lesson(path)]
    quoted = number(table_rows(ZH, LESSON_ROW)[path.stem][ZH.lesson_columns[1]])
    assert quoted == header, f"{ZH.path.name} {path.stem}: the guide says {quoted:g} min, the lesson's header {header} min"


def session_rows(g: Guide) -> dict[str, list[str]]:
    sessions = table_rows(g, g.session_row)
    assert len(sessions) >= 2, f"{g.path.name}: no session rows ('| Session 1 | ...' / '| 第 1 次课 | ...') in the plan"
    return sessions


def session_lessons(g: Guide, name: str, row: list[str]) -> list[str]:
    lessons = re.findall(r"\b(0\d)\b", row[0])
    assert lessons, f"{g.path.name} {name}: which lessons?"
    return lessons


@guides
def test_session_sums_add_up(g):
    per_lesson = {lesson(p): header_times(p) for p in g.notebooks}
    covered = []
    for name, row in session_rows(g).items():
        lessons = session_lessons(g, name, row)
        covered += lessons
        offline = sum(per_lesson[nn][0] for nn in lessons)
        imagenet = sum(per_lesson[nn][1] for nn in lessons)
        assert number(row[2]) == offline, f"{g.path.name} {name}: offline run time {row[2]} s, lessons' headers add up to {offline}"
        assert number(row[3]) == imagenet, f"{g.path.name} {name}: imagenet run time {row[3]} s, headers add up to {imagenet}"
    assert sorted(covered) == sorted(per_lesson), f"{g.path.name}: the sessions cover {covered}, not each lesson once"


def test_session_reading_adds_up():
    per_lesson = {lesson(p): words(p) for p in EN.notebooks}
    for name, row in session_rows(EN).items():
        reading = sum(per_lesson[nn] for nn in session_lessons(EN, name, row)) / 100
        assert abs(number(row[1]) - reading) <= 0.1 * reading + 1, f"{name}: {row[1]} min of reading, words say {reading:.0f}"


def test_chinese_session_reading_adds_up():
    minutes = zh_header_minutes_or_skip(ZH.notebooks)
    for name, row in session_rows(ZH).items():
        reading = sum(minutes[nn] for nn in session_lessons(ZH, name, row))
        assert number(row[1]) == reading, f"{ZH.path.name} {name}: {row[1]} min of reading, the lessons' headers add up to {reading}"


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


@guides
def test_assignments_are_found(g):
    assert [p.parent.name[:2] for p in g.assignments] == ["a1", "a2", "a3", "a4"]


@pytest.mark.parametrize("g, path", by_guide(lambda g: g.assignments))
def test_assignment_points_match_the_source(g, path):
    rows = table_rows(g, re.compile(r"a\d_[a-z_]+"))
    assert path.parent.name in rows, f"{path.parent.name} is not in {g.path.name}'s assignments table"
    auto, manual = points(path)
    row = rows[path.parent.name]
    assert (number(row[0]), number(row[1])) == (auto, manual), (
        f"{g.path.name} {path.parent.name}: the guide says {row[0]} autograded + {row[1]} by hand, "
        f"the notebook {auto:g} + {manual:g}")


@guides
def test_a2_rubric_adds_up_to_its_hand_graded_points(g):
    a2 = next(p for p in g.assignments if p.parent.name.startswith("a2_"))
    _, manual = points(a2)
    assert manual > 0
    text = g.text()
    start = text.index(g.rubric)
    section = text[start: text.index("\n## ", start) if "\n## " in text[start:] else len(text)]
    rubric = [line for line in section.splitlines() if line.startswith("|") and re.search(r"\|\s*[\d.]+\s*\|\s*$", line)]
    total = sum(float(re.search(r"\|\s*([\d.]+)\s*\|\s*$", line)[1]) for line in rubric)
    assert rubric and total == manual, (
        f"{g.path.name}: the rubric's points add up to {total:g}, a2's written answer is worth {manual:g}")


# ---- the Chinese README -------------------------------------------------------------------


def test_the_chinese_readme_links_resolve_and_starts_with_the_quickstart():
    readme = ROOT / "README.zh.md"
    text = readme.read_text(encoding="utf-8")
    for link in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
        assert (ROOT / link).exists(), f"README.zh.md: broken link {link}"
    first_section = re.search(r"^## .*$", text, re.M)[0]
    assert "快速开始" in first_section, f"README.zh.md's first section is {first_section!r}, not the quickstart"
    assert "make course" in text and "make test" in text and "notebooks/zh/" in text
    assert "[中文版 README](README.zh.md)" in (ROOT / "README.md").read_text(encoding="utf-8")[:400]
