"""Graded assignments: release and check without nbgrader, the check helpers, and the real nbgrader.

The last group runs the real nbgrader CLI in a temporary course directory
(``generate_assignment``, then ``autograde`` of a reference and a blank submission) and
compares its scores, cell by cell, with ``python -m tlhelpers assignments check``. While
nbgrader grades in a background process, the built-in check runs here, so the two share
the machine's cores.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import keras
import nbformat
import numpy as np
import pytest
from image_folders import make_stripes
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from tlhelpers import backbones, grading, transfer
from tlhelpers.__main__ import main
from tlhelpers.config import PACKAGE_DIR, current_track
from tlhelpers.data import load_folder_task, make_task
from tlhelpers.exercises import assignment_checks as grade
from tlhelpers.pipeline import prepare_images, to_model_input
from tlhelpers.training import compile_classifier

SOURCE = PACKAGE_DIR.parent / "assignments" / "source"
ZH_SOURCE = PACKAGE_DIR.parent / "assignments" / "zh" / "source"  # the Chinese twins: same cells, tests and points
ALL = ("a1_freezing", "a2_preprocessing", "a3_label_budget", "a4_own_images")
GRADED = ("a1_freezing", "a2_preprocessing", "a4_own_images")  # run by nbgrader and by check
SMALL = "a2_preprocessing"  # trains nothing: its nbgrader parity runs whenever system tests do
# In the test's nbgrader course, "zh_<name>" is the Chinese twin of <name>. All four are released (cheap); only
# the small one is graded: tests/test_assignments_zh.py proves the others equal to the English, cell for cell.
ZH_ALL = tuple(f"zh_{name}" for name in ALL)
ZH_GRADED = (f"zh_{SMALL}",)


def course_source(name: str) -> Path:
    """The source folder of an assignment of the test's course (``zh_<name>``: the Chinese twin of ``<name>``)."""
    return ZH_SOURCE / name.removeprefix("zh_") if name.startswith("zh_") else SOURCE / name


def each(names: tuple[str, ...]) -> list:
    """``names`` as parameters: the small assignment (in both languages) in every system run, the others ``slow``."""
    return [pytest.param(name, id=name, marks=() if name.removeprefix("zh_") == SMALL else pytest.mark.slow)
            for name in names]
BIN = Path(sys.executable).parent


# ---- a small notebook in nbgrader markup ----------------------------------------------------


def _cell(cell, grade_id: str, grade: bool = False, solution: bool = False, locked: bool = False, points=None):
    cell.metadata["nbgrader"] = {"grade": grade, "grade_id": grade_id, "locked": locked, "solution": solution, "schema_version": 3}
    if points is not None:
        cell.metadata["nbgrader"]["points"] = points
    return cell


def tiny_source() -> nbformat.NotebookNode:
    """Three questions: code with a visible+hidden test, a whole-cell answer, a written answer."""
    nb = new_notebook(cells=[
        _cell(new_code_cell("import math"), "setup", locked=True),
        _cell(new_code_cell(
            "def double(x):\n    \"\"\"Twice x.\"\"\"\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"
        ), "double", solution=True),
        _cell(new_code_cell(
            "assert double(2) == 4, 'double(2) should be 4'\n### BEGIN HIDDEN TESTS\n"
            "assert double(-3) == -6, 'double(-3) should be -6'\n### END HIDDEN TESTS"
        ), "double_tests", grade=True, locked=True, points=2),
        _cell(new_code_cell("answer = 42"), "answer", solution=True),
        _cell(new_code_cell("assert answer == 42, 'not yet'"), "answer_tests", grade=True, locked=True, points=1),
        _cell(new_markdown_cell("Because it is twice.\n"), "why", grade=True, solution=True, points=3),
        new_code_cell("print('free cell')"),
    ])
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.cells[1].outputs = [new_output("stream", name="stdout", text="old output\n")]
    nb.cells[1].execution_count = 3
    return nb


