"""Keras Tuner over both fine-tuning phases: what each trial builds, resuming, the guard."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import keras_tuner
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from tlhelpers import backbones, tuning  # noqa: E402
from tlhelpers.data import Task  # noqa: E402
from tlhelpers.pipeline import to_model_input  # noqa: E402
from tlhelpers.recipe import default_recipe  # noqa: E402
from tlhelpers.transfer import trainability_report  # noqa: E402
from tlhelpers.tuning import hypermodel as tuning_hypermodel  # noqa: E402
from tlhelpers.tuning import plots as tuning_plots  # noqa: E402
from tlhelpers.tuning import search as tuning_search  # noqa: E402
from tlhelpers.tuning import space as tuning_space  # noqa: E402

BLOCKS = backbones.get_spec("fashion_cnn").block_names  # ('block1', ..., 'block4')


def _data(n_per_class: int, classes: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(classes), n_per_class)
    x = rng.uniform(0, 255, (len(y), 32, 32, 1)).astype("float32")
    x[..., :8, :] += 40 * y[:, None, None, None]  # a little signal, so accuracy is not constant
    return np.clip(x, 0, 255), y


def _hypermodel(space: tuning.SearchSpace | None = None, data_seed: int = 0, **kwargs) -> tuning.TwoPhaseHyperModel:
    (x, y), (xv, yv) = _data(4, seed=data_seed), _data(3, seed=data_seed + 1)
    options = dict(weights=None, space=space, batch_size=8, seed=0, run_eagerly=True)
    options.update(kwargs)
    return tuning.TwoPhaseHyperModel("fashion_cnn", x, y, xv, yv, **options)


@pytest.fixture(scope="module")
def hypermodel() -> tuning.TwoPhaseHyperModel:
    return _hypermodel()


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("tuner")


@pytest.fixture(scope="module")
def first_search(hypermodel, project) -> tuning.Search:
    """The tiny search of the issue: 2 trials, 1 epoch each, small data."""
    hypermodel.records.clear()
    search = tuning.open_search(hypermodel, "random", max_trials=2, epochs=1, project_name="tiny", directory=project, seed=3)
    summary = search.run(progress=False)
    assert summary.reused == [] and len(summary.ran) == 2
    return search


# ---- the search space ------------------------------------------------------------------


def test_space_declares_log_lr_and_depth_from_the_registry() -> None:
    hp = keras_tuner.HyperParameters()
    values = tuning.SearchSpace().declare(hp, backbones.get_spec("mobilenet_v2").num_blocks)
    config = {h.name: h.get_config() for h in hp.space}
    assert config["fine_lr"]["sampling"] == "log"
    assert (config["fine_lr"]["min_value"], config["fine_lr"]["max_value"]) == (1e-5, 1e-2)
    assert (config["blocks"]["min_value"], config["blocks"]["max_value"]) == (0, 8)  # mobilenet_v2 has 8 blocks
    assert values["dropout"] == 0.2 and "head_lr" not in values  # fixed by default; the head is the probe
    assert tuning.SearchSpace().searched() == ["fine_lr", "blocks"]
    wide = tuning.SearchSpace(dropout=(0.0, 0.5), blocks=(1, 1))
    assert wide.searched() == ["fine_lr", "dropout"]
    hp = keras_tuner.HyperParameters()
    wide.declare(hp, 4)
    config = {h.name: h.get_config() for h in hp.space}
    assert config["dropout"]["step"] == 0.1
    assert config["blocks"]["value"] == 1  # a single depth is fixed


@pytest.mark.slow
def test_augmentation_is_a_choice_of_the_fine_phase(hypermodel) -> None:
    assert tuning.SearchSpace(augment=(False, True)).searched() == ["fine_lr", "blocks", "augment"]
    hp = keras_tuner.HyperParameters()
    assert tuning.SearchSpace().declare(hp, 4)["augment"] is False  # off unless asked for
    plain = hypermodel.build(hypermodel.hyperparameters())
    augmented = hypermodel.build(hypermodel.hyperparameters(augment=True))
    assert "augmentation" not in [layer.name for layer in plain.layers]
    assert "augmentation" in [layer.name for layer in augmented.layers]
    assert augmented.count_params() == plain.count_params()  # the same classifier behind it
    x = hypermodel.x_val[:4]
    assert np.allclose(augmented.predict(x, verbose=0), augmented(x, training=False))  # no change outside fit


def test_a_changed_choice_of_augmentation_is_named_in_the_fingerprint() -> None:
    searched, fixed = (_hypermodel(space=tuning.SearchSpace(augment=a)).space_config() for a in ((False, True), False))
    assert tuning.fingerprint_differences({"space": searched}, {"space": fixed}) == [
        "space.augment: was searched (False or True), now (absent)", "space.augment.value: was (absent), now False"]


@pytest.mark.parametrize(
    ("space", "message"),
    [
        (tuning.SearchSpace(fine_lr=(1e-2, 1e-5)), "fine_lr=(0.01, 1e-05) must be a pair (low, high) with 0 < low < high"),
        (tuning.SearchSpace(fine_lr=1e-3), "fine_lr=0.001 must be a pair"),
        (tuning.SearchSpace(blocks=(0, 5)), "0 <= lowest <= highest <= 4"),
        (tuning.SearchSpace(blocks=(2, 1)), "blocks=(2, 1) is not a depth range"),
        (tuning.SearchSpace(dropout=(0.3, 1.2)), "dropout=(0.3, 1.2) must be a pair"),
        (tuning.SearchSpace(augment="yes"), "augment='yes' must be False, True, or (False, True)"),
        (tuning.SearchSpace(augment=(True, False)), "augment=(True, False) must be False, True, or (False, True)"),
    ],
)
def test_bad_space_is_refused_with_a_clear_message(space, message) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        space.validate(4)


def test_bad_arguments_are_refused(hypermodel, project) -> None:
    with pytest.raises(ValueError, match="unknown tuner 'grid'; choose one of: random, bayesian, hyperband"):
        tuning.open_search(hypermodel, "grid", directory=project)
    with pytest.raises(ValueError, match="max_trials and epochs must be at least 1"):
        tuning.open_search(hypermodel, "random", max_trials=0, directory=project)
    with pytest.raises(ValueError, match="plain folder name"):
        tuning.open_search(hypermodel, "random", project_name="../elsewhere", directory=project)
    with pytest.raises(ValueError, match="tuner_options may not set"):
        tuning.open_search(hypermodel, "random", project_name="opts", directory=project, tuner_options={"max_trials": 9})


# ---- trials build what they chose --------------------------------------------------------


@pytest.mark.slow
def test_each_trial_unfreezes_the_chosen_depth_with_the_chosen_learning_rate(first_search, hypermodel) -> None:
    records = hypermodel.records
    assert len(records) == 2
    assert sorted(r.trial_id for r in records) == sorted(first_search.finished_trials())
    for record in records:
        k = record.values["blocks"]
        assert record.trainable_blocks == list(BLOCKS[len(BLOCKS) - k:])  # exactly the top K, read from the model
        assert record.learning_rate == pytest.approx(record.values["fine_lr"], rel=1e-6)  # the schedule's peak
        assert record.fine_epochs == 1 and record.initial_epoch == 0
    assert len({(r.values["blocks"], r.values["fine_lr"]) for r in records}) == 2  # two different configurations
    trial = first_search.tuner.oracle.get_trial(records[0].trial_id)
    assert trial.score == pytest.approx(records[0].val_accuracy)


def test_build_sets_depth_and_rate_for_any_values(hypermodel) -> None:
    for k, lr in ((0, 1e-5), (3, 3e-3)):
        model = hypermodel.build(hypermodel.hyperparameters(blocks=k, fine_lr=lr))
        report = trainability_report(model)
        assert report.trainable_blocks == list(BLOCKS[4 - k:]) and not report.needs_recompile
        assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(lr)


def test_trials_start_from_the_pretrained_weights(first_search, hypermodel) -> None:
    """Fine-tuning in one trial must not leak into the next: each starts from the same base."""
    a, b = hypermodel.fresh_base(), hypermodel.fresh_base()
    for wa, wb, w0 in zip(a.get_weights(), b.get_weights(), hypermodel._pretrained):
        np.testing.assert_array_equal(wa, w0)
        np.testing.assert_array_equal(wb, w0)


def test_head_phase_is_the_probe_copied_into_the_classifier(hypermodel) -> None:
    hp = keras_tuner.HyperParameters()
    hypermodel.declare_hyperparameters(hp)
    model = hypermodel.build(hp)  # before any fine epoch, the head is exactly the head phase's
    for got, expected in zip(model.get_layer("head").get_weights(), hypermodel.probe.get_layer("head").get_weights()):
        np.testing.assert_array_equal(got, expected)
    probe_on_images = hypermodel.probe_model().predict(hypermodel.x_val, verbose=0)
    np.testing.assert_allclose(probe_on_images, hypermodel.probe.predict(hypermodel.f_val, verbose=0), atol=1e-5)


def test_a_trial_warms_up_and_decays_over_its_epochs(hypermodel) -> None:
    hp = hypermodel.hyperparameters(blocks=1, fine_lr=3e-4)
    assert hypermodel.trial_recipe(hp, 9).warmup_epochs == 2 and hypermodel.trial_recipe(hp, 4).warmup_epochs == 1
    assert hypermodel.trial_recipe(hp, 2).warmup_epochs == 0
    recipe = hypermodel.trial_recipe(hp, 9)
    assert (recipe.blocks, recipe.learning_rate, recipe.max_epochs, recipe.patience) == (1, 3e-4, 9, 9)


def test_hyperparameters_helper_refuses_what_the_space_lacks(hypermodel) -> None:
    assert hypermodel.hyperparameters(blocks=2).values["blocks"] == 2
    with pytest.raises(ValueError, match=r"unknown hyperparameter\(s\) \['lr'\]; this space has: fine_lr, blocks"):
        hypermodel.hyperparameters(lr=1e-3)
    with pytest.raises(ValueError, match="blocks=7 is outside this space's depths 0..4"):
        hypermodel.hyperparameters(blocks=7)


def test_fit_refuses_data_arguments(hypermodel) -> None:
    hp = keras_tuner.HyperParameters()
    hypermodel.declare_hyperparameters(hp)
    with pytest.raises(TypeError, match="holds its own data"):
        hypermodel.fit(hp, hypermodel.build(hp), np.zeros((2, 32, 32, 1)), epochs=1)


def test_results_table(first_search) -> None:
    table = first_search.results()
    assert list(table.columns) == ["trial", "fine_lr", "blocks", "dropout", "augment", "val_accuracy",
                                   "fine_epochs", "status"]
    assert len(table) == 2 and (table["status"] == "COMPLETED").all()
    assert table["val_accuracy"].is_monotonic_decreasing
    assert (table["fine_epochs"] == 1).all()


# ---- resuming ------------------------------------------------------------------------------


@pytest.mark.slow
def test_resumed_search_runs_no_finished_trial_again(first_search, project, capsys) -> None:
    finished = set(first_search.finished_trials())
    again = _hypermodel()  # a fresh kernel: same data, same space, new object
    search = tuning.open_search(again, "random", max_trials=2, epochs=1, project_name="tiny", directory=project, seed=3)
    assert search.resumed and search.remaining_trials() == 0
    assert "Reloading" not in capsys.readouterr().out  # Keras Tuner's own note stays quiet; search.resumed says it
    summary = search.run()  # with the default tqdm progress bar
    assert summary.ran == [] and set(summary.reused) == finished and again.records == []

    more = tuning.open_search(again, "random", max_trials=3, epochs=1, project_name="tiny", directory=project, seed=3)
    summary = more.run(progress=False)
    assert len(summary.ran) == 1 and summary.ran[0] not in finished
    assert [r.trial_id for r in again.records] == summary.ran  # only the new trial was trained
    assert len(more.results()) == 3


@pytest.mark.slow
def test_changed_space_is_refused_and_nothing_is_deleted(first_search, project) -> None:
    files = sorted(p.relative_to(project) for p in (project / "tiny").rglob("*"))
    changed = _hypermodel(space=tuning.SearchSpace(fine_lr=(1e-4, 1e-2)))
    with pytest.raises(tuning.SearchChangedError) as err:
        tuning.open_search(changed, "random", max_trials=3, epochs=1, project_name="tiny", directory=project)
    message = str(err.value)
    assert "space.fine_lr.min_value: was 1e-05, now 0.0001" in message
    assert "overwrite=True" in message and "'tiny_2'" in message and "Nothing was changed or deleted" in message
    with pytest.raises(tuning.SearchChangedError, match="epochs: was 1, now 2"):
        tuning.open_search(_hypermodel(), "random", max_trials=3, epochs=2, project_name="tiny", directory=project)
    with pytest.raises(tuning.SearchChangedError, match="setup.data_and_weights_sha256"):
        tuning.open_search(_hypermodel(data_seed=7), "random", max_trials=3, epochs=1, project_name="tiny", directory=project)
    assert sorted(p.relative_to(project) for p in (project / "tiny").rglob("*")) == files


@pytest.mark.slow
def test_overwrite_starts_over_when_asked(tmp_path) -> None:
    hm = _hypermodel()
    tuning.open_search(hm, "random", max_trials=1, epochs=1, project_name="p", directory=tmp_path).run(progress=False)
    changed = _hypermodel(space=tuning.SearchSpace(blocks=(1, 2)))
    search = tuning.open_search(changed, "random", max_trials=1, epochs=1, project_name="p", directory=tmp_path, overwrite=True)
    assert not search.resumed and search.finished_trials() == []
    stamp = json.loads((tmp_path / "p" / tuning.FINGERPRINT_FILE).read_text())
    assert stamp["fingerprint"]["space"]["blocks"]["min_value"] == 1


@pytest.mark.slow
def test_unknown_folder_is_refused(tmp_path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("a student's file")
    with pytest.raises(tuning.SearchChangedError, match="holds no tlhelpers search fingerprint"):
        tuning.open_search(_hypermodel(), "random", project_name="mine", directory=tmp_path)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "a student's file"


def test_a_project_no_trial_ended_in_is_not_resumed(hypermodel, tmp_path) -> None:
    """Resuming is read from Keras Tuner's state file, which it writes only as a trial ends."""
    opened = [tuning.open_search(hypermodel, "random", max_trials=1, epochs=1, project_name="r", directory=tmp_path)
              for _ in range(2)]
    assert [search.resumed for search in opened] == [False, False]
    assert (tmp_path / "r" / tuning.FINGERPRINT_FILE).is_file() and not (tmp_path / "r" / "tuner0.json").exists()


