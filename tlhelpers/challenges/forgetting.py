"""Forgetting: the backbone's source accuracy and features before and after fine-tuning.

Part of :mod:`tlhelpers.challenges` (lesson 07).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Iterable

import keras
import matplotlib.pyplot as plt
import numpy as np

from tlhelpers.backbones import get_spec, load_backbone
from tlhelpers.config import set_seed
from tlhelpers.data import Task, load_dataset
from tlhelpers.display import finished
from tlhelpers.features import extract_features
from tlhelpers.i18n import _
from tlhelpers.pipeline import to_model_input
from tlhelpers.recipe import Recipe, compile_for, probe_head
from tlhelpers.tables import shown_frame
from tlhelpers.training import accuracy
from tlhelpers.transfer import build_classifier, set_top_blocks_trainable


def source_data(backbone: str, test_images: int = 500, seed: int = 0) -> tuple[np.ndarray, np.ndarray] | None:
    """Test images and labels of the backbone's source task, if they exist on this machine.

    The bundled backbone's source is five Fashion-MNIST classes (their test split); for
    ImageNet backbones the source (ImageNet itself) is not available offline, so ``None``.

    Example:
        >>> x, y = source_data("fashion_cnn")  # doctest: +SKIP
    """
    if get_spec(backbone).weights != "bundled":
        return None
    (_, (x, y)), _ = load_dataset("fashion_mnist_source")
    idx = np.sort(np.random.default_rng(seed).choice(len(y), min(test_images, len(y)), replace=False))
    return x[idx], y[idx]


def source_model(backbone: str):  # -> keras.Model | None
    """The pretrained backbone with its original (source) classifier, or ``None`` if its
    source task cannot be measured here (see :func:`source_data`).

    Example:
        >>> source_model("fashion_cnn").output.shape  # doctest: +SKIP
        (None, 5)
    """
    if get_spec(backbone).weights != "bundled":
        return None
    return load_backbone(backbone, include_top=True)


def _split_source_model(full, backbone: str):
    """The backbone part of a source classifier, sharing its layers (so training one changes both)."""
    top = get_spec(backbone).blocks[-1][1]
    return keras.Model(full.inputs, full.get_layer(top).output, name=backbone)


def feature_drift(before: np.ndarray, after: np.ndarray) -> float:
    """Mean cosine similarity between each image's features before and after (1 = unchanged).

    Example:
        >>> round(feature_drift(np.ones((2, 3)), np.ones((2, 3))), 6)
        1.0
    """
    before, after = np.reshape(before, (len(before), -1)), np.reshape(after, (len(after), -1))
    norms = np.linalg.norm(before, axis=1) * np.linalg.norm(after, axis=1)
    return float(np.mean(np.sum(before * after, axis=1) / np.maximum(norms, 1e-12)))


@dataclass
class ForgettingResult:
    """One fine-tuning setting: what the target gained, what the source lost."""

    setting: str
    fine_lr: float
    blocks: int
    target_accuracy: float
    source_before: float
    source_after: float
    feature_similarity: float

    @property
    def forgotten(self) -> float:
        """Source accuracy lost (NaN when the source cannot be measured)."""
        return self.source_before - self.source_after


def forgetting_run(
    task: Task,
    backbone: str,
    *,
    fine_lr: float,
    blocks: int | None = None,
    setting: str = "",
    fine_epochs: int = 5,
    source: tuple[np.ndarray, np.ndarray] | None = None,
    input_size: int | None = None,
    seed: int = 0,
) -> ForgettingResult:
    """Fine-tune a fresh copy of the pretrained backbone on ``task``; measure what it forgot.

    The course's recipe (:mod:`tlhelpers.recipe`: the linear probe as the head, then the top
    ``blocks`` blocks with a peak rate of ``fine_lr``, warm-up and cosine decay) runs for a
    fixed ``fine_epochs`` (no early stopping: the run shows what these settings do, however
    it ends) on the backbone *inside* its source classifier, so afterwards the original source
    head, untouched, reads the changed features: its accuracy on the source test images shows
    how much the backbone forgot. Where the source
    cannot be measured (ImageNet offline), ``source_before``/``source_after`` are NaN and
    ``feature_similarity`` still says how far the features moved.

    Args:
        blocks: blocks unfrozen in phase 2 (default: all of them).
        source: ``(images, labels)`` of the source test split (default: :func:`source_data`).
        input_size: backbone input side (default: the registry's; the bundled backbone's
            source classifier only takes its native size).

    Example:
        >>> r = forgetting_run(task, "fashion_cnn", fine_lr=1e-2)  # doctest: +SKIP
        >>> r.source_before, r.source_after                        # doctest: +SKIP
    """
    spec = get_spec(backbone)
    blocks = spec.num_blocks if blocks is None else blocks
    set_seed(seed)
    full = source_model(backbone)
    base = load_backbone(backbone, input_size=input_size) if full is None else _split_source_model(full, backbone)
    input_size = None if full is not None else input_size
    source = source_data(backbone) if source is None and full is not None else source
    x_src = None if source is None or full is None else to_model_input(source[0], backbone)
    x_train, x_test = (to_model_input(x, backbone, input_size) for x in (task.x_train, task.x_test))
    probe_images = x_test[:256]
    before_features = extract_features(base, probe_images)
    before = accuracy(full, x_src, source[1]) if x_src is not None else float("nan")
    model = build_classifier(base, task.num_classes)  # base.trainable = False; base(x, training=False)
    probe_head(model, x_train, task.y_train)  # phase 1: the linear probe as the head
    recipe = Recipe(blocks=blocks, learning_rate=fine_lr, max_epochs=fine_epochs, warmup_epochs=min(2, fine_epochs // 3))
    set_top_blocks_trainable(model, blocks)
    compile_for(model, recipe, len(task.y_train))
    model.fit(x_train, task.y_train, epochs=fine_epochs, batch_size=recipe.batch_size, verbose=0)
    after = accuracy(full, x_src, source[1]) if x_src is not None else float("nan")
    similarity = feature_drift(before_features, extract_features(base, probe_images))
    return ForgettingResult(setting or f"lr {fine_lr:g}, {blocks} block(s)", fine_lr, blocks,
                            accuracy(model, x_test, task.y_test), before, after, similarity)


def forgetting_table(results: Iterable[ForgettingResult]):  # -> pandas.DataFrame
    """The results as a DataFrame indexed by setting, with a ``forgotten`` column.

    Example:
        >>> forgetting_table([ForgettingResult("a", 1e-4, 4, 0.7, 0.98, 0.97, 0.99)]).loc["a", "forgotten"].round(2).item()
        0.01
    """
    frame = shown_frame([{**asdict(r), "forgotten": r.forgotten} for r in results])
    return frame.set_index("setting")


def plot_forgetting(table) -> Any:
    """Per fine-tuning setting: the source accuracy before and after, the feature similarity, the target accuracy.

    Where the source cannot be measured (its columns all NaN), its bars are left out and the
    title says so.

    Args:
        table: from :func:`tlhelpers.challenges.forgetting_table`.

    Example:
        >>> fig = plot_forgetting(table)  # doctest: +SKIP
    """
    bars = [("source_before", _("source accuracy, before")), ("source_after", _("source accuracy, after")),
            ("feature_similarity", _("features: cosine similarity to before")),
            ("target_accuracy", _("target accuracy, after"))]
    source = not table["source_after"].isna().all()
    bars = [(column, label) for column, label in bars if source or not column.startswith("source")]
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    pos = np.arange(len(table))
    width = 0.8 / len(bars)
    for i, (column, label) in enumerate(bars):
        ax.bar(pos + (i - (len(bars) - 1) / 2) * width, table[column], width, label=label)
    title = (_("what fine-tuning costs the backbone's old task") if source else
             _("how far fine-tuning moved the features (the source task cannot be measured here)"))
    ax.set(xticks=pos, xticklabels=list(table.index), ylim=(0, 1.3), yticks=np.linspace(0, 1, 6),
           ylabel=_("accuracy or similarity"), title=title)
    ax.legend(fontsize=8, loc="upper center", ncols=2)
    return finished(fig)