def test_release_notebook_clears_solutions_hidden_tests_and_outputs() -> None:
    student, stats = grading.release_notebook(tiny_source())
    cells = student.cells
    assert cells[1].source == 'def double(x):\n    """Twice x."""\n    # YOUR CODE HERE\n    raise NotImplementedError()'
    assert cells[1].outputs == [] and cells[1].execution_count is None
    assert "double(-3)" not in cells[2].source and "double(2) == 4" in cells[2].source
    assert cells[3].source == grading.CODE_STUB  # a solution cell without markers: replaced whole
    assert cells[5].source == grading.TEXT_STUB
    assert cells[6].source == "print('free cell')"
    assert cells[2].metadata["editable"] is False and cells[2].metadata["deletable"] is False
    assert cells[2].metadata["nbgrader"]["points"] == 2  # kept: nbgrader can still grade the copy
    assert (stats.solutions, stats.hidden_tests, stats.graded_cells, stats.points) == (3, 1, 3, 6)
    assert "BEGIN" not in nbformat.writes(student)


@pytest.mark.parametrize("edit, message", [
    (lambda nb: nb.cells[1].metadata["nbgrader"].update(solution=False), "only allowed in solution cells"),
    (lambda nb: setattr(nb.cells[1], "source", "### BEGIN SOLUTION\nx = 1"), "has no matching"),
    (lambda nb: setattr(nb.cells[2], "source", "### BEGIN HIDDEN TESTS\n### BEGIN HIDDEN TESTS"), "nested"),
    (lambda nb: nb.cells[4].metadata["nbgrader"].update(grade_id="double_tests"), "duplicate grade_id"),
    (lambda nb: nb.cells[4].metadata["nbgrader"].pop("points"), "has no points"),
    (lambda nb: nb.cells[5].metadata["nbgrader"].update(grade=False), "must be both"),
])
def test_release_rejects_broken_markup_and_writes_nothing(tmp_path: Path, edit, message) -> None:
    nb = tiny_source()
    edit(nb)
    nbformat.write(nb, tmp_path / "broken.ipynb")
    with pytest.raises(grading.MarkupError, match=message):
        grading.release(tmp_path / "broken.ipynb", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_release_refuses_to_overwrite_student_work_unless_forced(tmp_path: Path, capsys) -> None:
    src = tmp_path / "source" / "hw1"
    src.mkdir(parents=True)
    nbformat.write(tiny_source(), src / "hw.ipynb")
    (src / "data.csv").write_text("a,b\n1,2\n")
    dest = tmp_path / "handout"

    assert main(["assignments", "release", str(tmp_path / "source"), str(dest)]) == 0
    assert "released" in capsys.readouterr().out
    released = dest / "hw1" / "hw.ipynb"
    assert (dest / "hw1" / "data.csv").read_text() == "a,b\n1,2\n"
    student_work = released.read_text().replace("raise NotImplementedError()", "return x + x")
    released.write_text(student_work)

    assert main(["assignments", "release", str(tmp_path / "source"), str(dest)]) == 2
    err = capsys.readouterr().err
    assert "release refused" in err and "hw.ipynb" in err and "--force" in err
    assert released.read_text() == student_work, "a student's work must never be overwritten"

    assert main(["assignments", "release", str(tmp_path / "source"), str(dest), "--force"]) == 0
    assert "raise NotImplementedError()" in released.read_text()


def test_release_refuses_a_destination_inside_the_source(tmp_path: Path) -> None:
    nbformat.write(tiny_source(), tmp_path / "hw.ipynb")
    with pytest.raises(ValueError, match="inside it"):
        grading.release(tmp_path, tmp_path / "handout")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        grading.release(tmp_path / "missing", tmp_path.parent / "x")


def _executed(source: str, outputs: list, points: float = 2, **kind) -> nbformat.NotebookNode:
    cell = _cell(new_code_cell(source), "q", points=points, **(kind or {"grade": True, "locked": True}))
    cell.outputs = outputs
    return cell


CASES = {
    "passed": [new_output("stream", name="stdout", text="✅ Correct: fine\n")],
    "error": [new_output("error", ename="AssertionError", evalue="double(2) should be 4", traceback=[])],
    "stderr": [new_output("stream", name="stderr", text="a warning\n")],
    "partial": [new_output("execute_result", data={"text/plain": "1.5"}, execution_count=1)],
    "not a number": [new_output("execute_result", data={"text/plain": "'hello'"}, execution_count=1)],
    "nothing": [],
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_grade_cell_scores_like_nbgrader(case: str) -> None:
    from nbgrader.utils import determine_grade

    cell = _executed("x = 1", CASES[case])
    ours = grading.grade_cell(cell)
    assert (ours.score, ours.points) == tuple(float(v) for v in determine_grade(cell))
    if case == "error":
        assert ours.message == "double(2) should be 4" and ours.status == "failed"


def test_written_answers_score_zero_unanswered_and_go_to_the_teacher_otherwise() -> None:
    blank = _cell(new_markdown_cell(grading.TEXT_STUB), "why", grade=True, solution=True, points=3)
    answered = _cell(new_markdown_cell("Because."), "why", grade=True, solution=True, points=3)
    assert grading.grade_cell(blank).score == 0
    by_hand = grading.grade_cell(answered)
    assert by_hand.score is None and by_hand.status == "by hand"


def test_restore_locked_cells_puts_back_hidden_tests_and_keeps_answers() -> None:
    source = tiny_source()
    student, _ = grading.release_notebook(source)
    student.cells[1].source = "def double(x):\n    return x * 2"
    student.cells[4].source = "pass  # a student 'fixed' the test"
    notes = grading.restore_locked_cells(student, source)
    assert "double(-3)" in student.cells[2].source  # hidden tests are back
    assert student.cells[4].source == source.cells[4].source
    assert student.cells[1].source == "def double(x):\n    return x * 2"
    assert notes == ["cell 'answer_tests' was changed; the original was put back"]


@pytest.mark.slow
def test_check_runs_a_submission_with_the_hidden_tests(tmp_path: Path, capsys) -> None:
    source = tiny_source()
    nbformat.write(source, tmp_path / "hw_source.ipynb")
    student, _ = grading.release_notebook(source)
    student.cells[1].source = "def double(x):\n    return x + 2  # right for 2 only"
    student.cells[3].source = "answer = 42"
    submitted = tmp_path / "alice" / "hw.ipynb"
    submitted.parent.mkdir()
    nbformat.write(student, submitted)
    before = submitted.read_text()

    assert main(["assignments", "check", str(submitted), "--source", str(tmp_path / "hw_source.ipynb")]) == 0
    out = capsys.readouterr().out
    assert "double_tests" in out and "0 / 2  failed: double(-3) should be -6" in out
    assert "1 / 1  passed" in out and "0 / 3  unanswered" in out
    assert "total" in out and "1 / 6" in out
    assert submitted.read_text() == before, "checking never changes the student's file"

    (tmp_path / "empty").mkdir()
    report = grading.check_notebook(submitted, source=tmp_path / "empty")
    assert report.scores()["double_tests"] == 2  # only the visible test ran
    assert report.notes == ["no source notebook found: hidden tests were not run (pass --source)"]


# ---- the assignments themselves -------------------------------------------------------------


@pytest.mark.parametrize("source, title, minutes", [(SOURCE, "# Assignment", "minutes"), (ZH_SOURCE, "# 作业", "分钟")],
                         ids=["en", "zh"])
def test_there_are_at_least_three_assignments_in_valid_nbgrader_markup(source: Path, title: str, minutes: str) -> None:
    from nbgrader.nbgraderformat import MetadataValidator

    notebooks = sorted(source.glob("*/*.ipynb"))
    assert [p.parent.name for p in notebooks] == list(ALL)
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        MetadataValidator().validate_nb(nb)
        grading.validate_markup(nb, str(path))
        kinds = [grading.cell_kind(c) for c in nb.cells]
        assert "autograded answer" in kinds and "autograder tests" in kinds, path
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        assert "fashion_cnn" not in code and "mobilenet_v2" not in code, f"{path}: read the backbone from the track"
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), f"{path}: commit without outputs"
        assert nb.cells[0].source.startswith(title) and minutes in nb.cells[0].source


# ---- the check helpers: fair to any correct answer, helpful on a wrong one ------------------


@pytest.fixture
def base() -> keras.Model:
    keras.utils.set_random_seed(0)
    return backbones.load_backbone("fashion_cnn", weights=None)


def test_check_classifier_accepts_several_correct_ways(base: keras.Model) -> None:
    functional = transfer.build_classifier(base, 3)
    assert grade.check_classifier(functional, base, 3)

    other = backbones.load_backbone("fashion_cnn", weights=None)
    other.trainable = False
    sequential = keras.Sequential([keras.Input((32, 32, 1)), other, keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3, activation="softmax")])
    assert grade.check_classifier(sequential, other, 3)

    inlined = backbones.load_backbone("fashion_cnn", weights=None)
    inlined.trainable = False
    x = keras.layers.GlobalMaxPooling2D()(inlined.output)
    assert grade.check_classifier(keras.Model(inlined.input, keras.layers.Dense(3, activation="softmax")(x)), inlined, 3)


