"""Write each lesson's time into its header: reading time plus the measured run time per track.

Reading time counts the words of the lesson's markdown cells at 100 words a minute (a Chinese
lesson: its Chinese characters at 300 a minute, plus its other words at 100); run times come from the whole-course benchmark of each track (``benchmarks/results/course.json``
and ``course-imagenet.json``, written by ``benchmarks/course.py``). The header paragraph
that starts with ``**Time**`` in the first cell is replaced; nothing else changes. Run it
after ``benchmarks/course.py`` in each track:

    python scripts/lesson_headers.py notebooks/*.ipynb notebooks/zh/*.ipynb

A Chinese lesson (in ``notebooks/zh/``) runs the same code cells as its English twin, so its
run times are the English lesson's; its header paragraph starts with ``**时间**``.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path

import nbformat

RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "results"
FILES = {"offline": "course.json", "imagenet": "course-imagenet.json"}
WORDS_PER_MINUTE = 100
CHARACTERS_PER_MINUTE = 300  # Chinese
CJK = re.compile(r"[\u4e00-\u9fff]")
PARAGRAPH = re.compile(r"\*\*(Time|时间)(\*\*[:：]|[:：]\*\*).*?(?=\n\n|\Z)", re.S)


BUSY_LOAD = 0.5  # as benchmarks/report.py: a 1-minute load above half the CPUs means other jobs ran


def run_seconds(results: Path = RESULTS) -> tuple[dict[str, dict[str, float]], set[str]]:
    """Seconds per notebook, by track, from the full course runs that exist; and the busy tracks."""
    found, busy = {}, set()
    for track, name in FILES.items():
        path = results / name
        if path.is_file():
            data = json.loads(path.read_text())
            if not data["quick"]:
                found[track] = {r["notebook"]: r["seconds"] for r in data["runs"] if r["status"] == "ok"}
                machine = data["machine"]
                if machine["load_average_at_start"][0] >= BUSY_LOAD * machine["usable_cpus"]:
                    busy.add(track)
    return found, busy


def reading_minutes(nb: nbformat.NotebookNode) -> int:
    """Minutes to read the markdown, rounded up to 5: words at 100 a minute, Chinese characters at 300.

    Example:
        >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("迁移学习" * 400 + " and words")])
        >>> reading_minutes(nb)
        10
    """
    text = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    characters = len(CJK.findall(text))
    words = len(CJK.sub(" ", text).split())
    minutes = words / WORDS_PER_MINUTE + characters / CHARACTERS_PER_MINUTE
    return max(5, 5 * math.ceil(minutes / 5))


def is_chinese(path: Path) -> bool:
    return path.parent.name == "zh"


def header(nb: nbformat.NotebookNode, name: str, seconds: dict[str, dict[str, float]], busy: set[str] = frozenset(),
           chinese: bool = False) -> str:
    """The ``**Time**`` paragraph for one lesson (``**时间**`` for a Chinese one)."""
    if chinese:
        runs = [f"{t} 路线需 {seconds[t][name]:.0f} 秒" + ("（测量时有其他任务在运行，空闲机器上更快）" if t in busy else "")
                for t in FILES if name in seconds.get(t, {})]
        run = f"；在 2 个 CPU 核上运行全部单元格，{'，'.join(runs)}（代码与英文版相同，由 `benchmarks/course.py` 测得；" \
              "README 的基准测试部分说明了所用的机器）" if runs else ""
        return f"**时间**：约 {reading_minutes(nb)} 分钟阅读（按每分钟 300 字计），外加动手尝试的时间{run}。"
    runs = [f"{seconds[t][name]:.0f} s in the {t} track" + (" (measured while other jobs ran: less on a quiet machine)"
                                                           if t in busy else "")
            for t in FILES if name in seconds.get(t, {})]
    run = f"; running every cell takes {' and '.join(runs)}" if runs else ""
    return (f"**Time**: about {reading_minutes(nb)} minutes to read (at 100 words a minute), plus what you try{run}"
            " on 2 CPU cores (measured by `benchmarks/course.py`; the README's benchmarks say on which machines).")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args()
    seconds, busy = run_seconds()
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        first = nb.cells[0]
        if not PARAGRAPH.search(first.source):
            print(f"{path}: no **Time** (or **时间**) paragraph in the first cell; add one, then rerun", file=sys.stderr)
            return 1
        text = header(nb, path.name, seconds, busy, chinese=is_chinese(path))
        first.source = PARAGRAPH.sub(lambda _: text, first.source, count=1)
        nbformat.write(nb, path)
        print(f"{path}: {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
