"""Discriminative learning rates: lower blocks get smaller updates, with Keras 3 optimizers."""

from __future__ import annotations

import keras
import matplotlib
import numpy as np
import pytest

from tlhelpers import backbones, discriminative, transfer

matplotlib.use("Agg")

LOSS = "sparse_categorical_crossentropy"


@pytest.fixture
def model() -> keras.Model:
    keras.utils.set_random_seed(0)
    base = backbones.load_backbone("fashion_cnn", weights=None)
    model = transfer.build_classifier(base, num_classes=3, dropout=0.0)
    transfer.unfreeze_top(model, blocks=2)
    return model


@pytest.fixture
def batch() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.uniform(0, 255, (16, 32, 32, 1)).astype("float32"), rng.integers(0, 3, 16)


def _one_step(model: keras.Model, optimizer, batch) -> dict[str, list[np.ndarray]]:
    """Weight changes of one training step from ``model``'s current weights (model restored after)."""
    start = model.get_weights()
    model.compile(optimizer=optimizer, loss=LOSS)
    before = discriminative.trainable_weights_by_block(model)
    model.train_on_batch(*batch)
    after = discriminative.trainable_weights_by_block(model)
    model.set_weights(start)
    return {k: [a - b for a, b in zip(after[k], before[k])] for k in before}


def test_block_learning_rates_fall_geometrically(model) -> None:
    rates = discriminative.block_learning_rates(model, 1e-3, decay=0.1)
    assert list(rates) == ["block1", "block2", "block3", "block4", "head"]
    expected = {"head": 1e-3, "block4": 1e-4, "block3": 1e-5, "block2": 1e-6, "block1": 1e-7}
    for name, lr in expected.items():
        assert rates[name] == pytest.approx(lr)


def test_sgd_steps_are_scaled_exactly_by_the_rate_ratio(model, batch) -> None:
    rates = discriminative.block_learning_rates(model, 1.0, decay=0.3)  # large: float32 rounding stays small
    plain = _one_step(model, keras.optimizers.SGD(learning_rate=1.0), batch)
    scaled = _one_step(model, discriminative.discriminative_optimizer(model, rates, optimizer="sgd"), batch)
    for name in ("block3", "block4", "head"):
        factor = rates[name] / rates["head"]
        for d_plain, d_scaled in zip(plain[name], scaled[name]):
            assert np.abs(d_plain).max() > 0
            # the same direction, the length scaled by the factor (up to float32 rounding of w + dw - w)
            assert np.linalg.norm(d_scaled) / np.linalg.norm(d_plain) == pytest.approx(factor, rel=1e-3)
            cosine = np.sum(d_scaled * d_plain) / (np.linalg.norm(d_scaled) * np.linalg.norm(d_plain))
            assert cosine > 0.9999
    assert plain["block1"] == [] and scaled["block2"] == []  # frozen blocks have nothing that trains


@pytest.mark.slow
def test_adam_gives_lower_blocks_smaller_updates(model, batch) -> None:
    rates = discriminative.block_learning_rates(model, 1e-3, decay=0.1)
    uniform = _one_step(model, keras.optimizers.Adam(learning_rate=1e-3), batch)
    scaled = _one_step(model, discriminative.discriminative_optimizer(model, rates), batch)
    size = {k: float(np.mean(np.concatenate([np.abs(d).ravel() for d in v]))) for k, v in scaled.items() if v}
    same = {k: float(np.mean(np.concatenate([np.abs(d).ravel() for d in v]))) for k, v in uniform.items() if v}
    assert size["block3"] < size["block4"] < size["head"]
    # Adam's first step is about lr per weight, so the sizes follow the rates
    assert size["block4"] / size["head"] == pytest.approx(0.1 * same["block4"] / same["head"], rel=0.05)
    assert size["block3"] / size["block4"] == pytest.approx(0.1 * same["block3"] / same["block4"], rel=0.05)


def test_gradient_scaling_would_not_work_with_adam(model, batch) -> None:
    """Why the optimizer scales learning rates: Adam divides a scaled gradient's scale back out."""
    import tensorflow as tf

    with tf.GradientTape() as tape:
        loss = keras.losses.SparseCategoricalCrossentropy()(batch[1], model(batch[0], training=True))
    grads = tape.gradient(loss, model.trainable_variables)
    start = model.get_weights()
    steps = []
    for scale in (1.0, 10.0):  # the gradients, then 10x larger ones
        keras.optimizers.Adam(learning_rate=1e-3).apply_gradients(
            zip([g * scale for g in grads], model.trainable_variables)
        )
        steps.append([w.numpy() - s for w, s in zip(model.weights, start)])
        model.set_weights(start)
    grad_of = {w.path: g.numpy() for w, g in zip(model.trainable_variables, grads)}
    compared = 0
    for w, full, small in zip(model.weights, *steps):
        if w.path not in grad_of:
            continue
        # where |gradient| is well above Adam's epsilon (1e-7, added to sqrt(v) = 0.03 |g| at step 1)
        clear = np.abs(grad_of[w.path]) > 3e-4
        np.testing.assert_allclose(small[clear], full[clear], rtol=0.02)  # the same step
        compared += int(clear.sum())
    assert compared > 100


