"""Chinese in the widgets, tables and messages of strategies, tuning, challenges and widgets.

With ``TL_LANG=zh`` a student reads Chinese labels, statuses, errors and table headers; with
``TL_LANG=en`` the English is exactly what it always was, and code reads the same English
column names in both.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from tlhelpers import backbones, challenges, strategies, transfer, tuning  # noqa: E402
from tlhelpers.evaluation import Evaluation  # noqa: E402
from tlhelpers.i18n import LazyText
from tlhelpers.tables import shown_frame  # noqa: E402
from tlhelpers.widgets import label_budget  # noqa: E402
from tlhelpers.widgets.confusion_explorer import ConfusionExplorer  # noqa: E402
from tlhelpers.widgets.train import TrainPanel  # noqa: E402
from tlhelpers.widgets.tuner import TunerDashboard  # noqa: E402
from tlhelpers.widgets.unfreeze import UnfreezeExplorer  # noqa: E402
from tlhelpers.widgets.upload import UploadPredictor, as_upload  # noqa: E402

NAMES = ("Pullover", "Coat", "Sneaker")


@pytest.fixture
def zh(monkeypatch) -> None:
    monkeypatch.setenv("TL_LANG", "zh")


@pytest.fixture
def en(monkeypatch) -> None:
    monkeypatch.setenv("TL_LANG", "en")


@pytest.fixture
def model() -> keras.Model:
    keras.utils.set_random_seed(0)
    return transfer.build_classifier(backbones.load_backbone("fashion_cnn", weights=None), num_classes=3)


def _evaluation() -> Evaluation:
    y_true = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
    y_pred = np.array([0, 1, 1, 2, 1, 1, 0, 2, 2, 2])
    probs = np.full((10, 3), 0.05)
    probs[np.arange(10), y_pred] = 0.9
    return Evaluation(y_true, probs, NAMES)


def _budget_results() -> pd.DataFrame:
    rows = [{"strategy": s, "labels_per_class": k, "seed": 0, "test_accuracy": a}
            for k, scratch, probe in [(1, 0.30, 0.50), (5, 0.45, 0.60)]
            for s, a in (("scratch", scratch), ("probe", probe))]
    return pd.DataFrame(rows)


# ---- widgets ----------------------------------------------------------------------------------


def test_unfreeze_explorer_in_chinese(zh, model) -> None:
    explorer = UnfreezeExplorer(model, blocks=1)
    assert explorer.slider.description == "解冻的块数"
    assert explorer.params_label.value.startswith("可训练参数：")
    assert explorer.figure().axes[0].get_title() == "4 个块中解冻了顶部的 1 个"


def test_unfreeze_explorer_in_english(en, model) -> None:
    explorer = UnfreezeExplorer(model, blocks=1)
    assert explorer.slider.description == "Unfrozen blocks"
    assert explorer.params_label.value.startswith("trainable parameters: ")
    assert explorer.figure().axes[0].get_title() == "top 1 of 4 blocks unfrozen"


def test_train_panel_in_chinese_and_english(monkeypatch, model) -> None:
    x, y = np.zeros((4, 32, 32, 1), np.float32), np.arange(4) % 3
    monkeypatch.setenv("TL_LANG", "zh")
    panel = TrainPanel(model, x, y)
    assert [panel.lr.description, panel.epochs.description, panel.button.description] == ["学习率", "轮数", "训练"]
    assert panel.status.value == "先选一个学习率，再点“训练”。"
    assert panel.train(epochs=0) is None and panel.status.value.startswith("未训练：epochs 必须是正整数")
    monkeypatch.setenv("TL_LANG", "en")
    panel = TrainPanel(model, x, y)
    assert [panel.lr.description, panel.button.description] == ["Learning rate", "Train"]
    assert panel.train(epochs=0) is None and panel.status.value == "Not trained: epochs must be a positive integer, got 0"


def test_tuner_dashboard_in_chinese(zh, tmp_path) -> None:
    y = np.repeat(np.arange(3), 4)
    x = np.random.default_rng(0).uniform(0, 255, (12, 32, 32, 1)).astype("float32")
    hypermodel = tuning.TwoPhaseHyperModel("fashion_cnn", x, y, x[:9], y[:9], weights=None, batch_size=8, seed=0)
    dash = TunerDashboard(hypermodel, project_prefix="t", directory=tmp_path, max_trials=4, epochs=2)
    assert [dash.tuner_kind.description, dash.start_button.description] == ["调优器", "开始搜索"]
    assert dash.budget.value == "预算：random 调优器，4 次试验，共微调 8 轮（另加只拟合一次的线性探测）"
    labels = [label for label, _ in dash.tuner_kind.options]
    assert labels[0] == "random：相互独立的随机抽样" and [value for _, value in dash.tuner_kind.options] == list(tuning.TUNERS)
    dash.tuner_kind.value = "hyperband"
    assert dash.epochs.description == "最大轮数（最长的试验）"
    dash.project.value = "a/b"
    assert dash.start() is None and "project_name 必须是一个单纯的文件夹名" in dash.status.value


def test_confusion_explorer_in_chinese(zh) -> None:
    images = np.zeros((10, 5, 5, 1), np.uint8)
    explorer = ConfusionExplorer(images, _evaluation(), max_images=4)
    assert [explorer.true_class.description, explorer.predicted_class.description] == ["真实类别", "预测类别"]
    assert explorer.summary.value.startswith("错误：4 张 <b>Pullover</b> 图像中有 <b>2</b> 张被预测为 <b>Coat</b>（50.0%）")
    assert explorer.cells[(0, 1)].tooltip == "真实 Pullover，预测 Coat"
    with pytest.raises(ValueError, match="传入了 3 张图像，但评估包含 10 个样本"):
        ConfusionExplorer(np.zeros((3, 5, 5, 1)), _evaluation())


def test_upload_predictor_in_chinese_and_english(monkeypatch, model) -> None:
    monkeypatch.setenv("TL_LANG", "zh")
    predictor = UploadPredictor(model, NAMES, "fashion_cnn")
    assert predictor.upload.description == "上传图像" and predictor.message.value == "请上传 PNG 或 JPEG 图像。"
    assert not predictor.handle((as_upload(b"not an image", "notes.txt", "text/plain"),))
    assert "'notes.txt' 不是 Pillow 能读取的图像" in predictor.message_text
    monkeypatch.setenv("TL_LANG", "en")
    predictor = UploadPredictor(model, NAMES, "fashion_cnn")
    assert not predictor.handle((as_upload(b"not an image", "notes.txt", "text/plain"),))
    assert "'notes.txt' is not an image Pillow can read" in predictor.message_text


def test_label_budget_explorer_in_chinese(zh) -> None:
    explorer = label_budget.LabelBudgetExplorer(_budget_results(), chance=0.2)
    assert explorer.slider.description == "每类标注数"
    explorer.slider.value = 5
    assert "预训练，冻结（只训练新的分类头）：<b>60.0%</b>；从头训练（随机权重）：<b>45.0%</b>" in explorer.summary.value
    assert "预训练主干网络比从头训练高 15.0 个百分点。" in explorer.summary.value
    ax = explorer.figure.axes[0]
    assert ax.get_xlabel() == "每类有标注的训练图像数"
    assert "预训练，冻结（只训练新的分类头）" in [line.get_label() for line in ax.get_lines()]


# ---- tables -----------------------------------------------------------------------------------


def test_tables_show_chinese_headers_but_keep_english_columns(zh) -> None:
    checks = pd.DataFrame({"similarity": [0.9, 0.7], "domain_accuracy": [0.8, 0.99], "probe_advantage": [0.1, 0.1]},
                          index=["none", "inverted"])
    warnings = challenges.check_warnings(checks, "inverted").round(2)  # what the lesson displays
    assert list(warnings.columns) == ["none", "inverted", "warns_when", "warned"]  # what code reads
    assert warnings.warned.tolist() == [True, True, False] and warnings.loc["similarity", "warns_when"] == "lower"
    html = warnings._repr_html_()
    assert "何时预警" in html and "质心相似度" in html and "更低时" in html and "warns_when" not in html
    assert "已预警" in repr(warnings)
    frame = shown_frame([{"strategy": "probe", "test_accuracy": 0.5}])
    shown = pd.concat([frame, frame]).round(3).assign(seed=0)
    assert type(shown).__name__ == "ShownFrame" and shown.test_accuracy.tolist() == [0.5, 0.5]
    assert list(shown.shown().columns) == ["策略", "测试准确率", "随机种子"]


def test_tables_in_english_look_like_plain_dataframes(en) -> None:
    frame = shown_frame({"strategy": ["probe"], "test_accuracy": [0.5], "warns_when": ["lower"]}).set_index("strategy")
    plain = pd.DataFrame(frame)
    assert repr(frame) == repr(plain) and frame._repr_html_() == plain._repr_html_()


# ---- messages and labels ------------------------------------------------------------------------


def test_messages_in_chinese(zh) -> None:
    with pytest.raises(ValueError, match="未知的策略 'bogus'；可选：scratch, probe, fine_tune"):
        strategies.compare(None, "fashion_cnn", strategies=["bogus"])
    with pytest.raises(ValueError, match="未知的偏移 'upside'"):
        challenges.shift_images(np.zeros((1, 2, 2, 1), np.uint8), "upside")
    with pytest.raises(ValueError, match="fine_lr=\\(0.01, 1e-05\\) 必须是一对 \\(low, high\\)"):
        tuning.SearchSpace(fine_lr=(1e-2, 1e-5)).validate(4)
    assert str(tuning.Budget.of("random", max_trials=6, epochs=3)) == "random 调优器，6 次试验，共微调 18 轮（另加只拟合一次的线性探测）"
    assert tuning.fingerprint_differences({"epochs": 2}, {"epochs": 3}) == ["epochs：原为 2，现为 3"]
    assert "16 位运算只能模拟执行" in challenges.mixed_precision_support(flags=set(), gpus=0)[1]


def test_lesson_constants_print_in_the_active_language(monkeypatch) -> None:
    label = challenges.METHOD_LABELS["cached"]
    description = challenges.SHIFTS["rotated"][1]
    monkeypatch.setenv("TL_LANG", "zh")
    assert f"{label:>12}|" == "  缓存特征 + 分类头|" and str(description).startswith("每张图像旋转 90 度")
    assert label == "cached features + head" and isinstance(label, LazyText)  # code still compares English
    monkeypatch.setenv("TL_LANG", "en")
    assert f"{label}" == "cached features + head" and str(description).startswith("every image turned 90 degrees")
