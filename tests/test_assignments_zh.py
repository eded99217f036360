"""The Chinese edition of the graded assignments: graded exactly like the English, with Chinese feedback.

The twins in ``assignments/zh/source/`` hold the English notebooks' cells in the same order:
the same code, tests, hidden tests and points, translated Markdown, and one cell of their own
(tagged ``language``) that selects Chinese. Here, without a kernel: the twins are equal to the
English cell for cell (so grading one is grading the other), a Chinese submission is checked
against the Chinese sources, the checks speak Chinese, and the grader scores a Chinese
kernel's messages like English ones (it reads errors and evidence, never words). With a
kernel: nbgrader's round trip of the small twin in ``tests/test_assignments.py``, and a
Chinese class graded in the sandbox in ``tests/test_sandboxed_grading.py``.
"""

from __future__ import annotations

import re
import shutil
import warnings
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_output

from tlhelpers import grading
from tlhelpers.config import PACKAGE_DIR
from tlhelpers.data import make_task
from tlhelpers.evidence import MIME, key_of, records
from tlhelpers.exercises import assignment_checks as grade

ASSIGNMENTS = PACKAGE_DIR.parent / "assignments"
SOURCE, ZH_SOURCE = ASSIGNMENTS / "source", ASSIGNMENTS / "zh" / "source"
PAIRS = [(p, ZH_SOURCE / p.relative_to(SOURCE)) for p in sorted(SOURCE.glob("*/*.ipynb"))]
CJK = re.compile(r"[\u4e00-\u9fff]")


def _nbgrader(nb: nbformat.NotebookNode) -> list[dict]:
    return [c.metadata["nbgrader"] for c in nb.cells if c.metadata.get("nbgrader")]


def _without_language_cell(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if "language" not in c.metadata.get("tags", [])]


@pytest.mark.parametrize("en_path, zh_path", PAIRS, ids=[p.parent.name for p, _ in PAIRS])
def test_each_chinese_twin_is_graded_cell_for_cell_like_the_english(en_path: Path, zh_path: Path) -> None:
    en, zh = nbformat.read(en_path, as_version=4), nbformat.read(zh_path, as_version=4)
    grading.validate_markup(zh, str(zh_path))
    assert _nbgrader(zh) == _nbgrader(en), "the same grade ids, kinds and points, in the same order"
    assert grading.notebook_language(zh) == "zh" and grading.notebook_language(en) is None
    cells = _without_language_cell(zh)
    assert [(c.id, c.cell_type) for c in cells] == [(c.id, c.cell_type) for c in en.cells]
    for ours, theirs in zip(cells, en.cells):
        if theirs.cell_type == "code":
            assert ours.source == theirs.source, f"code cell {theirs.id} differs"
        else:
            assert CJK.search(ours.source), f"markdown cell {theirs.id} is not translated"
            for marker in ("### BEGIN SOLUTION", "### END SOLUTION"):  # a written answer keeps nbgrader's markup
                assert (marker in ours.source) == (marker in theirs.source), theirs.id

    (en_student, en_stats), (zh_student, zh_stats) = grading.release_notebook(en), grading.release_notebook(zh)
    assert zh_stats == en_stats
    released = [(c.source, c.metadata) for c in _without_language_cell(zh_student) if c.cell_type == "code"]
    assert released == [(c.source, c.metadata) for c in en_student.cells if c.cell_type == "code"]
    answers = [c.source for c in zh_student.cells if grading.is_solution(c) and c.cell_type == "markdown"]
    assert answers == [grading.TEXT_STUB] * len(answers)

    def others(folder: Path) -> list[str]:
        return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.suffix != ".ipynb")

    assert others(zh_path.parent) == others(en_path.parent), "the same data files next to the notebook"


def test_a_chinese_submission_is_checked_against_the_chinese_sources(tmp_path: Path) -> None:
    en_path, zh_path = PAIRS[1]
    for language, path in (("en", en_path), ("zh", zh_path)):
        grading.release(path, tmp_path / language / "a2_preprocessing")
    assert grading.find_source(tmp_path / "zh" / "a2_preprocessing" / zh_path.name) == zh_path
    assert grading.find_source(tmp_path / "en" / "a2_preprocessing" / en_path.name) == en_path
    assert grading.find_source(tmp_path / "zh" / "a2_preprocessing" / zh_path.name, SOURCE) == en_path  # --source wins
    assert grading.load_submission(tmp_path / "zh" / "a2_preprocessing" / zh_path.name).source_path == zh_path

    french = nbformat.read(tmp_path / "zh" / "a2_preprocessing" / zh_path.name, as_version=4)
    next(c for c in french.cells if "language" in c.metadata.get("tags", [])).source = 'use_language("fr")'
    (tmp_path / "fr").mkdir()
    nbformat.write(french, tmp_path / "fr" / zh_path.name)
    assert grading.find_source(tmp_path / "fr" / zh_path.name) == en_path  # no such edition: the English sources

    copy = tmp_path / "copy" / "source"  # a teacher's own copy of the Chinese course
    shutil.copytree(ZH_SOURCE / "a2_preprocessing", copy / "a2_preprocessing")
    assert grading.find_source(tmp_path / "zh" / "a2_preprocessing" / zh_path.name, copy) == copy / "a2_preprocessing" / zh_path.name


def _toy_task():
    x = np.zeros((8, 4, 4, 1), np.uint8)
    y = np.repeat([0, 1], 4)
    return make_task("toy", (x, y), (x, y), ("a", "b"), 2, 1), y


