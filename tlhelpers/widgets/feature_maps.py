"""A layer slider showing one image's feature maps at that layer of a backbone.

Example:
    >>> explorer = FeatureMapExplorer(base, x[0])  # doctest: +SKIP
    >>> explorer.slider.value = 5                   # doctest: +SKIP
    >>> explorer.maps.shape                         # doctest: +SKIP
    (16, 16, 32)
"""

from __future__ import annotations

from typing import Any, Sequence

import ipywidgets as widgets
import keras
import numpy as np

from tlhelpers.display import show
from tlhelpers.i18n import _
from tlhelpers.inspection import plot_feature_maps, spatial_layers

__all__ = ["FeatureMapExplorer"]


class FeatureMapExplorer:
    """Feature maps of one image, layer by layer.

    All chosen layers are computed in one forward pass when the explorer is made, so the
    slider only redraws.

    Args:
        base: a backbone (e.g. ``load_backbone(track.backbone)``).
        image: one model input ``(H, W, C)`` (resized and preprocessed like the base expects).
        layers: layer names to offer (default: every layer with a spatial output,
            see :func:`tlhelpers.inspection.spatial_layers`).
        max_channels: how many channels to draw.

    Attributes:
        slider: ``IntSlider`` over the layers (``description="layer"``).
        info: ``Label`` naming the layer, its block position and the maps' shape.
        output: the plot.
        maps: the current layer's maps ``(H, W, C)``.
        figure: the last Figure drawn.
        widget: the dashboard to display.
    """

    def __init__(self, base: keras.Model, image: Any, layers: Sequence[str] | None = None, max_channels: int = 16) -> None:
        self.layers = list(layers) if layers is not None else spatial_layers(base)
        if not self.layers:
            raise ValueError(_("{model} has no layer with a spatial (H, W, C) output to show").format(model=base.name))
        unknown = [name for name in self.layers if name not in {l.name for l in base.layers}]
        if unknown:
            raise ValueError(_("layer(s) {names} not in {model}; choose from: {choices}").format(
                names=unknown, model=base.name, choices=", ".join(spatial_layers(base))))
        image = np.asarray(image, dtype=np.float32)
        if image.ndim != 3:
            raise ValueError(_("image must be one (H, W, C) input, got shape {shape}").format(shape=image.shape))
        probe = keras.Model(base.inputs[0], [base.get_layer(name).output for name in self.layers])
        outputs = probe(image[None], training=False)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        self.all_maps = [keras.ops.convert_to_numpy(o)[0] for o in outputs]
        self.max_channels = max_channels
        self.slider = widgets.IntSlider(
            value=0, min=0, max=len(self.layers) - 1, description=_("layer"), continuous_update=False,
        )
        self.info = widgets.Label()
        self.output = widgets.Output()
        self.figure = None
        self.slider.observe(lambda change: self.redraw(), names="value")
        self.widget = widgets.VBox([widgets.HBox([self.slider, self.info]), self.output])
        self.redraw()

    @property
    def layer(self) -> str:
        """Name of the layer the slider points at."""
        return self.layers[self.slider.value]

    @property
    def maps(self) -> np.ndarray:
        """Feature maps ``(H, W, C)`` of the chosen layer."""
        return self.all_maps[self.slider.value]

    def redraw(self) -> None:
        """Update the label and the plot for the slider's layer."""
        h, w, c = self.maps.shape
        self.info.value = _("{position}/{count}: {layer}: {h}x{w} maps, {c} channels").format(
            position=self.slider.value + 1, count=len(self.layers), layer=self.layer, h=h, w=w, c=c)
        self.figure = plot_feature_maps(
            self.maps, _("{layer}: first {shown} of {c} channels").format(
                layer=self.layer, shown=min(c, self.max_channels), c=c), self.max_channels
        )
        show(self.output, self.figure)
