"""Lesson 07's exercise checks: right answers pass, placeholders and usual mistakes explain."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tlhelpers.exercises import lesson07


@pytest.fixture
def cost() -> pd.DataFrame:
    return pd.DataFrame({
        "method": ["fine_tune", "cached", "small_input"] * 2,
        "train_images": [50] * 3 + [800] * 3,
        "seconds": [1.0, 2.0, 1.5, 12.0, 3.0, 8.0],
        "test_accuracy": [0.6] * 6,
    })


@pytest.mark.slow
@pytest.mark.parametrize(("backbone", "size"), [("fashion_cnn", 32), ("mobilenet_v2", 96)])
def test_work_ratio_is_counted_from_the_architecture(backbone, size) -> None:
    ratio = lesson07.work_ratio(backbone, size, size // 2)
    assert 3 < ratio <= 4.0  # a quarter of the pixels; small maps round up a little at MobileNetV2's 3x3
    assert lesson07.check_work_ratio(4, backbone, size, size // 2)
    assert lesson07.check_work_ratio(round(ratio, 1), backbone, size, size // 2)


def test_work_ratio_check(cost) -> None:
    right = lesson07.check_work_ratio(4, "fashion_cnn", 32, 16, cost)
    assert right and "4.00x less arithmetic" in right.message
    assert "fine_tune 12.00 s, small_input 8.00 s, 1.5x" in right.message  # what section 1 measured, quoted
    assert "halves the height and the width" in lesson07.check_work_ratio(2, "fashion_cnn", 32, 16).message
    assert "fraction that remains" in lesson07.check_work_ratio(0.25, "fashion_cnn", 32, 16).message
    assert "fewer positions" in lesson07.check_work_ratio(1, "fashion_cnn", 32, 16).message
    assert "positive number" in lesson07.check_work_ratio("a lot", "fashion_cnn", 32, 16).message
    placeholder = lesson07.check_work_ratio(None, "fashion_cnn", 32, 16, cost)
    assert not placeholder and "no answer yet" in placeholder.message
    assert lesson07.check_work_ratio(4, "fashion_cnn", 32, 16, cost=None)  # without the table: no measured part


def test_per_replica() -> None:
    assert lesson07.check_per_replica(16, global_batch=64, replicas=4)
    assert lesson07.check_per_replica(np.int64(16), global_batch=64, replicas=4)
    whole = lesson07.check_per_replica(64, global_batch=64, replicas=4)
    assert not whole and "global batch" in whole.message
    times = lesson07.check_per_replica(256, global_batch=64, replicas=4)
    assert not times and "multiplied" in times.message
    assert not lesson07.check_per_replica(20, global_batch=64, replicas=4)
    assert lesson07.check_per_replica(64, global_batch=64, replicas=1)  # one replica: the whole batch
    assert lesson07.check_per_replica(64 / 4, global_batch=64, replicas=4)  # 16.0: what a division gives
    for not_whole in (16.5, True, "16", [16]):
        assert "whole number" in lesson07.check_per_replica(not_whole, global_batch=64, replicas=4).message
    assert not lesson07.check_per_replica(None, global_batch=64, replicas=4)
    with pytest.raises(ValueError, match="global_batch must be a positive multiple of replicas \\(3\\), got 64"):
        lesson07.check_per_replica(16, global_batch=64, replicas=3)
    with pytest.raises(ValueError, match="replicas must be a whole number of at least 1, got 0"):
        lesson07.check_per_replica(16, global_batch=64, replicas=0)


@pytest.fixture
def forgetting() -> pd.DataFrame:
    # "low" forgets least but barely adapts; "top" adapts about as well as "high" and forgets less
    return pd.DataFrame({"target_accuracy": [0.50, 0.70, 0.71], "forgotten": [0.01, 0.60, 0.20],
                         "feature_similarity": [0.99, 0.30, 0.80]},
                        index=["low lr, all blocks", "high lr, all blocks", "high lr, top block"])


def test_adapt_and_keep_grades_both_criteria(forgetting) -> None:
    right = lesson07.check_adapt_and_keep("high lr, top block", forgetting)
    assert right and "target accuracy 0.710" in right.message and "source accuracy lost 0.200" in right.message
    assert "'low lr, all blocks' lost less (0.010) but reached only 0.500" in right.message
    kept = lesson07.check_adapt_and_keep("low lr, all blocks", forgetting)  # forgets least, did not adapt
    assert not kept and "did not adapt" in kept.message and "0.500" in kept.message
    adapted = lesson07.check_adapt_and_keep("high lr, all blocks", forgetting)  # adapted, forgot more
    assert not adapted and "another setting" in adapted.message and "0.600" in adapted.message
    assert "not a setting" in lesson07.check_adapt_and_keep("lr 0", forgetting).message
    assert not lesson07.check_adapt_and_keep(None, forgetting)


def test_adapt_and_keep_holds_whichever_way_the_run_goes(forgetting) -> None:
    forgetting["target_accuracy"] = [0.72, 0.40, 0.60]  # now the gentle setting also adapts best
    assert lesson07.check_adapt_and_keep("low lr, all blocks", forgetting)
    assert not lesson07.check_adapt_and_keep("high lr, top block", forgetting)
    forgetting["target_accuracy"] = [0.70, 0.70, 0.70]  # all adapted: the least forgetting wins
    assert lesson07.check_adapt_and_keep("low lr, all blocks", forgetting)


def test_adapt_and_keep_without_source_uses_feature_similarity(forgetting) -> None:
    forgetting["forgotten"] = np.nan
    right = lesson07.check_adapt_and_keep("high lr, top block", forgetting)
    assert right and "feature change" in right.message
    assert not lesson07.check_adapt_and_keep("high lr, all blocks", forgetting)
