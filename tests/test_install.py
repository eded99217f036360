"""tlhelpers installed without -e (a plain copy in site-packages) still finds the course's folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.system  # pip builds and installs the package

PROBE = "import tlhelpers, tlhelpers.config as c; print(tlhelpers.__file__); print(c.repo_dir()); print(c.build_dir())"


def test_a_plain_install_finds_the_course_folder_from_the_working_directory(tmp_path: Path) -> None:
    source, site = tmp_path / "source", tmp_path / "site"  # built from a copy: pip leaves build files behind
    shutil.copytree(REPO / "tlhelpers", source / "tlhelpers", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(source)],
                   check=True, capture_output=True, timeout=600)
    env = {**os.environ, "PYTHONPATH": str(site)}
    inside = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO / "notebooks", env=env,
                            capture_output=True, text=True, timeout=120)
    assert inside.returncode == 0, inside.stderr
    package, repo, build = inside.stdout.split()
    assert Path(package).is_relative_to(site)  # the copy, not the editable install
    assert Path(repo) == REPO and Path(build) == REPO / "build"

    outside = subprocess.run([sys.executable, "-c", PROBE], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=120)
    assert outside.returncode != 0
    assert "no course.toml" in outside.stderr and "pip install -e ." in outside.stderr