def test_check_classifier_explains_what_is_wrong(base: keras.Model) -> None:
    model = transfer.build_classifier(base, 3)
    assert "should be 3" not in grade.check_classifier(model, base, 3).message
    assert "shape (None, 5)" in grade.check_classifier(model, base, 5).message
    base.trainable = True
    assert "base.trainable = False" in grade.check_classifier(model, base, 3).message
    base.trainable = False
    logits = keras.Model(model.input, keras.layers.Dense(3)(model.layers[-2].output))
    assert "softmax" in grade.check_classifier(logits, base, 3).message
    stranger = backbones.load_backbone("fashion_cnn", weights=None)
    assert "the base you were given" in grade.check_classifier(model, stranger, 3).message


def _unfreeze_by_names(model: keras.Model, depth: int) -> None:
    """Another correct solution: by layer-name prefixes instead of the registry's groups."""
    base, spec = transfer.find_backbone(model)
    base.trainable = True
    top = spec.block_names[spec.num_blocks - depth:] if depth else ()
    for layer in base.layers:
        layer.trainable = layer.name.split("_")[0] in top and "_bn" not in layer.name


@pytest.mark.parametrize("depth", [0, 1, 3, 4])
def test_check_unfrozen_accepts_any_correct_unfreezing(base: keras.Model, depth: int) -> None:
    model = transfer.build_classifier(base, 5)
    transfer.unfreeze_top(model, depth)
    assert grade.check_unfrozen(model, depth), grade.check_unfrozen(model, depth).message
    _unfreeze_by_names(model, 4)
    _unfreeze_by_names(model, depth)
    assert grade.check_unfrozen(model, depth), grade.check_unfrozen(model, depth).message


