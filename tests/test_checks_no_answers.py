"""No exercise or assignment check gives the answer away.

Every ``check_*`` function of ``tlhelpers.exercises`` (lesson 03 aside: its checks read the
student's own model and run, and tests/test_exercises_03.py holds them to it) is called with ``None`` and with plausible wrong answers; everything it
shows (the message, its text and HTML display, anything printed, any exception) must not
contain the expected answer. The expected answers are computed here, independently of the
checks: the real parameter count of the head, the shape of the maps of the architecture
built here, the pixel through Keras' own ``preprocess_input``, and so on. The test also
makes sure every check function has a case here, so a new check cannot skip it.

Right answers may still say what is right and why (they do, and some are checked below).
"""

from __future__ import annotations

import contextlib
import html
import inspect
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import keras
import numpy as np
import pandas as pd
import pytest

from tlhelpers import backbones, transfer
from tlhelpers.config import PACKAGE_DIR, current_track
from tlhelpers.data import make_task
from tlhelpers.evaluation import Evaluation
from tlhelpers.exercises import assignment_checks as grade
from tlhelpers.exercises import (
    lesson00,
    lesson01,
    lesson02,
    lesson04,
    lesson05,
    lesson06,
    lesson07,
)
from tlhelpers.lr_finder import LRFinder
from tlhelpers.training import compile_classifier
from tlhelpers.tuning import SearchSpace
from tlhelpers.verdict import Verdict

MODULES = (lesson00, lesson01, lesson02, lesson04, lesson05, lesson06, lesson07, grade)
NOTEBOOKS = PACKAGE_DIR.parent / "notebooks"


def shown(call: Callable[[], Any]) -> str:
    """Everything a student would see from one call: result (text and HTML), prints, errors."""
    out = io.StringIO()
    parts = []
    try:
        with contextlib.redirect_stdout(out):
            result = call()
    except Exception as err:  # a crash shows its message too
        parts.append(f"{type(err).__name__}: {err}")
    else:
        if isinstance(result, Verdict):
            assert not result.ok, f"a wrong answer passed: {result!r}"
            parts += [result.message, repr(result), html.unescape(result._repr_html_() or "")]
        else:
            parts.append(repr(result))
    parts.append(out.getvalue())
    return "\n".join(parts)


def number_forms(value: float) -> set[str]:
    """The ways a message could write ``value``."""
    forms = {f"{value:g}", f"{value:.2f}", f"{value:.3f}", f"{value:.3g}", f"{value:.4g}", repr(float(value))}
    if float(value).is_integer():
        forms |= {str(int(value)), f"{int(value):,}"}
    return forms


@dataclass
class Case:
    """One check: the calls that must not reveal the answer, and the forms that answer takes.

    ``options`` lists a choice question's options: a message may list them all (that is
    the question), but not name the right one on its own.
    """

    calls: list[Callable[[], Any]]
    forbidden: set[str]
    options: tuple[str, ...] = ()
    fixtures: dict = field(default_factory=dict)


def _leaks(text: str, case: Case) -> list[str]:
    if case.options and all(option in text for option in case.options):
        return []  # all options listed: that is the question, not its answer
    return sorted(form for form in case.forbidden if form in text)


# ---- the cases: expected answers computed here --------------------------------------------


def _tiny_model(num_outputs: int = 2) -> keras.Model:
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(num_outputs)])


