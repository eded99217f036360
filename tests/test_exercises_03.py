"""Lesson 03's exercise checks: placeholders get 'Not yet', right answers pass, mistakes are explained."""

from __future__ import annotations

import keras
import pytest

from tlhelpers import backbones, recipe, transfer
from tlhelpers.exercises import lesson03
from tlhelpers.training import compile_classifier


@pytest.fixture
def model() -> keras.Model:
    keras.utils.set_random_seed(0)
    model = transfer.build_classifier(backbones.load_backbone("fashion_cnn", weights=None), num_classes=5)
    return compile_classifier(model, 1e-3)  # as the notebook hands it out


def compile_phase2(model: keras.Model, peak: float) -> None:
    recipe.compile_for(model, recipe.Recipe(blocks=2, learning_rate=peak), train_examples=100)


def trainable_after(model: keras.Model, blocks: int) -> int:
    """What a student would count: the unfrozen blocks' weights but BatchNorm's, plus the head (on a copy)."""
    copy = keras.models.clone_model(model)
    return transfer.unfreeze_top(copy, blocks=blocks).trainable_params


def test_unfreeze_placeholder_and_right_answer(model) -> None:
    feedback = lesson03.check_unfreeze(model, blocks=2)  # the student has not done anything yet
    assert not feedback and "no block of the backbone trains yet" in feedback.message
    assert repr(feedback).startswith("❌ Not yet")
    expected = trainable_after(model, 2)
    transfer.unfreeze_top(model, blocks=2)
    compile_phase2(model, 1e-3)
    feedback = lesson03.check_unfreeze(model, blocks=2, predicted=None)
    assert not feedback and "now set predicted" in feedback.message and str(expected) not in feedback.message
    feedback = lesson03.check_unfreeze(model, blocks=2, predicted=expected)
    assert feedback and "block3, block4 train" in feedback.message and "your prediction holds" in feedback.message


def test_unfreeze_explains_each_mistake(model) -> None:
    expected = trainable_after(model, 2)
    transfer.unfreeze_top(model, blocks=2)
    feedback = lesson03.check_unfreeze(model, blocks=2, predicted=expected)
    assert not feedback and "not compiled since" in feedback.message  # forgot to recompile
    compile_classifier(model, 1e-4)
    feedback = lesson03.check_unfreeze(model, blocks=2, predicted=expected)
    assert not feedback and "constant learning rate" in feedback.message and "warmup_cosine" in feedback.message
    compile_phase2(model, 3e-2)
    feedback = lesson03.check_unfreeze(model, blocks=2, predicted=expected)
    assert not feedback and "peak learning rate of 0.03" in feedback.message and "up to 0.01" in feedback.message
    compile_phase2(model, 3e-4)
    for wrong, direction in ((expected + 1_000, "more"), (expected - 320, "fewer")):
        feedback = lesson03.check_unfreeze(model, blocks=2, predicted=wrong)
        assert not feedback and f"counts {direction} parameters" in feedback.message
        assert f"{expected}" not in feedback.message and f"{expected:,}" not in feedback.message
    assert not lesson03.check_unfreeze(model, blocks=2, predicted="many")
    transfer.unfreeze_top(model, blocks=3)
    compile_phase2(model, 3e-4)
    feedback = lesson03.check_unfreeze(model, blocks=2, predicted=expected)
    assert not feedback and "['block2', 'block3', 'block4']: not the top 2" in feedback.message
    assert "['block3', 'block4']" not in feedback.message  # the check does not name the answer
    for layer in transfer.find_backbone(model)[0].layers:
        layer.trainable = True  # everything, BatchNorm included
    compile_phase2(model, 3e-4)
    feedback = lesson03.check_unfreeze(model, blocks=2, predicted=expected)
    assert not feedback and "BatchNormalization" in feedback.message and "block1_bn1" in feedback.message


def test_unfreeze_on_something_else() -> None:
    own = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)], name="homemade")
    feedback = lesson03.check_unfreeze(own)
    assert not feedback and "not the exercise model" in feedback.message


@pytest.mark.parametrize("answer, correct", [(None, False), ("a", False), ("b", True), (" B ", True), ("c", False),
                                             ("d", False), ("z", False), (2, False)])
def test_batchnorm_question(answer, correct) -> None:
    feedback = lesson03.check_batchnorm(answer)
    assert feedback.correct is correct
    if answer is None:
        assert feedback.message == "no answer yet: set answer to one of 'a', 'b', 'c', 'd'."  # no hint at the answer
    elif correct:
        assert "trainable = False" in lesson03.BATCHNORM_CHOICES["b"][0] and "inference mode" in feedback.message
    elif answer == "a":
        assert "keras-team/keras#20285" in feedback.message and "Try again" in feedback.message


def _run(best_epoch: int, peak: float) -> recipe.FineTuneRun:
    history = keras.callbacks.History()
    history.epoch, history.history = [0, 1, 2], {"val_accuracy": [0.5, 0.6, 0.55]}
    return recipe.FineTuneRun(history, start_val_accuracy=0.55, val_accuracy=0.6 if best_epoch else 0.55,
                              best_epoch=best_epoch, seconds=1.0, cached=True,
                              recipe=recipe.default_recipe().with_(learning_rate=peak))


def test_prediction_is_checked_against_the_run() -> None:
    three = 3 * recipe.default_recipe().learning_rate
    assert "no answer yet" in lesson03.check_prediction(None, None).message
    assert "not one of" in lesson03.check_prediction("maybe", _run(2, three)).message
    assert "now run it" in lesson03.check_prediction("probe", None).message
    assert "3 times" in lesson03.check_prediction("probe", _run(2, 7 * three)).message
    right = lesson03.check_prediction("fine-tuned", _run(2, three))
    assert right and "epoch 2 beat the probe" in right.message
    wrong = lesson03.check_prediction("probe", _run(2, three))
    assert not wrong and "ended otherwise" in wrong.message
    assert lesson03.check_prediction(" Probe ", _run(0, three)).correct


def test_unfreeze_check_on_the_imagenet_track_backbone() -> None:
    base = backbones.load_backbone("mobilenet_v2", weights=None, input_size=32)
    model = compile_classifier(transfer.build_classifier(base, 10), 1e-3)
    expected = trainable_after(model, 2)
    transfer.unfreeze_top(model, blocks=2)
    compile_phase2(model, 3e-4)
    feedback = lesson03.check_unfreeze(model, blocks=2, predicted=expected)
    assert feedback and "stage6_320, top_conv train" in feedback.message
