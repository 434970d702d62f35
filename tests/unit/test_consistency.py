"""Structured smoothing of noisy cross-tabs: better where the marginals explain the table,
no worse where they do not."""

from __future__ import annotations

import numpy as np
import pytest

from privseg.dp.consistency import smooth
from privseg.errors import InputError


def _noisy(table: np.ndarray, scale: float, seed: int) -> np.ndarray:
    return table + np.random.default_rng(seed).laplace(0, scale, table.shape)


def _mse(estimate: np.ndarray, table: np.ndarray) -> float:
    return float(((estimate - table) ** 2).mean())


def _independent(shape: tuple[int, ...], total: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    table = np.full(shape, total)
    for axis, size in enumerate(shape):
        share = rng.dirichlet(np.ones(size))
        table = table * np.expand_dims(share, [a for a in range(len(shape)) if a != axis])
    return table


@pytest.mark.parametrize("shape", [(12, 18), (12, 18, 7)])
def test_a_table_its_marginals_explain_gains_a_lot(shape: tuple[int, ...]) -> None:
    table = _independent(shape, 20_000, 1)
    scale = 10.0
    gains = []
    for seed in range(5):
        noisy = _noisy(table, scale, seed)
        gains.append(
            _mse(smooth(noisy, 2 * scale**2), table) / _mse(np.clip(noisy, 0, None), table)
        )
    assert max(gains) < 0.5


def test_a_table_its_marginals_do_not_explain_loses_little() -> None:
    rng = np.random.default_rng(3)
    table = rng.gamma(0.3, 60.0, (12, 18, 7))  # cells independent of each other
    scale = 3.0
    for seed in range(5):
        noisy = _noisy(table, scale, seed)
        plain = _mse(np.clip(noisy, 0, None), table)
        assert _mse(smooth(noisy, 2 * scale**2), table) < 1.1 * plain


def test_output_is_non_negative_and_shaped_like_the_table() -> None:
    noisy = _noisy(np.zeros((4, 5)), 5.0, 0)
    out = smooth(noisy, 50.0)
    assert out.shape == (4, 5) and (out >= 0).all()


def test_almost_no_noise_leaves_the_cells() -> None:
    table = np.random.default_rng(5).integers(0, 100, (6, 7, 3)).astype(float)
    assert np.allclose(smooth(table + 1e-3, 1e-6), table, atol=0.01)


@pytest.mark.parametrize(
    ("noisy", "var"), [(np.ones(5), 1.0), (np.ones((2, 2)), 0.0), (np.full((2, 2), np.nan), 1.0)]
)
def test_bad_input_is_refused(noisy: np.ndarray, var: float) -> None:
    with pytest.raises(InputError):
        smooth(noisy, var)
