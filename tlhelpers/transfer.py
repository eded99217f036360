"""Heads, freezing and unfreezing by blocks, and a trainability report.

"Unfreeze the top K blocks" uses the block boundaries of the registry
(:mod:`tlhelpers.backbones`), so it means the same for every backbone. BatchNormalization
layers always stay frozen: with few labels their batch statistics would wreck what the
backbone learned.

Finding the backbone inside a model (:func:`find_backbone`) walks all its layers; every
helper here takes the result as ``base=`` so that code working on one model finds it once.

Example:
    >>> from tlhelpers import backbones, transfer
    >>> base = backbones.load_backbone("fashion_cnn")  # doctest: +SKIP
    >>> model = transfer.build_classifier(base, num_classes=5)  # doctest: +SKIP
    >>> report = transfer.unfreeze_top(model, blocks=1)  # doctest: +SKIP
    >>> report.trainable_params  # doctest: +SKIP
    148741
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

import keras

from tlhelpers.backbones import BACKBONES, BackboneSpec, block_of_layers
from tlhelpers.display import pad, text_width
from tlhelpers.i18n import N_, _
from tlhelpers.keras_internals import all_layers, trainable_at_compile

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "STATES", "BlockRow", "FoundBackbone", "LayerRow", "TrainabilityReport", "build_classifier", "find_backbone",
    "freeze", "set_top_blocks_trainable", "trainability_report", "unfreeze_top", "validate_blocks",
]


def build_classifier(
    base: keras.Model,
    num_classes: int,
    dropout: float = 0.2,
    name: str | None = None,
    augmentation: keras.layers.Layer | None = None,
) -> keras.Model:
    """A new head on ``base``: pooling (if needed), dropout, a softmax ``Dense``.

    ``augmentation`` (e.g. :func:`tlhelpers.preprocessing.input_augmentation`) goes in
    front of the base; it changes images only inside ``fit``.

    The base is called with ``training=False``, the idiom of the Keras guides. In Keras 3
    that does not survive ``fit`` (which passes ``training=True`` on to nested models,
    keras-team/keras#20285): BatchNorm stays in inference mode because its layers keep
    ``trainable = False`` (:func:`unfreeze_top`). The base starts frozen.

    Example:
        >>> base = keras.applications.MobileNetV2(weights=None, include_top=False, input_shape=(32, 32, 3))
        >>> build_classifier(base, 10).output.shape
        (None, 10)
    """
    if num_classes < 2:
        raise ValueError(_("num_classes must be at least 2, got {n}").format(n=num_classes))
    if not 0 <= dropout < 1:
        raise ValueError(_("dropout must be in [0, 1), got {dropout}").format(dropout=dropout))
    base.trainable = False
    inputs = keras.Input(base.input_shape[1:], name="image")
    x = base(augmentation(inputs) if augmentation is not None else inputs, training=False)
    if len(x.shape) == 4:
        x = keras.layers.GlobalAveragePooling2D(name="head_pool")(x)
    x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="head")(x)
    return keras.Model(inputs, outputs, name=name or f"{base.name}_classifier")


class FoundBackbone(NamedTuple):
    """The registry backbone inside a model, as :func:`find_backbone` found it.

    A pair, so ``base, spec = find_backbone(model)`` unpacks it. Pass it on as ``base=`` to
    the helpers of this module and of :mod:`tlhelpers.discriminative` to skip the search.

    Attributes:
        base: the backbone model (the model itself or a model nested in it).
        spec: its registry row.
    """

    base: keras.Model
    spec: BackboneSpec


def find_backbone(model: keras.Model) -> FoundBackbone:
    """Find the registry backbone in ``model`` (the model itself or a nested model).

    A backbone is recognised by its block-boundary layers, so this also works on a model
    that was saved and reloaded. The search walks every layer: find it once and pass the
    result on as ``base=`` (:class:`FoundBackbone`).

    Raises:
        ValueError: no backbone from the registry inside ``model``.

    Example:
        >>> base, spec = find_backbone(model)  # doctest: +SKIP
        >>> report = unfreeze_top(model, blocks=2, base=find_backbone(model))  # doctest: +SKIP
    """
    candidates = [model] + [layer for layer in all_layers(model, include_self=False) if isinstance(layer, keras.Model)]
    for candidate in candidates:
        names = {layer.name for layer in candidate.layers}
        for spec in BACKBONES.values():
            if all(last in names for _, last in spec.blocks):
                return FoundBackbone(candidate, spec)
    raise ValueError(_(
        "model {model!r} has no backbone from the registry ({names}), so its "
        "blocks are unknown; build the base with tlhelpers.backbones.load_backbone(name)"
    ).format(model=model.name, names=", ".join(BACKBONES)))


def _found(model: keras.Model, base: FoundBackbone | None) -> FoundBackbone:
    """``base`` if the caller found the backbone already, else :func:`find_backbone`'s answer."""
    return find_backbone(model) if base is None else base


def freeze(model: keras.Model, *, base: FoundBackbone | None = None) -> TrainabilityReport:
    """Freeze the whole backbone inside ``model`` (the head stays trainable).

    Args:
        model: a model around a registry backbone.
        base: ``find_backbone(model)``, if already found (found here otherwise).

    Example:
        >>> freeze(model).trainable_params  # doctest: +SKIP
        1285
    """
    found = _found(model, base)
    _set_all(found.base, False)
    return trainability_report(model, base=found)


def _set_all(base: keras.Model, trainable: bool) -> None:
    """Set ``trainable`` on the base and every layer in it.

    Explicitly, layer by layer: Keras skips the cascade to the layers when ``base.trainable``
    already had that value, which would leave layers set one by one unchanged.
    """
    base.trainable = trainable
    for layer in all_layers(base, include_self=False):
        layer.trainable = trainable


def validate_blocks(blocks: int, spec: BackboneSpec) -> int:
    """Return ``blocks`` if it is an integer from 0 to the backbone's number of blocks.

    Raises:
        ValueError: naming the valid range and the block names.

    Example:
        >>> from tlhelpers.backbones import get_spec
        >>> validate_blocks(2, get_spec("fashion_cnn"))
        2
    """
    if not isinstance(blocks, int) or isinstance(blocks, bool) or not 0 <= blocks <= spec.num_blocks:
        raise ValueError(_(
            "blocks={blocks!r} is out of range for {name}, which has {n} blocks "
            "({names}); choose an integer from 0 to {n}"
        ).format(blocks=blocks, name=spec.name, n=spec.num_blocks, names=", ".join(spec.block_names)))
    return blocks




def set_top_blocks_trainable(
    model: keras.Model, blocks: int, *, batchnorm: bool = False, base: FoundBackbone | None = None
) -> None:
    """What :func:`unfreeze_top` does, without building its report (for code that does not show it).

    Raises:
        ValueError: ``blocks`` outside ``0..number of blocks``, or no registry backbone.

    Example:
        >>> set_top_blocks_trainable(model, 2, base=find_backbone(model))  # doctest: +SKIP
    """
    base, spec = _found(model, base)
    validate_blocks(blocks, spec)
    _set_all(base, blocks > 0)
    if blocks:
        groups = block_of_layers(base, spec)
        first_trainable = spec.num_blocks - blocks
        for index, layers in enumerate(groups.values()):
            for layer in layers:
                is_bn = isinstance(layer, keras.layers.BatchNormalization)
                layer.trainable = index >= first_trainable and (batchnorm or not is_bn)


def unfreeze_top(
    model: keras.Model, blocks: int, batchnorm: bool = False, *, base: FoundBackbone | None = None
) -> TrainabilityReport:
    """Make the top ``blocks`` blocks of the backbone trainable, BatchNorm excluded.

    Lower blocks are frozen; ``blocks=0`` freezes the whole backbone. Recompile the model
    afterwards: the report warns until you do.

    A BatchNormalization layer with ``trainable = False`` runs in inference mode in Keras 3,
    whatever ``training`` value reaches it; that is what keeps its pretrained statistics.
    ``batchnorm=True`` unfreezes the BatchNorm layers of those blocks too: lesson 03 does
    it once to show what that costs (:mod:`tlhelpers.batchnorm`); do not fine-tune that way.
    ``base``: ``find_backbone(model)``, if already found (found here otherwise).

    Raises:
        ValueError: ``blocks`` outside ``0..number of blocks``, or no registry backbone.

    Example:
        >>> unfreeze_top(model, blocks=2).frozen_blocks  # doctest: +SKIP
        ['block1', 'block2']
    """
    found = _found(model, base)
    set_top_blocks_trainable(model, blocks, batchnorm=batchnorm, base=found)
    return trainability_report(model, base=found)


def _count(weights: list) -> int:
    return int(sum(int(w.numpy().size) if hasattr(w, "numpy") else 0 for w in weights))


# A block's state (BlockRow.state, read by code) as the report shows it.
STATES = {"frozen": N_("frozen"), "trainable": N_("trainable"), "partly": N_("partly")}


def _line(cells: list[tuple[str, int, str]]) -> str:
    """One line of a report's table: ``(text, width, align)`` per column."""
    return "".join(pad(text, width, align) for text, width, align in cells)


@dataclass
class LayerRow:
    """One layer of the report's per-layer view."""

    block: str
    layer: str
    kind: str
    trainable: bool
    batchnorm: bool
    params: int
    trainable_params: int


@dataclass
class BlockRow:
    """One line of the report: a backbone block, or the head."""

    block: str
    layers: int
    trainable_layers: int
    batchnorm_layers: int
    params: int
    trainable_params: int
    trainable_candidates: int  # layers with weights that are not BatchNorm

    @property
    def state(self) -> str:
        """'frozen', 'trainable' (all but BatchNorm) or 'partly'."""
        if self.trainable_params == 0:
            return "frozen"
        return "trainable" if self.trainable_layers >= self.trainable_candidates else "partly"


@dataclass
class TrainabilityReport:
    """Which blocks train, with parameter counts, and whether a recompile is due."""

    model_name: str
    backbone: str
    rows: list[BlockRow]
    changed_since_compile: list[str]
    layer_rows: list[LayerRow] = field(default_factory=list)

    @property
    def trainable_params(self) -> int:
        """Trainable parameters of the whole model (backbone and head)."""
        return sum(r.trainable_params for r in self.rows)

    @property
    def total_params(self) -> int:
        """All parameters of the model."""
        return sum(r.params for r in self.rows)

    @property
    def frozen_blocks(self) -> list[str]:
        """Backbone blocks with nothing to train."""
        return [r.block for r in self.rows[:-1] if r.state == "frozen"]

    @property
    def trainable_blocks(self) -> list[str]:
        """Backbone blocks with weights that train."""
        return [r.block for r in self.rows[:-1] if r.state != "frozen"]

    @property
    def needs_recompile(self) -> bool:
        """True when layers changed ``trainable`` after the last ``compile``."""
        return bool(self.changed_since_compile)

    def __repr__(self) -> str:
        head = _line([(_("block"), 14, "<"), (_("state"), 11, "<"), (_("layers"), 7, ">"), ("BN", 5, ">"),
                      (_("params"), 11, ">"), (_("trainable"), 11, ">")])
        rule = "-" * text_width(head)
        lines = [_("{model} ({backbone} backbone)").format(model=self.model_name, backbone=self.backbone), head, rule]
        for r in self.rows:
            lines.append(_line([(r.block, 14, "<"), (_(STATES[r.state]), 11, "<"), (str(r.layers), 7, ">"),
                                (str(r.batchnorm_layers), 5, ">"), (f"{r.params:,}", 11, ">"),
                                (f"{r.trainable_params:,}", 11, ">")]))
        lines.append(rule)
        lines.append(_("trainable parameters: {trainable:,} of {total:,}").format(
            trainable=self.trainable_params, total=self.total_params))
        if self.needs_recompile:
            lines.append(_(
                "WARNING: {n} layer(s) changed trainable since compile(): call "
                "model.compile(...) again before fit(); a model that has trained since compile() keeps training "
                "what was trainable then"
            ).format(n=len(self.changed_since_compile)))
        return "\n".join(lines)

    def by_layer(self, weighted_only: bool = True) -> str:
        """The per-layer view as text: block, layer, kind, trainable, BatchNorm, parameters.

        Args:
            weighted_only: leave out layers without weights (ReLU, pooling, ...).

        Example:
            >>> print(report.by_layer())  # doctest: +SKIP
        """
        head = _line([(_("block"), 12, "<"), (_("layer"), 22, "<"), (_("kind"), 20, "<"), (_("trains"), 8, "<"),
                      ("BN", 5, "<"), (_("params"), 10, ">"), (_("trainable"), 11, ">")])
        lines = [head, "-" * text_width(head)]
        for r in self.layer_rows:
            if weighted_only and not r.params:
                continue
            lines.append(_line([(r.block, 12, "<"), (r.layer, 22, "<"), (r.kind, 20, "<"),
                                (_("yes") if r.trainable_params else _("no"), 8, "<"),
                                ("BN" if r.batchnorm else "", 5, "<"), (f"{r.params:,}", 10, ">"),
                                (f"{r.trainable_params:,}", 11, ">")]))
        return "\n".join(lines)

    def to_frame(self, by: str = "block") -> pd.DataFrame:
        """The rows as a pandas DataFrame (``by="block"`` or ``by="layer"``)."""
        import pandas as pd

        if by == "layer":
            return pd.DataFrame([vars(r) for r in self.layer_rows]).set_index("layer")
        if by != "block":
            raise ValueError(_("by must be 'block' or 'layer', got {by!r}").format(by=by))
        return pd.DataFrame([{**vars(r), "state": r.state} for r in self.rows]).set_index("block")


def _changed_since_compile(model: keras.Model) -> list[str]:
    compiled = trainable_at_compile(model)
    if compiled is None:
        return []
    return [layer.name for layer in all_layers(model) if compiled.get(layer, layer.trainable) != layer.trainable]


def trainability_report(model: keras.Model, *, base: FoundBackbone | None = None) -> TrainabilityReport:
    """Per block: trainable or not, BatchNorm layers, parameters; plus the head.

    ``print(report)`` shows the blocks, the total of trainable parameters and a warning if
    ``trainable`` changed since the last ``compile``; ``report.by_layer()`` shows every
    layer. ``model`` may also be a bare backbone (its head row is then empty). ``base``:
    ``find_backbone(model)``, if already found (found here otherwise).

    Raises:
        ValueError: no registry backbone inside ``model``.

    Example:
        >>> print(trainability_report(model))  # doctest: +SKIP
    """
    base, spec = _found(model, base)
    groups = dict(block_of_layers(base, spec))
    groups["head"] = [] if base is model else [
        l for l in model.layers if l is not base and not isinstance(l, keras.layers.InputLayer)
    ]
    rows = [_row(block, layers) for block, layers in groups.items()]
    layer_rows = [
        LayerRow(
            block=block, layer=l.name, kind=type(l).__name__, trainable=bool(l.trainable),
            batchnorm=isinstance(l, keras.layers.BatchNormalization),
            params=_count(l.weights), trainable_params=_count(l.trainable_weights),
        )
        for block, layers in groups.items() for l in layers
    ]
    return TrainabilityReport(model.name, spec.name, rows, _changed_since_compile(model), layer_rows)


def _row(block: str, layers: list[keras.layers.Layer]) -> BlockRow:
    is_bn = [isinstance(l, keras.layers.BatchNormalization) for l in layers]
    return BlockRow(
        block=block,
        layers=len(layers),
        trainable_layers=sum(1 for l, bn in zip(layers, is_bn) if l.trainable and l.weights and not bn),
        batchnorm_layers=sum(is_bn),
        params=sum(_count(l.weights) for l in layers),
        trainable_params=sum(_count(l.trainable_weights) for l in layers),
        trainable_candidates=sum(1 for l, bn in zip(layers, is_bn) if l.weights and not bn),
    )
