"""Predictions of k-means and quantile releases (``privseg.dp.value``): conservative, from
public quantities only, monotone in what makes a release better."""

from __future__ import annotations

import math

import pytest

from privseg.dp.value import (
    predict_cost_ratio,
    predict_quantile_value,
    quantile_rank_error,
)
from privseg.errors import InputError


def test_cost_ratio_without_noise_is_one_and_none_without_a_cost() -> None:
    assert predict_cost_ratio(100.0, 0.0, [50, 50], [0.0, 0.0], d=3) == pytest.approx(1.0)
    assert predict_cost_ratio(0.0, 1.0, [50], [0.1], d=3) is None


def test_cost_ratio_is_a_lower_quantile_of_one_minus_loss_over_cost() -> None:
    sizes, moved = [400, 600], [0.01, 0.02]
    mean_loss = 400 * 0.01 + 600 * 0.02
    low = predict_cost_ratio(200.0, 0.0, sizes, moved, d=2)
    middle = predict_cost_ratio(200.0, 0.0, sizes, moved, d=2, level=0.5)
    assert low is not None and middle is not None
    assert low < middle
    # chi-square(d) / d has mean 1, so the median of 1 - loss / cost is near the mean's value
    assert middle == pytest.approx(1 - mean_loss / 200.0, abs=0.02)


def test_cost_ratio_falls_with_the_noise_of_the_cost_estimate() -> None:
    sharp = predict_cost_ratio(200.0, 1.0, [500], [0.02], d=3)
    blurred = predict_cost_ratio(200.0, 60.0, [500], [0.02], d=3)
    assert sharp is not None and blurred is not None and blurred < sharp


def test_rank_error_is_the_exponential_mechanism_utility_bound() -> None:
    bound = quantile_rank_error(0.5, 1001, 0.5, beta=0.1)
    assert bound == pytest.approx(2 * 0.5 / 0.5 * (math.log(1001) + math.log(10)))
    assert quantile_rank_error(0.5, 1001, 0.9, beta=0.1) == pytest.approx(bound * 0.9 / 0.5)
    assert quantile_rank_error(1.0, 1001, 0.5) < quantile_rank_error(0.5, 1001, 0.5)
    assert quantile_rank_error(0.5, 101, 0.5) < quantile_rank_error(0.5, 1001, 0.5)
    assert quantile_rank_error(0.5, 1001, 0.5, max_rows_per_unit=3) == pytest.approx(
        3 * quantile_rank_error(0.5, 1001, 0.5)
    )
    with pytest.raises(InputError):
        quantile_rank_error(0.0, 1001, 0.5)


def test_quantile_prediction_grows_with_epsilon_size_and_resolution() -> None:
    def value(eps: float, size: float, candidates: int = 1001) -> float:
        got = predict_quantile_value(
            eps, 0.5, [size], candidates=candidates, bounds=(0.0, 1000.0), released=[40.0]
        )
        assert got is not None
        return got

    assert value(0.1, 2000) < value(0.3, 2000) < value(1.0, 2000) <= 1
    assert value(0.3, 500) < value(0.3, 5000)
    # a coarse grid rounds by more than its fewer candidates save
    assert value(3.0, 50_000, candidates=21) < value(3.0, 50_000)


def test_quantile_prediction_skips_segments_without_a_dp_size() -> None:
    box = (0.0, 1000.0)
    one = predict_quantile_value(0.5, 0.5, [3000], candidates=1001, bounds=box, released=[50.0])
    both = predict_quantile_value(
        0.5, 0.5, [3000, 0], candidates=1001, bounds=box, released=[50.0, 0.0]
    )
    assert one == both
    assert predict_quantile_value(0.5, 0.5, [0, -3], candidates=1001, bounds=box) is None
    with pytest.raises(InputError):
        predict_quantile_value(0.5, 0.5, [10], candidates=1, bounds=(0.0, 1.0))
    with pytest.raises(InputError):
        predict_quantile_value(0.5, 0.5, [10, 20], candidates=11, bounds=(0.0, 1.0), released=[1])


def test_quantile_prediction_without_released_values_judges_against_the_sanity_bound() -> None:
    blind = predict_quantile_value(0.3, 0.5, [4000], candidates=1001, bounds=(0.0, 1000.0))
    seen = predict_quantile_value(
        0.3, 0.5, [4000], candidates=1001, bounds=(0.0, 1000.0), released=[200.0]
    )
    assert blind is not None and seen is not None and 0 < blind <= seen
