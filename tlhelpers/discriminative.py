"""Discriminative learning rates: lower blocks learn more slowly than upper blocks and the head.

Lower blocks hold generic features (edges, textures) that already suit the new task;
upper blocks and the new head must change more. So each gets its own learning rate, e.g.
the head ``lr``, the top block ``lr * decay``, the next ``lr * decay**2``, and so on.

How it works with Keras 3 optimizers: every built-in optimizer applies its update one
variable at a time through ``update_step(gradient, variable, learning_rate)``. The
optimizers here are subclasses of Keras' own (Adam, SGD, RMSprop, AdamW) that multiply
``learning_rate`` by a per-variable factor in that call. Nothing else changes: the moment
estimates, schedules and ``model.fit`` work as usual.

Why not simply scale the gradients of lower blocks? For SGD that would do, but Adam (and
RMSprop) divide each gradient by its own running magnitude, so a scaled gradient gives
the same step: scaling the learning rate is what makes Adam's steps smaller.

Every helper that reads the model's blocks takes ``base=``, the backbone
:func:`tlhelpers.transfer.find_backbone` found, so that it is found once per model.

Example:
    >>> found = find_backbone(model)  # doctest: +SKIP
    >>> rates = block_learning_rates(model, head_lr=1e-3, decay=0.3, base=found)  # doctest: +SKIP
    >>> model.compile(optimizer=discriminative_optimizer(model, rates, base=found), loss=..., metrics=[...])  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import keras
import numpy as np

from tlhelpers.backbones import block_of_layers
from tlhelpers.i18n import _
from tlhelpers.keras_internals import variable_index
from tlhelpers.learning_rates import validate_learning_rate
from tlhelpers.transfer import FoundBackbone, find_backbone

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "HEAD", "OPTIMIZERS", "DiscriminativeAdam", "DiscriminativeAdamW", "DiscriminativeRMSprop", "DiscriminativeSGD",
    "block_learning_rates", "discriminative_optimizer", "plot_update_sizes", "trainable_weights_by_block",
    "update_sizes", "variable_groups",
]

HEAD = "head"


class _ScaledLearningRates:
    """Mixin: multiply the learning rate of each variable by a factor found by its path."""

    def __init__(self, *args: Any, lr_factors: dict[str, float] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lr_factors = {str(k): float(v) for k, v in (lr_factors or {}).items()}
        for path, factor in self.lr_factors.items():
            if not factor > 0:
                raise ValueError(_("learning-rate factor for {path!r} must be greater than 0, got {factor!r}").format(
                    path=path, factor=factor))
        self._factor_by_index: list[float] = []

    def build(self, var_list: list) -> None:
        super().build(var_list)
        self._factor_by_index = [self.lr_factors.get(v.path, 1.0) for v in var_list]

    def factor_of(self, variable: Any) -> float:
        """The factor this optimizer applies to ``variable``'s learning rate."""
        return self._factor_by_index[variable_index(self, variable)]

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> Any:
        factor = self.factor_of(variable)
        if factor != 1.0:
            learning_rate = learning_rate * factor
        return super().update_step(gradient, variable, learning_rate)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["lr_factors"] = dict(self.lr_factors)
        return config


def _scaled(base: type) -> type:
    cls = type(f"Discriminative{base.__name__}", (_ScaledLearningRates, base), {
        "__doc__": f"Keras' {base.__name__} with a learning-rate factor per variable (``lr_factors``: path -> factor).",
        "__module__": __name__,
    })
    return keras.saving.register_keras_serializable(package="tlhelpers")(cls)


DiscriminativeAdam = _scaled(keras.optimizers.Adam)
DiscriminativeSGD = _scaled(keras.optimizers.SGD)
DiscriminativeRMSprop = _scaled(keras.optimizers.RMSprop)
DiscriminativeAdamW = _scaled(keras.optimizers.AdamW)

OPTIMIZERS: dict[str, type] = {
    "adam": DiscriminativeAdam,
    "sgd": DiscriminativeSGD,
    "rmsprop": DiscriminativeRMSprop,
    "adamw": DiscriminativeAdamW,
}


def variable_groups(model: keras.Model, *, base: FoundBackbone | None = None) -> dict[str, list]:
    """The model's weights by block (bottom to top), then ``"head"`` for everything else.

    ``base``: ``find_backbone(model)``, if already found (found here otherwise).

    Raises:
        ValueError: the model holds no registry backbone.

    Example:
        >>> list(variable_groups(model))  # doctest: +SKIP
        ['block1', 'block2', 'block3', 'block4', 'head']
    """
    base, spec = find_backbone(model) if base is None else base
    groups = {block: [w for layer in layers for w in layer.weights] for block, layers in block_of_layers(base, spec).items()}
    in_base = {id(w) for ws in groups.values() for w in ws}
    groups[HEAD] = [w for w in model.weights if id(w) not in in_base]
    return groups


