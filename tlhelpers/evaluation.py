"""Evaluating a trained classifier: metrics, confusion, top losses and sanity checks.

Everything here works on plain arrays (true labels, predicted probabilities, images),
so it serves any model: :func:`evaluate` runs the model once over the untouched test
split and returns an :class:`Evaluation` that the tables, plots and widgets share.
Metrics come from :mod:`sklearn.metrics`; nothing is hand-counted.

The sanity checks catch the classic mistakes before anyone believes a number; each
returns a :class:`SanityCheck`, a :class:`tlhelpers.verdict.Verdict` (``ok``, ``message``):

* :func:`check_prediction_spread`: (almost) every prediction is one class;
* :func:`check_preprocessing`: train and test inputs were preprocessed differently;
* :func:`check_leakage`: the same image sits in two splits (found by image hashes).

Pixel hashing lives here, and only here: :func:`image_hashes` gives one hash per image
(:func:`exact_hash` for identical pixels, :func:`average_hash` for look-alike copies), and
:func:`find_leaks` pairs up the images two sets share. The leakage check uses them, and so
should any other code that compares images (the assignments' checks): no second hasher.

Example:
    >>> import numpy as np
    >>> ev = Evaluation(np.array([0, 1, 1]), np.array([[.9, .1], [.2, .8], [.6, .4]]), ("cat", "dog"))
    >>> round(ev.accuracy, 3)
    0.667
    >>> ev.confusion.tolist()
    [[1, 0], [1, 1]]
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from tlhelpers.display import finished
from tlhelpers.i18n import N_, _
from tlhelpers.plots_lessons import image_grid
from tlhelpers.tables import shown_frame
from tlhelpers.verdict import Verdict

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = [
    "HASHERS", "Evaluation", "SanityCheck", "average_hash", "check_leakage", "check_prediction_spread",
    "check_preprocessing", "confusion", "evaluate", "exact_hash", "example_losses", "find_leaks", "image_hashes",
    "label_accuracy", "per_class_metrics", "plot_confusion", "plot_top_losses", "predict_proba", "sanity_report", "top_losses",
]

# ---- metrics -----------------------------------------------------------------------------


def predict_proba(model: Any, x: Any, batch_size: int = 256) -> np.ndarray:
    """Class probabilities of ``model`` on ``x`` (inference mode), as float32 ``(N, classes)``.

    Example:
        >>> import keras
        >>> m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
        >>> predict_proba(m, np.zeros((4, 3))).shape
        (4, 2)
    """
    probs = np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype=np.float32)
    if probs.ndim != 2:
        raise ValueError(_("the model should output (N, classes) probabilities, got shape {shape}").format(
            shape=probs.shape))
    return probs


def _labels(y: Any, what: str = "y_true") -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(_("{what} must be integer class labels of shape (N,), got shape {shape}").format(
            what=what, shape=y.shape))
    return y.astype(np.int64)


def confusion(y_true: Any, y_pred: Any, num_classes: int) -> np.ndarray:
    """The confusion matrix: row = true class, column = predicted class (sklearn's order).

    Every class gets a row and a column, also one that never occurs in this sample.

    Example:
        >>> confusion([0, 0, 1, 2], [0, 1, 1, 1], 3).tolist()
        [[1, 1, 0], [0, 1, 0], [0, 1, 0]]
    """
    from sklearn.metrics import confusion_matrix

    return confusion_matrix(_labels(y_true), _labels(y_pred, "y_pred"), labels=np.arange(num_classes))


def label_accuracy(y_true: Any, y_pred: Any) -> float:
    """Share of predicted labels equal to the true ones (sklearn's ``accuracy_score``).

    The one accuracy from predictions: :class:`Evaluation` and the assignments' graders use
    it; :func:`tlhelpers.training.accuracy` runs a model first.

    Example:
        >>> label_accuracy([0, 1, 1, 2], [0, 1, 2, 2])
        0.75
    """
    from sklearn.metrics import accuracy_score

    return float(accuracy_score(_labels(y_true), _labels(y_pred, "y_pred")))


def per_class_metrics(y_true: Any, y_pred: Any, class_names: Sequence[str]) -> pd.DataFrame:
    """Precision, recall, F1 and support per class, plus macro averages (sklearn.metrics).

    * precision of class c: of the images predicted c, the share that are c;
    * recall of class c: of the images that are c, the share predicted c;
    * F1: their harmonic mean; support: how many images are c.

    Example:
        >>> per_class_metrics([0, 0, 1, 1], [0, 1, 1, 1], ("a", "b"))["recall"].tolist()
        [0.5, 1.0, 0.75]
    """
    import pandas as pd
    from sklearn.metrics import precision_recall_fscore_support

    labels = np.arange(len(class_names))
    y_true, y_pred = _labels(y_true), _labels(y_pred, "y_pred")
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    table = shown_frame(
        {"precision": precision, "recall": recall, "f1": f1, "support": support},
        index=pd.Index(list(class_names), name="class"),
    )
    macro = precision_recall_fscore_support(y_true, y_pred, labels=labels, average="macro", zero_division=0)
    table.loc["macro average"] = [*macro[:3], int(support.sum())]
    table["support"] = table["support"].astype(int)
    return table


def example_losses(y_true: Any, probs: np.ndarray, eps: float = 1e-7) -> np.ndarray:
    """Cross-entropy of each example, ``-log p(true class)``: the loss training minimises.

    Example:
        >>> example_losses([0, 1], np.array([[0.5, 0.5], [0.9, 0.1]])).round(3).tolist()
        [0.693, 2.303]
    """
    y_true = _labels(y_true)
    probs = np.asarray(probs, dtype=np.float64)
    return -np.log(np.clip(probs[np.arange(len(y_true)), y_true], eps, 1.0))


def top_losses(y_true: Any, probs: np.ndarray, k: int = 12, class_names: Sequence[str] | None = None):
    """The ``k`` examples with the highest loss: confident mistakes first.

    Returns:
        A DataFrame indexed by the example's position, with the true and predicted class,
        the probability of the prediction and of the true class, and the loss.

    Example:
        >>> probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
        >>> top_losses([0, 0, 1], probs, k=2).index.tolist()
        [1, 2]
    """
    import pandas as pd

    if k < 1:
        raise ValueError(_("k must be at least 1, got {k}").format(k=k))
    y_true = _labels(y_true)
    probs = np.asarray(probs)
    losses = example_losses(y_true, probs)
    order = np.argsort(-losses, kind="stable")[:k]
    y_pred = probs.argmax(axis=1)
    name = (lambda c: class_names[c]) if class_names is not None else int
    return shown_frame(
        {
            "true": [name(y_true[i]) for i in order],
            "predicted": [name(y_pred[i]) for i in order],
            "p_predicted": probs[order, y_pred[order]],
            "p_true": probs[order, y_true[order]],
            "loss": losses[order],
        },
        index=pd.Index(order, name="index"),
    )


@dataclass
class Evaluation:
    """A model's predictions on a labelled split, and everything measured from them.

    Attributes:
        y_true: integer labels ``(N,)``.
        probs: predicted probabilities ``(N, classes)``.
        class_names: names indexed by label.

    Example:
        >>> ev = Evaluation(np.array([0, 1]), np.array([[.7, .3], [.4, .6]]), ("a", "b"))
        >>> ev.y_pred.tolist(), ev.accuracy
        ([0, 1], 1.0)
    """

    y_true: np.ndarray
    probs: np.ndarray
    class_names: tuple[str, ...]

    def __post_init__(self) -> None:
        self.y_true = _labels(self.y_true)
        self.probs = np.asarray(self.probs)
        self.class_names = tuple(self.class_names)
        if self.probs.shape != (len(self.y_true), len(self.class_names)):
            raise ValueError(
                _("probs has shape {shape}, expected ({labels}, {classes}): "
                  "one row per label, one column per class name").format(
                    shape=self.probs.shape, labels=len(self.y_true), classes=len(self.class_names))
            )

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.class_names)

    @property
    def y_pred(self) -> np.ndarray:
        """The predicted class of each example (the most probable one)."""
        return self.probs.argmax(axis=1)

    @property
    def accuracy(self) -> float:
        """Share of examples predicted correctly (:func:`label_accuracy`)."""
        return label_accuracy(self.y_true, self.y_pred)

    @property
    def confusion(self) -> np.ndarray:
        """Confusion matrix, row = true class, column = predicted class."""
        return confusion(self.y_true, self.y_pred, self.num_classes)

    def per_class(self) -> pd.DataFrame:
        """Precision, recall, F1 and support per class (see :func:`per_class_metrics`)."""
        return per_class_metrics(self.y_true, self.y_pred, self.class_names)

    def top_losses(self, k: int = 12) -> pd.DataFrame:
        """The ``k`` highest-loss examples (see :func:`top_losses`)."""
        return top_losses(self.y_true, self.probs, k, self.class_names)

    def most_confused(self, k: int = 3) -> list[tuple[str, str, int]]:
        """The ``k`` largest off-diagonal cells: ``(true class, predicted class, count)``.

        Example:
            >>> Evaluation(np.array([0, 0, 1]), np.eye(2)[[1, 1, 1]], ("a", "b")).most_confused(1)
            [('a', 'b', 2)]
        """
        cm = self.confusion.copy()
        np.fill_diagonal(cm, 0)
        cells = sorted(
            ((int(cm[t, p]), t, p) for t in range(self.num_classes) for p in range(self.num_classes) if cm[t, p]),
            key=lambda cell: (-cell[0], cell[1], cell[2]),
        )
        return [(self.class_names[t], self.class_names[p], n) for n, t, p in cells[:k]]

    def indices(self, true_class: int, predicted_class: int) -> np.ndarray:
        """Positions of the examples of ``true_class`` predicted as ``predicted_class``.

        Example:
            >>> Evaluation(np.array([0, 0, 1]), np.eye(2)[[1, 0, 1]], ("a", "b")).indices(0, 1).tolist()
            [0]
        """
        for value, what in ((true_class, "true_class"), (predicted_class, "predicted_class")):
            if not 0 <= int(value) < self.num_classes:
                raise ValueError(_("{what}={value!r} is out of range; choose 0..{last}").format(
                    what=what, value=value, last=self.num_classes - 1))
        return np.flatnonzero((self.y_true == true_class) & (self.y_pred == predicted_class))

    def __repr__(self) -> str:
        return _("Evaluation({examples} examples, {classes} classes, accuracy={accuracy:.3f})").format(
            examples=len(self.y_true), classes=self.num_classes, accuracy=self.accuracy)


def evaluate(model: Any, x: Any, y: Any, class_names: Sequence[str], batch_size: int = 256) -> Evaluation:
    """Run ``model`` once over ``(x, y)`` and return an :class:`Evaluation`.

    Example:
        >>> ev = evaluate(model, prepared.x_test, task.y_test, task.class_names)  # doctest: +SKIP
        >>> ev.per_class()                                                         # doctest: +SKIP
    """
    return Evaluation(_labels(y), predict_proba(model, x, batch_size), tuple(class_names))


# ---- plots -------------------------------------------------------------------------------


def plot_confusion(
    cm: np.ndarray, class_names: Sequence[str], normalize: bool = False, title: str | None = None
) -> Figure:
    """Plot a confusion matrix with class names (sklearn's ``ConfusionMatrixDisplay``).

    Args:
        cm: counts, row = true class, column = predicted class.
        class_names: names for rows and columns.
        normalize: show each row as shares of the true class (the recall on the diagonal).
        title: figure title.

    Returns:
        The Figure (closed, so it shows once; display it or read ``fig.axes``).

    Example:
        >>> fig = plot_confusion(np.array([[3, 1], [0, 4]]), ("a", "b"))
        >>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
        ['a', 'b']
    """
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    cm = np.asarray(cm)
    if cm.shape != (len(class_names), len(class_names)):
        raise ValueError(_("cm has shape {shape} but there are {count} class names").format(
            shape=cm.shape, count=len(class_names)))
    values = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    size = 1.2 + 0.75 * len(class_names)
    fig, ax = plt.subplots(figsize=(size + 1.5, size))
    ConfusionMatrixDisplay(values, display_labels=list(class_names)).plot(
        ax=ax, cmap="Blues", values_format=".2f" if normalize else "d", colorbar=True,
        xticks_rotation=45 if max(len(n) for n in class_names) > 5 else "horizontal",
    )
    ax.set_title(title or (_("confusion matrix (rows sum to 1)") if normalize else _("confusion matrix (counts)")))
    ax.set_xlabel(_("Predicted label"))
    ax.set_ylabel(_("True label"))
    return finished(fig)


def plot_top_losses(images: np.ndarray, evaluation: Evaluation, k: int = 12, ncols: int = 6):
    """The ``k`` highest-loss images titled "true / predicted / probability / loss".

    Example:
        >>> ev = Evaluation(np.array([0, 1]), np.array([[.2, .8], [.4, .6]]), ("a", "b"))
        >>> plot_top_losses(np.zeros((2, 8, 8, 1), np.uint8), ev, k=1).axes[0].get_title()
        'true a\\npred b (0.80)\\nloss 1.61'
    """
    table = evaluation.top_losses(k)
    titles = [
        _("true {true}\npred {predicted} ({probability:.2f})\nloss {loss:.2f}").format(
            true=row.true, predicted=row.predicted, probability=row.p_predicted, loss=row.loss)
        for row in table.itertuples()
    ]
    colors = ["#b42318" if row.true != row.predicted else "#1a7f37" for row in table.itertuples()]
    return image_grid(np.asarray(images)[table.index.to_numpy()], titles, columns=ncols, size=1.9, colors=colors)


# ---- pixel hashing: the one place that hashes images (leakage checks, assignment checks) ----


def exact_hash(image: np.ndarray) -> str:
    """SHA-1 of an image's pixels, dtype and shape (40 hex digits): equal only for identical images.

    Example:
        >>> a = np.zeros((4, 4, 1), np.uint8)
        >>> exact_hash(a) == exact_hash(a.copy()), exact_hash(a) == exact_hash(a.astype(np.float32))
        (True, False)
    """
    image = np.ascontiguousarray(image)
    digest = hashlib.sha1(f"{image.dtype}{image.shape}".encode())
    digest.update(image.tobytes())
    return digest.hexdigest()


def average_hash(image: np.ndarray, size: int = 8) -> str:
    """Perceptual hash: shrink to ``size`` x ``size`` gray, one bit per pixel above the mean.

    Resized, re-compressed or re-exposed copies of an image usually get the same 64 bits;
    so, now and then, do two different images that look alike.

    Example:
        >>> a = np.random.default_rng(0).integers(0, 200, (16, 16, 1), dtype=np.uint8)
        >>> brighter = (a.astype(int) + 40).astype(np.uint8)
        >>> average_hash(a) == average_hash(brighter), len(average_hash(a))
        (True, 64)
    """
    from PIL import Image

    image = np.asarray(image, dtype=np.float64)
    gray = image.mean(axis=-1) if image.ndim == 3 else image
    span = gray.max() - gray.min()
    gray = (gray - gray.min()) / span * 255 if span > 0 else np.zeros_like(gray)
    small = np.asarray(Image.fromarray(gray.astype(np.uint8)).resize((size, size), Image.BILINEAR), dtype=float)
    bits = (small > small.mean()).flatten()
    return "".join("1" if b else "0" for b in bits)


# method -> image -> hash; "exact" finds identical pixels, "average" also re-encoded/resized copies
HASHERS: dict[str, Callable[[np.ndarray], str]] = {"exact": exact_hash, "average": average_hash}


def image_hashes(images: Sequence[np.ndarray] | np.ndarray, method: str = "exact") -> list[str]:
    """One hash per image: the package's one way to tell whether two images are the same.

    Args:
        images: ``(N, H, W, C)`` (or a list of arrays).
        method: ``"exact"`` (:func:`exact_hash`, sha1 of the pixels: identical images only) or
            ``"average"`` (:func:`average_hash`, an 8x8 perceptual hash: also finds resized or
            re-compressed copies, with some false alarms among look-alike images).

    Returns:
        A list of strings, one per image, in order; equal strings mean the same image.

    Raises:
        ValueError: an unknown ``method``.

    Example:
        >>> a = np.zeros((2, 4, 4, 1), np.uint8)
        >>> h = image_hashes(a)
        >>> h[0] == h[1], len(h[0])
        (True, 40)
    """
    if method not in HASHERS:
        raise ValueError(_("unknown hash method {method!r}; choose one of: {choices}").format(
            method=method, choices=", ".join(HASHERS)))
    return [HASHERS[method](image) for image in images]


def find_leaks(
    first: np.ndarray, second: np.ndarray, method: str = "exact"
) -> list[tuple[int, int]]:
    """Pairs ``(i, j)`` where ``first[i]`` and ``second[j]`` hash the same (see :func:`image_hashes`).

    Example:
        >>> a = np.arange(3 * 4).reshape(3, 2, 2, 1).astype(np.uint8)
        >>> find_leaks(a, a[[2, 0]])
        [(0, 1), (2, 0)]
    """
    where: dict[str, list[int]] = {}
    for i, h in enumerate(image_hashes(first, method)):
        where.setdefault(h, []).append(i)
    return sorted((i, j) for j, h in enumerate(image_hashes(second, method)) for i in where.get(h, []))


# ---- sanity checks -------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class SanityCheck(Verdict):
    """The verdict of one sanity check (a :class:`~tlhelpers.verdict.Verdict`).

    Shown as "✅ name: message" or "⚠️ name: message" (plain text, also in notebooks).

    Attributes:
        name: what was checked (English; shown translated).
        ok: True when nothing suspicious was found.
        message: what was measured, and what to do if it failed.
        details: the numbers behind the verdict (for tests and follow-up).

    Example:
        >>> SanityCheck("same preprocessing", False, "the test values span 0.00392x the training range")
        ⚠️ same preprocessing: the test values span 0.00392x the training range
    """

    name: str
    ok: bool
    message: str
    details: dict | None = None

    def render(self) -> str:
        """The line a student reads: a mark, the check's name and the message."""
        return _("{mark} {name}: {message}").format(mark="✅" if self.ok else "⚠️", name=_(self.name),
                                                   message=self.message)


def check_prediction_spread(
    y_pred: Any, class_names: Sequence[str], max_share: float = 0.8
) -> SanityCheck:
    """Flag a model that predicts (nearly) one class for everything.

    A model that collapsed to one class (a broken input pipeline, a learning rate far too
    high, labels that do not match the images) can still show a plausible accuracy on an
    unbalanced split; its predictions give it away.

    Args:
        y_pred: predicted classes.
        class_names: names indexed by label.
        max_share: the largest share one class may take before the check fails.

    Example:
        >>> check_prediction_spread([1, 1, 1, 1], ("a", "b")).ok
        False
        >>> check_prediction_spread([0, 1, 1, 0], ("a", "b"))
        ✅ predictions spread: the most predicted class, 'a', takes 50% of 4 predictions; 2 of 2 classes are predicted
    """
    if not 0 < max_share <= 1:
        raise ValueError(_("max_share must be in (0, 1], got {max_share}").format(max_share=max_share))
    y_pred = _labels(y_pred, "y_pred")
    if len(y_pred) == 0:
        raise ValueError(_("y_pred is empty: nothing to check"))
    counts = np.bincount(y_pred, minlength=len(class_names))
    top = int(counts.argmax())
    share = counts[top] / len(y_pred)
    predicted = int(np.count_nonzero(counts))
    measured = _("the most predicted class, {top!r}, takes {share:.0%} of {count} predictions; "
                 "{predicted} of {classes} classes are predicted").format(
        top=class_names[top], share=share, count=len(y_pred), predicted=predicted, classes=len(class_names))
    ok = share <= max_share
    advice = "" if ok else _(
        ". The model has collapsed to one class: check the input pipeline (same preprocessing as in "
        "training?), the labels, and the learning rate"
    )
    return SanityCheck(N_("predictions spread"), bool(ok), measured + advice,
                       {"counts": counts.tolist(), "top_share": float(share)})


def _value_stats(x: Any, max_images: int = 500) -> dict[str, Any]:
    """Value statistics of up to ``max_images`` evenly spaced images (a big test set at
    224 px would otherwise cost gigabytes for a percentile)."""
    x = np.asarray(x)
    picked = np.linspace(0, len(x) - 1, min(len(x), max_images)).round().astype(int) if len(x) else []
    values = x[picked].astype(np.float64)
    if values.size == 0:
        raise ValueError(_("no images to check (shape {shape})").format(shape=x.shape))
    low, high = np.percentile(values, [1, 99])
    return {
        "shape": tuple(x.shape[1:]), "min": float(values.min()), "max": float(values.max()),
        "p1": float(low), "p99": float(high), "mean": float(values.mean()),
    }


def check_preprocessing(
    x_train: Any, x_test: Any, expected_range: tuple[float, float] | None = None, tolerance: float = 0.25
) -> SanityCheck:
    """Flag train and test inputs that were not preprocessed the same way.

    Compares what the model is fed (after resizing and ``preprocess_input``): the image
    shape, the value range (1st..99th percentile) and the mean, measured on up to 500
    evenly spaced images of each split. A test set divided by 255
    once more, or run through ``preprocess_input`` twice, or not at all, shows up as a
    range many times smaller or larger than the training range.

    Args:
        x_train, x_test: model inputs ``(N, H, W, C)`` of each split.
        expected_range: the backbone's input range (``get_spec(name).input_range``); when
            given, both splits must also stay inside it (with ``tolerance`` of slack).
        tolerance: allowed relative difference of the ranges and of the means.

    Example:
        >>> x = np.random.default_rng(0).uniform(0, 255, (20, 8, 8, 1))
        >>> check_preprocessing(x, x[:10]).ok, check_preprocessing(x, x / 255).ok
        (True, False)
    """
    train, test = _value_stats(x_train), _value_stats(x_test)
    problems = []
    if train["shape"] != test["shape"]:
        problems.append(_("image shapes differ: train {train}, test {test}").format(
            train=train["shape"], test=test["shape"]))
    width_train = max(train["p99"] - train["p1"], 1e-12)
    width_test = test["p99"] - test["p1"]
    ratio = width_test / width_train
    if not (1 - tolerance) <= ratio <= 1 / (1 - tolerance):
        problems.append(_("the test values span {ratio:.3g}x the training range").format(ratio=ratio))
    shift = abs(test["mean"] - train["mean"]) / width_train
    if shift > tolerance:
        problems.append(_("the means differ by {shift:.0%} of the training range").format(shift=shift))
    if expected_range is not None:
        low, high = expected_range
        slack = tolerance * (high - low)
        outside = {
            "train": N_("train values reach {min:.3g}..{max:.3g}, outside the backbone's input range {low:g}..{high:g}"),
            "test": N_("test values reach {min:.3g}..{max:.3g}, outside the backbone's input range {low:g}..{high:g}"),
        }
        for split, stats in (("train", train), ("test", test)):
            if stats["min"] < low - slack or stats["max"] > high + slack:
                problems.append(_(outside[split]).format(min=stats["min"], max=stats["max"], low=low, high=high))
    measured = _("train {train_min:.3g}..{train_max:.3g} (mean {train_mean:.3g}), "
                 "test {test_min:.3g}..{test_max:.3g} (mean {test_mean:.3g})").format(
        train_min=train["min"], train_max=train["max"], train_mean=train["mean"],
        test_min=test["min"], test_max=test["max"], test_mean=test["mean"])
    if problems:
        message = _("{problems} ({measured}). Train and test must go through the same "
                    "pipeline (e.g. tlhelpers.pipeline.to_model_input), exactly once").format(
            problems=_("; ").join(problems), measured=measured)
    else:
        message = _("same shape {shape} and matching value ranges: {measured}").format(
            shape=train["shape"], measured=measured)
    return SanityCheck(N_("same preprocessing"), not problems, message, {"train": train, "test": test})


def check_leakage(splits: dict[str, np.ndarray], method: str = "exact") -> SanityCheck:
    """Flag images that appear in more than one split (train/validation/test leakage).

    A test image that is also a training image measures memory, not generalisation. Hash
    the raw images of every split (before augmentation) and compare every pair of splits.

    Args:
        splits: name -> images, e.g. ``{"train": task.x_train, "test": task.x_test}``.
        method: see :func:`image_hashes`.

    Example:
        >>> x = np.arange(5 * 4).reshape(5, 2, 2, 1).astype(np.uint8)
        >>> check_leakage({"train": x[:3], "test": x[2:]})
        ⚠️ leakage between splits: train/test share 1 image(s) (train[2] = test[0]). Remove them from one split, or split by source (e.g. by object or by person) before training
    """
    if len(splits) < 2:
        raise ValueError(_("give at least two splits to compare, got {splits}").format(splits=list(splits)))
    names = list(splits)
    found: dict[str, list[tuple[int, int]]] = {}
    for a in range(len(names)):
        for b in range(a + 1, len(names)):
            pairs = find_leaks(splits[names[a]], splits[names[b]], method)
            if pairs:
                found[f"{names[a]}/{names[b]}"] = pairs
    sizes = ", ".join(f"{name} {len(images)}" for name, images in splits.items())
    if not found:
        return SanityCheck(N_("leakage between splits"), True,
                           _("no image is in two splits ({method} hashes; {sizes} images)").format(
                               method=method, sizes=sizes), {"pairs": {}})
    parts = []
    for key, pairs in found.items():
        first, second = key.split("/")
        example = ", ".join(f"{first}[{i}] = {second}[{j}]" for i, j in pairs[:3])
        more = ", ..." if len(pairs) > 3 else ""
        parts.append(_("{splits} share {count} image(s) ({example}{more})").format(
            splits=key, count=len(pairs), example=example, more=more))
    return SanityCheck(
        N_("leakage between splits"), False,
        _("{found}. Remove them from one split, or split by source (e.g. by object or by "
          "person) before training").format(found=_("; ").join(parts)),
        {"pairs": found},
    )


def sanity_report(checks: Sequence[SanityCheck]) -> str:
    """The checks, one per line, and a last line saying whether all passed.

    Example:
        >>> print(sanity_report([SanityCheck("a", True, "fine")]))
        ✅ a: fine
        all 1 checks passed
    """
    failed = sum(not c.ok for c in checks)
    if failed:
        last = _("{failed} of {count} checks failed").format(failed=failed, count=len(checks))
    else:
        last = _("all {count} checks passed").format(count=len(checks))
    return "\n".join([*map(repr, checks), last])