def test_check_unfrozen_names_the_mistake(base: keras.Model) -> None:
    model = transfer.build_classifier(base, 5)
    transfer.unfreeze_top(model, 2)
    model.get_layer(base.name).get_layer("block4_bn1").trainable = True
    assert "BatchNorm layer 'block4_bn1'" in grade.check_unfrozen(model, 2).message
    transfer.unfreeze_top(model, 3)
    assert "block2 should stay frozen" in grade.check_unfrozen(model, 2).message
    transfer.unfreeze_top(model, 1)
    assert "block3 is one of the top 2" in grade.check_unfrozen(model, 2).message


@pytest.mark.slow
def test_check_fine_tuned_measures_the_weights(base: keras.Model) -> None:
    x = np.random.default_rng(0).uniform(0, 255, (16, 32, 32, 1)).astype("float32")
    y = np.arange(16) % 5
    model = transfer.build_classifier(base, 5)
    compile_classifier(model, 1e-3)
    transfer.unfreeze_top(model, 2)
    before = grade.weight_values(model)
    model.fit(x, y, epochs=1, verbose=0)  # forgot to recompile: still the head's learning rate
    assert "compiled again" in grade.check_fine_tuned(model, before, 2).message

    before = grade.weight_values(model)
    compile_classifier(model, 1e-5)
    model.fit(x, y, epochs=1, verbose=0)
    feedback = grade.check_fine_tuned(model, before, 2)
    assert feedback, feedback.message

    for layer in model.get_layer(base.name).layers:  # BatchNorm unfrozen: its statistics drift
        layer.trainable = layer.name.startswith(("block3", "block4"))
    before = grade.weight_values(model)
    compile_classifier(model, 1e-5)
    model.fit(x, y, epochs=1, verbose=0)
    assert "BatchNorm layer" in grade.check_fine_tuned(model, before, 2).message


@pytest.mark.slow
def test_the_judges_hold_the_evidence_to_their_own_copy_of_the_backbone() -> None:
    """What a kernel publishes must list the backbone's real layers; 'pretrained' must be the grader's weights."""
    import copy

    keras.utils.set_random_seed(0)
    model = transfer.build_classifier(backbones.load_backbone("fashion_cnn"), 5)
    compile_classifier(model, 1e-3)
    transfer.unfreeze_top(model, 2)
    before = grade.weight_values(model)
    compile_classifier(model, 1e-4)
    model.fit(np.random.default_rng(0).uniform(0, 255, (16, 32, 32, 1)), np.arange(16) % 5, epochs=1, verbose=0)

    found = grade.fine_tuned_evidence(model, before)
    assert grade.judge_fine_tuned(found, 2, pretrained=True)
    forged = copy.deepcopy(found)
    forged["layers"][0][2] = ["0" * 16] * len(forged["layers"][0][2])  # 'before' was not the pretrained weights
    assert "was not the pretrained fashion_cnn" in grade.judge_fine_tuned(forged, 2, pretrained=True).message
    assert "lacks layer 'block1_conv1'" in grade.judge_fine_tuned({**found, "layers": found["layers"][1:]}, 2, True).message

    unfrozen = grade.unfrozen_evidence(model)
    assert grade.judge_unfrozen(unfrozen, 2)
    lying = copy.deepcopy(unfrozen)
    lying["base"][0][3] = lying["base"][0][2]  # block1's first layer trains: the grader places it in block1 itself
    assert "block1 should stay frozen" in grade.judge_unfrozen(lying, 2).message
    assert "exactly the pretrained one" in grade.judge_own_model(
        grade.own_model_evidence(transfer.build_classifier(backbones.load_backbone("fashion_cnn"), 5), 5)).message


