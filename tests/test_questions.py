"""Lesson 07's common questions: the answers its cells print, in English and in Chinese."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from tlhelpers import challenges
from tlhelpers.backbones import get_spec
from tlhelpers.challenges.questions import FewShotEvidence


@pytest.fixture()
def measured() -> dict:
    """What lesson 07's cells have measured by section 6, made up and small."""
    task = SimpleNamespace(labels=80, num_classes=10, y_train=[0] * 40, y_val=[0] * 40, y_test=[0] * 500)
    big = SimpleNamespace(y_test=[0] * 300)
    cost = pd.DataFrame([{"method": method, "train_images": size, "seconds": seconds, "test_accuracy": accuracy}
                         for method, size, seconds, accuracy in [("fine_tune", 80, 4.0, 0.40), ("cached", 80, 0.2, 0.50),
                                                                 ("fine_tune", 480, 12.0, 0.35), ("cached", 480, 0.5, 0.70)]])
    gains = pd.DataFrame({"scratch": [0.61234, 0.5], "scratch_epochs": [9, 3], "probe": [0.7, 0.45],
                          "gain": [0.7 - 0.61234, -0.05]}, index=pd.Index(["none", "noisy"], name="shift"))
    forgetting = pd.DataFrame({"feature_similarity": [0.9, 0.41234]}, index=["low lr, all blocks", "high lr, all blocks"])
    few_shot = FewShotEvidence("offline", 3, {5: 28.94, 20: 16.4}, {"near": 20, "far": None},
                               {"near": 100, "far": 100}, "rotated")
    return {"task": task, "big": big, "cost": cost, "largest": cost[cost.train_images == 480].set_index("method"),
            "gains": gains, "forgetting": forgetting, "worst": "high lr, all blocks", "few_shot": few_shot,
            "fast": pd.Series({"fashion_cnn": 5123.4, "mobilenet_v2": 300.2, "resnet50": 40.7})}


def answers(m: dict, few_shot=None, backbone: str = "mobilenet_v2") -> str:
    """All six answers, as lesson 07's two cells print them."""
    return "\n".join([
        challenges.answer_1(task=m["task"], gains=m["gains"], few_shot=few_shot),
        challenges.answer_2(largest=m["largest"], worst=m["worst"], forgetting=m["forgetting"]),
        challenges.answer_3(gains=m["gains"], few_shot=few_shot),
        challenges.answer_4(fast=m["fast"]),
        challenges.answer_5(task=m["task"], cost=m["cost"], big=m["big"]),
        challenges.answer_6(spec=get_spec(backbone)),
    ])


ENGLISH = """\
1. How does transfer differ from training from scratch?
   It starts from learned features instead of random weights. Here, on 80 labels (40 to train on, 40 to validate with): \
scratch 0.612, a linear probe on the frozen features 0.700 (+0.088); scratch needed 9 epochs of full training, \
the probe one pass of the backbone.
2. Advantages and costs?
   Cheap training with cached features: 0.50 s vs 12.00 s end to end at 480 images. Costs: a big backbone to run \
(section 5), the risk of forgetting (section 4: the features moved most with 'high lr, all blocks', cosine similarity \
0.412) and of negative transfer.
3. When does it apply?
   When the target is close to the source. The gain over scratch here, by domain (section 3): none +0.088, \
noisy -0.050; check how far the target is before training (section 3's checks).
4. How to choose a pretrained model?
   By accuracy on your validation split and by speed: the backbones of section 5 span 125.9x in images/second. \
Start small.
5. How to choose and split the target data?
   Stratified, every class alike: 10 classes x 4 labels to train on, 10 x 4 to validate with (early stopping, \
every choice), 500 test images used only to report.
   More labels: from 80 to 480 training images (section 1), test accuracy rose for 1 of 2 methods (cached); \
with one seed and 300 test images, differences of a few points are noise.
6. How to load weights, preprocess, train and validate?
   backbones.load_backbone('mobilenet_v2') with its preprocessing (keras.applications.mobilenet_v2.preprocess_input), \
base.trainable = False, the head first, then the top blocks at a low learning rate with their BatchNorm layers kept \
frozen, validated on the validation split: lessons 01-05, and section 4 above for why the order matters."""


def test_the_answers_read_as_the_lesson_printed_them(measured, monkeypatch) -> None:
    monkeypatch.setenv("TL_LANG", "en")
    assert answers(measured) == ENGLISH  # without the benchmark: its two lines are left out


def test_the_benchmark_s_lines_come_with_its_evidence(measured, monkeypatch) -> None:
    monkeypatch.setenv("TL_LANG", "en")
    text = answers(measured, few_shot=measured["few_shot"])
    one, three = text.split("\n2. ")[0].splitlines(), text.split("3. ")[1].split("\n4. ")[0].splitlines()
    assert one[2] == ("   The course's few-shot benchmark in this track, the recommended transfer strategy minus scratch "
                      "in points (median of 3 seeds), by labels per class: 5: +28.9, 20: +16.4.")
    assert three[2] == ("   Fine-tuning, rather than a probe, pays with more labels: in the benchmark it led the probe "
                        "for good on the target as it is from 20 labels per class on; on the rotated target at no "
                        "budget up to 100 labels per class.")


def test_counts_of_one_and_the_edge_cases(measured, monkeypatch) -> None:
    monkeypatch.setenv("TL_LANG", "en")
    gains = measured["gains"].assign(scratch_epochs=[1, 1])
    one_seed = FewShotEvidence("imagenet", 1, {5: -1.0}, {"near": None}, {"near": 5}, None)
    assert "scratch needed 1 epoch of full training," in challenges.answer_1(task=measured["task"], gains=gains,
                                                                              few_shot=one_seed)
    assert "(median of 1 seed)" in challenges.answer_1(task=measured["task"], gains=gains, few_shot=one_seed)
    flat = measured["cost"].assign(test_accuracy=0.5)
    assert "rose for 0 of 2 methods (none);" in challenges.answer_5(task=measured["task"], cost=flat, big=measured["big"])
    assert "with its preprocessing (built in), base.trainable" in challenges.answer_6(spec=get_spec("fashion_cnn"))


def test_the_answers_are_chinese_in_the_chinese_lesson(measured, monkeypatch) -> None:
    monkeypatch.setenv("TL_LANG", "zh")
    text = answers(measured, few_shot=measured["few_shot"], backbone="fashion_cnn")
    lines = text.splitlines()
    assert lines[0] == "1. 迁移学习与从头训练有什么不同？"
    assert "从头训练 0.612，在冻结的特征上做线性探测 0.700（+0.088）；从头训练需要把整个网络训练 9 轮" in lines[1]
    assert "（3 个随机种子的中位数）" in lines[2] and lines[2].endswith("5: +28.9、20: +16.4。")
    assert "用缓存特征训练很便宜：在 480 张图像上只需 0.50 s，端到端训练则要 12.00 s。" in text
    assert "none +0.088、noisy -0.050" in text
    assert "在原样的目标任务上从每类 20 个标注起" in text
    assert "每秒处理的图像数相差 125.9 倍" in text
    assert "训练用 10 类 × 每类 4 个标注" in text and "2 种方法中有 1 种的测试准确率上升了（cached）" in text
    assert "backbones.load_backbone('fashion_cnn') 加载，配上它自己的预处理（内置）" in text
    assert [line[:2] for line in lines if not line.startswith("   ")] == ["1.", "2.", "3.", "4.", "5.", "6."]
    assert not any(word in text for word in ("labels", "scratch", "section", "Start small"))  # nothing left English
