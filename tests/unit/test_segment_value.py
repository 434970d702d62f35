"""Per-segment accuracy: the floor, the measure, its prediction and the epsilon search."""

from __future__ import annotations

import numpy as np
import pytest

from privseg.dp.value import (
    distribution_value,
    epsilon_for_value,
    geometric_noise,
    predict_segment_accuracy,
    segment_accuracy,
    value_floor,
    worst_case_sizes,
)
from privseg.errors import BudgetExceededError, InputError


@pytest.mark.parametrize(
    ("total", "cells", "floor"),
    [(20_000, 5, 200.0), (23_570, 1_512, 23_570 / 1_512), (50, 5, 1.0), (0, 3, 1.0)],
)
def test_floor_is_the_smaller_of_one_percent_and_the_average_cell(
    total: float, cells: int, floor: float
) -> None:
    assert value_floor(total, cells) == pytest.approx(floor)


def test_floor_needs_a_cell() -> None:
    with pytest.raises(InputError):
        value_floor(100, 0)


def test_a_table_whose_small_tiers_are_wrong_scores_low_where_1_minus_tvd_did_not() -> None:
    # The run: platinum 371 released 0, gold 1,021 released 3,674.
    exact = np.array([371, 1_021, 4_000, 6_000, 8_608])
    released = np.array([0, 3_674, 4_000, 6_000, 8_608])
    assert segment_accuracy(released, exact) == pytest.approx(0.6)
    assert distribution_value(released, exact) > 0.85


def test_cells_below_the_floor_are_judged_against_it() -> None:
    exact = np.array([3.0, 10_000.0, 9_997.0])  # floor 200
    released = np.array([5.0, 10_000.0, 9_997.0])
    assert segment_accuracy(released, exact) == pytest.approx(1 - (2 / 200) / 3)
    assert segment_accuracy(released, exact, floor=2.0) == pytest.approx(1 - (2 / 3) / 3)


def test_each_miss_is_capped_at_one_and_missing_releases_count_as_zero() -> None:
    exact = np.array([500.0, 500.0])
    assert segment_accuracy(np.array([5_000.0, np.nan]), exact) == 0.0
    with pytest.raises(InputError):
        segment_accuracy(np.array([1.0]), exact)


def test_prediction_matches_simulated_releases() -> None:
    sizes = np.array([40.0, 300.0, 2_000.0, 8_000.0])
    floor = value_floor(sizes.sum(), len(sizes))
    noise = geometric_noise(0.05)
    predicted = predict_segment_accuracy(noise, sizes, floor=floor)
    rng = np.random.default_rng(7)
    realised = [
        segment_accuracy(np.clip(sizes + noise(rng, (1, 4))[0], 0, None), sizes)
        for _ in range(2_000)
    ]
    assert predicted == pytest.approx(float(np.mean(realised)), abs=0.01)


def test_prediction_grows_with_epsilon() -> None:
    sizes = worst_case_sizes(20_000, 5)
    floor = value_floor(20_000, 5)
    values = [
        predict_segment_accuracy(geometric_noise(e), sizes, floor=floor) for e in (0.01, 0.1, 1)
    ]
    assert values == sorted(values) and values[0] < 0.7 < values[-1]


def test_worst_case_is_every_cell_at_the_floor() -> None:
    assert worst_case_sizes(20_000, 5).tolist() == [200.0] * 5


def test_epsilon_search_reaches_the_target_and_no_less() -> None:
    sizes = worst_case_sizes(20_000, 5)

    def predict(epsilon: float) -> float:
        return predict_segment_accuracy(geometric_noise(epsilon), sizes, floor=200.0)

    epsilon = epsilon_for_value(0.85, predict, ceiling=10.0, what="5 segments")
    assert predict(epsilon) >= 0.85 > predict(epsilon * 0.95)
    with pytest.raises(BudgetExceededError, match="5 segments"):
        epsilon_for_value(0.85, predict, ceiling=epsilon / 2, what="5 segments")
    with pytest.raises(InputError):
        epsilon_for_value(1.0, predict, ceiling=10.0, what="x")
