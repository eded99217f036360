"""Lesson 07's experiment plumbing, on tiny data the tests make (no real training runs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings

import keras
import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from tlhelpers import challenges  # noqa: E402
from tlhelpers.data import Task  # noqa: E402


def tiny_task(per_class: int = 6, classes: int = 3, size: int = 28, channels: int = 1, seed: int = 0) -> Task:
    """Classes that differ by brightness, so even a tiny model can learn them."""
    rng = np.random.default_rng(seed)

    def split(n):
        y = np.repeat(np.arange(classes), n)
        x = rng.integers(0, 60, (len(y), size, size, channels)) + 80 * y[:, None, None, None]
        return x.astype(np.uint8), y

    (xt, yt), (xv, yv), (xs, ys) = split(per_class), split(2), split(3)
    return Task("tiny", tuple(f"c{i}" for i in range(classes)), xt, yt, xv, yv, xs, ys)


# ---- devices and precision -------------------------------------------------------------


@pytest.mark.slow
def test_configure_cpu_devices_in_a_fresh_process() -> None:
    script = textwrap.dedent("""
        import sys, warnings
        import keras, numpy as np
        from tlhelpers import challenges
        first = challenges.configure_cpu_devices(2)
        import tensorflow as tf
        tf.constant(1.0) + 1  # TensorFlow starts here
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            again = challenges.configure_cpu_devices(2)
            other = challenges.configure_cpu_devices(3)
        tf.get_logger().setLevel("INFO")  # as in a Jupyter kernel, where TensorFlow logs INFO to stdout
        strategy = challenges.data_parallel_strategy()
        with strategy.scope():
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
            model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        model.fit(np.zeros((8, 3)), np.zeros(8), batch_size=4, epochs=1, verbose=0)
        sys.stderr.flush()
        print(first == again, len(first), len(other), len(caught), strategy.num_replicas_in_sync)
    """)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    # same devices again; 3 cannot be configured once TF runs: still 2 devices, no warning (stderr) but
    # one line on stdout saying what to do
    assert out.stdout.split()[-5:] == ["True", "2", "2", "0", "2"]
    advice = [line for line in out.stdout.splitlines() if "restart the kernel" in line]
    assert len(advice) == 1 and "already started TensorFlow" in advice[0] and "from the top" in advice[0]
    # tf.distribute's INFO notes (its devices, every reduction) stay out of the output
    assert "INFO:tensorflow" not in out.stdout + out.stderr and "MirroredStrategy" not in out.stderr


def test_hide_distribute_notes_drops_only_their_info_records() -> None:
    import logging

    from tlhelpers.challenges.devices import _DistributeNotes

    def record(level: int, path: str) -> logging.LogRecord:
        return logging.LogRecord("tensorflow", level, path, 1, "Reduce to /cpu:0 then broadcast", None, None)

    notes = _DistributeNotes()
    distribute = "/venv/site-packages/tensorflow/python/distribute/cross_device_ops.py"
    assert not notes.filter(record(logging.INFO, distribute))
    assert notes.filter(record(logging.WARNING, distribute))  # warnings still show
    assert notes.filter(record(logging.INFO, "/venv/site-packages/tensorflow/python/eager/polymorphic_function.py"))
    challenges.hide_distribute_notes()
    challenges.hide_distribute_notes()
    tf_filters = logging.getLogger("tensorflow").filters
    assert sum(isinstance(f, _DistributeNotes) for f in tf_filters) == 1  # once, however often it is called


def test_configure_cpu_devices_rejects_bad_counts() -> None:
    with pytest.raises(ValueError, match="at least 1, got 0"):
        challenges.configure_cpu_devices(0)


def test_mixed_precision_support_from_flags() -> None:
    assert challenges.mixed_precision_support(flags={"avx2"}, gpus=0)[0] is None
    assert "lacks" in challenges.mixed_precision_support(flags=set(), gpus=0)[1]
    assert challenges.mixed_precision_support(flags={"avx512_bf16"}, gpus=0)[0] == "mixed_bfloat16"
    assert challenges.mixed_precision_support(flags=set(), gpus=1)[0] == "mixed_float16"


def test_dtype_policy_is_restored() -> None:
    before = keras.mixed_precision.global_policy().name
    with challenges.dtype_policy("mixed_bfloat16"):
        assert keras.layers.Dense(2).dtype_policy.name == "mixed_bfloat16"
    assert keras.mixed_precision.global_policy().name == before
    with pytest.raises(RuntimeError):
        with challenges.dtype_policy("mixed_bfloat16"):
            raise RuntimeError("boom")
    assert keras.mixed_precision.global_policy().name == before


@pytest.mark.slow
def test_backbone_variant_keeps_the_bundled_weights() -> None:
    from tlhelpers.backbones import load_backbone

    full = load_backbone("fashion_cnn", pooling=None)
    small = challenges.backbone_variant("fashion_cnn", input_size=16)
    assert small.input_shape == (None, 16, 16, 1)
    for a, b in zip(full.get_weights(), small.get_weights()):
        np.testing.assert_array_equal(a, b)
    mixed = challenges.backbone_variant("fashion_cnn", policy="mixed_bfloat16")
    assert mixed.get_layer("block1_conv1").dtype_policy.name == "mixed_bfloat16"
    assert keras.mixed_precision.global_policy().name == "float32"
    with pytest.raises(ValueError, match="too small"):
        challenges.backbone_variant("fashion_cnn", input_size=4)


def test_backbone_variant_imagenet_path_without_download(monkeypatch) -> None:
    from tlhelpers import backbones
    from tlhelpers.challenges import devices

    calls = {}
    real_load = backbones.load_backbone

    def fake_load(name, weights="default", input_size=None, **kw):
        calls.update(name=name, size=input_size, policy=keras.mixed_precision.global_policy().name)
        return real_load(name, weights=None, input_size=input_size)

    monkeypatch.setattr(devices, "load_backbone", fake_load)
    model = challenges.backbone_variant("mobilenet_v2", input_size=48, policy="mixed_bfloat16")
    assert calls == {"name": "mobilenet_v2", "size": 48, "policy": "mixed_bfloat16"}
    assert model.input_shape == (None, 48, 48, 3)


def test_backbone_variant_takes_the_weights_of_another_size(monkeypatch) -> None:
    # Keras has MobileNetV2's ImageNet weights for 96-224 px only (and warns at 48): the variant is
    # built at 48 px with random weights and given those of the 96 px model. No download here:
    # the "pretrained" model is a seeded random one, recorded to compare with.
    import warnings

    from tlhelpers import backbones
    from tlhelpers.challenges import devices

    real_load = backbones.load_backbone
    loaded = []

    def fake_load(name, weights="default", input_size=None, **kw):
        if weights == "default":
            keras.utils.set_random_seed(1)
            loaded.append(real_load(name, weights=None, input_size=input_size))
            return loaded[-1]
        return real_load(name, weights=weights, input_size=input_size, **kw)

    monkeypatch.setattr(devices, "load_backbone", fake_load)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no Keras UserWarning about the input size
        small = challenges.backbone_variant("mobilenet_v2", input_size=48, weights_size=96)
    assert small.input_shape == (None, 48, 48, 3)
    assert [m.input_shape for m in loaded] == [(None, 96, 96, 3)]
    for a, b in zip(loaded[0].get_weights(), small.get_weights()):
        np.testing.assert_array_equal(a, b)
    same = challenges.backbone_variant("mobilenet_v2", input_size=96, weights_size=96)  # nothing to copy
    assert same is loaded[-1]


# ---- cost ------------------------------------------------------------------------------


def test_take_per_class_is_nested_and_checked() -> None:
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2])
    x = np.arange(9)
    xs, ys = challenges.take_per_class(x, y, 2)
    assert ys.tolist() == [0, 0, 1, 1, 2, 2] and xs.tolist() == [0, 3, 1, 4, 2, 5]
    assert set(challenges.take_per_class(x, y, 1)[0]) <= set(xs)
    with pytest.raises(ValueError, match="between 1 and 3"):
        challenges.take_per_class(x, y, 4)


@pytest.mark.slow
def test_measure_cost_runs_each_method_and_size() -> None:
    task = tiny_task(per_class=4)
    supported = challenges.mixed_precision_support()[0] is not None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # by default, no warning whatever the hardware
        cost = challenges.measure_cost(task, "fashion_cnn", per_class=[2, 4], epochs=1, batch_size=4)
    methods = ["fine_tune", "cached", "small_input"]
    assert list(dict.fromkeys(cost.method)) == methods + (["mixed_precision"] if supported else [])
    assert cost[cost.method == "small_input"].input_size.unique().tolist() == [16]
    assert sorted(cost.train_images.unique()) == [6, 12]
    assert (cost.seconds > 0).all()
    assert ((cost.test_accuracy * 9).round(9) % 1 == 0).all()  # a share of the 9 test images, measured
    cached = cost[cost.method == "cached"].set_index("train_images").test_accuracy
    assert cached[12] == 1.0  # classes that differ by brightness: the probe on pretrained features gets them all


@pytest.mark.slow
def test_measure_cost_without_16_bit_units(monkeypatch) -> None:
    from tlhelpers.challenges import cost as cost_module

    monkeypatch.setattr(cost_module, "mixed_precision_support", lambda: (None, "no GPU and no bfloat16 units"))
    task = tiny_task(per_class=2)
    default = challenges.measure_cost(task, "fashion_cnn", per_class=[2], methods=None, epochs=1, batch_size=2)
    assert "mixed_precision" not in set(default.method)  # left out silently: the lesson says why
    with pytest.warns(UserWarning, match="mixed_precision skipped: no GPU and no bfloat16 units"):
        asked = challenges.measure_cost(task, "fashion_cnn", per_class=[2], methods=["cached", "mixed_precision"])
    assert asked.method.tolist() == ["cached"]


def test_measure_cost_rejects_bad_arguments() -> None:
    task = tiny_task(per_class=4)
    with pytest.raises(ValueError, match="unknown method 'gpu'"):
        challenges.measure_cost(task, "fashion_cnn", per_class=[2], methods=["gpu"])
    with pytest.raises(ValueError, match="between 1 and 4"):
        challenges.measure_cost(task, "fashion_cnn", per_class=[2, 9])
    with pytest.raises(ValueError, match="per_class is empty"):
        challenges.measure_cost(task, "fashion_cnn", per_class=[])


def test_growth_exponent() -> None:
    df = pd.DataFrame({"method": ["a"] * 3 + ["b"] * 3, "train_images": [10, 100, 1000] * 2,
                       "seconds": [1.0, 10.0, 100.0, 2.0, 2.0, 2.0]})
    assert challenges.growth_exponent(df, "a") == pytest.approx(1.0)
    assert challenges.growth_exponent(df, "b") == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="needs two sizes"):
        challenges.growth_exponent(df, "c")


# ---- domain shift ----------------------------------------------------------------------


def test_shift_images() -> None:
    x = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3, 1)
    assert (challenges.shift_images(x, "none") == x).all()
    assert (challenges.shift_images(x, "inverted") == 255 - x).all()
    rotated = challenges.shift_images(x, "rotated")
    assert (rotated[0, :, :, 0] == np.rot90(x[0, :, :, 0])).all()
    noisy = challenges.shift_images(x, "noisy", seed=1)
    assert noisy.dtype == np.uint8 and not (noisy == x).all()
    assert (challenges.shift_images(x, "noisy", seed=1) == noisy).all()  # seeded
    with pytest.raises(ValueError, match="unknown shift 'blur'; choose one of: none"):
        challenges.shift_images(x, "blur")
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        challenges.shift_images(x[0], "none")


def test_shift_task_moves_every_split() -> None:
    task = tiny_task()
    shifted = challenges.shift_task(task, "inverted")
    for split in ("x_train", "x_val", "x_test"):
        assert (getattr(shifted, split) == 255 - getattr(task, split)).all()
    assert (shifted.y_test == task.y_test).all() and shifted.name == "tiny[inverted]"


def test_similarity_measures() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(60, 4)) + 5
    assert challenges.centroid_similarity(a, a * 3) == pytest.approx(1.0)
    assert challenges.centroid_similarity(a, -a) == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="zero mean"):
        challenges.centroid_similarity(np.zeros((2, 3)), a)
    same = challenges.domain_classifier_accuracy(a[:30], a[30:])
    apart = challenges.domain_classifier_accuracy(a, a + 3)
    assert same < 0.8 and apart > 0.95


def test_linear_probe_accuracy() -> None:
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 20)
    separable = rng.normal(size=(40, 3)) + 4 * y[:, None]
    assert challenges.linear_probe_accuracy(separable, y, separable, y) == 1.0
    noise = rng.normal(size=(40, 3))
    assert challenges.linear_probe_accuracy(noise[:20], y[::2], noise[20:], y[1::2]) < 0.9


@pytest.mark.slow
def test_pretraining_checks_and_missing_source() -> None:
    from tlhelpers.backbones import load_backbone

    task = tiny_task(per_class=10)
    base = load_backbone("fashion_cnn")
    checks = challenges.pretraining_checks(task, base, "fashion_cnn", task.x_test, shifts=["none", "inverted"])
    assert list(checks.index) == ["none", "inverted"]
    assert checks.probe_advantage.tolist() == pytest.approx((checks.probe_features - checks.probe_pixels).tolist())
    # inverted images are far from the source images, the task as it is much closer
    assert checks.loc["inverted", "domain_accuracy"] > checks.loc["none", "domain_accuracy"]
    assert checks.loc["inverted", "similarity"] < checks.loc["none", "similarity"]
    blind = challenges.pretraining_checks(task, base, "fashion_cnn", None, shifts=["none"])
    assert blind.similarity.isna().all() and blind.probe_features.notna().all()


def test_check_warnings_reads_each_check_in_its_direction() -> None:
    checks = pd.DataFrame({"similarity": [0.9, 0.95, np.nan], "domain_accuracy": [0.8, 0.7, 0.9],
                           "probe_advantage": [0.1, -0.2, 0.0]}, index=["none", "closer", "blind"])
    closer = challenges.check_warnings(checks, "closer")
    assert closer.warned.tolist() == [False, False, True]
    assert closer.loc["similarity", "closer"] == pytest.approx(0.95)
    assert challenges.check_warnings(checks, "blind").warned.tolist() == [None, True, True]
    with pytest.raises(ValueError, match="shift 'rotated' is not in the checks; checked: none, closer, blind"):
        challenges.check_warnings(checks, "rotated")


@pytest.mark.slow
def test_shift_gains_table() -> None:
    task = tiny_task(per_class=4)
    gains = challenges.shift_gains(task, "fashion_cnn", shifts=["none", "rotated"], max_epochs=2, patience=1,
                                   progress=True)
    assert list(gains.index) == ["none", "rotated"]
    assert gains.gain.tolist() == pytest.approx((gains.probe - gains.scratch).tolist())
    assert gains.scratch_epochs.between(1, 4).all()  # scratch gets twice max_epochs
    assert (gains.probe == 1.0).all()  # brightness survives a rotation: the probe gets every test image


@pytest.mark.slow
def test_shift_gains_trains_scratch_at_scratch_size(monkeypatch) -> None:
    from tlhelpers.backbones import load_backbone
    from tlhelpers.challenges import domain_shift

    sizes = []
    real_compare = domain_shift.compare

    def spy(task, backbone, **kw):
        sizes.append(kw["input_size"])
        return real_compare(task, backbone, **kw)

    monkeypatch.setattr(domain_shift, "compare", spy)
    task = tiny_task(per_class=3, size=32, channels=3)
    base = load_backbone("mobilenet_v2", weights=None, input_size=48)  # its scratch is a small CNN
    gains = challenges.shift_gains(task, "mobilenet_v2", ["none"], base=base, input_size=48, scratch_size=32,
                                   max_epochs=1, patience=1)
    assert sizes == [32] and 0 <= gains.loc["none", "scratch"] <= 1


@pytest.mark.parametrize("backbone, input_size, scratch_size, same", [
    ("fashion_cnn", None, None, True),
    ("fashion_cnn", None, 32, True),  # None is the registry's size, 32 for the bundled backbone
    ("mobilenet_v2", 48, 32, False),
])
def test_shift_gains_turns_each_shifted_task_into_inputs_once(monkeypatch, backbone, input_size, scratch_size,
                                                              same) -> None:
    from tlhelpers import pipeline, strategies
    from tlhelpers.backbones import load_backbone
    from tlhelpers.challenges import domain_shift
    from tlhelpers.features import extract_features

    made = []  # (module, size) of every conversion to model inputs

    def converter(module: str):
        return lambda x, name, size=None: made.append((module, size)) or pipeline.to_model_input(x, name, size)

    for module in (strategies, domain_shift):
        monkeypatch.setattr(module, "to_model_input", converter(module.__name__))
    given = []

    def fake_compare(task, name, *, strategies, input_size, prepared, **kw):  # scratch's training is not the point
        given.append((input_size, prepared))
        return pd.DataFrame({"test_accuracy": [0.5], "epochs": [3]})

    monkeypatch.setattr(domain_shift, "compare", fake_compare)
    task = tiny_task(per_class=3, size=32, channels=1 if backbone == "fashion_cnn" else 3)
    base = load_backbone(backbone, weights=None, input_size=input_size)
    gains = challenges.shift_gains(task, backbone, ["none", "rotated"], base=base, input_size=input_size,
                                   scratch_size=scratch_size)
    scratch_input = input_size if scratch_size is None else scratch_size
    assert [size for size, _prepared in given] == [scratch_input] * 2
    per_shift = [("tlhelpers.strategies", scratch_input)] * 3  # train, validation, test: prepared for compare
    if not same:  # the backbone takes another size: its own train and test inputs
        per_shift += [("tlhelpers.challenges.domain_shift", input_size)] * 2
    assert made == per_shift * 2
    for shift, (_size, prepared) in zip(["none", "rotated"], given):
        shifted = challenges.shift_task(task, shift)
        np.testing.assert_array_equal(prepared.x_test, pipeline.to_model_input(shifted.x_test, backbone, scratch_input))
        f_train, f_test = (extract_features(base, pipeline.to_model_input(x, backbone, input_size))
                           for x in (shifted.x_train, shifted.x_test))  # what shift_gains computed before
        probe = challenges.linear_probe_accuracy(f_train, shifted.y_train, f_test, shifted.y_test)
        assert gains.loc[shift, "probe"] == probe and gains.loc[shift, "gain"] == probe - 0.5


# ---- forgetting ------------------------------------------------------------------------


def test_feature_drift() -> None:
    a = np.ones((3, 4))
    assert challenges.feature_drift(a, a) == pytest.approx(1.0)
    assert challenges.feature_drift(a, -a) == pytest.approx(-1.0)


def test_source_data_and_model_per_track() -> None:
    assert challenges.source_data("mobilenet_v2") is None
    assert challenges.source_model("mobilenet_v2") is None
    assert challenges.source_model("fashion_cnn").output.shape == (None, 5)


@pytest.mark.slow
def test_forgetting_run_measures_the_source_head() -> None:
    task = tiny_task(per_class=4, size=32)
    source = (task.x_test, np.zeros(len(task.y_test), dtype=int))
    gentle = challenges.forgetting_run(task, "fashion_cnn", fine_lr=1e-6, fine_epochs=1,
                                       source=source, setting="gentle")
    harsh = challenges.forgetting_run(task, "fashion_cnn", fine_lr=0.5, fine_epochs=2,
                                      source=source)
    assert gentle.setting == "gentle" and harsh.setting == "lr 0.5, 4 block(s)"
    assert gentle.source_after == pytest.approx(gentle.source_before, abs=1e-9)  # 1e-6 barely moves it
    assert gentle.feature_similarity > 0.999 > harsh.feature_similarity
    table = challenges.forgetting_table([gentle, harsh])
    assert list(table.index) == ["gentle", "lr 0.5, 4 block(s)"]
    assert table.loc["gentle", "forgotten"] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.slow
def test_forgetting_run_without_a_source_head(tmp_path) -> None:
    # An ImageNet backbone (imagenet track), in a fresh process whose Keras cache holds a
    # weights file made here from the same architecture with random weights.
    script = textwrap.dedent("""
        import json, sys, keras, numpy as np
        from tlhelpers import challenges
        from tlhelpers.data import Task
        from tlhelpers.prefetch import WEIGHTS_FILES
        keras.applications.MobileNetV2(weights=None, include_top=False, input_shape=(96, 96, 3)).save(
            sys.argv[1] + "/models/" + WEIGHTS_FILES["mobilenet_v2"](96, False))
        rng = np.random.default_rng(0)
        x, y = rng.integers(0, 255, (6, 32, 32, 3)).astype(np.uint8), np.repeat([0, 1], 3)
        task = Task("tiny", ("a", "b"), x, y, x, y, x, y)
        r = challenges.forgetting_run(task, "mobilenet_v2", fine_lr=1e-3, blocks=1,
                                      fine_epochs=1, input_size=96)
        table = challenges.forgetting_table([r])
        print(json.dumps([r.setting, r.source_before, r.source_after, table.loc[r.setting, "forgotten"],
                          r.target_accuracy, r.feature_similarity]))
    """)
    (tmp_path / "models").mkdir()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    setting, before, after, forgotten, target, similarity = json.loads(out.stdout.splitlines()[-1])
    assert setting == "lr 0.001, 1 block(s)"
    assert np.isnan(before) and np.isnan(after) and np.isnan(forgotten)  # no source head to measure
    assert 0 <= target <= 1 and -1 <= similarity < 1  # the top block was fine-tuned: its features moved


# ---- backbones, benchmarks, plots ------------------------------------------------------


@pytest.mark.slow
def test_backbone_speed_uses_random_weights() -> None:
    speed = challenges.backbone_speed(["fashion_cnn", "mobilenet_v2"], input_size=40, batch_size=4, repeats=1,
                                      progress=True)
    from tlhelpers.backbones import load_backbone

    expected = load_backbone("fashion_cnn", weights=None, pooling="avg").count_params()
    assert speed.loc["fashion_cnn", "params"] == expected  # the backbone without its 5-class classifier
    assert speed.loc["mobilenet_v2", "input_size"] == 40
    assert speed.loc["fashion_cnn", "input_size"] == 32  # the bundled backbone takes only its own size
    assert speed.loc["fashion_cnn", "weights_offline"] and not speed.loc["mobilenet_v2", "weights_offline"]
    assert (speed.images_per_second > 0).all()


def test_plots_carry_the_data() -> None:
    cost = pd.DataFrame({"method": ["fine_tune"] * 2 + ["cached"] * 2, "train_images": [10, 40] * 2,
                         "seconds": [1.0, 4.0, 0.5, 0.7], "test_accuracy": [0.5, 0.6, 0.55, 0.65]})
    fig = challenges.plot_cost(cost)
    lines = fig.axes[0].get_lines()
    assert [l.get_label() for l in lines] == ["fine-tune end to end", "cached features + head"]
    assert lines[0].get_ydata().tolist() == [1.0, 4.0]
    with pytest.raises(ValueError, match="seconds"):
        challenges.plot_cost(cost.drop(columns="seconds"))
    checks = pd.DataFrame({"probe_features": [0.8, 0.5], "probe_pixels": [0.6, 0.6]}, index=["none", "inverted"])
    gains = pd.DataFrame({"scratch": [0.6, 0.6], "probe": [0.7, 0.5], "gain": [0.1, -0.1]}, index=["none", "inverted"])
    fig = challenges.plot_domain_shift(checks, gains)
    assert len(fig.axes) == 2 and [t.get_text() for t in fig.axes[1].texts] == ["+0.10", "-0.10"]
    fig = challenges.plot_domain_shift(checks, gains.iloc[:1])  # "inverted" checked, not trained
    assert [t.get_text() for t in fig.axes[1].texts] == ["+0.10", "not trained"]
    assert len(challenges.plot_domain_shift(checks).axes) == 1
    table = pd.DataFrame({"source_before": [0.9, 0.9], "source_after": [0.9, 0.2], "feature_similarity": [0.99, 0.4],
                          "target_accuracy": [0.7, 0.6]}, index=["low", "high"])
    fig = challenges.plot_forgetting(table)
    assert [p.get_height() for p in fig.axes[0].patches] == [0.9, 0.9, 0.9, 0.2, 0.99, 0.4, 0.7, 0.6]
    table[["source_before", "source_after"]] = np.nan  # the imagenet track: no source to measure
    fig = challenges.plot_forgetting(table)
    assert [p.get_height() for p in fig.axes[0].patches] == [0.99, 0.4, 0.7, 0.6]
    assert "cannot be measured" in fig.axes[0].get_title()
    speed = pd.DataFrame({"params": [1e3, 1e6], "images_per_second": [900.0, 50.0], "input_size": [32, 32],
                          "weights_offline": [True, False]}, index=["small", "big"])
    ax = challenges.plot_backbones(speed).axes[0]
    assert len(ax.texts) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["weights bundled (offline)",
                                                                  "ImageNet weights (a download)"]


# ---- the common questions: the few-shot benchmark -------------------------------------


def _few_shot_json(quick: bool = False, far: bool = True) -> dict:
    def entry(gain: float) -> dict:
        return {"gain_over_scratch": gain, "fine_tune_gain": 1.0}

    summary = {"near": {"budgets": {"5": entry(28.94), "20": entry(16.4), "100": entry(6.86)}, "crossover": 100}}
    if far:
        summary["far"] = {"budgets": {"1": {"fine_tune_gain": 2.0}, "100": {"fine_tune_gain": 5.0}}, "crossover": None}
    return {"benchmark": "few_shot", "quick": quick, "summary": summary,
            "settings": {"seeds": [0, 1, 2], "far_target": "rotated" if far else None}}


def test_few_shot_evidence_reads_the_track_s_own_file(tmp_path) -> None:
    (tmp_path / "few_shot.json").write_text(json.dumps(_few_shot_json()))
    (tmp_path / "few_shot-imagenet.json").write_text(json.dumps(_few_shot_json(far=False)))
    offline = challenges.few_shot_evidence("offline", tmp_path)
    assert offline.seeds == 3 and offline.gain_over_scratch == {5: 28.94, 20: 16.4, 100: 6.86}
    assert offline.gains() == "5: +28.9, 20: +16.4, 100: +6.9"
    assert offline.crossovers() == ("on the target as it is from 100 labels per class on; "
                                    "on the rotated target at no budget up to 100 labels per class")
    imagenet = challenges.few_shot_evidence("imagenet", tmp_path)
    assert imagenet.crossover == {"near": 100} and imagenet.far_target is None


def test_few_shot_evidence_is_none_without_a_full_run(tmp_path) -> None:
    assert challenges.few_shot_evidence("offline", tmp_path) is None  # no results at all
    (tmp_path / "few_shot.json").write_text(json.dumps(_few_shot_json(quick=True)))
    assert challenges.few_shot_evidence("offline", tmp_path) is None  # a quick run is not the benchmark
    assert challenges.few_shot_evidence("imagenet", tmp_path) is None  # the offline file is not the imagenet one