def test_default_directory_is_build_tuner_not_notebooks() -> None:
    directory = tuning.default_directory()
    assert directory.parts[-2:] == ("build", "tuner") and "notebooks" not in directory.parts


# ---- the other tuners ---------------------------------------------------------------------


def test_hyperband_schedule_and_budget() -> None:
    assert [(r["trials"], r["epochs"], r["initial_epoch"]) for r in tuning.hyperband_schedule(2, 2)] == [
        (2, 1, 0), (1, 2, 1), (2, 2, 0)
    ]
    budget = tuning.Budget.of("hyperband", max_trials=99, epochs=2, factor=2)
    assert (budget.trials, budget.fine_epochs) == (5, 2 * 1 + 1 * 1 + 2 * 2)
    assert tuning.Budget.of("bayesian", 4, 3).fine_epochs == 12
    with pytest.raises(ValueError, match="max_epochs >= 1 and factor >= 2"):
        tuning.hyperband_schedule(3, 1)


@pytest.mark.slow
def test_hyperband_continues_the_best_trial(tmp_path) -> None:
    hm = _hypermodel()
    search = tuning.open_search(hm, "hyperband", epochs=2, factor=2, project_name="hb", directory=tmp_path)
    summary = search.run(progress=False)
    assert len(summary.ran) == search.budget.trials == 5  # the schedule we computed is the one it ran
    continued = [r for r in hm.records if r.continued_from is not None]
    assert len(continued) == 1
    record = continued[0]
    assert record.initial_epoch == 1 and record.fine_epochs == 1
    parent = next(r for r in hm.records if r.trial_id == record.continued_from)
    assert {k: record.values[k] for k in ("fine_lr", "blocks")} == {k: parent.values[k] for k in ("fine_lr", "blocks")}
    assert record.trainable_blocks == list(BLOCKS[4 - record.values["blocks"]:])
    table = search.results()
    assert "continued_from" in table.columns and table["continued_from"].notna().sum() == 1


