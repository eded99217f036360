"""Choosing the track and profile in one place."""

from pathlib import Path

import pytest

from tlhelpers import config


def test_default_track_is_offline(monkeypatch) -> None:
    monkeypatch.delenv("TL_TRACK", raising=False)
    monkeypatch.delenv("TL_PROFILE", raising=False)
    track = config.current_track()
    assert (track.name, track.profile, track.backbone) == ("offline", "laptop", "fashion_cnn")


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
