"""The learning-rate finder: an exponential sweep that shows where training works.

Train for a few hundred steps while the learning rate grows exponentially from tiny to
huge, one step at a time, and record the loss of each batch. Too low: the loss barely
moves. Good: it falls fast. Too high: it turns round and explodes. The plot shows all
three; :meth:`LRFinder.suggestion` picks a rate from it with a stated rule.

The sweep changes the weights, so the finder saves them first and puts them back at the
end: after it, the model is exactly as before (compile it again with the rate you chose).

Example:
    >>> finder = find_lr(head, features, labels)  # doctest: +SKIP
    >>> finder.suggestion()                        # doctest: +SKIP
    0.0031
    >>> finder.plot()                              # doctest: +SKIP
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable

import keras
import numpy as np

from tlhelpers.i18n import N_, _
from tlhelpers.keras_internals import learning_rate_schedule
from tlhelpers.learning_rates import validate_learning_rate

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["find_lr"]


def _min_over_ten(lrs: np.ndarray, smooth: np.ndarray) -> float:
    return float(lrs[int(np.argmin(smooth))] / 10)


def _valley(lrs: np.ndarray, smooth: np.ndarray) -> float:
    # fastai's "valley": the longest run of ever-lower losses (a longest decreasing
    # subsequence), then the point halfway along it.
    n = len(smooth)
    run = [1] * n
    start = end = 0
    for i in range(1, n):
        for j in range(i):
            if smooth[i] < smooth[j] and run[i] < run[j] + 1:
                run[i] = run[j] + 1
        if run[i] > run[end]:
            end = i
            start = end - run[end]
    return float(lrs[max(start, 0) + (end - max(start, 0)) // 2])


# name -> (rule in words, function of (learning rates, smoothed losses))
RULES: dict[str, tuple[str, Callable[[np.ndarray, np.ndarray], float]]] = {
    "valley": (
        N_("halfway along the longest descent of the smoothed loss (its longest run of ever-lower "
           "values; fastai's 'valley', robust when the curve is flat and noisy, as in fine-tuning)"),
        _valley,
    ),
    "min/10": (
        N_("one tenth of the learning rate where the smoothed loss is lowest "
           "(at the minimum the rate is already nearly too high)"),
        _min_over_ten,
    ),
}


def _check_rule(rule: str) -> None:
    if rule not in RULES:
        raise ValueError(_("unknown rule {rule!r}; choose one of: {choices}").format(rule=rule, choices=", ".join(RULES)))


class LRFinder(keras.callbacks.Callback):
    """A Keras 3 callback that sweeps the learning rate exponentially, one step at a time.

    At step ``i`` of ``steps`` the learning rate is ``min_lr * (max_lr / min_lr) ** (i / (steps - 1))``.
    Each batch's loss is recorded (the model's running metrics are reset before every
    batch, so ``logs["loss"]`` is that batch's loss, not the epoch mean) and smoothed with
    an exponential moving average. The sweep stops early once the smoothed loss exceeds
    ``divergence`` times its lowest value (or is not finite): that is the divergence point.
    At the end the model's weights are restored.

    Use it through :func:`find_lr`, or pass it to ``fit`` yourself with enough steps.

    Args:
        min_lr: first learning rate of the sweep.
        max_lr: last learning rate of the sweep.
        steps: number of training steps (batches) in the sweep.
        smoothing: weight of the past in the moving average (0 = no smoothing).
        divergence: stop when the smoothed loss exceeds this multiple of its minimum.
        restore_weights: put the weights back after the sweep.

    Example:
        >>> finder = LRFinder(min_lr=1e-6, max_lr=1.0, steps=100)
        >>> round(finder.lr_at(0), 9), round(finder.lr_at(99), 9)
        (1e-06, 1.0)
    """

    def __init__(
        self,
        min_lr: float = 1e-6,
        max_lr: float = 1.0,
        steps: int = 200,
        smoothing: float = 0.95,
        divergence: float = 4.0,
        restore_weights: bool = True,
    ) -> None:
        super().__init__()
        self.min_lr = validate_learning_rate(min_lr, "min_lr")
        self.max_lr = validate_learning_rate(max_lr, "max_lr")
        if not self.max_lr > self.min_lr:
            raise ValueError(_("max_lr must be greater than min_lr, got min_lr={min_lr!r}, max_lr={max_lr!r}").format(
                min_lr=min_lr, max_lr=max_lr))
        if not isinstance(steps, int) or steps < 10:
            raise ValueError(_("steps must be an integer of at least 10, got {steps!r}; a few hundred works well").format(
                steps=steps))
        if not 0 <= smoothing < 1:
            raise ValueError(_("smoothing must be in [0, 1), got {smoothing!r}").format(smoothing=smoothing))
        if not divergence > 1:
            raise ValueError(_("divergence must be greater than 1, got {divergence!r}").format(divergence=divergence))
        self.steps, self.smoothing, self.divergence = steps, float(smoothing), float(divergence)
        self.restore_weights = restore_weights
        self.lrs: list[float] = []
        self.losses: list[float] = []
        self.smoothed: list[float] = []
        self.diverged_lr: float | None = None
        self._saved: list[np.ndarray] | None = None
        self._average = 0.0

    def lr_at(self, step: int) -> float:
        """The learning rate the sweep uses at ``step`` (0-based)."""
        return self.min_lr * (self.max_lr / self.min_lr) ** (step / (self.steps - 1))

    # -- the callback --------------------------------------------------------------------

    def on_train_begin(self, logs: dict | None = None) -> None:
        optimizer = self.model.optimizer
        if optimizer is None:
            raise ValueError(_("compile the model before running the LR finder (find_lr does it for you)"))
        schedule = learning_rate_schedule(optimizer)
        if schedule is not None:
            raise ValueError(_(
                "the LR finder sets the learning rate itself; compile with a plain number, "
                "not a schedule ({schedule})"
            ).format(schedule=type(schedule).__name__))
        self.lrs, self.losses, self.smoothed, self.diverged_lr = [], [], [], None
        self._average = 0.0
        self._saved = self.model.get_weights() if self.restore_weights else None

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self.model.reset_metrics()  # so logs["loss"] at batch end is this batch's loss
        self.model.optimizer.learning_rate = self.lr_at(len(self.lrs))

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        loss = float((logs or {})["loss"])
        step = len(self.lrs)
        self.lrs.append(self.lr_at(step))
        self.losses.append(loss)
        self._average = self.smoothing * self._average + (1 - self.smoothing) * loss
        smooth = self._average / (1 - self.smoothing ** (step + 1))  # bias-corrected
        self.smoothed.append(smooth)
        diverged = not math.isfinite(smooth) or smooth > self.divergence * min(self.smoothed)
        if diverged and step > 0:
            self.diverged_lr = self.lrs[-1]
        if diverged or len(self.lrs) >= self.steps:
            self.model.stop_training = True

    def on_train_end(self, logs: dict | None = None) -> None:
        if self._saved is not None:
            self.model.set_weights(self._saved)
            self._saved = None

    # -- results -------------------------------------------------------------------------

    def _usable(self) -> tuple[np.ndarray, np.ndarray]:
        """Learning rates and smoothed losses up to (not including) the divergence point."""
        if len(self.lrs) < 3:
            raise ValueError(_("the sweep recorded fewer than 3 steps: run the finder (find_lr) first"))
        lrs, smooth = np.asarray(self.lrs), np.asarray(self.smoothed)
        stop = len(lrs) - 1 if self.diverged_lr is not None else len(lrs)
        keep = np.isfinite(smooth[:stop])
        return lrs[:stop][keep], smooth[:stop][keep]

    def suggestion(self, rule: str = "valley") -> float:
        """A learning rate picked from the sweep by ``rule`` (see :data:`RULES`).

        The result lies inside the swept range and below the divergence point.

        Raises:
            ValueError: an unknown rule, or no sweep recorded yet.

        Example:
            >>> finder.suggestion("min/10")  # doctest: +SKIP
            0.0012
        """
        _check_rule(rule)
        lrs, smooth = self._usable()
        return float(np.clip(RULES[rule][1](lrs, smooth), lrs[0], lrs[-1]))

    def rule(self, rule: str = "valley") -> str:
        """The rule ``rule`` in words."""
        _check_rule(rule)
        return _(RULES[rule][0])

    def summary(self, rule: str = "valley") -> str:
        """One paragraph: the range swept, where the loss was lowest, divergence, the suggestion."""
        lrs, smooth = self._usable()
        best = lrs[int(np.argmin(smooth))]
        diverged = (
            _("the loss diverged at {lr:.2g}").format(lr=self.diverged_lr) if self.diverged_lr is not None
            else _("the loss did not diverge within the sweep")
        )
        return _(
            "swept {steps} steps from {first:.2g} to {last:.2g}; lowest smoothed "
            "loss at {best:.2g}; {diverged}.\nsuggested learning rate: {suggested:.2g} "
            "(rule {rule!r}: {rule_words})"
        ).format(steps=len(self.lrs), first=self.lrs[0], last=self.lrs[-1], best=best, diverged=diverged,
                 suggested=self.suggestion(rule), rule=rule, rule_words=self.rule(rule))

    def plot(self, rule: str = "valley", ax: Any = None, title: str | None = None) -> Figure:
        """Loss against learning rate (log scale), with the suggestion and divergence marked.

        Returns:
            The matplotlib Figure (not shown; a notebook displays it as the cell's value).
        """
        import matplotlib.pyplot as plt

        if ax is None:
            fig, ax = plt.subplots(figsize=(6, 3.5))
            plt.close(fig)
        else:
            fig = ax.figure
        lrs, losses, smooth = np.asarray(self.lrs), np.asarray(self.losses), np.asarray(self.smoothed)
        ax.plot(lrs, losses, color="0.75", lw=1, label=_("loss per batch"))
        ax.plot(lrs, smooth, color="C0", lw=2, label=_("smoothed"))
        suggested = self.suggestion(rule)
        ax.axvline(suggested, color="C2", ls="--", label=_("suggestion {lr:.2g} ({rule})").format(lr=suggested, rule=rule))
        if self.diverged_lr is not None:
            ax.axvline(self.diverged_lr, color="C3", ls=":", label=_("diverged at {lr:.2g}").format(lr=self.diverged_lr))
        finite = smooth[np.isfinite(smooth)]
        if finite.size:  # keep the explosion from flattening the interesting part
            ax.set_ylim(finite.min() * 0.9, min(finite.max(), finite[0] * 2) * 1.05)
        ax.set_xscale("log")
        ax.set_xlabel(_("learning rate (log scale)"))
        ax.set_ylabel(_("training loss"))
        ax.set_title(title or _("LR finder"))
        ax.legend(fontsize=8)
        fig.tight_layout()
        return fig


def find_lr(
    model: keras.Model,
    x: Any,
    y: Any = None,
    *,
    min_lr: float = 1e-6,
    max_lr: float = 1.0,
    steps: int = 200,
    batch_size: int = 32,
    optimizer: str = "adam",
    loss: str = "sparse_categorical_crossentropy",
    seed: int = 0,
    **finder_kwargs: Any,
) -> LRFinder:
    """Run an LR sweep on ``model`` with the trainable layers it has now; weights come back unchanged.

    The model is compiled with a fresh ``optimizer`` for the sweep, so compile it again
    afterwards with the learning rate you choose (you would anyway: every phase recompiles).
    The data repeat (shuffled) as often as ``steps`` needs.

    Args:
        model: the model as it will train in the next phase (frozen or unfrozen as planned).
        x, y: arrays (or a ``tf.data.Dataset`` of ``(x, y)`` batches as ``x``).
        min_lr, max_lr, steps: the sweep (see :class:`LRFinder`).
        batch_size: for arrays.
        optimizer: ``"adam"``, ``"sgd"`` or ``"rmsprop"``: use the one the phase will use.
        loss: the loss of the phase.
        seed: shuffling seed.
        **finder_kwargs: ``smoothing``, ``divergence`` for :class:`LRFinder`.

    Returns:
        The finder, holding ``lrs``, ``losses``, ``smoothed``, ``diverged_lr``; call
        ``.suggestion()``, ``.summary()`` or ``.plot()``.

    Example:
        >>> finder = find_lr(model, x_train, y_train, steps=200)  # doctest: +SKIP
        >>> print(finder.summary())                                 # doctest: +SKIP
    """
    import tensorflow as tf

    optimizers = {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD, "rmsprop": keras.optimizers.RMSprop}
    if optimizer not in optimizers:
        raise ValueError(_("unknown optimizer {optimizer!r}; choose one of: {choices}").format(
            optimizer=optimizer, choices=", ".join(optimizers)))
    finder = LRFinder(min_lr=min_lr, max_lr=max_lr, steps=steps, **finder_kwargs)
    if hasattr(x, "element_spec"):
        data = x.repeat()
    elif y is None:
        raise ValueError(_("y is missing: pass labels with array inputs, or a tf.data.Dataset of (x, y) batches as x"))
    else:
        data = (
            tf.data.Dataset.from_tensor_slices((x, y))
            .shuffle(len(y), seed=seed, reshuffle_each_iteration=True)
            .repeat()
            .batch(batch_size)
        )
    model.compile(optimizer=optimizers[optimizer](learning_rate=finder.min_lr), loss=loss)
    model.fit(data, epochs=1, steps_per_epoch=steps, callbacks=[finder], shuffle=False, verbose=0)
    return finder
