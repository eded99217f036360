"""Choosing the track and profile in one place."""

import tomllib
from pathlib import Path

import pytest

from tlhelpers import config


def test_without_course_toml_the_track_is_offline_laptop(monkeypatch) -> None:
    monkeypatch.delenv("TL_TRACK", raising=False)
    monkeypatch.delenv("TL_PROFILE", raising=False)
    monkeypatch.setattr(config, "find_config", lambda start=None: None)  # no course.toml anywhere
    track = config.current_track()
    assert (track.name, track.profile, track.backbone) == ("offline", "laptop", "fashion_cnn")


def test_the_committed_course_toml_chooses_the_offline_laptop_track() -> None:
    settings = tomllib.loads((Path(__file__).resolve().parents[1] / "course.toml").read_text())
    assert settings == {"track": "offline", "profile": "laptop", "language": "en"}  # `make course`: the default track


def test_environment_overrides_course_toml(monkeypatch) -> None:
    monkeypatch.setenv("TL_TRACK", "imagenet")
    track = config.current_track()
    assert (track.backbone, track.input_size, track.dataset) == ("mobilenet_v2", 96, "cifar10")
    monkeypatch.setenv("TL_PROFILE", "gpu")
    assert config.current_track().input_size == 224


def test_course_toml_is_read_from_the_working_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("TL_TRACK", raising=False)
    (tmp_path / "course.toml").write_text('track = "imagenet"\n')
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    assert config.find_config() == tmp_path / "course.toml"
    assert config.current_track().name == "imagenet"


def test_unknown_track_names_value_source_and_choices(monkeypatch) -> None:
    monkeypatch.setenv("TL_TRACK", "cloud")
    with pytest.raises(ValueError, match=r"unknown track 'cloud' \(from \$TL_TRACK\); choose one of: offline, imagenet"):
        config.current_track()
    monkeypatch.delenv("TL_TRACK")
    with pytest.raises(ValueError, match="unknown profile 'tpu'"):
        config.current_track(profile="tpu")


def test_build_dir_is_the_course_folders_unless_tl_build_dir_names_another(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("TL_BUILD_DIR", raising=False)
    assert config.build_dir() == config.repo_dir() / "build"
    monkeypatch.setenv("TL_BUILD_DIR", str(tmp_path))
    assert config.build_dir() == tmp_path