def cases(tmp_path: Path) -> dict[str, Case]:
    offline = current_track("offline")

    # lesson 00
    update = 2.0 - 0.1 * 0.5

    # lesson 01: the head's parameters, counted on a real layer; the maps of the architecture built here
    pooled = backbones.load_backbone("fashion_cnn", weights=None, pooling="avg")
    head = keras.layers.Dense(5)
    head.build(pooled.output.shape)
    head_params = head.count_params()
    maps = keras.Model(*(lambda m: (m.inputs, m.get_layer(backbones.BUNDLED_TOP_LAYER).output))(
        backbones.build_fashion_cnn(input_size=64)))
    big = tuple(maps.output.shape)  # (None, 8, 8, 256)
    resnet_blocks = backbones.get_spec("resnet50").block_names

    # lesson 02: the red pixel through Keras' own ResNet50 preprocessing
    red = keras.applications.resnet50.preprocess_input(np.array([[[[255.0, 0.0, 0.0]]]], np.float32)).reshape(-1)
    raw = np.random.default_rng(0).integers(0, 256, (2, 8, 8, 3)).astype(np.uint8)
    prepared = keras.applications.resnet50.preprocess_input(raw.astype(np.float32))

    # lesson 04: a recorded LR sweep whose loss is lowest at 1e-3 and explodes at 1e-1; a block's rate
    finder = LRFinder(min_lr=1e-6, max_lr=1.0, steps=100)
    lrs = np.array([finder.lr_at(i) for i in range(84)])
    smooth = np.where(lrs <= 1e-3, 1.0 - 0.1 * np.log10(lrs / 1e-6), 0.7 + 2.0 * np.log10(lrs / 1e-3))
    finder.lrs, finder.smoothed, finder.losses = list(lrs), list(smooth), list(smooth)
    finder.diverged_lr = float(lrs[-1])
    lowest = float(lrs[int(smooth.argmin())])
    block_rate = 1e-3 * 0.5 ** 3
    toolkit_model = transfer.build_classifier(backbones.load_backbone("fashion_cnn", weights=None), 5)

    # lesson 05: a confusion matrix with a clear answer (rows: true class, columns: predicted)
    names = ("Trouser", "Coat", "Shirt")
    y_true = np.array([0] * 6 + [1] * 8 + [2] * 4)
    y_pred = np.array([0] * 4 + [2] * 2 + [0] * 3 + [1] * 5 + [1] + [2] * 3)
    evaluation = Evaluation(y_true, np.eye(3)[y_pred], names)
    cm = evaluation.confusion
    coat = names.index("Coat")
    column = cm[:, coat].copy()
    column[coat] = 0
    source_of_false_coats = names[int(column.argmax())]
    top_count = float(cm[0, 2])  # Trouser's most frequent mistake: Shirt
    top_share, top_column = top_count / cm[0].sum(), top_count / cm[:, 2].sum()

    # lesson 06
    share = (1e-3 - 1e-5) / (1e-2 - 1e-5)

    # lesson 07
    cost = pd.DataFrame({"method": ["fine_tune", "small_input"] * 2, "train_images": [80, 80, 480, 480],
                         "seconds": [1.0, 0.9, 4.0, 3.0], "test_accuracy": [0.5] * 4})
    forgetting = pd.DataFrame({"target_accuracy": [0.52, 0.70, 0.71], "forgotten": [0.01, 0.60, 0.20],
                               "feature_similarity": [0.99, 0.30, 0.80]},
                              index=["low lr, all blocks", "high lr, all blocks", "high lr, top block"])
    adapted = forgetting.index[forgetting.target_accuracy >= forgetting.target_accuracy.max() - 0.03]
    keep_and_adapt = forgetting.loc[adapted, "forgotten"].idxmin()

    # assignments
    base = backbones.load_backbone("fashion_cnn", weights=None)
    classifier = transfer.build_classifier(base, 5)
    transfer.unfreeze_top(classifier, 3)  # asked: 2
    hot = transfer.build_classifier(backbones.load_backbone("fashion_cnn", weights=None), 5)
    compile_classifier(hot, 1e-2)  # fine-tuning at the head's rate
    grey = np.full((1, 1, 1, 3), 128.0, np.float32)
    grey_ready = keras.applications.resnet50.preprocess_input(grey.copy()).reshape(-1)
    black_ready = keras.applications.resnet50.preprocess_input(np.zeros((1, 1, 1, 3), np.float32)).reshape(-1)
    pixel_forms = set().union(*(number_forms(round(float(v), 3)) for v in (*grey_ready, *black_ready)))
    pixel_forms -= {"0", "0.0", "0.00", "0.000"}
    wrong_letters = {k for k, p in grade.PIPELINES.items() if p.wrong}
    x = np.zeros((8, 4, 4, 1), np.uint8)
    y = np.repeat([0, 1], 4)
    toy = make_task("toy", (x, y), (x, y), ("a", "b"), 2, 1)
    rules = grade.Challenge(2, 1, 4, target_accuracy=0.75, budget_seconds=5, basis="test")
    demo = grade.make_demo_folder(tmp_path / "my_images", per_class=3, track=offline)

    return {
        "lesson00.check_update": Case(
            [lambda: lesson00.check_update(None), lambda: lesson00.check_update(2.05), lambda: lesson00.check_update(1.9),
             lambda: lesson00.check_update("two")],
            number_forms(update) | {"2.0 − 0.1 × 0.5", "2.0 - 0.1 * 0.5"}),
        "lesson00.check_frozen": Case(
            [lambda: lesson00.check_frozen(None), lambda: lesson00.check_frozen(lesson00.exercise_model())],
            {".trainable = False", "trainable=False"}),
        "lesson00.check_fixed_epochs": Case(
            [lambda: lesson00.check_fixed_epochs(None), lambda: lesson00.check_fixed_epochs("a"),
             lambda: lesson00.check_fixed_epochs("c"), lambda: lesson00.check_fixed_epochs("z")],
            {"(b)", "'b'"}, options=tuple(f"'{k}'" for k in "abcd")),
        "lesson01.check_head_parameters": Case(
            [lambda: lesson01.check_head_parameters(None, "fashion_cnn", 5),
             lambda: lesson01.check_head_parameters(head_params - 5, "fashion_cnn", 5),
             lambda: lesson01.check_head_parameters(999, "fashion_cnn", 5),
             lambda: lesson01.check_head_parameters("many", "fashion_cnn", 5)],
            number_forms(head_params)),
        "lesson01.check_feature_maps_at": Case(
            [lambda: lesson01.check_feature_maps_at(None, "fashion_cnn", 32),
             lambda: lesson01.check_feature_maps_at((None, 4, 4, 256), "fashion_cnn", 32),
             lambda: lesson01.check_feature_maps_at((None, 16, 16, 256), "fashion_cnn", 32),
             lambda: lesson01.check_feature_maps_at((None, 8, 8, 64), "fashion_cnn", 32)],
            {str(big), str(big[1:]), f"{big[1]}x{big[2]}", f"{big[1]}, {big[2]}, {big[3]}"}),
        "lesson01.check_top_blocks": Case(
            [lambda: lesson01.check_top_blocks(None), lambda: lesson01.check_top_blocks(["conv1", "conv2"]),
             lambda: lesson01.check_top_blocks("conv1"), lambda: lesson01.check_top_blocks(["conv2", "conv3"])],
            set(resnet_blocks[-2:]), options=resnet_blocks),
        "lesson02.check_preprocessed": Case(
            [lambda: lesson02.check_preprocessed(None, raw, "resnet50"), lambda: lesson02.check_preprocessed(raw, raw, "resnet50"),
             lambda: lesson02.check_preprocessed(raw / 255.0, raw, "resnet50")],
            {f"{prepared.min():.3f}", f"{prepared.max():.3f}", "preprocess_input(raw_batch.copy())"}),
        "lesson02.check_pixel_prediction": Case(
            [lambda: lesson02.check_pixel_prediction(None), lambda: lesson02.check_pixel_prediction((255, 0, 0)),
             lambda: lesson02.check_pixel_prediction((1, -1, -1)), lambda: lesson02.check_pixel_prediction((0, 0, 0)),
             lambda: lesson02.check_pixel_prediction((0, 0, 255))],
            set().union(*(number_forms(round(float(v), 3)) for v in red))),
        "lesson02.check_augmentation": Case(
            [lambda: lesson02.check_augmentation(None),
             lambda: lesson02.check_augmentation(keras.Sequential([keras.layers.RandomRotation(0.3)])),
             lambda: lesson02.check_augmentation(keras.Sequential([keras.layers.RandomFlip("vertical"),
                                                                   keras.layers.RandomRotation(0.1)]))],
            {"RandomRotation(0.1)", "RandomFlip('horizontal')", 'RandomFlip("horizontal")', "factor 0.1"}),
        "lesson04.check_lr_choice": Case(
            [lambda: lesson04.check_lr_choice(None, finder), lambda: lesson04.check_lr_choice(5e-3, finder),
             lambda: lesson04.check_lr_choice(0.5, finder), lambda: lesson04.check_lr_choice(1e-8, finder)],
            {f"{v:.2g}" for v in (lowest, finder.diverged_lr, finder.suggestion())}
            | {f"{v:g}" for v in (lowest, finder.diverged_lr, finder.suggestion())}),
        "lesson04.check_block_rate": Case(
            [lambda: lesson04.check_block_rate(None, toolkit_model), lambda: lesson04.check_block_rate(2.5e-4, toolkit_model),
             lambda: lesson04.check_block_rate(1e-3, toolkit_model), lambda: lesson04.check_block_rate("x", toolkit_model)],
            (number_forms(block_rate) | {f"{block_rate:.1e}", f"{block_rate:.2e}"}) - {"0.00", "0.000"}),
        "lesson05.check_false_alarm_source": Case(
            [lambda: lesson05.check_false_alarm_source(None, evaluation, "Coat"),
             lambda: lesson05.check_false_alarm_source("Coat", evaluation, "Coat"),
             lambda: lesson05.check_false_alarm_source(names[3 - coat - names.index(source_of_false_coats)], evaluation, "Coat")],
            {source_of_false_coats}, options=names),
        "lesson05.check_top_confusion": Case(
            [lambda: lesson05.check_top_confusion(None, evaluation, "Trouser"),
             lambda: lesson05.check_top_confusion(top_column, evaluation, "Trouser"),
             lambda: lesson05.check_top_confusion(100 * top_share, evaluation, "Trouser"),
             lambda: lesson05.check_top_confusion(top_count, evaluation, "Trouser"),
             lambda: lesson05.check_top_confusion(0.1, evaluation, "Trouser")],
            number_forms(top_share) | {f"{int(top_count)}/{int(cm[0].sum())}"}),
        "lesson05.check_saved_model": Case(
            [lambda: lesson05.check_saved_model(None, None, None),
             lambda: lesson05.check_saved_model(tmp_path / "missing.keras", None, None)],
            set()),
        "lesson06.check_uniform_share": Case(
            [lambda: lesson06.check_uniform_share(None), lambda: lesson06.check_uniform_share(0.5),
             lambda: lesson06.check_uniform_share(100 * share), lambda: lesson06.check_uniform_share(2 / 3)],
            {f"{share:.4f}", f"{share:.3f}", f"{share:.3g}", f"{share:.2g}", f"{100 * share:.1f}", "1 in 10",
             "1 draw in 10"}),
        "lesson06.check_search_space": Case(
            [lambda: lesson06.check_search_space(None, "fashion_cnn"),
             lambda: lesson06.check_search_space(SearchSpace(fine_lr=(1e-5, 1e-3), blocks=(1, 3), dropout=(0.0, 0.5)), "fashion_cnn"),
             lambda: lesson06.check_search_space(SearchSpace(fine_lr=(1e-5, 1e-3), blocks=(1, 3), dropout=(0.0, 0.5)), "mobilenet_v2")],
            {"(1, 2)", "(1, 4)", "half of them is"}),
        "lesson06.check_best_is_optimistic": Case(
            [lambda: lesson06.check_best_is_optimistic(None), lambda: lesson06.check_best_is_optimistic("a"),
             lambda: lesson06.check_best_is_optimistic("c"), lambda: lesson06.check_best_is_optimistic("z")],
            {"'b'"}, options=("'a'", "'b'", "'c'")),
        "lesson07.check_work_ratio": Case(
            [lambda: lesson07.check_work_ratio(None, "fashion_cnn", 32, 16, cost),
             lambda: lesson07.check_work_ratio(2, "fashion_cnn", 32, 16, cost),
             lambda: lesson07.check_work_ratio(1, "fashion_cnn", 32, 16, cost),
             lambda: lesson07.check_work_ratio(9, "fashion_cnn", 32, 16, cost),
             lambda: lesson07.check_work_ratio(None, "mobilenet_v2", 96, 48, cost)],
            {"4x", "4.0", "4.00", "four", "3.3", "(32 / 16)"}),
        "lesson07.check_per_replica": Case(
            [lambda: lesson07.check_per_replica(None, 64, 4), lambda: lesson07.check_per_replica(64, 64, 4),
             lambda: lesson07.check_per_replica(256, 64, 4), lambda: lesson07.check_per_replica(20, 64, 4),
             lambda: lesson07.check_per_replica("many", 64, 4)],
            {"16"}),
        "lesson07.check_adapt_and_keep": Case(
            [lambda: lesson07.check_adapt_and_keep(None, forgetting),
             lambda: lesson07.check_adapt_and_keep("low lr, all blocks", forgetting),
             lambda: lesson07.check_adapt_and_keep("high lr, all blocks", forgetting),
             lambda: lesson07.check_adapt_and_keep("medium", forgetting)],
            {keep_and_adapt}, options=tuple(forgetting.index)),
        "assignment_checks.check_classifier": Case(
            [lambda: grade.check_classifier(None, base, 3), lambda: grade.check_classifier(_tiny_model(), base, 3)],
            {"Dense(3"}),
        "assignment_checks.check_unfrozen": Case(
            [lambda: grade.check_unfrozen(None, 2), lambda: grade.check_unfrozen(classifier, 2),
             lambda: grade.check_unfrozen(_tiny_model(), 2)],
            {"unfreeze_top(model, 2)", "unfreeze_top(model, blocks=2)"}),
        "assignment_checks.check_fine_tuned": Case(
            [lambda: grade.check_fine_tuned(None, {}, 2), lambda: grade.check_fine_tuned(hot, grade.weight_values(hot), 2)],
            {"0.0001", "1e-4", "1e-04", "1e-5", "1e-05", "Adam(1e-5)"}),
        "assignment_checks.check_prepare": Case(
            [lambda: grade.check_prepare(None, "resnet50", 32, 3),
             lambda: grade.check_prepare(lambda images, b, s: np.asarray(keras.ops.image.resize(images, (s, s))), "resnet50", 32, 3),
             lambda: grade.check_prepare(lambda images, b, s: keras.applications.mobilenet_v2.preprocess_input(
                 np.asarray(keras.ops.image.resize(images, (s, s)))), "resnet50", 32, 3)],
            pixel_forms | {"-123.68", "151.061", "151.1"}),
        "assignment_checks.check_wrong_pipelines_format": Case(
            [lambda: grade.check_wrong_pipelines_format(None), lambda: grade.check_wrong_pipelines_format({"Z"})],
            {", ".join(sorted(wrong_letters)), str(sorted(wrong_letters))}),
        "assignment_checks.check_wrong_pipelines": Case(
            [lambda: grade.check_wrong_pipelines(None), lambda: grade.check_wrong_pipelines({"B", "E"}),
             lambda: grade.check_wrong_pipelines(set()), lambda: grade.check_wrong_pipelines(set(grade.PIPELINES))],
            {" is wrong", " is fine:", ", ".join(sorted(wrong_letters))}
            | {grade.PIPELINES[k].why[:40] for k in grade.PIPELINES}),
        "assignment_checks.check_predictions": Case(
            [lambda: grade.check_predictions(None, toy), lambda: grade.check_predictions(np.ones((8, 2)), toy)],
            {str(toy.y_test.tolist())}),
        "assignment_checks.check_challenge": Case(
            [lambda: grade.check_challenge(None, 1.0, toy, rules), lambda: grade.check_challenge(1 - y, 1.0, toy, rules)],
            {str(toy.y_test.tolist())}),
        "assignment_checks.check_own_folder": Case(
            [lambda: grade.check_own_folder(None, offline), lambda: grade.check_own_folder(demo, offline)],
            set()),
        "assignment_checks.check_folder_task": Case(
            [lambda: grade.check_folder_task(None, demo)], set()),
        "assignment_checks.check_own_model": Case(
            [lambda: grade.check_own_model(None, 3), lambda: grade.check_own_model(_tiny_model(3), 3)], set()),
        "assignment_checks.check_predict": Case(
            [lambda: grade.check_predict(None, toy), lambda: grade.check_predict(lambda images: np.zeros(len(images), int), toy)],
            {str(toy.y_test.tolist())}),
        "assignment_checks.check_predict_file": Case(
            [lambda: grade.check_predict_file(None, demo, ("bag", "pullover", "sneaker")),
             lambda: grade.check_predict_file(lambda path: "bag", demo, ("bag", "pullover", "sneaker"))],
            set()),
    }


