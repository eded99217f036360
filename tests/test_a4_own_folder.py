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

from tlhelpers import evidence
from tlhelpers.config import PACKAGE_DIR, current_track
from tlhelpers.data import image_files
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


def _nest(folder: Path) -> Path:
    """``folder`` with some images moved into nested folders, and files and folders Keras' loader skips."""
    (folder / "disc" / "more" / "deeper").mkdir(parents=True)
    for name in ("00.jpg", "01.png"):
        (folder / "disc" / name).rename(folder / "disc" / "more" / "deeper" / name)
    (folder / "square" / "2024").mkdir()
    (folder / "square" / "03.png").rename(folder / "square" / "2024" / "03.png")
    (folder / ".thumbnails").mkdir()
    (folder / ".thumbnails" / "x.png").write_bytes(b"")
    (folder / "notes.txt").write_text("not a class")
    (folder / "square" / ".DS_Store").write_bytes(b"")
    return folder


def test_nested_images_count_as_keras_loads_them(tmp_path: Path) -> None:
    feedback = grade.check_own_folder(_nest(own_images(tmp_path / "my_images")), OFFLINE)
    assert feedback and "12 images of your own in 2 classes (disc, square)" in feedback.message


def test_the_graders_listing_gives_the_classes_and_files_data_image_files_gives(tmp_path: Path) -> None:
    """The grader judges the listing it made before the notebook ran: class_files reads it as image_files reads the disk."""
    root = _nest(own_images(tmp_path / "my_images"))
    (root / "empty_class").mkdir()
    on_disk = {c: [p.relative_to(root / c).as_posix() for p in files] for c, files in image_files(root).items()}
    assert "more/deeper/00.jpg" in on_disk["disc"] and "empty_class" in on_disk
    listing = evidence.files(root, images=False)
    assert grade.class_files(listing, "") == on_disk
    assert grade.class_files({f"work/my_images/{path}": None for path in listing}, "work/my_images") == on_disk


def test_predict_file_is_asked_about_nested_images(tmp_path: Path) -> None:
    root = _nest(own_images(tmp_path / "my_images"))
    asked = []

    def predict_file(path: Path) -> str:
        asked.append(path.relative_to(root).as_posix())
        return path.relative_to(root).parts[0]

    assert grade.check_predict_file(predict_file, root, ("disc", "square"), per_class=6)
    assert asked == ["disc/02.jpg", "disc/03.png", "disc/04.jpg", "disc/05.png", "disc/more/deeper/00.jpg",
                     "disc/more/deeper/01.png", "square/00.jpg", "square/01.png", "square/02.jpg", "square/04.jpg",
                     "square/05.png", "square/2024/03.png"]  # hidden files left out


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
