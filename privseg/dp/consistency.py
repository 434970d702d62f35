"""Structured estimation of a DP cross-tab from its noisy cells: marginal model, shrinkage.

Plain noise on every cell of a large cross-tab ignores what the table's lower-order
marginals say about each cell. In the spirit of Private-PGM (McKenna, Sheldon and Miklau
2019: infer a table from noisy marginals) and of hierarchical estimation (the Census
TopDown), ``smooth`` post-processes ONE noisy measurement of the full table (no budget is
split, so the guarantee is the plain release's):

1. each marginal over ``d - 1`` of the ``d`` grouped columns is summed from the noisy cells
   (its noise averages out: variance ``sigma2`` times the cells summed) and estimated the
   same way, recursively, down to single columns, which are kept as summed;
2. a model table is fitted to those marginals by iterative proportional fitting: the
   maximum-entropy table with them, which carries every interaction of fewer than ``d``
   columns;
3. the noisy cells are shrunk towards the model with the empirical-Bayes weight
   ``w = tau2 m / (tau2 m + sigma2)`` per cell (``m`` its model count): ``tau2`` measures how
   far the table departs from the model, fitted by moments from the noisy residuals. Where
   the model fits, cells borrow the marginals' precision; where it does not, or where a
   cell is large, the noisy count stands.

The gain is not predicted: a release's predicted value stays the plain noise's, which the
smoothed table met or beat in every measurement (``benchmarks/README.md``).
"""

from __future__ import annotations

import itertools

import numpy as np

from privseg.errors import InputError

__all__ = ["smooth"]

_IPF_ITERATIONS = 30


def smooth(noisy: np.ndarray, noise_var: float) -> np.ndarray:
    """Estimate a ``d``-column count table (d >= 2) from its ``noisy`` cells, each with
    independent zero-mean noise of variance ``noise_var`` (see the module doc); >= 0."""
    cells = np.asarray(noisy, dtype=float)
    if cells.ndim < 2 or cells.size == 0:
        raise InputError("a structured estimate needs a non-empty table of two or more columns")
    if not (np.isfinite(cells).all() and noise_var > 0):
        raise InputError("noisy cells must be finite and the noise variance positive")
    return np.asarray(np.clip(_shrink(cells, noise_var), 0, None), dtype=float)


def _shrink(noisy: np.ndarray, sigma2: float) -> np.ndarray:
    """The table shrunk towards its marginal model (a single column is kept as is)."""
    d = noisy.ndim
    if d == 1:
        return noisy
    plan = tuple(itertools.combinations(range(d), d - 1))
    margins = []
    for axes in plan:
        (dropped,) = (a for a in range(d) if a not in axes)
        margins.append(_shrink(noisy.sum(axis=dropped), sigma2 * noisy.shape[dropped]))
    model = _fit(noisy.shape, plan, margins)
    excess = float(((noisy - model) ** 2).sum()) - sigma2 * noisy.size
    tau2 = max(0.0, excess) / max(float(model.sum()), 1.0)
    weight = tau2 * model / (tau2 * model + sigma2)
    return np.asarray(model + weight * (noisy - model), dtype=float)


def _fit(
    shape: tuple[int, ...], plan: tuple[tuple[int, ...], ...], margins: list[np.ndarray]
) -> np.ndarray:
    """Iterative proportional fitting to marginals clamped at zero and put on one total."""
    total = max(float(np.median([m.sum() for m in margins])), 1.0)
    targets = []
    for margin in margins:
        clamped = np.clip(margin, 0, None) + 1e-9
        targets.append(clamped * total / clamped.sum())
    model = np.full(shape, total / float(np.prod(shape)))
    for _ in range(_IPF_ITERATIONS):
        for axes, target in zip(plan, targets, strict=True):
            (dropped,) = (a for a in range(len(shape)) if a not in axes)
            current = model.sum(axis=dropped, keepdims=True)
            model = model * (np.expand_dims(target, dropped) / np.maximum(current, 1e-12))
    return model