def test_the_checks_speak_chinese_when_the_notebook_does(monkeypatch, capsys) -> None:
    monkeypatch.setenv("TL_LANG", "zh")
    assert "请用由 A 到 G 的字母组成的集合作答" in grade.check_wrong_pipelines_format(None).message
    message = grade.check_wrong_pipelines({"B", "E"}).message
    assert "你列出的流水线中有 1 个其实没有问题" in message and "你的答案漏掉了 4 个有问题的流水线" in message
    assert "预处理运行了两次" in grade.check_wrong_pipelines({"B", "C", "D", "F", "G"}).message
    assert "# 在数据流水线中" in grade.pipelines_markdown()

    task, y = _toy_task()
    rules = grade.Challenge(2, 1, 4, target_accuracy=0.75, budget_seconds=5, basis="test")
    assert "测试准确率 0.000 低于目标 0.75" in grade.check_challenge(1 - y, 1.0, task, rules).message
    assert "超出了 5 s 的预算" in grade.check_challenge(y.copy(), 9.0, task, rules).message
    assert "每张测试图像返回一个类别索引" in grade.check_predictions(np.ones((8, 2)), task).message
    with pytest.raises(grade.HiddenLabelsError, match="验证集"):
        np.mean(np.zeros(8) == grade.without_test_labels(task).y_test)
    grade.run_timed(lambda t: np.zeros(len(t.x_test), int), task, budget=5)
    with grade.stderr_as_notes():
        warnings.warn("a library warning")
    out = capsys.readouterr().out
    assert "（预算：5 s）" in out and "注意：UserWarning：a library warning" in out
    assert "模型应当是 keras.Model，但得到的是 NoneType" in grade.judge_unfrozen({"not a model": "NoneType"}, 2).message

    monkeypatch.setenv("TL_LANG", "en")
    assert "answer with a set of letters from A to G" in grade.check_wrong_pipelines_format(None).message
    assert "below the target 0.75" in grade.check_challenge(1 - y, 1.0, task, rules).message


def _published(check: str, key: dict, **data) -> dict:
    return {"output_type": "display_data", "metadata": {}, "data": {MIME: {"check": check, "key": key, "data": data}}}


@pytest.mark.parametrize("teacher", ["en", "zh"])
def test_the_grader_scores_a_chinese_kernel_like_an_english_one(monkeypatch, teacher: str) -> None:
    """Failures, passes and tampering are read from errors and evidence, whatever language the messages are in."""
    from tlhelpers.sandboxed_grading import TAMPERED, Reference, Run, _score

    source = ZH_SOURCE / "a2_preprocessing" / "preprocessing.ipynb"
    submission = grading.load_submission(source, source)
    index = {c.metadata.get("nbgrader", {}).get("grade_id"): i for i, c in enumerate(submission.nb.cells)}
    monkeypatch.setenv("TL_LANG", "zh")  # what the student's kernel shows
    fails = grade.judge_prepare({"shape": [3, 16, 16, 1], "range": [0, 255], "colours": []}, "fashion_cnn", 32).message
    passes = repr(grade.judge_wrong_pipelines_format({"answer": ["A"]}))
    assert CJK.search(fails) and CJK.search(passes)
    prepare_key = {"backbone": "fashion_cnn", "size": 32, "in_channels": 1}
    outputs = {
        "a2_prepare_tests": [_published("prepare", prepare_key, shape=[3, 16, 16, 1], range=[0, 255], colours=[]),
                             new_output("error", ename="AssertionError", evalue=fails, traceback=[])],
        "a2_wrong_pipelines_tests": [_published("wrong_pipelines_format", {}, answer=["A"]),
                                     new_output("stream", name="stdout", text=passes + "\n"),
                                     _published("wrong_pipelines", {}, answer=["A"]),  # wrong: the kernel hid the failure
                                     new_output("stream", name="stdout", text="✅ 正确\n")],
    }
    reference = Reference({g: sorted({key_of(r) for r in records(o)}) for g, o in outputs.items()})
    result = Run(cells={i: {"outputs": outputs.get(g, []), "execution_count": 1} for g, i in index.items() if g},
                 cell_seconds={i: 1.0 for i in index.values()}, files={})
    monkeypatch.setenv("TL_LANG", teacher)  # the grader's own judgements speak the teacher's language
    report = _score(submission, result, reference)
    scores = {q.grade_id: (q.score, q.status) for q in report.questions}
    assert scores == {"a2_prepare_tests": (0.0, "failed"), "a2_justification": (None, "by hand"),
                      "a2_wrong_pipelines_tests": (0.0, "tampered")}, str(report)
    assert report.questions[0].message == " ".join(fails.split()) and report.verdicts == [TAMPERED]
    tampered = report.questions[-1].message
    assert ("流水线" in tampered) == (teacher == "zh") and "the kernel reported a pass" in tampered
    assert "a2_prepare_tests" in str(report)


def test_the_chinese_course_folder_is_an_nbgrader_course_like_the_english() -> None:
    """``cd assignments/zh`` and nbgrader (or ``assignments sandbox -- nbgrader ...``) works there as in ``assignments/``."""
    from traitlets.config.loader import PyFileConfigLoader

    from tlhelpers.nbgrader_sandbox import Course

    def load(folder: Path):
        return PyFileConfigLoader("nbgrader_config.py", path=str(folder)).load_config()

    en, zh = load(ASSIGNMENTS), load(ASSIGNMENTS / "zh")
    assert Path(zh.CourseDirectory.root) == ASSIGNMENTS / "zh" and Path(en.CourseDirectory.root) == ASSIGNMENTS
    assert zh.Execute.timeout == en.Execute.timeout and zh.CourseDirectory.course_id != en.CourseDirectory.course_id
    from tlhelpers.sandbox import CELL_TIMEOUT

    assert en.Execute.timeout == CELL_TIMEOUT  # nbgrader and tlhelpers' grading give a cell the same time
    assert Course.read(ASSIGNMENTS / "zh").root == ASSIGNMENTS / "zh"
