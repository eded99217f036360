"""The command line: doctor, prefetch failing fast offline, pretrain refusing to overwrite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tlhelpers import prefetch
from tlhelpers.__main__ import main


def _cli(*args: str, env: dict[str, str] | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tlhelpers", *args], capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def test_doctor_reports_tracks_versions_and_threads(tmp_path: Path) -> None:
    result = _cli("doctor", env={"KERAS_HOME": str(tmp_path), "TL_TRACK": "offline"})
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "offline track: READY" in out
    assert "imagenet track: NOT READY" in out
    assert "python -m tlhelpers prefetch --track imagenet" in out
    for package in ("tensorflow", "keras", "keras-tuner", "jupyterlab", "ipywidgets"):
        assert f"\n  {package} " in out
    assert "TensorFlow threads: intra-op" in out


def test_doctor_fails_when_the_active_track_is_not_ready(tmp_path: Path) -> None:
    result = _cli("doctor", env={"KERAS_HOME": str(tmp_path), "TL_TRACK": "imagenet"})
    assert result.returncode == 1
    assert "MISSING  CIFAR-10" in result.stdout


def test_prefetch_fails_fast_when_offline(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(prefetch, "DOWNLOAD_HOST", "https://unreachable.invalid")
    with pytest.raises(ConnectionError, match="cannot reach unreachable.invalid .*copy its ~/.keras"):
        prefetch.prefetch("imagenet", backbones=("mobilenet_v2",))
    assert not any(tmp_path.rglob("*.h5")), "nothing may be half-downloaded"


def test_prefetch_cli_exits_with_a_message_here(tmp_path: Path) -> None:
    try:
        prefetch.check_online()
    except ConnectionError:
        pass
    else:
        pytest.skip("this machine is online; the test must not download")
    result = _cli("prefetch", "--track", "imagenet", env={"KERAS_HOME": str(tmp_path)}, timeout=60)
    assert result.returncode == 2
    assert "prefetch failed: cannot reach storage.googleapis.com" in result.stderr
    assert "Traceback" not in result.stderr


def test_prefetch_plan_covers_the_imagenet_track(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    labels = [item.label for item in prefetch.plan("imagenet")]
    assert labels[:3] == ["CIFAR-10", "ImageNet class names", "mobilenet_v2 weights (with ImageNet classifier)"]
    assert "mobilenet_v2 weights (96 px, no top)" in labels
    assert all(not item.cached for item in prefetch.plan("imagenet"))
    with pytest.raises(ValueError, match="unknown ImageNet backbone"):
        prefetch.plan("imagenet", backbones=("fashion_cnn",))


def test_pretrain_refuses_to_overwrite(capsys) -> None:
    assert main(["pretrain"]) == 2
    assert "already exists; pass --force" in capsys.readouterr().err
