"""Figures for notebooks: finishing one, and showing one in an ``ipywidgets.Output``.

Example:
    >>> import matplotlib.pyplot as plt
    >>> fig = finished(plt.figure())
    >>> plt.fignum_exists(fig.number)
    False
"""

from __future__ import annotations

from typing import Any


def show(output: Any, figure: Any) -> None:
    """Replace what an ``ipywidgets.Output`` shows with ``figure`` (no flicker).

    Example:
        >>> show(self.output, self.figure)  # doctest: +SKIP
    """
    from IPython.display import display

    output.clear_output(wait=True)
    with output:
        display(figure)


def finished(fig: Any) -> Any:
    """Lay ``fig`` out and close it (no second copy drawn by pyplot); return it to show.

    A notebook shows a returned figure as a cell's last expression; tests read its axes
    without a screen.

    Example:
        >>> import matplotlib.pyplot as plt
        >>> finished(plt.figure()).get_axes()
        []
    """
    import matplotlib.pyplot as plt

    fig.tight_layout()
    plt.close(fig)
    return fig
