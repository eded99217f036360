"""Assignment 4: the demo folder is for practice; full marks need the student's own images.

``check_own_folder`` recognises the demo folder's images (they are the track's dataset's,
pixel for pixel) however the files are named or mixed in, and a4's Question 1 test cell
requires it, so the demo folder scores at most 7 of the 8 points.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest
from PIL import Image

from tlhelpers.config import PACKAGE_DIR, current_track
from tlhelpers.exercises import assignment_checks as grade

A4 = PACKAGE_DIR.parent / "assignments" / "source" / "a4_own_images" / "own_images.ipynb"
A4_ZH = PACKAGE_DIR.parent / "assignments" / "zh" / "source" / "a4_own_images" / "own_images.ipynb"
OFFLINE = current_track("offline")


def own_images(folder: Path, per_class: int = 6) -> Path:
    """A student's folder: coloured discs and squares of several sizes, JPEG and PNG."""
    rng = np.random.default_rng(1)
    for name in ("disc", "square"):
        (folder / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            side = int(rng.integers(30, 70))
            yy, xx = np.mgrid[:side, :side]
            r = side * rng.uniform(0.2, 0.4)
            inside = ((yy - side / 2) ** 2 + (xx - side / 2) ** 2 < r**2) if name == "disc" else (
                (abs(yy - side / 2) < r) & (abs(xx - side / 2) < r))
            image = np.where(inside[..., None], rng.integers(120, 256, 3), rng.integers(0, 80, 3)).astype(np.uint8)
            Image.fromarray(image).save(folder / name / f"{i:02d}.{'png' if i % 2 else 'jpg'}")
    return folder


def test_own_images_pass(tmp_path: Path) -> None:
    feedback = grade.check_own_folder(own_images(tmp_path / "my_images"), OFFLINE)
    assert feedback and "12 images of your own in 2 classes (disc, square)" in feedback.message


def test_the_demo_folder_is_recognised_and_scored_as_practice(tmp_path: Path) -> None:
    demo = grade.make_demo_folder(tmp_path / "my_images", per_class=4, track=OFFLINE)
    feedback = grade.check_own_folder(demo, OFFLINE)
    assert not feedback
    assert "12 of the 12 images" in feedback.message and "for practice" in feedback.message


def test_demo_images_renamed_or_mixed_in_still_count_as_the_demo(tmp_path: Path) -> None:
    demo = grade.make_demo_folder(tmp_path / "demo", per_class=2, track=OFFLINE)
    mine = own_images(tmp_path / "my_images")
    shutil.copytree(demo / "bag", mine / "handbags")
    for i, path in enumerate(sorted((mine / "handbags").iterdir())):
        path.rename(path.with_name(f"my_photo_{i}.png"))
    feedback = grade.check_own_folder(mine, OFFLINE)
    assert not feedback and "2 of the 14 images" in feedback.message


def test_missing_or_empty_folders_are_explained(tmp_path: Path) -> None:
    assert "no folder" in grade.check_own_folder(tmp_path / "nope", OFFLINE).message
    (tmp_path / "empty" / "class_a").mkdir(parents=True)
    assert "no image files" in grade.check_own_folder(tmp_path / "empty", OFFLINE).message
    assert not grade.check_own_folder(None, OFFLINE)


@pytest.mark.parametrize("path, practice, at_most", [(A4, "for practice", "7 of the 8 points"),
                                                    (A4_ZH, "只供练习", "8 分中的 7 分")], ids=["en", "zh"])
def test_a4_requires_own_images_for_question_1_and_says_the_demo_is_practice(path: Path, practice: str, at_most: str) -> None:
    nb = nbformat.read(path, as_version=4)
    tests = {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells
             if c.metadata.get("nbgrader", {}).get("grade")}
    q1 = tests["a4_task_tests"]
    assert "grade.check_own_folder(IMAGE_FOLDER).require()" in q1.source
    assert q1.metadata["nbgrader"]["points"] == 1
    assert sum(c.metadata["nbgrader"]["points"] for c in tests.values()) == 8
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert practice in text and at_most in text