@pytest.mark.slow
def test_fit_trains_blocks_at_their_rates(model, batch) -> None:
    rates = discriminative.block_learning_rates(model, 1e-3, decay=0.2)
    model.compile(optimizer=discriminative.discriminative_optimizer(model, rates), loss=LOSS, metrics=["accuracy"])
    before = discriminative.trainable_weights_by_block(model)
    model.fit(*batch, epochs=3, batch_size=8, verbose=0)
    sizes = discriminative.update_sizes(model, before)
    assert sizes["block1"] == sizes["block2"] == 0.0
    assert 0 < sizes["block3"] < sizes["block4"] < sizes["head"]
    fig = discriminative.plot_update_sizes(sizes, rates)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["block3", "block4", "head"]


def test_the_helpers_take_the_backbone_found_once(model, batch, monkeypatch) -> None:
    """Lesson 04's walk through one model: with ``base=`` the backbone is found once."""
    searches = []
    real = transfer.find_backbone
    monkeypatch.setattr(discriminative, "find_backbone", lambda m: searches.append(m.name) or real(m))
    monkeypatch.setattr(transfer, "find_backbone", lambda m: searches.append(m.name) or real(m))
    found = transfer.find_backbone(model)
    rates = discriminative.block_learning_rates(model, 1e-3, decay=0.5, base=found)
    frozen = transfer.trainability_report(model, base=found).frozen_blocks
    optimizer = discriminative.discriminative_optimizer(model, rates, base=found)
    model.compile(optimizer=optimizer, loss=LOSS)
    before = discriminative.trainable_weights_by_block(model, base=found)
    model.train_on_batch(*batch)
    sizes = discriminative.update_sizes(model, before, base=found)
    assert searches == [model.name]
    assert frozen == ["block1", "block2"] and sizes["block1"] == 0.0 < sizes["block4"]
    assert list(discriminative.variable_groups(model, base=found)) == list(rates) and len(searches) == 1
    # without base= each helper finds it itself, with the same result
    assert discriminative.block_learning_rates(model, 1e-3, decay=0.5) == rates
    assert discriminative.discriminative_optimizer(model, rates).lr_factors == optimizer.lr_factors
    assert len(searches) == 3


def test_the_optimizer_serializes(model) -> None:
    rates = {"block4": 1e-4, "head": 1e-3}
    optimizer = discriminative.discriminative_optimizer(model, rates)
    config = keras.optimizers.serialize(optimizer)
    restored = keras.optimizers.deserialize(config)
    assert type(restored) is discriminative.DiscriminativeAdam
    assert restored.lr_factors == optimizer.lr_factors
    assert restored.lr_factors["block4_conv1/kernel"] == pytest.approx(0.1)


@pytest.mark.parametrize(
    "rates, kwargs, message",
    [
        ({"block9": 1e-3}, {}, "unknown block 'block9' in rates; choose from: block1, block2, block3, block4, head"),
        ({"head": 0}, {}, "rate of 'head' must be greater than 0, got 0"),
        ({"head": 1e-3}, {"optimizer": "adagrad"}, "unknown optimizer 'adagrad'; choose one of: adam, sgd"),
        ({}, {}, "rates is empty"),
    ],
)
def test_bad_rates_get_clear_errors(model, rates, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        discriminative.discriminative_optimizer(model, rates, **kwargs)


def test_bad_decay_and_foreign_model(model) -> None:
    with pytest.raises(ValueError, match="decay must be in \\(0, 1\\]"):
        discriminative.block_learning_rates(model, 1e-3, decay=1.5)
    with pytest.raises(ValueError, match="head_lr must be greater than 0"):
        discriminative.block_learning_rates(model, -1e-3)
    own = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)], name="homemade")
    with pytest.raises(ValueError, match="model 'homemade' has no backbone from the registry"):
        discriminative.block_learning_rates(own, 1e-3)


@pytest.mark.slow
def test_imagenet_track_backbone_gets_rates_per_registry_block() -> None:
    """The imagenet track's path, offline: MobileNetV2 from the registry with weights=None."""
    keras.utils.set_random_seed(0)
    base = backbones.load_backbone("mobilenet_v2", weights=None, input_size=32)
    model = transfer.build_classifier(base, num_classes=4, dropout=0.0)
    transfer.unfreeze_top(model, blocks=2)
    rates = discriminative.block_learning_rates(model, 1e-3, decay=0.5)
    assert list(rates) == [*backbones.get_spec("mobilenet_v2").block_names, "head"]
    optimizer = discriminative.discriminative_optimizer(model, rates)
    model.compile(optimizer=optimizer, loss=LOSS)
    before = discriminative.trainable_weights_by_block(model)
    rng = np.random.default_rng(0)
    model.train_on_batch(rng.uniform(-1, 1, (8, 32, 32, 3)).astype("float32"), rng.integers(0, 4, 8))
    assert discriminative.update_sizes(model, before)["stage5_160"] == 0.0  # frozen
    groups = discriminative.variable_groups(model)
    trainable = {id(w) for w in model.trainable_weights}
    for block in ("stage6_320", "top_conv", "head"):
        factors = [optimizer.factor_of(w) for w in groups[block] if id(w) in trainable]
        assert factors and factors == pytest.approx([rates[block] / rates["head"]] * len(factors))