def block_learning_rates(
    model: keras.Model, head_lr: float, decay: float = 0.5, *, base: FoundBackbone | None = None
) -> dict[str, float]:
    """Learning rates falling geometrically from the head down the blocks.

    The head gets ``head_lr``, the top block ``head_lr * decay``, the one below
    ``head_lr * decay**2``, ... (frozen blocks are listed too; they do not train anyway).
    ``base``: ``find_backbone(model)``, if already found (found here otherwise).

    Raises:
        ValueError: ``head_lr`` <= 0 or ``decay`` outside (0, 1].

    Example:
        >>> block_learning_rates(model, 1e-3, decay=0.1)  # doctest: +SKIP
        {'block1': 1e-07, 'block2': 1e-06, 'block3': 1e-05, 'block4': 0.0001, 'head': 0.001}
    """
    head_lr = validate_learning_rate(head_lr, "head_lr")
    if not 0 < decay <= 1:
        raise ValueError(_("decay must be in (0, 1] (1 = the same rate everywhere), got {decay!r}").format(decay=decay))
    _base, spec = find_backbone(model) if base is None else base
    rates = {block: head_lr * decay ** (spec.num_blocks - i) for i, block in enumerate(spec.block_names)}
    rates[HEAD] = head_lr
    return rates


def discriminative_optimizer(
    model: keras.Model, rates: dict[str, float], optimizer: str = "adam", *, base: FoundBackbone | None = None,
    **kwargs: Any,
) -> keras.optimizers.Optimizer:
    """An optimizer that gives each block of ``model`` (and its head) its own learning rate.

    Its ``learning_rate`` is the largest of ``rates``; every variable's step is scaled by
    ``rate of its block / largest rate``.

    Args:
        model: a model around a registry backbone.
        rates: block name (or ``"head"``) -> learning rate, e.g. from
            :func:`block_learning_rates`; blocks left out get the largest rate.
        optimizer: one of :data:`OPTIMIZERS`.
        base: ``find_backbone(model)``, if already found (found here otherwise).
        **kwargs: passed to the optimizer (e.g. ``weight_decay`` for AdamW).

    Raises:
        ValueError: an unknown optimizer or block name, or a rate <= 0.

    Example:
        >>> opt = discriminative_optimizer(model, {"block4": 1e-4, "head": 1e-3})  # doctest: +SKIP
        >>> model.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"])  # doctest: +SKIP
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(_("unknown optimizer {optimizer!r}; choose one of: {choices}").format(
            optimizer=optimizer, choices=", ".join(OPTIMIZERS)))
    groups = variable_groups(model, base=base)
    unknown = [name for name in rates if name not in groups]
    if unknown:
        raise ValueError(_("unknown block {block!r} in rates; choose from: {choices}").format(
            block=unknown[0], choices=", ".join(groups)))
    if not rates:
        raise ValueError(_("rates is empty; give at least the head's learning rate, e.g. {'head': 1e-3}"))
    checked = {name: validate_learning_rate(lr, _("rate of {block!r}").format(block=name)) for name, lr in rates.items()}
    top = max(checked.values())
    factors: dict[str, float] = {}
    for name, ws in groups.items():
        for w in ws:
            factor = checked.get(name, top) / top
            if factors.setdefault(w.path, factor) != factor:
                raise ValueError(_(
                    "two weights share the path {path!r} but need different rates; give the layers unique names"
                ).format(path=w.path))
    return OPTIMIZERS[optimizer](learning_rate=top, lr_factors=factors, **kwargs)


def trainable_weights_by_block(
    model: keras.Model, *, base: FoundBackbone | None = None
) -> dict[str, list[np.ndarray]]:
    """Copies of the trainable weights per block (and head), to measure updates later.

    ``base``: ``find_backbone(model)``, if already found (found here otherwise).

    Example:
        >>> before = trainable_weights_by_block(model)  # doctest: +SKIP
    """
    trainable = {id(w) for w in model.trainable_weights}
    return {
        name: [w.numpy().copy() for w in ws if id(w) in trainable]
        for name, ws in variable_groups(model, base=base).items()
    }


def update_sizes(
    model: keras.Model, before: dict[str, list[np.ndarray]], *, base: FoundBackbone | None = None
) -> dict[str, float]:
    """Mean absolute change of each block's trainable weights since ``before`` (0.0 if none train).

    ``before`` is :func:`trainable_weights_by_block`'s copy; ``base``: ``find_backbone(model)``,
    if already found (found here otherwise).

    Example:
        >>> before = trainable_weights_by_block(model); model.fit(x, y, epochs=1)  # doctest: +SKIP
        >>> update_sizes(model, before)                                            # doctest: +SKIP
        {'block1': 0.0, 'block2': 0.0, 'block3': 2.1e-05, 'block4': 7.0e-05, 'head': 0.0009}
    """
    now = trainable_weights_by_block(model, base=base)
    sizes = {}
    for name, old in before.items():
        new = now.get(name, [])
        if len(new) != len(old):
            raise ValueError(_("block {block!r} has {now} trainable weights now, {before} in the snapshot; "
                               "take the snapshot after changing what is trainable").format(
                block=name, now=len(new), before=len(old)))
        diffs = [np.abs(n - o).ravel() for n, o in zip(new, old)]
        sizes[name] = float(np.concatenate(diffs).mean()) if diffs else 0.0
    return sizes


def plot_update_sizes(sizes: dict[str, float], rates: dict[str, float] | None = None, ax: Any = None) -> Figure:
    """Bar chart of mean |weight change| per block (log scale), with the rates if given.

    Returns:
        The matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3))
        plt.close(fig)
    else:
        fig = ax.figure
    names = [n for n, v in sizes.items() if v > 0]
    ax.bar(names, [sizes[n] for n in names], color="C0", label=_("mean |weight change|"))
    if rates:
        ax.plot(names, [rates[n] for n in names], "o--", color="C3", label=_("learning rate"))
    ax.set_yscale("log")
    ax.set_ylabel(_("size (log scale)"))
    ax.set_title(_("How far each trained block moved"))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
