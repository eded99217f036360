"""What the lessons print that differs between the tracks, checked for each track.

A notebook cell whose output nbval compares (``# NBVAL_CHECK_OUTPUT``) must print the
same in both tracks; the shapes, parameter counts and blocks that differ per track are
checked here instead, for each track's backbone at its input size. Architecture facts
need no weights (``weights=None``); the task facts need the track's dataset.
"""

from __future__ import annotations

import numpy as np
import pytest

from tlhelpers import config, data
from tlhelpers.backbones import get_spec, load_backbone
from tlhelpers.gradcam import gradcam_layer
from tlhelpers.inspection import blocks_table, parameter_counts
from tlhelpers.transfer import build_classifier, unfreeze_top

# track -> what its lessons show about its backbone at the track's input size
FACTS = {
    "offline": {
        "backbone": "fashion_cnn", "input_size": 32, "dataset": "fashion_mnist_target", "labels": (20, 20),
        "maps": (4, 4, 256), "params": {"total": 218_576, "trainable": 217_648, "non_trainable": 928},
        "blocks": ("block1", "block2", "block3", "block4"),
        "block_outputs": [(16, 16, 16), (8, 8, 32), (4, 4, 64), (4, 4, 256)],
        "gradcam": "block4_relu1", "top_two": ["block3", "block4"],
    },
    "imagenet": {
        "backbone": "mobilenet_v2", "input_size": 96, "dataset": "cifar10", "labels": (20, 20),
        "maps": (3, 3, 1280), "params": {"total": 2_257_984, "trainable": 2_223_872, "non_trainable": 34_112},
        "blocks": ("stem", "stage1_24", "stage2_32", "stage3_64", "stage4_96", "stage5_160", "stage6_320", "top_conv"),
        "block_outputs": [(48, 48, 16), (24, 24, 24), (12, 12, 32), (6, 6, 64), (6, 6, 96), (3, 3, 160),
                          (3, 3, 320), (3, 3, 1280)],
        "gradcam": "out_relu", "top_two": ["stage6_320", "top_conv"],
    },
}


@pytest.mark.parametrize("name", FACTS)
def test_track_settings_lessons_print(name: str) -> None:
    track, facts = config.current_track(name), FACTS[name]
    assert (track.backbone, track.input_size, track.dataset) == (facts["backbone"], facts["input_size"], facts["dataset"])
    assert (track.labels_per_class, track.val_per_class) == facts["labels"]


@pytest.mark.slow
@pytest.mark.parametrize("name", FACTS)
def test_backbone_shapes_counts_and_blocks(name: str) -> None:
    track, facts = config.current_track(name), FACTS[name]
    base = load_backbone(track.backbone, weights=None, input_size=track.input_size)
    assert base.output_shape[1:] == facts["maps"]  # lesson 01: feature maps; 00/03/04: features per image
    pooled = load_backbone(track.backbone, weights=None, input_size=track.input_size, pooling="avg")
    assert pooled.output_shape[1:] == facts["maps"][-1:]
    assert parameter_counts(base) == facts["params"]
    spec = get_spec(track.backbone)
    assert spec.block_names == facts["blocks"]
    assert list(blocks_table(base, spec)["output shape"]) == [str(shape) for shape in facts["block_outputs"]]


@pytest.mark.parametrize("name", FACTS)
def test_classifier_gradcam_layer_and_unfreezing(name: str) -> None:
    track, facts = config.current_track(name), FACTS[name]
    model = build_classifier(load_backbone(track.backbone, weights=None, input_size=track.input_size), 5)
    assert gradcam_layer(model) == facts["gradcam"]  # lesson 05
    report = unfreeze_top(model, blocks=2)  # lesson 03's BLOCKS = 2, lesson 06's blocks=2
    assert report.trainable_blocks == facts["top_two"]
    assert report.frozen_blocks == list(facts["blocks"][:-2])
    head = 5 * (facts["maps"][-1] + 1)
    assert report.trainable_params > head  # the head and the top two blocks train


def test_offline_task_as_the_lessons_print_it(monkeypatch) -> None:
    monkeypatch.setenv("TL_TRACK", "offline")
    task = data.load_task()
    assert repr(task) == (
        "Task('fashion_mnist_target', 5 classes, train=100 + val=100 = 200 labels, test=5000, images=(32, 32, 1))"
    )
    assert task.class_names == ("Trouser", "Coat", "Shirt", "Sneaker", "Ankle boot")


def test_imagenet_task_as_the_lessons_print_it(monkeypatch) -> None:
    if data.find_cifar10() is None and not _cifar10_loader_patched():
        pytest.skip("CIFAR-10 is not on this machine (python -m tlhelpers prefetch --track imagenet)")
    monkeypatch.setenv("TL_TRACK", "imagenet")
    task = data.load_task()
    assert repr(task) == "Task('cifar10', 10 classes, train=200 + val=200 = 400 labels, test=2000, images=(32, 32, 3))"
    assert np.bincount(task.y_test).tolist() == [200] * 10  # a class-balanced test subset


def _cifar10_loader_patched() -> bool:
    """True where keras.datasets.cifar10 serves the data without a download (a stand-in)."""
    import keras

    return getattr(keras.datasets.cifar10.load_data, "__module__", "").startswith("sitecustomize")
