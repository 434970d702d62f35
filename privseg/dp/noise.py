"""Noise: diffprivlib's two-sided geometric and Laplace mechanisms, and the geometric noise's
error figures used to plan a release.

Mechanisms draw from ``secrets.SystemRandom`` when ``random_state`` is None (always, outside
tests). diffprivlib is imported where used: it pulls in scikit-learn, slow to import for
every command. Its ``PrivacyLeakWarning`` is turned into an error (``no_privacy_leak``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import numpy.typing as npt

from privseg.errors import PrivsegError

__all__ = [
    "Z95",
    "geometric",
    "geometric_abs_mean",
    "geometric_ci95",
    "geometric_interval",
    "geometric_var",
    "laplace",
    "no_privacy_leak",
]

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
    """Two-sided geometric (integer) noise added to each integer of ``values``, in order."""
    from diffprivlib.mechanisms import Geometric

    with no_privacy_leak():
        mech = Geometric(epsilon=epsilon, sensitivity=sensitivity, random_state=random_state)
        return np.array([mech.randomise(int(v)) for v in np.ravel(values)], dtype=np.int64)


def laplace(
    values: npt.ArrayLike,
    epsilon: float,
    sensitivity: float,
    random_state: np.random.RandomState | None,
) -> npt.NDArray[np.float64]:
    """Laplace noise added to each number of ``values`` (row-major order), same shape."""
    from diffprivlib.mechanisms import Laplace

    array = np.asarray(values, dtype=np.float64)
    with no_privacy_leak():
        mech = Laplace(epsilon=epsilon, sensitivity=sensitivity, random_state=random_state)
        noisy = [mech.randomise(float(v)) for v in array.ravel()]
    return np.asarray(noisy, dtype=np.float64).reshape(array.shape)


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
