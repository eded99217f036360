"""A backbone dropdown: size, input size, blocks, and images/second measured on this machine.

Choosing a backbone builds it (random weights: size and speed do not depend on the
weights, and nothing is downloaded) and measures its inference speed, with a progress bar
while it measures. Results are kept, so going back to a backbone is instant.

Example:
    >>> explorer = BackboneExplorer(input_size=32)      # doctest: +SKIP
    >>> explorer.dropdown.value = "mobilenet_v2"        # doctest: +SKIP
    >>> explorer.results["mobilenet_v2"]["images/second"]  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any, Sequence

import ipywidgets as widgets

from tlhelpers.backbones import BACKBONES, get_spec, load_backbone
from tlhelpers.i18n import N_, _
from tlhelpers.inspection import measure_size, measure_throughput

__all__ = ["BackboneExplorer"]

# the keys of BackboneExplorer.results (code reads them) -> the row label shown
FACT_LABELS = {
    "parameters": N_("parameters"),
    "native input size": N_("native input size"),
    "measured at": N_("measured at"),
    "channels": N_("channels"),
    "blocks": N_("blocks"),
    "images/second": N_("images/second"),
}


class BackboneExplorer:
    """Pick a backbone; see its size, input size, block count and measured speed.

    Args:
        names: backbones to offer (default: the whole registry).
        input_size: side to measure at (default: each backbone's native size); a side below
            a backbone's minimum is raised to that minimum. The same side for all makes the
            speeds comparable.
        batch_size: images per measured call.
        min_seconds: how long to measure each (longer: steadier numbers).
        value: the backbone shown first (default: the first name).

    Attributes:
        dropdown: ``Dropdown`` of backbone names (``description="backbone"``).
        progress: ``IntProgress`` that fills while measuring.
        status: ``Label``: "measuring ..." or "done".
        table: ``HTML`` with the facts of the chosen backbone.
        results: facts per measured backbone (a dict of dicts).
        widget: the dashboard to display.
    """

    def __init__(
        self, names: Sequence[str] | None = None, input_size: int | None = None, batch_size: int = 16,
        min_seconds: float = 1.0, value: str | None = None,
    ) -> None:
        self.names = list(names) if names is not None else list(BACKBONES)
        for name in self.names:
            get_spec(name)  # a clear error for an unknown name
        self.input_size = input_size
        self.batch_size = batch_size
        self.min_seconds = min_seconds
        self.results: dict[str, dict[str, Any]] = {}
        self.dropdown = widgets.Dropdown(options=self.names, value=value or self.names[0], description=_("backbone"))
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description=_("measuring"))
        self.status = widgets.Label()
        self.table = widgets.HTML()
        self.dropdown.observe(lambda change: self.show(change["new"]), names="value")
        self.widget = widgets.VBox([self.dropdown, widgets.HBox([self.progress, self.status]), self.table])
        self.show(self.dropdown.value)

    def _tick(self, done: int, total: int) -> None:
        self.progress.max = total
        self.progress.value = done

    def measure(self, name: str) -> dict[str, Any]:
        """Build ``name`` and measure it (or return the kept result)."""
        if name in self.results:
            return self.results[name]
        spec = get_spec(name)
        size = measure_size(name, self.input_size if self.input_size is not None else spec.input_size)
        self.status.value = _("building {name} and measuring at {size} px ...").format(name=name, size=size)
        self.progress.value = 0
        model = load_backbone(name, weights=None, input_size=size, pooling="avg")
        speed = measure_throughput(model, batch_size=self.batch_size, min_seconds=self.min_seconds,
                                   progress=self._tick, name=name)
        self.results[name] = {
            "parameters": model.count_params(),
            "native input size": spec.input_size,
            "measured at": size,
            "channels": spec.channels,
            "blocks": spec.num_blocks,
            "images/second": speed.images_per_second,
        }
        return self.results[name]

    def show(self, name: str) -> None:
        """Measure if needed, then fill the table for ``name``."""
        facts = self.measure(name)
        self.status.value = _("done: {speed} images/second on this machine").format(speed=f"{facts['images/second']:,.0f}")
        rows = "".join(
            f"<tr><td>{_(FACT_LABELS.get(key, key))}</td><td style='text-align:right'>{value:,.0f}</td></tr>"
            if isinstance(value, float)
            else f"<tr><td>{_(FACT_LABELS.get(key, key))}</td><td style='text-align:right'>{value:,}</td></tr>"
            for key, value in facts.items()
        )
        self.table.value = f"<b>{name}</b><table>{rows}</table>"