def _prepare_numpy(images, backbone, size):
    """Another correct solution: nearest-neighbour resizing in NumPy, the registry's preprocess."""
    spec = backbones.get_spec(backbone)
    rows = (np.arange(size) * images.shape[1] / size).astype(int)
    cols = (np.arange(size) * images.shape[2] / size).astype(int)
    x = images[:, rows][:, :, cols].astype("float32")
    if x.shape[-1] != spec.channels:
        x = np.repeat(x, 3, axis=-1) if spec.channels == 3 else x.mean(axis=-1, keepdims=True)
    return np.asarray(spec.preprocess(x))


@pytest.mark.parametrize("backbone", ["fashion_cnn", "resnet50", "mobilenet_v2"])
@pytest.mark.parametrize("in_channels", [1, 3])
def test_check_prepare_accepts_different_correct_implementations(backbone: str, in_channels: int) -> None:
    for prepare in (lambda x, b, s: to_model_input(x, b, s), _prepare_numpy):
        feedback = grade.check_prepare(prepare, backbone, 32, in_channels)
        assert feedback, feedback.message


@pytest.mark.parametrize("mistake, message", [
    (lambda x, b, s: prepare_images(x, s, 3), "preprocess_input is missing"),
    (lambda x, b, s: to_model_input(np.asarray(x) / 255.0, b, s), "scaled to 0..1"),
    (lambda x, b, s: to_model_input(np.asarray(x)[..., ::-1], b, s), "wrong order"),
    (lambda x, b, s: to_model_input(x, "mobilenet_v2", s), "mobilenet_v2's preprocessing"),
    (lambda x, b, s: to_model_input(x, b, 16), "should return shape (3, 32, 32, 3)"),
])
def test_check_prepare_diagnoses_common_mistakes(mistake, message: str) -> None:
    feedback = grade.check_prepare(mistake, "resnet50", 32, in_channels=3)
    assert not feedback and message in feedback.message, feedback.message


def test_check_prepare_on_the_bundled_backbone_says_it_rescales_itself() -> None:
    feedback = grade.check_prepare(lambda x, b, s: to_model_input(x, b, s) / 255.0, "fashion_cnn", 32)
    assert "rescales raw 0..255 pixels itself" in feedback.message


def test_the_pipeline_answer_key_is_what_the_pipelines_do() -> None:
    """Run every candidate pipeline: the 'fine' ones match ResNet50's contract, the others do not."""
    import tensorflow as tf

    images = np.random.default_rng(0).integers(0, 256, (2, 28, 28, 3), dtype=np.uint8)
    S = 32
    expected = to_model_input(images, "resnet50", S).numpy()
    for letter, pipeline in grade.PIPELINES.items():
        scope = {"tf": tf, "keras": keras, "images": tf.constant(images), "S": S}
        exec(pipeline.code, scope)
        got = np.asarray(scope["x"])
        matches = got.shape == expected.shape and np.allclose(got, expected, atol=0.5)
        assert matches != pipeline.wrong, f"pipeline {letter}: the answer key says wrong={pipeline.wrong}"
    assert grade.check_wrong_pipelines({"B", "C", "D", "F", "G"})
    assert grade.check_wrong_pipelines("b, c, d, f, g")
    feedback = grade.check_wrong_pipelines({"B", "E"})  # E is fine; C, D, F, G are missing
    assert not feedback and "1 of the pipelines you listed is fine" in feedback.message
    assert "4 broken pipelines are missing" in feedback.message and "E is fine" not in feedback.message
    assert "Not yet" in repr(grade.check_wrong_pipelines(None))


