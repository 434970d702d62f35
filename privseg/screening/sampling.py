"""The reproducible per-column sample that screening examines by default.

Of a column's non-empty cells, the sample holds the first ``ceil(size / 2)`` in file order
(headers are often followed by the most typical rows) and ``size // 2`` more drawn without
replacement from the rest by a NumPy generator seeded with the first 8 bytes of
SHA-256(column header). The same file and sample size therefore always give the same
sample, and different columns draw different rows. A column with at most ``size`` non-empty
cells is examined whole.
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["sample_positions"]


def sample_positions(n: int, size: int, key: str) -> np.ndarray:
    """Sorted positions (0..n-1) of the sample of ``size`` out of ``n`` non-empty cells."""
    if size <= 0:
        raise ValueError("sample size must be positive")
    if n <= size:
        return np.arange(n)
    head = (size + 1) // 2
    seed = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")
    rest = np.random.default_rng(seed).choice(n - head, size=size - head, replace=False)
    return np.concatenate([np.arange(head), np.sort(rest) + head])
