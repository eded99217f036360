"""Freezing, unfreezing by blocks with BatchNorm frozen, the report, compiling."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tlhelpers import backbones, transfer
from tlhelpers.backbones import BUNDLED_WIDTHS
from tlhelpers.training import accuracy, compile_classifier

FEATURES = BUNDLED_WIDTHS[-1]  # the bundled backbone's pooled feature size
HEAD_PARAMS = FEATURES * 3 + 3  # the 3-class head of the model fixture


@pytest.fixture
def model() -> keras.Model:
    keras.utils.set_random_seed(0)
    base = backbones.load_backbone("fashion_cnn", weights=None)
    return transfer.build_classifier(base, num_classes=3)


@pytest.fixture
def toy_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (48, 32, 32, 1)).astype("float32")
    y = rng.integers(0, 3, 48)
    return x, y


def _weights(layers) -> dict[str, list[np.ndarray]]:
    return {l.name: [w.numpy().copy() for w in l.weights] for l in layers}


def test_build_classifier_starts_frozen(model: keras.Model) -> None:
    report = transfer.trainability_report(model)
    assert report.trainable_blocks == []
    assert report.rows[-1].block == "head" and report.rows[-1].state == "trainable"
    assert report.trainable_params == HEAD_PARAMS


@pytest.mark.slow
def test_unfreeze_top_trains_only_top_blocks_and_keeps_batchnorm_frozen(model, toy_data) -> None:
    x, y = toy_data
    report = transfer.unfreeze_top(model, blocks=2)
    assert report.frozen_blocks == ["block1", "block2"]
    assert report.trainable_blocks == ["block3", "block4"]
    base, _ = transfer.find_backbone(model)
    groups = backbones.block_of_layers(base, "fashion_cnn")
    frozen = groups["block1"] + groups["block2"]
    unfrozen = [l for l in groups["block3"] + groups["block4"] if l.weights and not isinstance(l, keras.layers.BatchNormalization)]
    batchnorm = [l for ls in groups.values() for l in ls if isinstance(l, keras.layers.BatchNormalization)]
    before_frozen, before_bn, before_top = _weights(frozen), _weights(batchnorm), _weights(unfrozen)

    compile_classifier(model, 1e-2)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)

    for name, values in _weights(frozen).items():
        for old, new in zip(before_frozen[name], values):
            np.testing.assert_array_equal(old, new)  # bit-identical
    for name, values in _weights(batchnorm).items():
        for old, new in zip(before_bn[name], values):
            np.testing.assert_array_equal(old, new)  # gamma, beta and moving statistics
    moved = [not np.array_equal(old, new) for name, values in _weights(unfrozen).items() for old, new in zip(before_top[name], values)]
    assert all(moved)


def test_report_counts_parameters_and_batchnorm(model) -> None:
    report = transfer.unfreeze_top(model, blocks=1)
    block4 = report.rows[3]
    assert block4.block == "block4" and block4.state == "trainable" and block4.batchnorm_layers == 1
    assert block4.trainable_params == 3 * 3 * BUNDLED_WIDTHS[2] * FEATURES  # the conv; BN stays frozen
    assert block4.params == 3 * 3 * BUNDLED_WIDTHS[2] * FEATURES + 4 * FEATURES
    assert report.total_params == model.count_params()
    assert report.trainable_params == sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    text = repr(report)
    assert "trainable parameters: " in text and "block4" in text


def test_report_warns_until_recompiled(model) -> None:
    compile_classifier(model, 1e-3)
    assert not transfer.trainability_report(model).needs_recompile
    report = transfer.unfreeze_top(model, blocks=1)
    assert report.needs_recompile and "WARNING" in repr(report)
    compile_classifier(model, 1e-4)
    assert not transfer.trainability_report(model).needs_recompile


def test_unfreeze_all_and_none(model) -> None:
    assert transfer.unfreeze_top(model, blocks=4).frozen_blocks == []
    assert transfer.unfreeze_top(model, blocks=0).trainable_blocks == []
    assert transfer.freeze(model).trainable_params == HEAD_PARAMS


@pytest.mark.parametrize("blocks", [5, -1, 1.5, True])
def test_blocks_out_of_range_names_the_valid_range(model, blocks) -> None:
    with pytest.raises(ValueError, match=r"fashion_cnn, which has 4 blocks .* choose an integer from 0 to 4"):
        transfer.unfreeze_top(model, blocks=blocks)


def test_foreign_model_gets_a_clear_message() -> None:
    inputs = keras.Input((8, 8, 3))
    own = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(inputs)), name="homemade")
    with pytest.raises(ValueError, match="model 'homemade' has no backbone from the registry"):
        transfer.unfreeze_top(own, blocks=1)


@pytest.mark.slow
def test_keras_applications_backbone_by_blocks() -> None:
    base = backbones.load_backbone("mobilenet_v2", weights=None, input_size=32)
    model = transfer.build_classifier(base, 4)
    report = transfer.unfreeze_top(model, blocks=2)
    assert report.trainable_blocks == ["stage6_320", "top_conv"]
    assert all(not l.trainable for l in base.layers if isinstance(l, keras.layers.BatchNormalization))
    assert base.get_layer("block_16_project").trainable and not base.get_layer("block_15_project").trainable


def test_compile_classifier_runs_several_steps_per_call() -> None:
    keras.utils.set_random_seed(0)
    head = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    compile_classifier(head, 1e-2, steps_per_execution=4)
    assert head.steps_per_execution == 4
    x = np.random.default_rng(0).normal(size=(40, 4)).astype("float32")
    history = head.fit(x, (x[:, 0] > 0).astype(int), batch_size=4, epochs=5, verbose=0)  # 10 steps: 4 + 4 + 2
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_accuracy_counts_argmax_hits() -> None:
    model = keras.Sequential([keras.Input((3,)), keras.layers.Softmax()])
    x = np.array([[3.0, 0, 0], [0, 3.0, 0], [0, 0, 3.0], [3.0, 0, 0]])
    assert accuracy(model, x, np.array([0, 1, 2, 0])) == 1.0
    assert accuracy(model, x, [0, 1, 0, 1], batch_size=1) == 0.5  # labels as a list, any batch size


def test_report_by_layer_lists_every_weighted_layer(model) -> None:
    report = transfer.unfreeze_top(model, blocks=1)
    text = report.by_layer()
    assert "block4_conv1" in text and "block4_bn1" in text and "block1_relu1" not in text
    frame = report.to_frame(by="layer")
    assert bool(frame.loc["block4_conv1", "trainable"]) and not bool(frame.loc["block4_bn1", "trainable"])
    assert bool(frame.loc["block4_bn1", "batchnorm"]) and frame.loc["block4_bn1", "trainable_params"] == 0
    assert frame["params"].sum() == model.count_params()
    assert frame["trainable_params"].sum() == report.trainable_params
    assert "block1_relu1" in report.by_layer(weighted_only=False)
    with pytest.raises(ValueError, match="by must be 'block' or 'layer', got 'row'"):
        report.to_frame(by="row")


def test_unfreeze_top_on_a_bare_backbone() -> None:
    base = backbones.load_backbone("fashion_cnn", weights=None)
    report = transfer.unfreeze_top(base, blocks=2)
    assert report.trainable_blocks == ["block3", "block4"]
    assert report.rows[-1].block == "head" and report.rows[-1].params == 0
    assert report.trainable_params == sum(int(np.prod(w.shape)) for w in base.trainable_weights)


def test_validate_blocks_names_the_range() -> None:
    spec = backbones.get_spec("resnet50")
    assert transfer.validate_blocks(5, spec) == 5
    with pytest.raises(ValueError, match="resnet50, which has 5 blocks .* from 0 to 5"):
        transfer.validate_blocks(6, spec)


def test_find_backbone_gives_a_pair_to_unpack_or_name(model) -> None:
    found = transfer.find_backbone(model)
    base, spec = found
    assert found.base is base is model.layers[1] and found.spec is spec and spec.name == "fashion_cnn"


def test_each_helper_searches_once_without_base_and_never_with_it(model, searches) -> None:
    transfer.trainability_report(model)
    transfer.unfreeze_top(model, blocks=1)
    transfer.freeze(model)
    transfer.set_top_blocks_trainable(model, 2)
    assert len(searches) == 4  # one search per call, the report built inside included
    found = transfer.find_backbone(model)
    searches.clear()
    transfer.trainability_report(model, base=found)
    transfer.unfreeze_top(model, 1, base=found)
    transfer.freeze(model, base=found)
    transfer.set_top_blocks_trainable(model, 2, base=found)
    assert searches == []


@pytest.mark.parametrize("blocks, batchnorm", [(0, False), (2, False), (4, True)])
def test_the_backbone_given_gives_the_same_as_the_backbone_found(blocks, batchnorm) -> None:
    models = []
    for given in (False, True):
        keras.utils.set_random_seed(0)
        m = transfer.build_classifier(backbones.load_backbone("fashion_cnn", weights=None), num_classes=3)
        compile_classifier(m, 1e-3)
        base = transfer.find_backbone(m) if given else None
        models.append((m, transfer.unfreeze_top(m, blocks, batchnorm, base=base)))
    (plain, plain_report), (given, given_report) = models
    assert repr(given_report) == repr(plain_report) and given_report.by_layer(False) == plain_report.by_layer(False)
    assert [l.trainable for l in given.layers[1].layers] == [l.trainable for l in plain.layers[1].layers]
    assert repr(transfer.freeze(given, base=transfer.find_backbone(given))) == repr(transfer.freeze(plain))


def test_set_top_blocks_trainable_sets_what_unfreeze_top_does_without_a_report(model, monkeypatch) -> None:
    keras.utils.set_random_seed(0)
    twin = transfer.build_classifier(backbones.load_backbone("fashion_cnn", weights=None), num_classes=3)
    transfer.unfreeze_top(twin, blocks=3)
    monkeypatch.setattr(transfer, "trainability_report", lambda *a, **k: pytest.fail("a report nobody reads"))
    assert transfer.set_top_blocks_trainable(model, 3) is None
    assert [l.trainable for l in model.layers[1].layers] == [l.trainable for l in twin.layers[1].layers]
    with pytest.raises(ValueError, match="blocks=5 is out of range for fashion_cnn"):
        transfer.set_top_blocks_trainable(model, 5)


@pytest.mark.slow
def test_without_recompile_the_unfreezing_has_no_effect(model, toy_data) -> None:
    """What the report's warning is about: Keras keeps training what was trainable at compile()."""
    x, y = toy_data
    compile_classifier(model, 1e-2)
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    transfer.unfreeze_top(model, blocks=1)
    conv = transfer.find_backbone(model)[0].get_layer("block4_conv1")
    before = conv.kernel.numpy().copy()
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    np.testing.assert_array_equal(before, conv.kernel.numpy())  # not recompiled: did not train
    compile_classifier(model, 1e-2)
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert not np.array_equal(before, conv.kernel.numpy())  # recompiled: it trains


def test_freeze_also_freezes_layers_set_one_by_one(model) -> None:
    base, _ = transfer.find_backbone(model)  # frozen by build_classifier
    base.get_layer("block2_conv1").trainable = True  # set by hand
    report = transfer.freeze(model)
    assert report.trainable_blocks == [] and report.trainable_params == HEAD_PARAMS
    assert not base.get_layer("block2_conv1").trainable
    transfer.unfreeze_top(model, blocks=1)
    base.get_layer("block1_conv1").trainable = True
    assert transfer.unfreeze_top(model, blocks=1).trainable_blocks == ["block4"]
    assert transfer.unfreeze_top(model, blocks=0).trainable_params == HEAD_PARAMS
