"""Exercise checks for lesson 00 (background): the update rule, freezing, the experiment.

A wrong or missing answer gets what is wrong and where to look, never the expected value.

Example:
    >>> check_update(1.95)
    ✅ Correct: θ after one step is 1.95: 2.0 − 0.1 × 0.5, a step of 0.05 against the gradient.
    >>> check_update(None)
    ❌ Not yet: no answer yet: set answer to θ after one step, a number. Use the update rule θ ← θ − α · ∂J/∂θ with the values in the exercise.
"""

from __future__ import annotations

from typing import Any

import keras

from tlhelpers.checks import Feedback, expect, run_checks
from tlhelpers.exercises._common import as_number, multiple_choice, not_answered
from tlhelpers.i18n import N_, _

__all__ = ["check_fixed_epochs", "check_frozen", "check_update", "exercise_model"]

_RULE = N_("Use the update rule θ ← θ − α · ∂J/∂θ with the values in the exercise.")


def check_update(answer: Any, theta: float = 2.0, gradient: float = 0.5, learning_rate: float = 0.1) -> Feedback:
    """Exercise 1: θ after one gradient-descent step, θ ← θ − α·∂J/∂θ.

    Example:
        >>> check_update(1.95).correct
        True
        >>> check_update(2.05).message
        'θ after one step is not 2.05: you moved θ along the gradient. The update subtracts α · ∂J/∂θ: it steps downhill, against the gradient.'
    """
    if answer is None:
        return not_answered(_("set answer to θ after one step, a number. {rule}").format(rule=_(_RULE)))
    value = as_number(answer)
    if value is None:
        return Feedback(False, _("answer should be a number, got {answer!r}. {rule}").format(
            answer=answer, rule=_(_RULE)))
    step = learning_rate * gradient
    expected = theta - step

    def near(x: float) -> bool:
        return abs(value - x) <= 1e-6

    if near(expected):
        return Feedback(True, _("θ after one step is {value:g}: {theta} − {learning_rate} × {gradient}, "
                                "a step of {step:g} against the gradient.").format(
            value=value, theta=theta, learning_rate=learning_rate, gradient=gradient, step=step))
    if near(theta + step):
        why = _("you moved θ along the gradient. The update subtracts α · ∂J/∂θ: it steps downhill, against the "
                "gradient.")
    elif near(theta - gradient):
        why = _("the step is missing the learning rate α, which scales the gradient before it is subtracted.")
    elif near(step) or near(-step):
        why = _("that is the size of the step α · ∂J/∂θ; the question asks for θ after it.")
    elif near(theta):
        why = _("θ is a trainable weight, so the step changes it.")
    else:
        why = _("check the arithmetic. {rule}").format(rule=_(_RULE))
    return Feedback(False, _("θ after one step is not {value:g}: {why}").format(value=value, why=why))


def exercise_model() -> keras.Model:
    """Exercise 2's model: two Dense layers, ``"first"`` and ``"second"``, both trainable.

    Example:
        >>> [layer.name for layer in exercise_model().layers]
        ['first', 'second']
    """
    return keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(4, name="first"), keras.layers.Dense(2, name="second")],
        name="exercise00",
    )


def check_frozen(model: Any) -> Feedback:
    """Exercise 2: freeze ``"first"`` so that only ``"second"`` is updated.

    Example:
        >>> m = exercise_model(); m.get_layer("first").trainable = False
        >>> check_frozen(m).correct
        True
    """
    if not isinstance(model, keras.Model):
        return Feedback(False, _("pass the model from exercise_model(), got {kind}.").format(kind=type(model).__name__))
    names = {layer.name for layer in model.layers}
    if not {"first", "second"} <= names:
        return Feedback(False, _("the model needs the layers 'first' and 'second': start from exercise_model()."))
    first, second = model.get_layer("first"), model.get_layer("second")
    return run_checks(
        lambda: expect(not first.trainable, _("'first' is frozen: the update skips its kernel and bias."),
                       _("'first' is still trainable. Hint: section 4 froze a layer by setting one of its attributes; "
                         "model.get_layer('first') gives you the layer.")),
        lambda: expect(second.trainable, _("'second' still trains."),
                       _("'second' is frozen too; only 'first' should be. Hint: set its trainable back to True")),
        lambda: expect(
            [v.path for v in model.trainable_variables] == [v.path for v in second.trainable_variables],
            _("model.trainable_variables holds only 'second''s {count} variables: "
              "those are all that tape.gradient and the optimizer get.").format(count=len(second.trainable_variables)),
            _("model.trainable_variables holds {paths}; it should hold "
              "only the variables of 'second'.").format(paths=[v.path for v in model.trainable_variables]),
        ),
    )


FIXED_EPOCHS_CHOICES = {
    "a": (N_("it is faster"),
          N_("no: early stopping would usually end sooner, not later. The reason is what the validation split can "
             "tell.")),
    "b": (N_("one validation image per class cannot tell a good epoch from a lucky one"),
          N_("with one validation image per class, the validation accuracy jumps in whole steps of one image: the "
             "'best' epoch would be picked by chance, so compare trains for fixed epochs with fixed settings.")),
    "c": (N_("with one label per class there are no validation images at all"),
          N_("no: a budget of k labels per class spends k on training and k on validation, so there is one "
             "validation image per class. Think about what one image per class can say about an epoch.")),
    "d": (N_("a network from scratch never overfits"),
          N_("no: from random weights, a few images are memorised easily; that is exactly why epochs are chosen "
             "on validation when there is enough of it.")),
}


def check_fixed_epochs(answer: Any) -> Feedback:
    """Exercise 3: why ``compare`` trains for fixed epochs at 1 label per class (multiple choice).

    Example:
        >>> check_fixed_epochs("b").correct
        True
    """
    return multiple_choice(answer, FIXED_EPOCHS_CHOICES, right="b")