@pytest.fixture(scope="module")
def all_cases(tmp_path_factory) -> dict[str, Case]:
    return cases(tmp_path_factory.mktemp("checks"))


def _check_functions() -> list[str]:
    names = []
    for module in MODULES:
        short = module.__name__.rsplit(".", 1)[-1]
        # the exercises' own checks (assignment_checks re-exports those of one module per assignment)
        names += [f"{short}.{name}" for name, fn in inspect.getmembers(module, inspect.isfunction)
                  if name.startswith("check_") and fn.__module__.startswith("tlhelpers.exercises.")]
    return sorted(names)


def test_every_check_function_has_a_case(all_cases) -> None:
    assert sorted(all_cases) == _check_functions()


@pytest.mark.parametrize("name", _check_functions())
def test_no_check_shows_the_expected_answer(all_cases, name: str) -> None:
    case = all_cases[name]
    for i, call in enumerate(case.calls):
        text = shown(call)
        leaks = _leaks(text, case)
        assert not leaks, f"{name}, call {i}: shows {leaks} in:\n{text}"


def test_the_placeholder_says_not_answered_yet(all_cases) -> None:
    """``answer = None`` in a lesson gets 'no answer yet' and what to set (every lesson case calls None first)."""
    for name, case in all_cases.items():
        if name.startswith("lesson") and name != "lesson00.check_frozen":  # check_frozen gets a model, not an answer
            text = shown(case.calls[0])
            assert "no answer yet" in text, f"{name}(None): {text}"


