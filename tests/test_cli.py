"""The command line: doctor, prefetch failing fast offline, pretrain refusing to overwrite."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tlhelpers import data, doctor, prefetch
from tlhelpers.__main__ import main
from tlhelpers.config import current_track


def _cli(*args: str, env: dict[str, str] | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tlhelpers", *args], capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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


KERAS3_CIFAR = "datasets/cifar-10-batches-py-target/cifar-10-batches-py"  # keras 3.15's cifar10.load_data
KERAS2_CIFAR = "datasets/cifar-10-batches-py"


def write_cifar10(keras_home: Path, layout: str, per_batch: int = 3) -> Path:
    """Tiny CIFAR-10 python batches where Keras puts them: pickled dicts with bytes keys,
    ``data`` uint8 ``(N, 3072)`` channels first, ``labels`` a list; image i of batch b is
    filled with the value 10 * b + i and labelled i. (The real files are Python 2 pickles;
    protocol 4 stores bytes the same way, where Python 3's protocol 2 would call
    ``_codecs.encode``, which Keras' restricted unpickler refuses.)"""
    folder = keras_home / layout
    folder.mkdir(parents=True)
    for b, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        images = np.repeat(np.arange(per_batch, dtype=np.uint8)[:, None] + 10 * b, 3072, axis=1)
        batch = {b"batch_label": name.encode(), b"labels": list(range(per_batch)), b"data": images,
                 b"filenames": [f"{name}_{i}.png".encode() for i in range(per_batch)]}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=4))
    if layout == KERAS3_CIFAR:  # the downloaded archive sits next to the extracted folder
        (keras_home / "datasets" / "cifar-10-batches-py-target_archive").write_bytes(b"tiny stand-in")
    return folder


@pytest.mark.parametrize("layout", [KERAS3_CIFAR, KERAS2_CIFAR])
def test_doctor_and_load_cifar10_see_the_keras_cache(layout: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert data.find_cifar10() is None
    assert "MISSING  CIFAR-10" in "\n".join(doctor.track_status("imagenet")[1])
    folder = write_cifar10(tmp_path, layout)
    assert data.find_cifar10() == folder
    lines = doctor.track_status("imagenet")[1]
    assert any(line.startswith("  ok       CIFAR-10") and str(folder) in line for line in lines), lines
    (x, y), (xt, yt) = data.load_cifar10(download=False)
    assert x.shape == (15, 32, 32, 3) and xt.shape == (3, 32, 32, 3) and x.dtype == np.uint8
    assert y.tolist() == [0, 1, 2] * 5 and yt.tolist() == [0, 1, 2]
    assert x[4, 0, 0].tolist() == [11, 11, 11] and xt[2, 31, 31].tolist() == [52, 52, 52]  # batch 2 image 1; test image 2


def test_an_incomplete_cifar10_folder_does_not_count(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (write_cifar10(tmp_path, KERAS3_CIFAR) / "data_batch_3").unlink()
    assert data.find_cifar10() is None
    with pytest.raises(data.DataNotFoundError, match="prefetch --track imagenet"):
        data.load_cifar10(download=False)


def test_ready_names_what_the_imagenet_lessons_miss(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.delenv("TL_PROFILE", raising=False)
    weights = prefetch.WEIGHTS_FILES["mobilenet_v2"](current_track("imagenet").input_size, False)
    assert main(["ready", "--track", "imagenet"]) == 1
    line = capsys.readouterr().out.strip()
    assert line == ("imagenet track: missing CIFAR-10; mobilenet_v2 weights (96 px, no top); "
                    "fetch with: python -m tlhelpers prefetch --track imagenet")
    write_cifar10(tmp_path, KERAS3_CIFAR)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / weights).write_bytes(b"tiny stand-in")
    ready, line = doctor.essentials_ready("imagenet")  # the classifier and the class names are optional
    assert ready and line == "imagenet track: what the lessons need is on this machine"
    assert main(["ready", "--track", "imagenet"]) == 0
    with pytest.raises(ValueError, match="unknown track 'cifar'; choose one of: offline, imagenet"):
        doctor.essentials_ready("cifar")


@pytest.mark.slow
def test_ready_cli_for_the_offline_track(tmp_path: Path) -> None:
    result = _cli("ready", "--track", "offline", env={"KERAS_HOME": str(tmp_path)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "offline track: what the lessons need is on this machine"


def test_pretrain_refuses_to_overwrite(tmp_path: Path, capsys) -> None:
    # a folder of its own: with a broken guard this test must not retrain the bundled backbone
    kept = tmp_path / "fashion_cnn.keras"
    kept.write_bytes(b"a trained model")
    assert main(["pretrain", "--out", str(tmp_path)]) == 2
    assert "already exists; pass --force" in capsys.readouterr().err
    assert kept.read_bytes() == b"a trained model" and not (tmp_path / "fashion_cnn.json").exists()


def test_course_in_chinese_runs_the_chinese_lessons_and_refuses_an_unknown_language(monkeypatch, tmp_path, capsys) -> None:
    monkeypatch.chdir(tmp_path)  # no lessons here: the command says which folder it looked in
    monkeypatch.setenv("TL_LANG", "en")
    assert main(["course", "--language", "zh"]) == 2
    assert f"no notebooks found in {Path('notebooks') / 'zh'}" in capsys.readouterr().err
    assert os.environ["TL_LANG"] == "zh"  # the kernels it starts inherit the language
    monkeypatch.setenv("TL_LANG", "fr")
    assert main(["course"]) == 2
    assert "unknown language 'fr' (from $TL_LANG); choose one of: en (English), zh (简体中文)" in capsys.readouterr().err
