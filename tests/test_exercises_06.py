"""Lesson 06's exercise checks: right answers pass, placeholders and usual mistakes explain."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tlhelpers.exercises import lesson06


@pytest.fixture
def cost() -> pd.DataFrame:
    # fine_tune is cheapest on the smallest size, cached on the largest
    return pd.DataFrame({
        "method": ["fine_tune", "cached", "small_input"] * 2,
        "train_images": [50] * 3 + [800] * 3,
        "seconds": [1.0, 2.0, 1.5, 12.0, 3.0, 5.0],
        "test_accuracy": [0.6] * 6,
    })


def test_cheapest_method(cost) -> None:
    assert lesson06.check_cheapest_method("cached", cost)
    assert lesson06.check_cheapest_method("cached features + head", cost)  # the plot's label works too
    small = lesson06.check_cheapest_method("fine_tune", cost)
    assert not small and "smallest data" in small.message
    other = lesson06.check_cheapest_method("small_input", cost)
    assert not other and "5.00 s" in other.message and "3.00 s" in other.message
    placeholder = lesson06.check_cheapest_method(None, cost)
    assert not placeholder and "Not yet" in repr(placeholder)
    assert "not a method" in lesson06.check_cheapest_method("gpu", cost).message
    assert "not a method" in lesson06.check_cheapest_method("mixed_precision", cost).message  # not measured here


def test_cheapest_method_tolerates_timing_noise(cost) -> None:
    cost.loc[5, "seconds"] = 3.1  # small_input within 5 % of cached
    assert lesson06.check_cheapest_method("small_input", cost)


def test_global_batch() -> None:
    assert lesson06.check_global_batch(64, per_replica=32, replicas=2)
    assert lesson06.check_global_batch(np.int64(64), per_replica=32, replicas=2)
    per_replica = lesson06.check_global_batch(32, per_replica=32, replicas=2)
    assert not per_replica and "per-replica batch" in per_replica.message
    divided = lesson06.check_global_batch(16, per_replica=32, replicas=2)
    assert not divided and "divided" in divided.message
    assert not lesson06.check_global_batch(100, per_replica=32, replicas=2)
    assert lesson06.check_global_batch(32, per_replica=32, replicas=1)  # one replica: the same number
    assert "whole number" in lesson06.check_global_batch(64.0, per_replica=32, replicas=2).message
    assert "whole number" in lesson06.check_global_batch(True, per_replica=32, replicas=2).message
    assert not lesson06.check_global_batch(None, per_replica=32, replicas=2)


def test_gentlest_setting() -> None:
    table = pd.DataFrame({"forgotten": [0.01, 0.78, 0.3], "feature_similarity": [0.95, 0.3, 0.2]},
                         index=["low lr, all blocks", "high lr, all blocks", "high lr, top block"])
    assert lesson06.check_gentlest_setting("low lr, all blocks", table)
    worst = lesson06.check_gentlest_setting("high lr, all blocks", table)
    assert not worst and "forgot the most" in worst.message
    middle = lesson06.check_gentlest_setting("high lr, top block", table)
    assert not middle and "0.300" in middle.message
    assert "not a setting" in lesson06.check_gentlest_setting("lr 0", table).message
    assert not lesson06.check_gentlest_setting(None, table)


def test_gentlest_setting_without_source_uses_feature_similarity() -> None:
    table = pd.DataFrame({"forgotten": [np.nan, np.nan], "feature_similarity": [0.4, 0.9]}, index=["a", "b"])
    right = lesson06.check_gentlest_setting("b", table)
    assert right and "features changed" in right.message
    assert not lesson06.check_gentlest_setting("a", table)