def test_the_challenge_hides_test_labels_and_checks_target_and_budget() -> None:
    x = np.zeros((8, 4, 4, 1), np.uint8)
    y = np.repeat([0, 1], 4)
    task = make_task("toy", (x, y), (x, y), ("a", "b"), 2, 1)
    hidden = grade.without_test_labels(task)
    assert len(hidden.y_test) == 8 and repr(hidden.y_test) == "<8 hidden test labels>"
    with pytest.raises(grade.HiddenLabelsError, match="validation split"):
        np.mean(np.zeros(8) == hidden.y_test)

    rules = grade.Challenge(2, 1, 4, target_accuracy=0.75, budget_seconds=5, basis="test")
    assert grade.check_challenge(y.copy(), 1.0, task, rules)
    low = grade.check_challenge(1 - y, 1.0, task, rules)
    assert "below the target 0.75" in low.message
    slow = grade.check_challenge(y.copy(), 9.0, task, rules)
    assert "over the budget of 5 s" in slow.message
    assert "argmax(axis=1)" in grade.check_predictions(np.ones((8, 2)), task).message

    predictions, seconds = grade.run_timed(lambda t: np.zeros(len(t.x_test), int), task, budget=5)
    assert predictions.shape == (8,) and seconds < 5


def test_stderr_as_notes_keeps_warnings_and_cpp_logs_off_stderr(capfd) -> None:
    assert grade.quiet is grade.stderr_as_notes  # the name assignments/README.md uses
    with grade.stderr_as_notes():
        warnings.warn("a library warning")
        sys.stderr.write("python stderr\n")
        os.write(2, b"C++ stderr\n")
    out, err = capfd.readouterr()
    assert err == ""
    assert "note: UserWarning: a library warning" in out and "python stderr" in out and "C++ stderr" in out


def test_the_facade_holds_every_assignment_check_and_judge() -> None:
    """assignment_checks re-exports the four assignment modules' names; its JUDGES gathers theirs, in order."""
    from tlhelpers.exercises import a1_freezing, a2_preprocessing, a3_label_budget, a4_own_images, assignment_common

    modules = (a1_freezing, a2_preprocessing, a3_label_budget, a4_own_images)
    for module in (*modules, assignment_common):
        names = [name for name in module.__all__ if name != "JUDGES"]
        assert all(getattr(grade, name) is getattr(module, name) for name in names if name in grade.__all__)
    for module in modules:
        assert {name for name in module.__all__ if name != "JUDGES"} <= set(grade.__all__), module.__name__
    assert list(grade.JUDGES) == [name for module in modules for name in module.JUDGES]
    assert list(grade.JUDGES) == ["classifier", "unfrozen", "fine_tuned", "prepare", "wrong_pipelines_format",
                                  "wrong_pipelines", "solve", "predictions", "challenge", "own_folder", "folder_task",
                                  "own_model", "predict", "predict_file"]


def test_folder_checks(tmp_path: Path) -> None:
    folder = make_stripes(tmp_path / "my_images", per_class=10)
    task = load_folder_task(folder, labels_per_class=5, val_per_class=2, image_size=(32, 32))
    assert grade.check_folder_task(task, folder)
    leaky = make_task("leaky", (task.x_train, task.y_train), (task.x_train, task.y_train), task.class_names, 3, 1)
    assert "must be held out" in grade.check_folder_task(leaky, folder).message
    renamed = dataclasses.replace(task, class_names=("a", "b"))
    assert "sub-folders" in grade.check_folder_task(renamed, folder).message

    by_path = lambda path: "vertical" if "vertical" in str(path) else "horizontal"  # noqa: E731
    assert grade.check_predict_file(by_path, folder, task.class_names)
    assert "should return a class name" in grade.check_predict_file(lambda p: 0, folder, task.class_names).message
    with pytest.raises(FileExistsError, match="not empty"):
        grade.make_demo_folder(folder)


def test_check_own_model_compares_with_the_pretrained_backbone() -> None:
    track = current_track()
    base = backbones.load_backbone(track.backbone, input_size=track.input_size)
    model = transfer.build_classifier(base, 2)
    assert "exactly the pretrained one" in grade.check_own_model(model, 2).message
    top = backbones.block_of_layers(base, track.backbone)[backbones.get_spec(track.backbone).block_names[-1]]
    conv = next(l for l in top if l.weights and not isinstance(l, keras.layers.BatchNormalization))
    conv.weights[0].assign(conv.weights[0] * 1.01)
    assert grade.check_own_model(model, 2), grade.check_own_model(model, 2).message
    bn = next(l for l in top if isinstance(l, keras.layers.BatchNormalization))
    bn.moving_mean.assign(bn.moving_mean + 1.0)
    assert "BatchNorm layer" in grade.check_own_model(model, 2).message


