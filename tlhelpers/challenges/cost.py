"""Compute cost as the data grows: end-to-end fine-tuning, cached features, a smaller input, mixed precision.

Part of :mod:`tlhelpers.challenges` (lesson 07).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterable

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter
from tqdm.auto import tqdm

from tlhelpers.backbones import get_spec
from tlhelpers.challenges.devices import backbone_variant, mixed_precision_support
from tlhelpers.config import set_seed
from tlhelpers.data import Task, take_per_class  # take_per_class: re-exported, its old home
from tlhelpers.display import finished, pad, text_width
from tlhelpers.features import extract_features, linear_probe
from tlhelpers.i18n import N_, LazyText, _, pgettext
from tlhelpers.pipeline import to_model_input
from tlhelpers.quiet import tensorflow_errors_only
from tlhelpers.tables import shown_frame
from tlhelpers.training import accuracy, compile_classifier
from tlhelpers.transfer import build_classifier, set_top_blocks_trainable

__all__ = [
    "COST_METHODS",
    "METHOD_LABELS",
    "CostResult",
    "at_largest",
    "growth_exponent",
    "growth_report",
    "measure_cost",
    "plain_log_ticks",
    "plot_cost",
    "take_per_class",  # from tlhelpers.data
]

COST_METHODS = ("fine_tune", "cached", "small_input", "mixed_precision")


@dataclass
class CostResult:
    """One method trained on one data size, measured."""

    method: str
    train_images: int
    seconds: float
    test_accuracy: float
    input_size: int
    policy: str


class _Resettable:
    """A compiled model whose weights and optimizer state go back to their start before each run.

    Building and tracing a model costs the same whatever the data size, so it happens once
    (with a one-batch warm-up fit); each measured run then starts from the same state.
    """

    def __init__(self, model, warm_x, warm_y) -> None:
        self.model = model
        model.optimizer.build(model.trainable_variables)
        self._weights = [v.numpy() for v in model.variables]
        self._slots = [v.numpy() for v in model.optimizer.variables]
        # two batch shapes: TensorFlow then traces a shape-generic step, so no later run retraces
        model.fit(warm_x, warm_y, epochs=1, batch_size=len(warm_y) - 1, verbose=0)
        model.predict(warm_x, batch_size=len(warm_y) - 1, verbose=0)

    def reset(self):
        for variable, value in zip(self.model.variables, self._weights):
            variable.assign(value)
        for variable, value in zip(self.model.optimizer.variables, self._slots):
            variable.assign(value)
        return self.model


def _end_to_end(backbone: str, size: int, policy: str | None, lr: float, epochs: int, batch_size: int,
                task: Task, weights_size: int | None = None) -> Callable[[np.ndarray, np.ndarray], Callable[[], float]]:
    """Images -> resized and preprocessed -> whole network trained (BatchNorm frozen)."""
    model = build_classifier(backbone_variant(backbone, size, policy, weights_size), task.num_classes)
    set_top_blocks_trainable(model, get_spec(backbone).num_blocks)
    compile_classifier(model, lr)
    warm = slice(0, batch_size + 1)
    state = _Resettable(model, to_model_input(task.x_train[warm], backbone, size), task.y_train[warm])

    def train(x, y):
        state.reset().fit(to_model_input(x, backbone, size), y, epochs=epochs, batch_size=batch_size, verbose=0)
        return lambda: accuracy(model, to_model_input(task.x_test, backbone, size), task.y_test)

    return train


def _cached(backbone: str, size: int, task: Task) -> Callable[[np.ndarray, np.ndarray], Callable[[], float]]:
    """Images -> frozen base once -> features -> a linear probe (a logistic regression, no epochs).

    The base never changes, so the test images' features are extracted once, untimed, for
    every run's evaluation.
    """
    base = backbone_variant(backbone, size)
    f_test = extract_features(base, to_model_input(task.x_test, backbone, size))  # also traces the graph

    def train(x, y):
        head = linear_probe(extract_features(base, to_model_input(x, backbone, size)), y, task.num_classes)
        return lambda: accuracy(head, f_test, task.y_test)

    return train


def measure_cost(
    task: Task,
    backbone: str,
    *,
    per_class: Iterable[int],
    methods: Iterable[str] | None = None,
    input_size: int | None = None,
    small_size: int | None = None,
    epochs: int = 3,
    fine_lr: float = 3e-4,
    batch_size: int = 32,
    seed: int = 0,
    progress: bool = False,
):  # -> pandas.DataFrame
    """Train each method on growing subsets of ``task``; time it and measure test accuracy.

    The time covers everything from images to a trained model (resizing, preprocessing,
    feature extraction, ``fit``), not the evaluation. Building and tracing each model is a
    one-off cost, the same whatever the data size: it happens once per method, untimed,
    and every run starts from the same weights and optimizer state. Methods:

    * ``fine_tune``: the whole backbone (BatchNorm frozen) and a new head, ``epochs`` epochs;
    * ``cached``: the frozen backbone run once, then a linear probe on the features
      (:func:`tlhelpers.features.linear_probe`: a logistic regression, no epochs);
    * ``small_input``: ``fine_tune`` at ``small_size`` pixels (default: half the size), with
      the weights of the backbone at ``input_size`` (see
      :func:`tlhelpers.challenges.backbone_variant`'s ``weights_size``);
    * ``mixed_precision``: ``fine_tune`` with the backbone in 16-bit math, where
      :func:`mixed_precision_support` says the hardware computes it natively.

    Args:
        task: its training split must hold at least ``max(per_class)`` images per class;
            accuracy is measured on its test split (see :meth:`tlhelpers.data.Task.with_test_subset`).
        backbone: registry name.
        per_class: training images per class, one run each.
        methods: names from :data:`COST_METHODS`; default: every method this machine runs
            natively (``mixed_precision`` left out, silently, where it would be emulated; asked
            for by name there, it is skipped with a warning saying why).
        input_size: the side every method but ``small_input`` runs at (default: the
            registry's; pass the track's, e.g. 96 px for ``mobilenet_v2`` on a laptop).
        progress: show a tqdm bar over the runs (one per method and size; its estimate
            settles once each method has run once).

    Returns:
        A DataFrame with the fields of :class:`CostResult`, one row per method and size.

    Raises:
        ValueError: an unknown method, or a size larger than the training split allows.

    Example:
        >>> cost = measure_cost(task, "fashion_cnn", per_class=[10, 40])  # doctest: +SKIP
    """
    asked = methods is not None
    methods, per_class = list(COST_METHODS if methods is None else methods), sorted(int(k) for k in per_class)
    unknown = [m for m in methods if m not in COST_METHODS]
    if unknown:
        raise ValueError(_("unknown method {name!r}; choose from: {choices}").format(
            name=unknown[0], choices=", ".join(COST_METHODS)))
    if not per_class:
        raise ValueError(_("per_class is empty; give sizes such as [10, 40, 160]"))
    take_per_class(task.x_train, task.y_train, per_class[-1])  # validates the largest size first
    size = get_spec(backbone).input_size if input_size is None else int(input_size)
    small = max(8, size // 2) if small_size is None else int(small_size)
    policy, reason = mixed_precision_support()
    if "mixed_precision" in methods and policy is None:
        if asked:
            warnings.warn(_("mixed_precision skipped: {reason}").format(reason=reason), stacklevel=2)
        methods.remove("mixed_precision")
    builders = {
        "fine_tune": (lambda: _end_to_end(backbone, size, None, fine_lr, epochs, batch_size, task), size, "float32"),
        "cached": (lambda: _cached(backbone, size, task), size, "float32"),
        "small_input": (lambda: _end_to_end(backbone, small, None, fine_lr, epochs, batch_size, task, size), small,
                        "float32"),
        "mixed_precision": (lambda: _end_to_end(backbone, size, policy, fine_lr, epochs, batch_size, task), size,
                            str(policy)),
    }
    runs = [(m, k) for m in methods for k in per_class]
    if progress:
        runs = tqdm(runs, desc=_("cost runs"), unit=pgettext("progress unit", "run"))
    rows, trainers = [], {}
    with tensorflow_errors_only():
        for method, k in runs:
            if method not in trainers:  # build, compile and trace once per method: not timed
                set_seed(seed)
                trainers[method] = builders[method][0]()
            x, y = take_per_class(task.x_train, task.y_train, k)
            set_seed(seed)
            start = time.perf_counter()
            evaluate = trainers[method](x, y)
            seconds = time.perf_counter() - start
            px, pol = builders[method][1:]
            rows.append(CostResult(method, len(y), seconds, evaluate(), px, pol))
    return shown_frame([asdict(r) for r in rows])


def growth_exponent(frame, method: str) -> float:
    """How a method's time grows with data: the slope of log(seconds) on log(images).

    1 means proportional to the data; near 0 means a fixed cost dominates.

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"method": ["a"] * 3, "train_images": [10, 100, 1000], "seconds": [1.0, 10.0, 100.0]})
        >>> round(growth_exponent(df, "a"), 3)
        1.0
    """
    rows = frame[frame["method"] == method]
    if len(rows) < 2:
        raise ValueError(_("method {name!r} has {n} row(s); the growth needs two sizes or more").format(
            name=method, n=len(rows)))
    return float(np.polyfit(np.log(rows["train_images"]), np.log(rows["seconds"]), 1)[0])


METHOD_LABELS = {  # shown in the active language (LazyText)
    "fine_tune": LazyText(N_("fine-tune end to end")),
    "cached": LazyText(N_("cached features + head")),
    "small_input": LazyText(N_("fine-tune, smaller input")),
    "mixed_precision": LazyText(N_("fine-tune, mixed precision")),
}


def at_largest(cost) -> Any:
    """Each method's row at the largest data size of ``measure_cost``'s frame, indexed by method.

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"method": ["a", "a", "b"], "train_images": [10, 20, 20], "seconds": [1.0, 2.0, 0.5]})
        >>> at_largest(df)["seconds"].to_dict()
        {'a': 2.0, 'b': 0.5}
    """
    return cost[cost["train_images"] == cost["train_images"].max()].set_index("method")


def growth_report(cost) -> str:
    """Each method's growth exponent, time and accuracy at the largest size, and the cheapest one.

    Labels are padded by display width (:func:`tlhelpers.display.pad`), so the columns
    line up in Chinese too.

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"method": ["cached"] * 2 + ["fine_tune"] * 2, "train_images": [10, 20] * 2,
        ...                    "seconds": [1.0, 1.1, 1.0, 2.0], "test_accuracy": [0.5, 0.6, 0.5, 0.7]})
        >>> print(growth_report(df))  # doctest: +NORMALIZE_WHITESPACE
        cached features + head       growth exponent +0.14; 20 images: 1.10 s, test accuracy 0.600
        fine-tune end to end         growth exponent +1.00; 20 images: 2.00 s, test accuracy 0.700
        <BLANKLINE>
        cheapest at 20 images: cached features + head (1.8x faster than the slowest)
    """
    largest = at_largest(cost)
    width = max(text_width(str(METHOD_LABELS.get(m, m))) for m in largest.index) + 1
    lines = [
        pad(str(METHOD_LABELS.get(method, method)), width) + _(
            "growth exponent {exponent:+.2f}; {images} images: {seconds:.2f} s, test accuracy {accuracy:.3f}"
        ).format(exponent=growth_exponent(cost, method), images=int(row.train_images), seconds=row.seconds,
                 accuracy=row.test_accuracy)
        for method, row in largest.iterrows()
    ]
    cheapest = largest["seconds"].idxmin()
    lines += ["", _("cheapest at {images} images: {label} ({ratio:.1f}x faster than the slowest)").format(
        images=int(largest["train_images"].max()), label=METHOD_LABELS.get(cheapest, cheapest),
        ratio=largest["seconds"].max() / largest["seconds"].min())]
    return "\n".join(lines)


def plot_cost(cost) -> Any:
    """Two panels against training images (log scales): seconds to train, and test accuracy.

    One line per method, labelled in plain words.

    Raises:
        ValueError: the frame lacks a column ``measure_cost`` writes.

    Example:
        >>> fig = plot_cost(cost)  # doctest: +SKIP
    """
    missing = {"method", "train_images", "seconds", "test_accuracy"} - set(cost.columns)
    if missing:
        raise ValueError(_("cost table lacks column(s) {names}; pass what measure_cost returned").format(
            names=sorted(missing)))
    fig, (ax_time, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.8))
    for method, rows in cost.groupby("method", sort=False):
        rows = rows.sort_values("train_images")
        label = str(METHOD_LABELS.get(method, method))
        ax_time.plot(rows["train_images"], rows["seconds"], "o-", label=label)
        ax_acc.plot(rows["train_images"], rows["test_accuracy"], "o-", label=label)
    ax_time.set(xscale="log", yscale="log", xlabel=_("training images"), ylabel=_("seconds to train (log scale)"),
                title=_("cost grows with the data"))
    ax_acc.set(xscale="log", xlabel=_("training images"), ylabel=_("test accuracy"), title=_("what it buys"))
    for axis in (ax_time.xaxis, ax_time.yaxis, ax_acc.xaxis):
        plain_log_ticks(axis)
    ax_time.legend(fontsize=8)
    return finished(fig)


def plain_log_ticks(axis) -> None:
    """Label a log-scaled matplotlib axis with plain numbers (1, 2, 3, 5, 10, 20, ...), not powers of ten.

    Only ticks whose leading digit is 1, 2, 3 or 5 get a label, so that they do not crowd.

    Example:
        >>> import matplotlib.pyplot as plt
        >>> fig, ax = plt.subplots(); ax.set_xscale("log"); plain_log_ticks(ax.xaxis)
        >>> [ax.xaxis.get_minor_formatter()(v, 0) for v in (0.3, 40, 50, 200)]
        ['0.3', '', '50', '200']
        >>> plt.close(fig)
    """
    def label(value: float, _: Any) -> str:
        if value <= 0:
            return ""
        leading = value / 10 ** math.floor(math.log10(value) + 1e-9)
        return f"{value:g}" if round(leading, 6) in (1, 2, 3, 5) else ""

    axis.set_major_formatter(FuncFormatter(label))
    axis.set_minor_formatter(FuncFormatter(label))
