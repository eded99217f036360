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

from tlhelpers.checks import Feedback, check_choice, expect, run_checks
from tlhelpers.exercises._common import as_number, not_answered

STRATEGY_ANSWERS = ("scratch", "probe")

_RULE = "Use the update rule θ ← θ − α · ∂J/∂θ with the values in the exercise."


def check_update(answer: Any, theta: float = 2.0, gradient: float = 0.5, learning_rate: float = 0.1) -> Feedback:
    """Exercise 1: θ after one gradient-descent step, θ ← θ − α·∂J/∂θ.

    Example:
        >>> check_update(1.95).correct
        True
        >>> check_update(2.05).message
        'θ after one step is not 2.05: you moved θ along the gradient. The update subtracts α · ∂J/∂θ: it steps downhill, against the gradient.'
    """
    if answer is None:
        return not_answered(f"set answer to θ after one step, a number. {_RULE}")
    value = as_number(answer)
    if value is None:
        return Feedback(False, f"answer should be a number, got {answer!r}. {_RULE}")
    step = learning_rate * gradient
    expected = theta - step

    def near(x: float) -> bool:
        return abs(value - x) <= 1e-6

    if near(expected):
        return Feedback(True, f"θ after one step is {value:g}: {theta} − {learning_rate} × {gradient}, "
                              f"a step of {step:g} against the gradient.")
    wrong = f"θ after one step is not {value:g}:"
    if near(theta + step):
        why = "you moved θ along the gradient. The update subtracts α · ∂J/∂θ: it steps downhill, against the gradient."
    elif near(theta - gradient):
        why = "the step is missing the learning rate α, which scales the gradient before it is subtracted."
    elif near(step) or near(-step):
        why = "that is the size of the step α · ∂J/∂θ; the question asks for θ after it."
    elif near(theta):
        why = "θ is a trainable weight, so the step changes it."
    else:
        why = "check the arithmetic. " + _RULE
    return Feedback(False, f"{wrong} {why}")


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
        return Feedback(False, f"pass the model from exercise_model(), got {type(model).__name__}.")
    names = {layer.name for layer in model.layers}
    if not {"first", "second"} <= names:
        return Feedback(False, "the model needs the layers 'first' and 'second': start from exercise_model().")
    first, second = model.get_layer("first"), model.get_layer("second")
    return run_checks(
        lambda: expect(not first.trainable, "'first' is frozen: the update skips its kernel and bias.",
                       "'first' is still trainable. Hint: section 4 froze a layer by setting one of its attributes; "
                       "model.get_layer('first') gives you the layer."),
        lambda: expect(second.trainable, "'second' still trains.",
                       "'second' is frozen too; only 'first' should be. Hint: set its trainable back to True"),
        lambda: expect(
            [v.path for v in model.trainable_variables] == [v.path for v in second.trainable_variables],
            f"model.trainable_variables holds only 'second''s {len(second.trainable_variables)} variables: "
            "those are all that tape.gradient and the optimizer get.",
            f"model.trainable_variables holds {[v.path for v in model.trainable_variables]}; it should hold "
            "only the variables of 'second'.",
        ),
    )


def check_winner(answer: Any, results: Any, labels_per_class: int | None = None) -> Feedback:
    """Exercise 3: which strategy had the higher test accuracy at the smallest budget, in *your* run?

    ``results`` is the table the notebook's experiment produced; the right answer is read
    from it, so it holds whatever the run measured.

    Example:
        >>> import pandas as pd
        >>> r = pd.DataFrame({"strategy": ["scratch", "probe"], "labels_per_class": [1, 1], "test_accuracy": [0.3, 0.5]})
        >>> check_winner("probe", r).correct
        True
    """
    if answer is None:
        return not_answered(f"set answer to the strategy that won at the smallest budget in your run: one of "
                            f"{list(STRATEGY_ANSWERS)}.")
    try:
        k = int(results["labels_per_class"].min()) if labels_per_class is None else int(labels_per_class)
        rows = results[results["labels_per_class"] == k].groupby("strategy")["test_accuracy"].mean()
    except (KeyError, TypeError, AttributeError) as err:
        return Feedback(False, f"pass the experiment's results table as results ({type(err).__name__}: {err}).")
    if rows.empty:
        return Feedback(False, f"the results hold no runs with {k} labels per class.")
    best = rows.idxmax()
    scores = ", ".join(f"{s} {a:.1%}" for s, a in rows.items())
    return check_choice(
        answer, [best], "your answer",
        f"at {k} label(s) per class your run measured {scores}.",
        hint=f"answer one of {list(rows.index)}: read the plot at {k} label(s) per class",
    )
