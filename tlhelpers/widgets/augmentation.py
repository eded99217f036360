"""Sliders for augmentation strengths, previewing a grid of augmented images live.

Each change rebuilds the augmentation layers (:func:`tlhelpers.preprocessing.make_augmentation`)
and draws fresh random versions of a few images (row = one image, columns = random draws;
the first column is the original). Cheap enough to follow the sliders; nothing trains.

Example:
    >>> preview = AugmentationPreview(task.x_train[:3])  # doctest: +SKIP
    >>> preview.rotation.value = 0.2                      # doctest: +SKIP
    >>> preview.grid.shape                                # doctest: +SKIP
    (3, 5, 28, 28, 1)
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import numpy as np

from tlhelpers.display import show
from tlhelpers.i18n import _
from tlhelpers.plots_lessons import image_grid
from tlhelpers.preprocessing import augment_examples, make_augmentation

__all__ = ["AugmentationPreview"]


class AugmentationPreview:
    """Augmentation sliders and a live grid of augmented images.

    Args:
        images: a few raw 0..255 images ``(N, H, W, C)`` (3 to 6 look best).
        copies: random versions drawn per image.
        seed: the first draw's seed; the "new draw" button moves it on.

    Attributes:
        flip: ``Checkbox`` (random horizontal flips).
        rotation, zoom, contrast, translation: ``FloatSlider`` strengths (0 turns one off).
        resample: ``Button`` drawing new random versions.
        augmentation: the current ``keras.Sequential`` of augmentation layers.
        grid: the images drawn, ``(N, 1 + copies, H, W, C)``; column 0 is the original.
        figure: the last Figure drawn.
        widget: the dashboard to display.
    """

    def __init__(self, images: Any, copies: int = 4, seed: int = 0) -> None:
        self.images = np.asarray(images)
        if self.images.ndim != 4 or len(self.images) == 0:
            raise ValueError(_("images must be a non-empty (N, H, W, C) batch, got shape {shape}").format(
                shape=self.images.shape))
        if copies < 1:
            raise ValueError(_("copies must be at least 1, got {copies}").format(copies=copies))
        self.copies = copies
        self.seed = seed
        slider = dict(min=0.0, max=0.5, step=0.05, continuous_update=False, readout_format=".2f")
        self.flip = widgets.Checkbox(value=True, description=_("horizontal flip"))
        self.rotation = widgets.FloatSlider(value=0.05, description=_("rotation"), **slider)
        self.zoom = widgets.FloatSlider(value=0.1, description=_("zoom"), **slider)
        self.contrast = widgets.FloatSlider(value=0.2, description=_("contrast"), **{**slider, "max": 0.9})
        self.translation = widgets.FloatSlider(value=0.0, description=_("translation"), **slider)
        self.resample = widgets.Button(description=_("new draw"), icon="refresh")
        self.info = widgets.Label()
        self.output = widgets.Output()
        self.augmentation = None
        self.grid: np.ndarray | None = None
        self.figure = None
        for control in (self.flip, self.rotation, self.zoom, self.contrast, self.translation):
            control.observe(lambda change: self.redraw(), names="value")
        self.resample.on_click(self.on_resample)
        controls = widgets.VBox([self.flip, self.rotation, self.zoom, self.contrast, self.translation,
                                 self.resample, self.info])
        self.widget = widgets.HBox([controls, self.output])
        self.redraw()

    def settings(self) -> dict[str, Any]:
        """The current slider values, as :func:`make_augmentation` arguments."""
        return {"flip": self.flip.value, "rotation": self.rotation.value, "zoom": self.zoom.value,
                "contrast": self.contrast.value, "translation": self.translation.value}

    def on_resample(self, _button: Any = None) -> None:
        """Draw new random versions with the same settings."""
        self.seed += 1
        self.redraw()

    def redraw(self) -> None:
        """Rebuild the layers from the sliders and redraw the grid."""
        self.augmentation = make_augmentation(**self.settings(), seed=self.seed)
        augmented = augment_examples(self.images, self.augmentation, copies=self.copies)  # (copies, N, ...)
        self.grid = np.concatenate([self.images[:, None].astype(np.float32), augmented.transpose(1, 0, 2, 3, 4)], axis=1)
        n, cols = self.grid.shape[:2]
        titles = [(_("original") if j == 0 else _("draw {j}").format(j=j)) if i == 0 else ""
                  for i in range(n) for j in range(cols)]
        self.figure = image_grid(self.grid.reshape(-1, *self.grid.shape[2:]), titles, columns=cols, size=1.2)
        names = [layer.name for layer in self.augmentation.layers if layer.name != "identity"] or [_("none")]
        self.info.value = _("layers: {names}").format(names=", ".join(names))
        show(self.output, self.figure)