@pytest.mark.slow
def test_bayesian_optimization_proposes_after_its_initial_points(tmp_path) -> None:
    hm = _hypermodel()
    search = tuning.open_search(hm, "bayesian", max_trials=2, epochs=1, project_name="bo", directory=tmp_path,
                                tuner_options={"num_initial_points": 1})
    search.run(progress=False)  # trial 0 is random, trial 1 comes from the Gaussian process
    assert len(search.finished_trials()) == 2
    for record in hm.records:
        assert record.trainable_blocks == list(BLOCKS[4 - record.values["blocks"]:])
        assert record.learning_rate == pytest.approx(record.values["fine_lr"], rel=1e-6)
    assert 1e-5 <= min(r.values["fine_lr"] for r in hm.records) <= max(r.values["fine_lr"] for r in hm.records) <= 1e-2


# ---- results: plot, best retrained and tested once -------------------------------------------------


def test_plot_shows_each_trial_over_lr_and_depth(first_search) -> None:
    table = first_search.results()
    fig = first_search.plot()
    ax_lr, ax_k = fig.axes
    assert ax_lr.get_xscale() == "log"
    points = np.concatenate([c.get_offsets() for c in ax_lr.collections[:-1]])  # the last is the best-trial star
    assert sorted(points[:, 0]) == pytest.approx(sorted(table["fine_lr"]))
    assert sorted(points[:, 1]) == pytest.approx(sorted(table["val_accuracy"]))
    labels = [t.get_text() for t in ax_lr.get_legend().get_texts()]
    assert labels == [f"K={k}" for k in sorted(table["blocks"].unique())]
    star = ax_k.collections[-1].get_offsets()[0]
    assert tuple(star) == pytest.approx((table["blocks"][0], table["val_accuracy"][0]))
    assert ax_lr.get_xlim()[0] < 1e-5 and ax_lr.get_xlim()[1] > 1e-2  # the whole searched range


