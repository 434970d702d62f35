"""Differentially private k-means over clipped numeric features.

``fit`` is a pure library function (no ledger; ``privseg.dp.kmeans_release`` charges the budget). The
privacy unit is one row (one customer): neighbouring datasets differ by adding or removing
one row, every row is clipped to the declared ``bounds`` first (bounds are never taken from
the data), and the whole fit spends exactly ``epsilon`` (pure epsilon-DP) on diffprivlib's
mechanisms drawing from ``secrets.SystemRandom`` unless a ``random_state`` is given (tests).

Every method clusters in the unit box of the declared bounds (each feature scaled by its
declared range) and maps the centroids back to input units, so features in different units
(days, orders, yuan) each keep their share of the signal; ``cost`` and ``analytic_value``
take the same ``bounds`` to measure in that space.

Methods (chosen by measurement, see ``benchmarks/README.md``):

``hybrid`` (default)
    ``grid`` with 55% of the budget as a private initialisation, DP Lloyd steps with 35%,
    and fresh noisy cluster sizes with 10%. Best measured on the demo features for every epsilon >= 0.3 and k in 3..5.
``grid``
    Noisy counts of a uniform grid over the bounded box (geometric mechanism, sensitivity 1,
    parallel composition over the disjoint cells), then weighted k-means on the cell centres.
    Clustering the synopsis is post-processing. The grid resolution follows Su et al. (2016)
    from a noisy row count; cluster sizes are fresh noisy counts of the rows nearest each
    centroid. Falls back to ``lloyd`` when the grid would have fewer than 2 cells per axis.
``lloyd``
    DP Lloyd iterations (as diffprivlib's, with a correct split): each of a fixed number of iterations releases, per cluster, a noisy
    count (geometric, sensitivity 1) and a noisy sum of the box-centred points (Laplace with
    L1 sensitivity ``d / 2`` in the unit box), starting from data-independent centroids spread
    along the box diagonal. Sizes are the last iteration's noisy counts. Measured worst: a
    data-independent start gets stuck.

Budget split, in shares of ``epsilon`` (each stage a set of disjoint cells or clusters, so
each stage costs its share once): see ``_SPLITS``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from sklearn.cluster import KMeans

from privseg.dp.noise import geometric, laplace
from privseg.dp.validation import check_bounds, check_epsilon, check_features, seeded
from privseg.errors import InputError

__all__ = [
    "DEFAULT_EPSILON",
    "ArraySynopses",
    "KMeansMethod",
    "KMeansResult",
    "Synopses",
    "analytic_value",
    "cost",
    "fit",
    "fit_synopses",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Epsilon at which ``hybrid`` keeps >= 0.85 of the exact clustering value on the demo features
#: (median over runs, with margin; measured in benchmarks/bench_kmeans.py).
DEFAULT_EPSILON = 1.0

_MAX_CELLS = 1 << 15
_LLOYD_ITERATIONS = 5
_SYNOPSIS_RESTARTS = 5
_SYNOPSIS_ITERATIONS = 50
#: Share of epsilon per stage.
_SPLITS: dict[str, float] = {
    "grid.n": 0.05,  # noisy row count -> grid resolution
    "grid.sizes": 0.10,  # noisy cluster sizes (grid and hybrid)
    "hybrid.grid": 0.55,  # histogram for the private initialisation (then Lloyd, sizes)
    "lloyd.count": 0.25,  # per-iteration share spent on counts (rest: sums)
}


class KMeansMethod(StrEnum):
    """How ``fit`` spends its budget."""

    GRID = "grid"
    LLOYD = "lloyd"
    HYBRID = "hybrid"


@dataclass(frozen=True)
class KMeansResult:
    """A DP clustering: centroids (k x d, input units), noisy sizes (k), budget spent."""

    centroids: FloatArray
    sizes: npt.NDArray[np.int64]
    epsilon: float
    method: KMeansMethod
    iterations: int

    @property
    def k(self) -> int:
        """Number of clusters."""
        return int(self.centroids.shape[0])


class Synopses(Protocol):
    """The exact aggregates ``fit_synopses`` reads: all it ever learns about the rows.

    The rows are clipped to their declared bounds and scaled to the unit box ``[0, 1]^d``.
    ``ArraySynopses`` computes them from rows in memory; ``privseg.engines.spark`` on executors, so
    only these aggregates reach the caller, where the noise is drawn.
    """

    @property
    def dims(self) -> int:
        """Number of features ``d``."""
        ...  # pragma: no cover

    def count(self) -> int:
        """Number of rows."""
        ...  # pragma: no cover

    def grid_counts(self, m: int) -> IntArray:
        """Rows per cell of the ``m**d`` grid over the unit box (cells in C order, cell ``i``
        of an axis holding ``[i/m, (i+1)/m)``, the last one also its upper face)."""
        ...  # pragma: no cover

    def cluster_stats(self, centroids: FloatArray) -> tuple[IntArray, FloatArray]:
        """Per centroid (``k x d``, unit box): the rows nearest it (the first centroid on
        ties) and the sum of their offsets from the box centre (``k x d``)."""
        ...  # pragma: no cover


@dataclass(frozen=True)
class ArraySynopses:
    """``Synopses`` of rows in memory, ``data`` already in the unit box."""

    data: FloatArray

    @classmethod
    def from_rows(cls, X: npt.ArrayLike, bounds: Sequence[tuple[float, float]]) -> ArraySynopses:
        """Rows in input units, checked, clipped to ``bounds`` and scaled to the unit box."""
        lo, hi = check_bounds(bounds)
        data = check_features(X, len(lo))
        return cls((np.clip(data, lo, hi) - lo) / (hi - lo))

    @property
    def dims(self) -> int:
        """Number of features."""
        return int(self.data.shape[1])

    def count(self) -> int:
        """Number of rows."""
        return len(self.data)

    def grid_counts(self, m: int) -> IntArray:
        """Rows per grid cell (see ``Synopses.grid_counts``)."""
        d = self.dims
        idx = np.minimum((self.data * m).astype(np.int64), m - 1)
        flat = np.ravel_multi_index(idx.T, (m,) * d) if len(idx) else np.zeros(0, np.int64)
        return np.bincount(flat, minlength=m**d)

    def cluster_stats(self, centroids: FloatArray) -> tuple[IntArray, FloatArray]:
        """Rows and offset sums per nearest centroid (see ``Synopses.cluster_stats``)."""
        k, d = centroids.shape
        labels = _nearest(self.data, centroids)
        sums = np.zeros((k, d))
        np.add.at(sums, labels, self.data - 0.5)
        return np.bincount(labels, minlength=k), sums


def fit(
    X: npt.ArrayLike,
    *,
    bounds: Sequence[tuple[float, float]],
    k: int,
    epsilon: float = DEFAULT_EPSILON,
    method: KMeansMethod = KMeansMethod.HYBRID,
    random_state: int | np.random.RandomState | None = None,
) -> KMeansResult:
    """Cluster the rows of ``X`` (clipped to ``bounds``) into ``k`` clusters with epsilon-DP.

    ``random_state`` is for tests only: ``None`` (the default) draws all noise from a
    cryptographically secure source.
    """
    # Features in different units (days, orders, yuan) are clustered in the unit box their
    # declared bounds define: otherwise the widest feature's sensitivity drowns the others in
    # noise and dominates the distances. Centroids are mapped back to input units at the end.
    synopses = ArraySynopses.from_rows(X, bounds)
    return fit_synopses(
        synopses, bounds=bounds, k=k, epsilon=epsilon, method=method, random_state=random_state
    )


def fit_synopses(
    synopses: Synopses,
    *,
    bounds: Sequence[tuple[float, float]],
    k: int,
    epsilon: float = DEFAULT_EPSILON,
    method: KMeansMethod = KMeansMethod.HYBRID,
    random_state: int | np.random.RandomState | None = None,
) -> KMeansResult:
    """``fit`` over the exact ``synopses`` of rows scaled to the unit box of ``bounds``.

    Reads only ``synopses`` (in the same order as ``fit``) and draws all noise here: with the
    same ``random_state`` and synopses it returns what ``fit`` returns on the rows.
    """
    lo, hi = check_bounds(bounds)
    if synopses.dims != len(lo):
        raise InputError(f"the synopses have {synopses.dims} features, the bounds {len(lo)}")
    if not (isinstance(k, int | np.integer) and k >= 1):
        raise InputError(f"k must be a positive integer, got {k!r}")
    check_epsilon(epsilon)
    span = hi - lo
    lo, hi = np.zeros_like(lo), np.ones_like(hi)
    rng = seeded(random_state)
    budget = _Budget(float(epsilon))
    method = KMeansMethod(method)
    if method is KMeansMethod.GRID:
        centroids, sizes, iterations = _fit_grid(synopses, lo, hi, int(k), budget, rng)
    elif method is KMeansMethod.LLOYD:
        centroids, sizes = _lloyd(
            synopses, lo, hi, _diagonal_init(lo, hi, int(k)), budget, budget.total, rng
        )
        iterations = _LLOYD_ITERATIONS
    else:
        centroids, sizes, iterations = _fit_hybrid(synopses, lo, hi, int(k), budget, rng)
    budget.close()
    centroids = check_bounds(bounds)[0] + centroids * span
    centroids.setflags(write=False)
    sizes.setflags(write=False)
    return KMeansResult(centroids, sizes, budget.total, method, iterations)


def cost(
    X: npt.ArrayLike,
    centroids: npt.ArrayLike,
    *,
    bounds: Sequence[tuple[float, float]] | None = None,
) -> float:
    """k-means cost: the sum over rows of the squared distance to the nearest centroid.

    With ``bounds``, rows and centroids are first scaled to the unit box of the bounds: the
    space ``fit`` clusters in.
    """
    data = np.asarray(X, dtype=np.float64)
    centres = np.asarray(centroids, dtype=np.float64)
    if bounds is not None:
        lo, hi = check_bounds(bounds)
        data, centres = (np.clip(data, lo, hi) - lo) / (hi - lo), (centres - lo) / (hi - lo)
    total = 0.0
    for start in range(0, len(data), 65_536):
        chunk = data[start : start + 65_536]
        d2 = ((chunk[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        total += float(d2.min(axis=1).sum())
    return total


def analytic_value(
    X: npt.ArrayLike,
    centroids_dp: npt.ArrayLike,
    *,
    n_init: int = 10,
    bounds: Sequence[tuple[float, float]] | None = None,
) -> float:
    """Analytic value retained: exact k-means cost / cost of the DP centroids on the same rows.

    The exact cost is sklearn's best of ``n_init`` k-means++ runs with the same k. Values are
    in (0, 1] up to the exact optimiser's own suboptimality. With ``bounds`` both costs are
    taken in the bounds' unit box, the space ``fit`` clusters in. Internal evaluation only: it
    reads the raw rows and must never be released.
    """
    data = np.asarray(X, dtype=np.float64)
    centres = np.asarray(centroids_dp, dtype=np.float64)
    if bounds is not None:
        lo, hi = check_bounds(bounds)
        data, centres = (np.clip(data, lo, hi) - lo) / (hi - lo), (centres - lo) / (hi - lo)
    exact = KMeans(n_clusters=len(centres), n_init=n_init, random_state=0).fit(data)
    dp_cost = cost(data, centres)
    return 1.0 if dp_cost == 0 else float(exact.inertia_) / dp_cost


# -- budget -----------------------------------------------------------------------------------


class _Budget:
    """Hands out shares of epsilon; each share funds one mechanism over disjoint partitions."""

    def __init__(self, total: float) -> None:
        self.total = total
        self.spent = 0.0

    def take(self, epsilon: float) -> float:
        if epsilon <= 0 or self.spent + epsilon > self.total * (1 + 1e-9):
            raise AssertionError("internal budget split overspends")  # pragma: no cover
        self.spent += epsilon
        return epsilon

    def rest(self) -> float:
        return self.take(self.total - self.spent)

    def close(self) -> None:
        if not math.isclose(self.spent, self.total, rel_tol=1e-9):
            raise AssertionError("internal budget split left budget unspent")  # pragma: no cover


# -- grid -------------------------------------------------------------------------------------


def _grid_resolution(n_noisy: float, epsilon: float, d: int) -> int:
    """Cells per axis, after Su et al. (2016): (n * epsilon / 10) ** (2 / (2 + d)), capped."""
    m = int((max(n_noisy, 1.0) * epsilon / 10.0) ** (2.0 / (2.0 + d)))
    cap = int(_MAX_CELLS ** (1.0 / d))
    return min(m, cap)


def _noisy_grid(
    synopses: Synopses, lo: FloatArray, hi: FloatArray, m: int, epsilon: float, rng: Any
) -> tuple[FloatArray, FloatArray]:
    """Cell centres and their noisy counts (signed: negative noise is kept)."""
    d = len(lo)
    counts = synopses.grid_counts(m)
    if counts.shape != (m**d,):
        raise AssertionError("grid counts of the wrong shape")  # pragma: no cover
    noisy = geometric(counts, epsilon, 1, rng).astype(np.float64)
    axes = [lo[j] + (np.arange(m) + 0.5) * (hi[j] - lo[j]) / m for j in range(d)]
    centres = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, d)
    return centres, noisy


def _weighted_kmeans(
    points: FloatArray, weights: FloatArray, k: int, lo: FloatArray, hi: FloatArray, rng: Any
) -> FloatArray:
    """Lloyd's algorithm on a synopsis with signed (unbiased) noisy weights; best of restarts.

    Clipping negative counts to zero would add about half a noise unit to every empty cell
    (thousands of phantom rows spread over the box); signed weights keep the noise zero-mean.
    """
    d = points.shape[1]
    positive = np.clip(weights, 0.0, None)
    if np.count_nonzero(positive) < k:
        return _diagonal_init(lo, hi, k)
    seeds = np.random.RandomState(None if rng is None else rng.randint(0, 2**31 - 1))
    best: tuple[float, FloatArray] | None = None
    for _ in range(_SYNOPSIS_RESTARTS):
        start = seeds.choice(len(points), k, replace=False, p=positive / positive.sum())
        centroids = points[start].copy()
        for _ in range(_SYNOPSIS_ITERATIONS):
            labels = _nearest(points, centroids)
            mass = np.bincount(labels, weights=weights, minlength=k)
            sums = np.stack(
                [
                    np.bincount(labels, weights=points[:, j] * weights, minlength=k)
                    for j in range(d)
                ],
                axis=1,
            )
            updated = centroids.copy()
            ok = mass > 0
            updated[ok] = np.clip(sums[ok] / mass[ok, None], lo, hi)
            if np.allclose(updated, centroids):
                break
            centroids = updated
        labels = _nearest(points, centroids)
        total = float((weights * ((points - centroids[labels]) ** 2).sum(axis=1)).sum())
        if best is None or total < best[0]:
            best = (total, centroids)
    assert best is not None
    return best[1]


def _nearest(data: FloatArray, centroids: FloatArray) -> npt.NDArray[np.int64]:
    out = np.empty(len(data), dtype=np.int64)
    for start in range(0, len(data), 65_536):
        chunk = data[start : start + 65_536]
        d2 = ((chunk[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
        out[start : start + 65_536] = d2.argmin(axis=1)
    return out


def _sizes(
    synopses: Synopses, centroids: FloatArray, epsilon: float, rng: Any
) -> npt.NDArray[np.int64]:
    counts = synopses.cluster_stats(centroids)[0]
    return np.clip(geometric(counts, epsilon, 1, rng), 0, None)


def _grid_synopsis_centroids(
    synopses: Synopses,
    lo: FloatArray,
    hi: FloatArray,
    k: int,
    eps_grid: float,
    budget: _Budget,
    rng: Any,
) -> FloatArray | None:
    """Spend ``eps_grid`` (of which a share on a noisy n) on the grid; None if too coarse."""
    eps_n = budget.take(budget.total * _SPLITS["grid.n"])
    n_noisy = float(geometric([synopses.count()], eps_n, 1, rng)[0])
    eps_hist = eps_grid - eps_n
    m = _grid_resolution(n_noisy, eps_hist, len(lo))
    if m < 2:
        return None
    centres, weights = _noisy_grid(synopses, lo, hi, m, budget.take(eps_hist), rng)
    return _weighted_kmeans(centres, weights, k, lo, hi, rng)


def _fit_grid(
    synopses: Synopses, lo: FloatArray, hi: FloatArray, k: int, budget: _Budget, rng: Any
) -> tuple[FloatArray, npt.NDArray[np.int64], int]:
    eps_grid = budget.total * (1.0 - _SPLITS["grid.sizes"])
    centroids = _grid_synopsis_centroids(synopses, lo, hi, k, eps_grid, budget, rng)
    if centroids is None:  # too little data or budget for a grid: Lloyd with what is left
        centroids, sizes = _lloyd(
            synopses, lo, hi, _diagonal_init(lo, hi, k), budget, budget.total - budget.spent, rng
        )
        return centroids, sizes, _LLOYD_ITERATIONS
    return centroids, _sizes(synopses, centroids, budget.rest(), rng), 0


def _fit_hybrid(
    synopses: Synopses, lo: FloatArray, hi: FloatArray, k: int, budget: _Budget, rng: Any
) -> tuple[FloatArray, npt.NDArray[np.int64], int]:
    init = _grid_synopsis_centroids(
        synopses, lo, hi, k, budget.total * _SPLITS["hybrid.grid"], budget, rng
    )
    if init is None:
        init = _diagonal_init(lo, hi, k)
    lloyd = budget.total * (1.0 - _SPLITS["grid.sizes"]) - budget.spent
    centroids, _ = _lloyd(synopses, lo, hi, init, budget, lloyd, rng)
    return centroids, _sizes(synopses, centroids, budget.rest(), rng), _LLOYD_ITERATIONS


# -- Lloyd ------------------------------------------------------------------------------------


def _diagonal_init(lo: FloatArray, hi: FloatArray, k: int) -> FloatArray:
    """Data-independent start: k points evenly spaced along the box diagonal."""
    t = (np.arange(k, dtype=np.float64) + 0.5) / k
    return np.asarray(lo[None, :] + t[:, None] * (hi - lo)[None, :], dtype=np.float64)


def _lloyd(
    synopses: Synopses,
    lo: FloatArray,
    hi: FloatArray,
    init: FloatArray,
    budget: _Budget,
    epsilon: float,
    rng: Any,
) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    """``_LLOYD_ITERATIONS`` DP Lloyd steps spending ``epsilon`` in equal parts."""
    k = len(init)
    mid = (lo + hi) / 2.0  # the unit box's centre, which cluster_stats sums offsets from
    sensitivity = float((hi - lo).sum() / 2.0)  # L1 norm of one clipped, centred row
    centroids = init.copy()
    noisy_counts = np.zeros(k, dtype=np.int64)
    per_iter = epsilon / _LLOYD_ITERATIONS
    for _ in range(_LLOYD_ITERATIONS):
        counts, sums = synopses.cluster_stats(centroids)
        eps_count = budget.take(per_iter * _SPLITS["lloyd.count"])
        eps_sum = budget.take(per_iter - eps_count)
        noisy_counts = geometric(counts, eps_count, 1, rng)
        noisy_sums = laplace(sums, eps_sum, sensitivity, rng)
        for c in range(k):
            if noisy_counts[c] >= 1:
                centroids[c] = np.clip(mid + noisy_sums[c] / noisy_counts[c], lo, hi)
    return centroids, np.clip(noisy_counts, 0, None)
