"""The backbone registry: the table, block boundaries, the bundled backbone and its checksum."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest

from tlhelpers import backbones

# Small inputs keep the keras.applications builds fast; weights=None never downloads.
TEST_SIZES = {"mobilenet_v2": 32, "resnet50": 32, "efficientnet_b0": 32, "inception_v3": 75, "fashion_cnn": 32}


def test_unknown_backbone_lists_known_names() -> None:
    with pytest.raises(ValueError) as err:
        backbones.get_spec("resnet5")
    assert str(err.value) == (
        "unknown backbone 'resnet5'; choose one of: "
        "fashion_cnn, mobilenet_v2, resnet50, efficientnet_b0, inception_v3"
    )


def test_table_has_the_required_backbones() -> None:
    assert {"mobilenet_v2", "resnet50", "efficientnet_b0", "inception_v3", "fashion_cnn"} <= set(backbones.BACKBONES)
    for spec in backbones.BACKBONES.values():
        assert spec.channels in (1, 3)
        assert spec.input_range[0] < spec.input_range[1]
        assert len(set(spec.block_names)) == spec.num_blocks >= 4


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mobilenet_v2", "resnet50", "efficientnet_b0", "inception_v3"])
def test_keras_applications_blocks_cover_every_layer_in_order(name: str) -> None:
    spec = backbones.get_spec(name)
    base = backbones.load_backbone(name, weights=None, input_size=TEST_SIZES[name], pooling="avg")
    assert base.input_shape == (None, TEST_SIZES[name], TEST_SIZES[name], 3)
    groups = backbones.block_of_layers(base, spec)
    assert list(groups) == list(spec.block_names)
    flat = [layer.name for layers in groups.values() for layer in layers]
    expected = [l.name for l in base.layers if not isinstance(l, keras.layers.InputLayer)]
    assert flat == expected  # every layer in exactly one block, in model order
    for (block, last), layers in zip(spec.blocks, groups.values()):
        assert last in [l.name for l in layers], f"{block} should end with {last}"
    assert isinstance(groups[spec.block_names[-1]][-1], keras.layers.GlobalAveragePooling2D)  # pooling joins the top block


def test_bundled_backbone_loads_verified_with_named_blocks() -> None:
    manifest = backbones.bundled_manifest()
    assert backbones.verify_bundled() == manifest["sha256"]
    base = backbones.load_backbone("fashion_cnn", pooling="avg")
    assert base.input_shape == (None, 32, 32, 1)
    assert base.output_shape == (None, backbones.BUNDLED_WIDTHS[-1])
    groups = backbones.block_of_layers(base, "fashion_cnn")
    assert list(groups) == ["block1", "block2", "block3", "block4"]
    assert [l.name for l in groups["block1"]] == ["rescale", "block1_conv1", "block1_bn1", "block1_relu1", "block1_pool"]


@pytest.mark.slow
def test_bundled_backbone_classifies_source_images_like_its_manifest_says() -> None:
    from tlhelpers import data
    from tlhelpers.pipeline import prepare_images

    model = backbones.load_backbone("fashion_cnn", include_top=True)
    (_, (x_test, y_test)), names = data.load_dataset("fashion_mnist_source")
    assert list(names) == backbones.bundled_manifest()["source_classes"]
    probs = model.predict(prepare_images(x_test[:1000], 32, 1), verbose=0)
    accuracy = float(np.mean(probs.argmax(1) == y_test[:1000]))
    assert accuracy > 0.85
    assert abs(accuracy - backbones.bundled_manifest()["source_test_accuracy"]) < 0.03


def test_scratch_weights_differ_from_pretrained() -> None:
    pretrained = backbones.load_backbone("fashion_cnn")
    scratch = backbones.load_backbone("fashion_cnn", weights=None)
    assert [l.name for l in scratch.layers] == [l.name for l in pretrained.layers]
    a = pretrained.get_layer("block2_conv1").get_weights()[0]
    b = scratch.get_layer("block2_conv1").get_weights()[0]
    assert a.shape == b.shape and not np.allclose(a, b)


def test_checksum_mismatch_is_a_clear_error(tmp_path: Path) -> None:
    copy = tmp_path / "fashion_cnn.keras"
    shutil.copy(backbones.BUNDLED_FILE, copy)
    with open(copy, "ab") as f:
        f.write(b"tampered")
    with pytest.raises(backbones.ChecksumError, match="sha256 .* but its manifest says"):
        backbones.verify_bundled(copy)
    with pytest.raises(FileNotFoundError, match="pretrain --force"):
        backbones.verify_bundled(tmp_path / "missing.keras")


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="input_size 20 is too small for inception_v3; use 75 or more"):
        backbones.load_backbone("inception_v3", weights=None, input_size=20)
    with pytest.raises(ValueError, match="unknown pooling 'mean'"):
        backbones.load_backbone("fashion_cnn", pooling="mean")
    with pytest.raises(ValueError, match=r"fashion_cnn takes input_shape \(32, 32, 1\)"):
        backbones.load_backbone("fashion_cnn", input_size=64)


def test_block_of_layers_rejects_a_foreign_model() -> None:
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(2, 3, name="conv")(inputs), name="mine")
    with pytest.raises(ValueError, match="model 'mine' is not a resnet50 backbone from the registry"):
        backbones.block_of_layers(model, "resnet50")


def test_manifest_records_training_settings() -> None:
    manifest = json.loads(backbones.BUNDLED_MANIFEST.read_text())
    for key in ("sha256", "seed", "epochs", "source_test_accuracy", "source_classes"):
        assert key in manifest