@pytest.mark.slow
def test_best_is_retrained_and_tested_once(first_search) -> None:
    x_test, y_test = _data(2, seed=5)
    best = first_search.evaluate_best(x_test, y_test)
    trial = first_search.best_trial()
    assert best.trial_id == trial.trial_id
    assert best.hyperparameters == {k: trial.hyperparameters.values[k] for k in tuning.HYPERPARAMETERS}
    assert 0 <= best.test_accuracy <= 1 and 0 <= best.retrain_val_accuracy <= 1
    predicted = best.model.predict(x_test, verbose=0).argmax(axis=1)
    assert best.test_accuracy == pytest.approx(np.mean(predicted == y_test))
    assert first_search.evaluate_best(x_test, y_test) is best  # the test split is not looked at twice
    assert "test accuracy (measured once)" in str(best)
    assert best.retrain_val_accuracy >= best.probe_val_accuracy  # the retrain keeps the probe unless beaten
    probe = first_search.hypermodel.probe_model().predict(x_test, verbose=0).argmax(axis=1)
    assert best.probe_test_accuracy == pytest.approx(np.mean(probe == y_test))
    assert best.default_recipe == default_recipe() and 0 <= best.default_test_accuracy <= 1
    table = best.table()
    assert list(table["test_accuracy"]) == [best.probe_test_accuracy, best.default_test_accuracy, best.test_accuracy]


