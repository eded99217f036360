"""Backbone facts: parameter counts, blocks table, roles, feature maps, measured speed."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tlhelpers import inspection
from tlhelpers.backbones import load_backbone


def test_parameter_counts_split_batchnorm_statistics() -> None:
    model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Conv2D(3, 3), keras.layers.BatchNormalization()])
    counts = inspection.parameter_counts(model)
    # conv 3*3*1*3 + 3 = 30; BN gamma/beta 6 trainable, moving mean/variance 6 not
    assert counts == {"total": 42, "trainable": 36, "non_trainable": 6}
    assert counts["total"] == model.count_params()


@pytest.mark.slow
def test_registry_table_counts_do_not_depend_on_input_size() -> None:
    table = inspection.registry_table(["fashion_cnn", "mobilenet_v2"])
    assert list(table.index) == ["fashion_cnn", "mobilenet_v2"]
    assert table.loc["mobilenet_v2", "parameters"] == load_backbone("mobilenet_v2", weights=None, input_size=96).count_params()
    assert table.loc["fashion_cnn", "parameters"] == load_backbone("fashion_cnn").count_params()  # = with bundled weights
    assert table.loc["mobilenet_v2", "features"] == 1280 and table.loc["mobilenet_v2", "blocks"] == 8
    assert table.loc["fashion_cnn", "preprocessing built in"] == "yes"


def test_block_roles() -> None:
    assert [inspection.block_role(i, 4) for i in range(4)] == ["generic", "in between", "in between", "specific"]
    assert [inspection.block_role(i, 3) for i in range(3)] == ["generic", "in between", "specific"]
    with pytest.raises(ValueError, match="block index 4 out of range for 4 blocks"):
        inspection.block_role(4, 4)


def test_blocks_table_adds_up() -> None:
    base = load_backbone("fashion_cnn", weights=None)
    table = inspection.blocks_table(base, "fashion_cnn")
    assert list(table.index) == ["block1", "block2", "block3", "block4"]
    assert table["parameters"].sum() == base.count_params()
    assert table["output shape"].tolist() == ["(16, 16, 16)", "(8, 8, 32)", "(4, 4, 64)", "(4, 4, 256)"]
    assert table.loc["block1", "role"] == "generic" and table.loc["block4", "role"] == "specific"


def test_output_shapes_for_each_pooling() -> None:
    shapes = inspection.output_shapes(lambda p: load_backbone("fashion_cnn", weights=None, pooling=p))
    assert shapes == {"None": (None, 4, 4, 256), "avg": (None, 256), "max": (None, 256)}


@pytest.mark.slow
def test_feature_maps_at_a_layer() -> None:
    base = load_backbone("fashion_cnn", weights=None)
    names = inspection.spatial_layers(base)
    assert names[0] == "rescale" and "block4_relu1" in names and "input" not in names
    maps = inspection.feature_maps(base, np.zeros((2, 32, 32, 1)), "block3_conv2")
    assert maps.shape == (2, 8, 8, 64)
    with pytest.raises(ValueError, match="layer 'nope' is not in fashion_cnn"):
        inspection.feature_maps(base, np.zeros((1, 32, 32, 1)), "nope")
    fig = inspection.plot_feature_maps(maps[0], "x", max_channels=10, columns=5)
    assert len(fig.axes) == 10
    with pytest.raises(ValueError, match=r"\(H, W, C\)"):
        inspection.plot_feature_maps(maps, "batch given")


def test_measure_throughput_reports_progress() -> None:
    calls = []
    model = load_backbone("fashion_cnn", weights=None)
    result = inspection.measure_throughput(model, batch_size=4, min_seconds=0.05, progress=lambda d, t: calls.append((d, t)))
    assert result.images_per_second > 0 and result.input_size == 32 and result.batch_size == 4
    assert calls[-1][0] == calls[-1][1] and len(calls) >= 3  # warm-up + at least 2 timed calls
    assert "images/second" in str(result)
    with pytest.raises(ValueError, match="batch_size >= 1"):
        inspection.measure_throughput(model, batch_size=0)


def test_measure_size_moves_size_into_the_accepted_range() -> None:
    assert inspection.measure_size("inception_v3", 32) == 75
    assert inspection.measure_size("mobilenet_v2") == 32
    assert inspection.measure_size("mobilenet_v2", 96) == 96
    assert inspection.measure_size("fashion_cnn", 96) == 32  # the bundled backbone takes only 32 px
