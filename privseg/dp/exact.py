"""Exact discrete noise: every draw is integer arithmetic on random integers, no floating point.

Floating-point samplers leak (Mironov 2012): the set of doubles ``a + u*(b-a)`` or
``floor(log(u)/s)`` can reach depends on the data. The samplers here take random integers
from a ``Bits`` source and decide with exact rational comparisons (Canonne, Kamath and Steinke
2020, "The discrete Gaussian for differential privacy", Algorithms 1-2):

- ``bernoulli_exp``: Bernoulli(exp(-gamma)) for a rational gamma >= 0;
- ``discrete_laplace``: the two-sided geometric distribution, P(z) proportional to
  exp(-|z| epsilon / sensitivity), for integer counts and grid sums;
- ``exponential_choice``: the exponential mechanism over a finite candidate set with integer
  scores, P(j) proportional to exp(-epsilon * score_j / (2 * sensitivity)), by rejection from
  a uniform candidate; every candidate keeps a positive probability whatever the data.

Bits come from ``secrets`` (``SECURE``), from a SHA-256 counter stream keyed by a secret seed
(``StreamBits``: the same seed gives the same draws on every engine), or from a seeded
``numpy`` RandomState in tests only (``SeededBits``).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Protocol

import numpy as np

__all__ = [
    "SECURE",
    "Bits",
    "SecureBits",
    "SeededBits",
    "StreamBits",
    "bernoulli_exp",
    "discrete_laplace",
    "exact_epsilon",
    "exponential_choice",
]


class Bits(Protocol):
    """A source of uniform random integers."""

    def randbelow(self, n: int) -> int:
        """A uniform integer in ``[0, n)``."""
        ...


class SecureBits:
    """The operating system's CSPRNG (``secrets``): what releases use."""

    def randbelow(self, n: int) -> int:
        """A uniform integer in ``[0, n)``."""
        return secrets.randbelow(n)


SECURE = SecureBits()


@dataclass
class StreamBits:
    """A deterministic stream of SHA-256(seed, label, counter) blocks: with a secret 32-byte
    seed it is a CSPRNG, and the same seed and label give the same integers anywhere (the
    driver draws the seed, Spark executors and the local engine consume the same stream)."""

    seed: bytes
    label: bytes
    _pool: int = field(default=0, repr=False)
    _bits: int = field(default=0, repr=False)
    _counter: int = field(default=0, repr=False)

    def _take(self, k: int) -> int:
        while self._bits < k:
            block = hashlib.sha256(
                self.seed + self.label + self._counter.to_bytes(8, "big")
            ).digest()
            self._counter += 1
            self._pool = (self._pool << 256) | int.from_bytes(block, "big")
            self._bits += 256
        self._bits -= k
        out = self._pool >> self._bits
        self._pool &= (1 << self._bits) - 1
        return out

    def randbelow(self, n: int) -> int:
        """A uniform integer in ``[0, n)`` (rejection on ``n.bit_length()`` bits)."""
        if n <= 0:
            raise ValueError("n must be positive")
        k = n.bit_length()
        while True:
            r = self._take(k)
            if r < n:
                return r


@dataclass
class SeededBits:
    """Integers from a seeded ``numpy`` RandomState: reproducible, for tests only."""

    state: np.random.RandomState

    def randbelow(self, n: int) -> int:
        """A uniform integer in ``[0, n)``."""
        if n <= 0:
            raise ValueError("n must be positive")
        if n <= 2**62:
            return int(self.state.randint(0, n, dtype=np.int64))
        k = n.bit_length()
        while True:
            r = int.from_bytes(self.state.bytes((k + 7) // 8), "big") >> (-k % 8)
            if r < n:
                return r


def exact_epsilon(epsilon: float | Fraction) -> Fraction:
    """Epsilon as the exact fraction of its shortest decimal spelling (0.1 is 1/10)."""
    if isinstance(epsilon, Fraction):
        return epsilon
    return Fraction(repr(float(epsilon)))


def _bernoulli(numerator: int, denominator: int, bits: Bits) -> bool:
    return bits.randbelow(denominator) < numerator


def bernoulli_exp(numerator: int, denominator: int, bits: Bits) -> bool:
    """True with probability exp(-numerator/denominator), exactly (CKS 2020, Algorithm 1)."""
    whole, rest = divmod(numerator, denominator)
    for _ in range(whole):  # exp(-1) per unit: stops at the first failure
        if not _bernoulli_exp_below_one(denominator, denominator, bits):
            return False
    return _bernoulli_exp_below_one(rest, denominator, bits)


def _bernoulli_exp_below_one(numerator: int, denominator: int, bits: Bits) -> bool:
    """Bernoulli(exp(-gamma)) for gamma = numerator/denominator in [0, 1]."""
    k = 1
    while _bernoulli(numerator, denominator * k, bits):
        k += 1
    return k % 2 == 1


def discrete_laplace(epsilon: Fraction, sensitivity: int, bits: Bits) -> int:
    """Two-sided geometric noise: P(z) proportional to exp(-|z| * epsilon / sensitivity)
    (CKS 2020, Algorithm 2 with scale t/s = sensitivity / epsilon)."""
    scale = Fraction(sensitivity) / epsilon
    s, t = scale.denominator, scale.numerator
    while True:
        u = bits.randbelow(t)
        if not bernoulli_exp(u, t, bits):
            continue
        v = 0
        while bernoulli_exp(1, 1, bits):
            v += 1
        y = (u + t * v) // s
        negative = bits.randbelow(2) == 1
        if negative and y == 0:
            continue
        return -y if negative else y


def exponential_choice(
    scores: Sequence[int] | np.ndarray, epsilon: Fraction, sensitivity: int, bits: Bits
) -> int:
    """Index j drawn with probability proportional to exp(-epsilon * scores[j] / (2 * sensitivity)).

    Scores are non-negative integers (lower is better). Rejection sampling: a uniform
    candidate is kept with probability exp(-epsilon * (score - best) / (2 * sensitivity)),
    exactly; the expected number of rounds is at most the number of candidates.
    """
    values = [int(s) for s in scores]
    if not values:
        raise ValueError("no candidates")
    best = min(values)
    denominator = 2 * sensitivity * epsilon.denominator
    numerators = [(s - best) * epsilon.numerator for s in values]
    n = len(values)
    while True:
        j = bits.randbelow(n)
        if bernoulli_exp(numerators[j], denominator, bits):
            return j