@pytest.mark.slow
def test_a_failing_trial_is_reported_not_hidden(tmp_path) -> None:
    hm = _hypermodel()

    def broken(*args, **kwargs):
        raise RuntimeError("out of memory, say")

    hm.trial_recipe = broken
    search = tuning.open_search(hm, "random", max_trials=1, epochs=1, project_name="broken", directory=tmp_path)
    summary = search.run(progress=False)
    assert summary.ran == [] and len(summary.failed) == 1 and "1 failed" in str(summary)
    table = search.results()
    assert table["status"].tolist() == ["FAILED"] and np.isnan(table["val_accuracy"][0])


@pytest.mark.slow
def test_best_before_any_trial_is_a_clear_error(tmp_path) -> None:
    search = tuning.open_search(_hypermodel(), "random", max_trials=1, epochs=1, project_name="empty", directory=tmp_path)
    with pytest.raises(RuntimeError, match="no finished trial"):
        search.evaluate_best(*_data(1))


def test_test_accuracy_is_the_same_in_chunks_or_at_once(hypermodel) -> None:
    x_test, y_test = _data(5, seed=9)
    probe = hypermodel.probe_model()
    at_once = tuning_search._test_accuracy(probe, x_test, y_test, "fashion_cnn", 32)
    assert tuning_search._test_accuracy(probe, x_test, y_test, "fashion_cnn", 32, chunk=4) == at_once
    predicted = probe.predict(to_model_input(x_test, "fashion_cnn", 32), verbose=0).argmax(axis=1)
    assert at_once == np.mean(predicted == y_test)
    with pytest.raises(ValueError, match="15 images but 14 labels"):
        tuning_search._test_accuracy(probe, x_test, y_test[:-1], "fashion_cnn", 32)