@pytest.mark.slow
def test_the_checks_work_on_an_imagenet_backbone_too() -> None:
    base = backbones.load_backbone("mobilenet_v2", weights=None, input_size=32)
    model = transfer.build_classifier(base, 10)
    assert grade.check_classifier(model, base, 10), grade.check_classifier(model, base, 10).message
    for depth in (0, 2, 8):
        transfer.unfreeze_top(model, depth)
        assert grade.check_unfrozen(model, depth), grade.check_unfrozen(model, depth).message
    assert "stem should stay frozen (only the top 1 block(s) train)" in grade.check_unfrozen(model, 1).message


def test_demo_folder_has_one_sub_folder_per_class(tmp_path: Path) -> None:
    folder = grade.make_demo_folder(tmp_path / "my_images", per_class=3, track=current_track("offline"))
    assert sorted(p.name for p in folder.iterdir()) == ["bag", "pullover", "sneaker"]
    assert all(len(list(d.glob("*.png"))) == 3 for d in folder.iterdir())


def test_check_cli_reports_a_missing_notebook(tmp_path: Path, capsys) -> None:
    assert main(["assignments", "check", str(tmp_path / "nope.ipynb")]) == 2
    assert "check failed: notebook" in capsys.readouterr().err


# ---- the real nbgrader, and the built-in check, on the assignments ---------------------------

NBGRADER_CONFIG = """
c = get_config()
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = "tl-test"
c.Execute.timeout = 600
"""


def _nbgrader(root: Path, *args: str, background: bool = False):
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "TF_CPP_MIN_LOG_LEVEL": "2"}
    command = [str(BIN / "nbgrader"), *args]
    if background:
        return subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def course(request: pytest.FixtureRequest, tmp_path_factory) -> dict:
    """nbgrader's and the built-in release and grading of the assignments, in one course folder.

    Only the assignments the selected tests name: all four in ``make test``, the small one
    alone when ``slow`` tests are left out (``pytest -m "not slow"``).
    """
    wanted = {  # (nbval's notebook cells have no fixtures)
        item.callspec.params["name"] for item in request.session.items if "course" in getattr(item, "fixturenames", ())
    }
    wanted |= {name.removeprefix("zh_") for name in wanted & set(ZH_GRADED)}  # graded twins are compared with the English
    root = tmp_path_factory.mktemp("course")
    (root / "nbgrader_config.py").write_text(NBGRADER_CONFIG.format(root=str(root)))
    for name in sorted(wanted):
        shutil.copytree(course_source(name), root / "source" / name)
    _nbgrader(root, "generate_assignment", "*")  # every assignment in source/
    ours = subprocess.run(
        [sys.executable, "-m", "tlhelpers", "assignments", "release", str(root / "source"), str(root / "ours")],
        capture_output=True, text=True, timeout=300,
    )
    assert ours.returncode == 0, ours.stderr

    graded_here = [name for name in (*GRADED, *ZH_GRADED) if name in wanted]
    for name in graded_here:  # a reference submission (the source) and a blank one (our student version)
        shutil.copytree(root / "source" / name, root / "submitted" / "reference" / name)
        shutil.copytree(root / "ours" / name, root / "submitted" / "blank" / name)
        if name.removeprefix("zh_") == "a4_own_images":
            for student in ("reference", "blank"):
                make_stripes(root / "submitted" / student / name / "my_images")
    nbgrader = _nbgrader(root, "autograde", "*", background=True)  # every assignment in submitted/
    checked = {}
    try:
        for name in graded_here:  # meanwhile, the built-in check on copies of the same submissions
            for student in ("reference", "blank"):
                folder = root / "checked" / student / name
                shutil.copytree(root / "submitted" / student / name, folder)
                notebook = next(folder.glob("*.ipynb"))
                checked[student, name] = grading.check_notebook(notebook, source=root / "source" / name / notebook.name)
        if "a3_label_budget" in wanted:
            checked["reference", "a3_label_budget"] = grading.check_notebook(root / "source" / "a3_label_budget" / "label_budget.ipynb")
        log, _ = nbgrader.communicate(timeout=1800)
    finally:
        if nbgrader.poll() is None:
            nbgrader.kill()
    assert nbgrader.returncode == 0, log

    from nbgrader.api import Gradebook

    graded = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        for name in graded_here:
            notebook = next((root / "source" / name).glob("*.ipynb")).stem
            for student in ("reference", "blank"):
                submission = gradebook.find_submission_notebook(notebook, name, student)
                graded[student, name] = {
                    g.name: (g.auto_score, g.max_score, g.needs_manual_grade) for g in submission.grades
                }
    return {"root": root, "checked": checked, "graded": graded, "log": log}


