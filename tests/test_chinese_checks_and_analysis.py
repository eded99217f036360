"""Chinese messages of the checks, exercise checks, evaluation, Grad-CAM, inspection, predictions
and lesson plots: shown in Chinese with TL_LANG=zh, unchanged English with TL_LANG=en."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tlhelpers.checks import Feedback, check_choice
from tlhelpers.evaluation import (
    Evaluation,
    check_leakage,
    check_prediction_spread,
    plot_confusion,
    sanity_report,
)
from tlhelpers.exercises import lesson00, lesson03, lesson05, lesson07
from tlhelpers.inspection import ROLE_MEANING
from tlhelpers.plots_lessons import transfer_diagram


@pytest.fixture
def zh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TL_LANG", "zh")


@pytest.fixture
def en(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TL_LANG", "en")


def test_feedback_verdict_in_chinese(zh) -> None:
    assert repr(Feedback(True, "好。")) == "✅ 正确：好。"
    assert repr(Feedback(False, "再想想。")) == "❌ 还不对：再想想。"
    wrong = check_choice("max", ["avg"], "池化方式", "每张图像得到一个向量。", hint="看第 3 节")
    assert repr(wrong) == "❌ 还不对：池化方式 'max' 不对。提示：看第 3 节"
    assert "还不对" in wrong._repr_html_()
    assert str(wrong) == repr(wrong) and wrong.correct is wrong.ok is False


def test_feedback_verdict_in_english(en) -> None:
    assert repr(Feedback(True, "fine.")) == "✅ Correct: fine."
    assert repr(check_choice("max", ["avg"], "the pooling", "one vector.", hint="add")) == \
        "❌ Not yet: the pooling 'max' is not right. Hint: add"


def test_exercise_checks_in_chinese(zh) -> None:
    assert lesson00.check_update(None).message.startswith("还没有答案。请把 answer 设为走一步之后的 θ")
    assert "沿着梯度方向" in lesson00.check_update(2.05).message
    assert lesson03.check_batchnorm("b").message.startswith("（b）在 Keras 3 中，trainable = False")
    assert lesson03.check_batchnorm("a").message.endswith("再试一次。")
    ev = Evaluation(np.array([0, 0, 0, 0, 1, 2]), np.eye(3)[[0, 1, 1, 2, 1, 2]], ("cat", "dog", "fox"))
    assert lesson05.check_top_confusion(0.5, ev, "cat").message == "'cat' 最常被误认为 'dog'：它的 4 张测试图像中有 2 张（0.5）。"
    with pytest.raises(ValueError, match="未知的类别 'cow'"):
        lesson05.check_top_confusion(0.5, ev, "cow")
    with pytest.raises(ValueError, match="replicas 必须是至少为 1 的整数"):
        lesson07.check_per_replica(16, global_batch=64, replicas=0)


def test_exercise_checks_in_english(en) -> None:
    assert lesson00.check_update(None).message.startswith("no answer yet: set answer to θ after one step")
    assert lesson03.check_batchnorm("a").message.endswith("Try again.")
    with pytest.raises(ValueError, match="replicas must be a whole number"):
        lesson07.check_per_replica(16, global_batch=64, replicas=0)


def test_adapt_and_keep_quotes_measures_in_chinese(zh) -> None:
    table = pd.DataFrame({"target_accuracy": [0.50, 0.70, 0.71], "forgotten": [0.01, 0.60, 0.20],
                          "feature_similarity": [0.99, 0.30, 0.80]}, index=["low", "high", "top"])
    message = lesson07.check_adapt_and_keep("high", table).message
    assert "源任务准确率的下降 0.600" in message and "比较 forgotten 列" in message


def test_sanity_checks_in_chinese_keep_english_names(zh) -> None:
    spread = check_prediction_spread([1, 1, 1, 1], ("a", "b"))
    assert spread.name == "predictions spread"  # code reads the name; only the display translates
    assert repr(spread).startswith("⚠️ 预测分布：被预测得最多的类别 'b'")
    assert str(spread) == repr(spread) and not spread and spread._repr_html_() is None
    x = np.arange(5 * 4).reshape(5, 2, 2, 1).astype(np.uint8)
    report = sanity_report([spread, check_leakage({"train": x[:3], "test": x[2:]})])
    assert "train/test 有 1 张相同的图像" in report and report.endswith("2 项检查中有 2 项未通过")


def test_sanity_report_in_english(en) -> None:
    assert sanity_report([check_prediction_spread([0, 1], ("a", "b"))]).splitlines() == [
        "✅ predictions spread: the most predicted class, 'a', takes 50% of 2 predictions; 2 of 2 classes are predicted",
        "all 1 checks passed",
    ]


def test_role_meanings_print_in_the_language_and_keep_english_keys(zh) -> None:
    assert list(ROLE_MEANING) == ["generic", "in between", "specific"]
    assert ROLE_MEANING["generic"] == "edges, colours, textures: useful for almost any images"
    assert f"{ROLE_MEANING['generic']}" == "边缘、颜色、纹理：几乎对任何图像都有用"


def test_plots_in_chinese(zh) -> None:
    fig = plot_confusion(np.array([[3, 1], [0, 4]]), ("a", "b"))
    assert fig.axes[0].get_title() == "混淆矩阵（计数）" and fig.axes[0].get_xlabel() == "预测类别"
    fig = transfer_diagram(["b1", "b2"], "ImageNet", 1000, ["cat", "dog"], labels_per_class=5)
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert "1000 个源类别" in texts and "每类 5 个标注" in texts and "新分类头" in texts


def test_plots_in_english(en) -> None:
    fig = plot_confusion(np.array([[3, 1], [0, 4]]), ("a", "b"))
    assert fig.axes[0].get_title() == "confusion matrix (counts)" and fig.axes[0].get_xlabel() == "Predicted label"
    fig = transfer_diagram(["b1", "b2"], "ImageNet", 1000, ["cat", "dog"], labels_per_class=5)
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert "1000 source classes" in texts and "5 labels per class" in texts