# ---- imagenet track, offline ----------------------------------------------------------------------


@pytest.mark.slow
def test_imagenet_track_hypermodel_from_task(monkeypatch) -> None:
    monkeypatch.setenv("TL_TRACK", "imagenet")
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (8, 28, 28, 1), dtype=np.uint8)
    labels = np.array([0, 1] * 4)
    task = Task("toy", ("a", "b"), images[:4], labels[:4], images[4:], labels[4:], images[:2], labels[:2])
    hm = tuning.TwoPhaseHyperModel.from_task(task, weights=None, input_size=32)
    assert hm.backbone == "mobilenet_v2" and hm.x_train.shape == (4, 32, 32, 3)
    assert hm.f_train.shape == (4, 1280)
    hp = keras_tuner.HyperParameters()
    hm.declare_hyperparameters(hp)
    assert hp.space[1].get_config()["max_value"] == 8
    hp.values["blocks"] = 2
    report = trainability_report(hm.build(hp))
    assert report.trainable_blocks == list(backbones.get_spec("mobilenet_v2").block_names[-2:])


def test_docstring_examples() -> None:
    import doctest

    results = [doctest.testmod(module) for module in (tuning, tuning_space, tuning_hypermodel, tuning_search, tuning_plots)]
    assert sum(r.attempted for r in results) >= 8 and sum(r.failed for r in results) == 0
