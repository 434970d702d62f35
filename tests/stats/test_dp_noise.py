"""The exact samplers of ``privseg.dp.exact`` draw the distributions they claim (chi-square
against pmfs written out here), from integers only, and the keyed stream is reproducible."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy.stats import binomtest, chisquare

from privseg.dp.exact import (
    SECURE,
    SeededBits,
    StreamBits,
    bernoulli_exp,
    discrete_laplace,
    exponential_choice,
)

DRAWS = 20_000


def _chisquare_ok(observed: dict[int, int], pmf: dict[int, float], draws: int) -> bool:
    """Chi-square on the support of ``pmf`` (tails with expected < 5 pooled)."""
    keys = sorted(pmf)
    obs, exp, tail_o, tail_e = [], [], 0, 0.0
    for k in keys:
        if pmf[k] * draws >= 5:
            obs.append(observed.get(k, 0))
            exp.append(pmf[k] * draws)
        else:
            tail_o += observed.get(k, 0)
            tail_e += pmf[k] * draws
    obs.append(tail_o + sum(v for k, v in observed.items() if k not in pmf))
    exp.append(tail_e + draws - sum(exp) - tail_e)
    return bool(chisquare(obs, exp).pvalue > 1e-3)


@pytest.mark.parametrize(("epsilon", "sensitivity"), [(Fraction(1, 2), 1), (Fraction(3, 10), 7)])
def test_discrete_laplace_is_the_two_sided_geometric(epsilon: Fraction, sensitivity: int) -> None:
    bits = SeededBits(np.random.RandomState(1))
    draws = [discrete_laplace(epsilon, sensitivity, bits) for _ in range(DRAWS)]
    assert all(isinstance(z, int) for z in draws)
    alpha = math.exp(-float(epsilon) / sensitivity)
    pmf = {z: (1 - alpha) / (1 + alpha) * alpha ** abs(z) for z in range(-400, 401)}
    observed = dict(zip(*np.unique(draws, return_counts=True), strict=True))
    assert _chisquare_ok({int(k): int(v) for k, v in observed.items()}, pmf, DRAWS)


@pytest.mark.parametrize("gamma", [Fraction(3, 10), Fraction(17, 10), Fraction(0), Fraction(5)])
def test_bernoulli_exp_has_probability_exp_minus_gamma(gamma: Fraction) -> None:
    bits = SeededBits(np.random.RandomState(2))
    hits = sum(bernoulli_exp(gamma.numerator, gamma.denominator, bits) for _ in range(DRAWS))
    if gamma == 0:
        assert hits == DRAWS
        return
    assert binomtest(hits, DRAWS, math.exp(-float(gamma))).pvalue > 1e-3


def test_exponential_choice_follows_its_weights_and_never_excludes_a_candidate() -> None:
    scores = [0, 1, 1, 4, 9, 30]
    epsilon, sensitivity = Fraction(1), 1
    bits = SeededBits(np.random.RandomState(3))
    picks = [exponential_choice(scores, epsilon, sensitivity, bits) for _ in range(DRAWS)]
    weights = np.exp(-float(epsilon) * np.array(scores) / (2 * sensitivity))
    pmf = dict(enumerate(weights / weights.sum()))
    counts = dict(zip(*np.unique(picks, return_counts=True), strict=True))
    assert _chisquare_ok({int(k): int(v) for k, v in counts.items()}, pmf, DRAWS)
    # the worst candidate (weight e^-15 of the best) stays possible: a narrow set, many draws
    narrow = [exponential_choice([0, 14], Fraction(1), 1, bits) for _ in range(DRAWS)]
    assert 0 < sum(narrow) < DRAWS * 0.01


def test_the_keyed_stream_is_reproducible_uniform_and_separated_by_label() -> None:
    seed = bytes(range(32))
    a = [StreamBits(seed, b"0:1").randbelow(1000) for _ in range(3)]
    stream = StreamBits(seed, b"0:1")
    first = [stream.randbelow(1000) for _ in range(3)]
    assert a == [first[0]] * 3  # a fresh stream restarts
    again = StreamBits(seed, b"0:1")
    assert [again.randbelow(1000) for _ in range(3)] == first
    other = StreamBits(seed, b"0:2")
    assert [other.randbelow(1000) for _ in range(3)] != first
    values = [stream.randbelow(7) for _ in range(DRAWS)]
    assert chisquare(np.bincount(values, minlength=7)).pvalue > 1e-3
    assert 0 <= SECURE.randbelow(5) < 5