@pytest.mark.system  # nbgrader and the built-in check, on real submissions
@pytest.mark.parametrize("name", each(ALL + ZH_ALL))
def test_our_release_is_nbgraders_student_version(course: dict, name: str) -> None:
    root = course["root"]
    released = sorted((root / "release" / name).glob("*.ipynb"))
    assert released, f"nbgrader released no notebook of {name}"
    for path in released:
        theirs = nbformat.read(path, as_version=4)
        ours = nbformat.read(root / "ours" / name / path.name, as_version=4)
        assert [c.cell_type for c in ours.cells] == [c.cell_type for c in theirs.cells]
        assert [c.source for c in ours.cells] == [c.source for c in theirs.cells]
        for a, b in zip(ours.cells, theirs.cells):
            b.metadata.get("nbgrader", {}).pop("checksum", None)
            assert a.metadata == b.metadata


@pytest.mark.system  # nbgrader and the built-in check, on real submissions
@pytest.mark.parametrize("name", each(GRADED + ZH_GRADED))
def test_nbgrader_gives_full_marks_to_the_reference_and_zero_to_the_student_version(course: dict, name: str) -> None:
    reference, blank = course["graded"]["reference", name], course["graded"]["blank", name]
    assert reference and set(reference) == set(blank)
    for cell, (score, points, manual) in reference.items():
        if manual:  # a written answer: the teacher grades it
            assert score is None
        else:
            assert score == points, f"{name}/{cell}: the reference solution scored {score} of {points}"
    assert all(score == 0 for score, _, _ in blank.values())
    autograded = course["root"] / "autograded" / "reference" / name
    for path in autograded.glob("*.ipynb"):
        errors = [o for c in nbformat.read(path, as_version=4).cells for o in c.get("outputs", []) if o.output_type == "error"]
        assert not errors, f"{path.name}: {errors[0].ename}: {errors[0].evalue}"


@pytest.mark.system  # nbgrader and the built-in check, on real submissions
@pytest.mark.parametrize("name", each(GRADED + ZH_GRADED))
@pytest.mark.parametrize("student", ["reference", "blank"])
def test_the_built_in_check_gives_nbgraders_scores(course: dict, name: str, student: str) -> None:
    ours = course["checked"][student, name].scores()
    theirs = {cell: score for cell, (score, _, _) in course["graded"][student, name].items()}
    assert ours == theirs, str(course["checked"][student, name])


@pytest.mark.system  # nbgrader and the built-in check, on real submissions
@pytest.mark.parametrize("name", each(("a3_label_budget",)))
def test_the_label_budget_reference_reaches_the_target_on_two_draws(course: dict, name: str) -> None:
    report = course["checked"]["reference", name]
    assert report.score == report.max_score == 5, str(report)


@pytest.mark.system  # nbgrader and the built-in check, on real submissions
@pytest.mark.parametrize("name", each(ZH_GRADED))
def test_the_chinese_twin_scores_like_the_english_and_speaks_chinese(course: dict, name: str) -> None:
    """nbgrader scores the Chinese twin cell for cell like the English; its checks' messages are Chinese."""
    import re

    english = name.removeprefix("zh_")
    for student in ("reference", "blank"):
        assert course["graded"][student, name] == course["graded"][student, english], student
    autograded = course["root"] / "autograded" / "reference" / name
    nb = nbformat.read(next(autograded.glob("*.ipynb")), as_version=4)
    shown = "".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", "")) for c in nb.cells
                    if c.metadata.get("nbgrader", {}).get("grade") for o in c.get("outputs", []))
    assert re.search(r"[\u4e00-\u9fff]", shown), f"no Chinese in the test cells' outputs: {shown[:500]}"
    assert "✅" in shown and not any(o.output_type == "stream" and o.name == "stderr" for c in nb.cells for o in c.get("outputs", []))
