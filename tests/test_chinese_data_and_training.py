"""Chinese messages of the core modules (config, data, preprocessing, transfer, recipe, lr_finder, ...).

Each test reads what a student sees with ``TL_LANG=zh`` (Chinese) and with ``TL_LANG=en``
(the English source, unchanged), and checks that what code reads stays English.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tlhelpers import (
    backbones,
    batchnorm,
    config,
    data,
    lr_finder,
    preprocessing,
    recipe,
    saving,
    transfer,
)
from tlhelpers.live_plot import LivePlot


@pytest.fixture(params=["zh", "en"])
def language(request, monkeypatch) -> str:
    monkeypatch.setenv("TL_LANG", request.param)
    return request.param


def shows(language: str, text: str, zh: str, en: str) -> bool:
    return (zh in text and en not in text) if language == "zh" else en in text


def test_track_description_is_shown_translated_and_read_in_english(language: str) -> None:
    track = config.current_track("offline")
    english = "Fashion-MNIST target classes on the course's bundled backbone; no internet needed"
    assert track.description == english and isinstance(track.description, str)
    line = f"track: {track.name}: {track.description}"  # lesson 00 prints this
    assert shows(language, line, "无需联网", "no internet needed")
    assert shows(language, str(backbones.get_spec("resnet50").pretrained_on), "128 万张图像", "1.28M images")


def test_unknown_track_error(language: str) -> None:
    with pytest.raises(ValueError) as err:
        config.current_track("nope")
    assert shows(language, str(err.value), "未知的路线 'nope'（来源：函数参数）", "unknown track 'nope' (from argument)")


def toy_task() -> data.Task:
    x, y = np.zeros((20, 4, 4, 1), np.uint8), np.repeat([0, 1], 10)
    return data.make_task("toy", (x, y), (x, y), ("a", "b"), 3, 2)


def test_print_task_is_translated_but_its_repr_is_not(language: str) -> None:
    task = toy_task()
    english = "Task('toy', 2 classes, train=6 + val=4 = 10 labels, test=20, images=(4, 4, 1))"
    assert repr(task) == english
    expected = "任务 'toy'：2 个类别，训练 6 + 验证 4 = 10 个标注，测试 20 张，图像形状 (4, 4, 1)"
    assert str(task) == (expected if language == "zh" else english)


def test_label_budget_error(language: str) -> None:
    with pytest.raises(ValueError) as err:
        data.label_budget(np.repeat([0, 1], 10), 9, 5, class_names=("a", "b"))
    assert shows(language, str(err.value), "类别 'a' 只有 10 个样本", "class 'a' has only 10 examples")


def test_batch_report_and_contract_table(language: str) -> None:
    x = np.linspace(0, 255, 48, dtype=np.float32).reshape(1, 4, 4, 3)
    twice = preprocessing.apply_preprocess(preprocessing.apply_preprocess(x, "mobilenet_v2"), "mobilenet_v2")
    report = preprocessing.check_batch(twice, "mobilenet_v2", warn=False)
    assert report.verdict == "double"
    assert shows(language, str(report), "结论：DOUBLE：预处理了两次", "verdict: DOUBLE: preprocessed twice")
    assert shows(language, report.message, "；结论：DOUBLE：预处理了两次", "; verdict: DOUBLE: preprocessed twice")
    table = preprocessing.contract_table(["fashion_cnn", "mobilenet_v2"])
    assert table.loc["mobilenet_v2", "after"] == "-1 .. 1"  # code reads the English column names
    shown = table.drop(columns="scheme").to_string()
    assert shows(language, shown, "处理后", "after")


def test_blocks_out_of_range(language: str) -> None:
    with pytest.raises(ValueError) as err:
        transfer.validate_blocks(9, backbones.get_spec("fashion_cnn"))
    assert shows(language, str(err.value), "超出了 fashion_cnn 的范围", "is out of range for fashion_cnn")


def test_trainability_report_table_lines_up(language: str) -> None:
    report = transfer.TrainabilityReport(
        "m", "fashion_cnn",
        [transfer.BlockRow("block1", 5, 0, 1, 208, 0, 2), transfer.BlockRow("head", 3, 3, 0, 1285, 1285, 1)], [],
    )
    assert report.frozen_blocks == ["block1"]  # code reads the English state
    lines = str(report).splitlines()
    assert shows(language, str(report), "冻结", "frozen") and shows(language, lines[-1], "可训练参数", "trainable parameters")
    from tlhelpers.display import text_width

    assert len({text_width(line) for line in lines[1:5]}) == 1  # header, rule and rows line up, in Chinese too


def test_recipe_run_and_error(language: str) -> None:
    history = keras.callbacks.History()
    history.epoch = [0, 1, 2]
    run = recipe.FineTuneRun(history, 0.8, 0.85, 2, 1.0, True, recipe.Recipe(blocks=3, learning_rate=3e-3))
    assert shows(language, repr(run), "保留的是微调第 2 轮的权重", "kept epoch 2 of fine-tuning")
    with pytest.raises(ValueError) as err:
        recipe.Recipe(blocks=-1, learning_rate=1e-3)
    assert shows(language, str(err.value), "blocks 必须是不小于 0 的整数", "blocks must be an integer of 0 or more")


def test_lr_finder_summary_and_plot(language: str) -> None:
    finder = lr_finder.LRFinder(steps=10)
    finder.lrs = [1e-5 * 2**i for i in range(10)]
    finder.losses = finder.smoothed = [5 - 0.3 * i for i in range(10)]
    assert shows(language, finder.summary(), "建议的学习率", "suggested learning rate")
    ax = finder.plot().axes[0]
    assert shows(language, ax.get_xlabel(), "学习率（对数刻度）", "learning rate (log scale)")


def test_live_plot_labels_and_batchnorm_table_names(language: str) -> None:
    plot = LivePlot(draw=False)
    plot.epochs, plot.history = [1, 2], {"loss": [1.0, 0.5], "val_loss": [1.0, 0.6]}
    ax = plot.figure().axes[0]
    assert [line.get_label() for line in ax.lines] == (["损失", "验证损失"] if language == "zh" else ["loss", "val_loss"])
    assert plot.history["val_loss"] == [1.0, 0.6]  # the history keeps Keras' names
    assert batchnorm.COLUMNS[2] == "moving mean change"
    assert shows(language, str(batchnorm.COLUMNS[2]), "滑动均值的变化", "moving mean change")


def test_saving_comparison(language: str) -> None:
    text = repr(saving.Comparison(n=10, max_abs_diff=0.1, same_class=0.9, atol=1e-6))
    assert shows(language, text, "在 10 个输入上的预测不一致", "DIFFERENT predictions on 10 inputs")
