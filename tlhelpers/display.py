"""Figures for notebooks: finishing one, and showing one in an ``ipywidgets.Output``; text columns.

Example:
    >>> import matplotlib.pyplot as plt
    >>> fig = finished(plt.figure())
    >>> plt.fignum_exists(fig.number)
    False
"""

from __future__ import annotations

import unicodedata
from typing import Any


def text_width(text: str) -> int:
    """Columns ``text`` takes in a monospaced font: Chinese characters take two.

    Example:
        >>> text_width("block"), text_width("冻结")
        (5, 4)
    """
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, width: int, align: str = "<") -> str:
    """``format(text, f"{align}{width}")`` counted in columns, so that Chinese columns line up.

    Example:
        >>> pad("block", 8) + "|", pad("块", 4, ">") + "|"
        ('block   |', '  块|')
    """
    space = " " * max(0, width - text_width(text))
    return text + space if align == "<" else space + text


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


# Fonts with Chinese glyphs, most wanted first; `make setup` installs WenQuanYi Micro Hei where
# apt-get exists (Debian's fonts-wqy-microhei). Matplotlib's default font has no Chinese.
CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
             "PingFang SC", "Microsoft YaHei", "SimHei", "Heiti SC", "Arial Unicode MS")


def _installed_cjk_font(font_manager: Any) -> str | None:
    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def show_chinese() -> str | None:
    """Let figures and printed tables show Chinese: a CJK font behind matplotlib's, wide columns in pandas.

    Latin text keeps matplotlib's own font; Chinese characters fall back to the first font of
    :data:`CJK_FONTS` installed here. Returns that font's name, or ``None`` (with a warning
    that says what to install) when there is none.

    Example:
        >>> show_chinese() in (None, *CJK_FONTS)  # doctest: +SKIP
        True
    """
    import warnings

    import matplotlib
    from matplotlib import font_manager

    found = _installed_cjk_font(font_manager)
    if found is None:  # matplotlib's font list is cached: a font installed since is not in it yet
        for path in font_manager.findSystemFonts():
            if any(hint in path.lower() for hint in ("cjk", "wqy", "sourcehan", "pingfang", "yahei", "simhei", "heiti")):
                font_manager.fontManager.addfont(path)
        found = _installed_cjk_font(font_manager)
    if found is None:
        warnings.warn("没有安装含中文字符的字体，图中的中文会显示成方框：请安装一个（Debian/Ubuntu："
                      "sudo apt-get install fonts-wqy-microhei），然后重启内核", stacklevel=2)  # shown in Chinese only
    else:
        import logging

        # a CJK font has no bold: matplotlib says so on stderr each time and draws it regular
        logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
        families = [family for family in matplotlib.rcParams["font.family"] if family != found]
        matplotlib.rcParams["font.family"] = [*families, found]  # a glyph missing from the first comes from the next
    try:
        import pandas as pd

        pd.set_option("display.unicode.east_asian_width", True)
    except ImportError:
        pass
    return found
