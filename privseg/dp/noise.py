"""Noise: the exact two-sided geometric mechanism (``privseg.dp.exact``: integers from
``secrets``, rational comparisons, no floating point), the one noise of every release
(k-means included), and the geometric noise's error figures used to plan a release.

Mechanisms draw from ``secrets`` when ``random_state`` is None (always, outside tests),
unless a CLI release draws from its seeded stream (``drawing_from``: the seed is kept in the
ledger with the charge, so ``privseg budget recover`` can redo the same release).
diffprivlib is imported where used: it pulls in scikit-learn, slow to import for every
command. Its ``PrivacyLeakWarning`` is turned into an error (``no_privacy_leak``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np
import numpy.typing as npt

from privseg.dp.exact import SECURE, Bits, SeededBits, exact_epsilon
from privseg.dp.exact import discrete_laplace as exact_laplace
from privseg.errors import PrivsegError

__all__ = [
    "Z95",
    "drawing_from",
    "geometric",
    "geometric_abs_mean",
    "geometric_ci95",
    "geometric_interval",
    "geometric_var",
    "no_privacy_leak",
    "seeded_bits",
]

_RELEASE_BITS: ContextVar[Bits | None] = ContextVar("release_bits", default=None)

#: The standard normal's 97.5% quantile.
Z95 = 1.959963984540054


@contextmanager
def no_privacy_leak() -> Iterator[None]:
    """Turn diffprivlib's PrivacyLeakWarning into an error (it must never fire)."""
    from diffprivlib.utils import PrivacyLeakWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", PrivacyLeakWarning)
        try:
            yield
        except PrivacyLeakWarning as warning:
            raise PrivsegError(f"diffprivlib reported a privacy leak: {warning}") from warning


def geometric(
    values: npt.ArrayLike,
    epsilon: float,
    sensitivity: int,
    random_state: np.random.RandomState | None,
) -> npt.NDArray[np.int64]:
    """Two-sided geometric (integer) noise added to each integer of ``values``, in order,
    drawn exactly (``exact.discrete_laplace``): diffprivlib's ``Geometric`` computed it from a
    float uniform and raised OverflowError on a draw of exactly 0.5."""
    bits = seeded_bits(random_state)
    eps = exact_epsilon(epsilon)
    noise = [exact_laplace(eps, int(sensitivity), bits) for _ in np.ravel(values)]
    return np.asarray(np.ravel(values), dtype=np.int64) + np.array(noise, dtype=np.int64)


@contextmanager
def drawing_from(bits: Bits) -> Iterator[None]:
    """Within the block, mechanisms without a ``random_state`` draw from ``bits`` (a CLI
    release's ``StreamBits`` keyed by its secret seed) instead of ``secrets``."""
    token = _RELEASE_BITS.set(bits)
    try:
        yield
    finally:
        _RELEASE_BITS.reset(token)


def seeded_bits(random_state: np.random.RandomState | None) -> Bits:
    """The secure source (or the release's stream, ``drawing_from``), or a seeded one in tests."""
    if random_state is not None:
        return SeededBits(random_state)
    return _RELEASE_BITS.get() or SECURE


def _alpha(epsilon: float, sensitivity: float) -> float:
    return math.exp(-epsilon / sensitivity)


def geometric_abs_mean(epsilon: float, sensitivity: float) -> float:
    """Expected absolute value of two-sided geometric noise."""
    a = _alpha(epsilon, sensitivity)
    return 2 * a / (1 - a * a)


def geometric_ci95(epsilon: float, sensitivity: float, *, level: float = 0.95) -> int:
    """Smallest t with P(|Z| > t) <= 1 - level for two-sided geometric noise."""
    a = _alpha(epsilon, sensitivity)
    return max(0, math.ceil(math.log((1 - level) / 2 * (1 + a)) / math.log(a)) - 1)


def geometric_interval(noisy: int, epsilon: float, sensitivity: float) -> tuple[int, int]:
    """The 95% interval of a noisy count (two-sided geometric noise), clamped at zero."""
    half = geometric_ci95(epsilon, sensitivity)
    return max(0, noisy - half), max(0, noisy + half)


def geometric_var(epsilon: float, sensitivity: float) -> float:
    """Variance of two-sided geometric noise."""
    a = _alpha(epsilon, sensitivity)
    return 2 * a / (1 - a) ** 2