def test_right_answers_say_why(all_cases) -> None:
    """Checks may say what is right, and why, once the answer is right."""
    head = lesson01.check_head_parameters(256 * 5 + 5, "fashion_cnn", 5)
    assert head and "1,285" in head.message and "biases" in head.message
    red = lesson02.check_pixel_prediction((-103.939, -116.779, 131.32))
    assert red and "BGR" in red.message
    assert lesson07.check_work_ratio(4, "fashion_cnn", 32, 16)


@pytest.mark.parametrize("notebook", ["01_pretrained_models.ipynb", "02_preprocessing.ipynb", "04_fine_tuning_toolkit.ipynb",
                                      "07_challenges.ipynb"])
def test_exercise_cells_are_handed_out_unanswered(notebook: str) -> None:
    """What `make course` renders to HTML for an exercise is the placeholder's feedback, nothing more."""
    cells = json.loads((NOTEBOOKS / notebook).read_text())["cells"]
    exercise_cells = ["".join(c["source"]) for c in cells
                      if c["cell_type"] == "code" and ".check_" in "".join(c["source"]) and "lesson0" in "".join(c["source"])]
    assert exercise_cells
    for source in exercise_cells:
        if "answer" in source.split("check_", 1)[1]:
            assert "answer = None" in source, source
