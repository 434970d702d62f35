"""Differentially private k-means over clipped numeric features.

``fit`` is a pure library function (no ledger; ``privseg.dp.kmeans_release`` charges the
budget). The
privacy unit is one row (one customer): neighbouring datasets differ by adding or removing
one row, every row is clipped to the declared ``bounds`` first (bounds are never taken from
the data), and the whole fit spends exactly ``epsilon`` (pure epsilon-DP) on diffprivlib's
two-sided geometric mechanism (``privseg.dp.noise``) drawing from ``secrets.SystemRandom`` unless a
``random_state`` is given (tests). All noise is integer noise on integer aggregates (counts,
and sums of offsets rounded to a grid of ``1 / OFFSET_GRID``), so no output carries the
floating-point artefacts of continuous noise (Mironov 2012).

Every method clusters in the unit box of the declared bounds (each feature scaled by its
declared range) and maps the centroids back to input units, so features in different units
(days, orders, yuan) each keep their share of the signal; ``cost`` and ``analytic_value``
take the same ``bounds`` to measure in that space.

Methods (chosen by measurement, see ``benchmarks/README.md``):

``auto`` (default)
    After a noisy row count ``n`` (5% of epsilon), ``grid`` when its resolution, set by
    ``n``, epsilon and ``d``, gives at least ``AUTO_CELLS_PER_CLUSTER * k`` cells and 2 per
    axis, else ``lloyd`` with the rest. The result names the method used. ``grid`` was best
    measured for every epsilon from 0.1 to 3 on the demo and CDNOW features (k = 4, d = 3).
``hybrid``
    ``grid`` with 55% of the budget as a private initialisation, DP Lloyd steps with 35%,
    and fresh noisy cluster sizes with 10%.
``grid``
    Noisy counts of a uniform grid over the bounded box (geometric mechanism, sensitivity 1,
    parallel composition over the disjoint cells, 85%), then weighted k-means (k-means++
    seeding, best of restarts) on the cell centres: post-processing. The grid resolution
    follows Su et al. (2016) from the noisy row count. The last 10% buys one DP Lloyd step on
    the rows from those centroids, blended with them per feature by inverse variance (a
    grid centroid is off by its cells' noise and by up to a cell, the step by its own
    noise); the sizes blend its noisy counts with the grid's counts per cluster. Falls back to ``lloyd`` when the grid would
    have fewer than 2 cells per axis.
``lloyd``
    DP Lloyd iterations (as diffprivlib's, with a correct split): each of a fixed number of
    iterations releases, per cluster, a noisy count (geometric, sensitivity 1) and a noisy
    sum of the box-centred points on the offset grid (geometric, L1 sensitivity
    ``d * OFFSET_GRID / 2`` grid steps), starting from data-independent centroids spread
    along the box diagonal. Sizes are the last iteration's noisy counts. Measured worst: a
    data-independent start gets stuck.

Every result carries a predicted value (``_predict``): a lower 5% quantile of the cost
ratio over the noise, computed from the noisy grid, the noisy sizes and the noise variances
only (post-processing, no budget), so the realised value reaches it in most runs.

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

from privseg.dp.noise import geometric, geometric_var, seeded_bits
from privseg.dp.validation import check_bounds, check_epsilon, check_features, seeded
from privseg.dp.value import predict_cost_ratio
from privseg.errors import InputError

__all__ = [
    "AUTO_CELLS_PER_CLUSTER",
    "DEFAULT_EPSILON",
    "OFFSET_GRID",
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

#: Epsilon at which ``auto`` keeps >= 0.85 of the exact clustering value on the demo features
#: (median over runs, with margin; measured in benchmarks/bench_kmeans.py).
DEFAULT_EPSILON = 1.0
#: ``auto`` uses ``grid`` when its grid has at least this many cells per cluster.
AUTO_CELLS_PER_CLUSTER = 4
#: Offsets from the unit box's centre are summed in steps of ``1 / OFFSET_GRID`` (even).
OFFSET_GRID = 1_000

_MAX_CELLS = 1 << 15
_LLOYD_ITERATIONS = 5
_SYNOPSIS_RESTARTS = 5
_SYNOPSIS_ITERATIONS = 50
#: Share of epsilon per stage.
_SPLITS: dict[str, float] = {
    "grid.n": 0.05,  # noisy row count -> grid resolution
    "grid.sizes": 0.10,  # grid: the polishing Lloyd step (its counts are the sizes); hybrid: sizes
    "hybrid.grid": 0.55,  # histogram for the private initialisation (then Lloyd, sizes)
    "lloyd.count": 0.25,  # per-iteration share spent on counts (rest: sums)
}


class KMeansMethod(StrEnum):
    """How ``fit`` spends its budget.

    >>> [m.value for m in privseg.KMeansMethod]
    ['auto', 'grid', 'lloyd', 'hybrid']
    """

    AUTO = "auto"
    GRID = "grid"
    LLOYD = "lloyd"
    HYBRID = "hybrid"


@dataclass(frozen=True)
class KMeansResult:
    """A DP clustering: centroids (k x d, input units), noisy sizes (k), budget spent, the
    method used (never ``auto``) and the predicted cost ratio (None: nothing to predict from).

    >>> from privseg.dp import kmeans
    >>> points = [[10.0, 40000.0]] * 200 + [[300.0, 1000.0]] * 200
    >>> result = kmeans.fit(points, bounds=[(0, 365), (0, 50000)], k=2, epsilon=1.0)
    >>> result.centroids.shape, len(result.sizes), result.epsilon
    ((2, 2), 2, 1.0)
    """

    centroids: FloatArray
    sizes: npt.NDArray[np.int64]
    epsilon: float
    method: KMeansMethod
    iterations: int
    predicted_value: float | None = None

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
        ties) and the sum of their offsets from the box centre (``k x d``), each offset
        rounded to a whole number of ``1 / OFFSET_GRID`` steps (sums in steps)."""
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
        np.add.at(sums, labels, np.rint((self.data - 0.5) * OFFSET_GRID))
        return np.bincount(labels, minlength=k), sums


def fit(
    X: npt.ArrayLike,
    *,
    bounds: Sequence[tuple[float, float]],
    k: int,
    epsilon: float = DEFAULT_EPSILON,
    method: KMeansMethod = KMeansMethod.AUTO,
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
    method: KMeansMethod = KMeansMethod.AUTO,
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
    rng = seeded(random_state)
    fitted = _fit(synopses, int(k), _Budget(float(epsilon)), KMeansMethod(method), rng)
    centroids = lo + fitted.centroids * span
    centroids.setflags(write=False)
    fitted.sizes.setflags(write=False)
    return KMeansResult(
        centroids,
        fitted.sizes,
        float(epsilon),
        fitted.method,
        fitted.iterations,
        _predict(fitted, synopses.dims),
    )


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


# -- fit --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Grid:
    """A noisy grid synopsis: cell centres, signed noisy counts, cells per axis, epsilon."""

    centres: FloatArray
    weights: FloatArray
    m: int
    epsilon: float


@dataclass(frozen=True)
class _Fitted:
    """A fit in the unit box, with what its prediction reads: the noisy grid (if one was
    made) and each centroid's expected squared displacement by the noise that set it last
    (summed over features; None if unknown)."""

    centroids: FloatArray
    sizes: npt.NDArray[np.int64]
    method: KMeansMethod
    iterations: int
    grid: _Grid | None
    moved: FloatArray | None


def _fit(synopses: Synopses, k: int, budget: _Budget, method: KMeansMethod, rng: Any) -> _Fitted:
    """Spend ``budget`` on ``method`` (see the module doc); every stage's share is taken here."""
    d = synopses.dims
    lo, hi = np.zeros(d), np.ones(d)
    init = _diagonal_init(lo, hi, k)
    if method is KMeansMethod.LLOYD:
        centroids, sizes, var = _lloyd(synopses, init, budget, budget.total, rng)
        return _Fitted(centroids, sizes, method, _LLOYD_ITERATIONS, None, var.sum(axis=1))
    eps_n = budget.take(budget.total * _SPLITS["grid.n"])
    n_noisy = float(geometric([synopses.count()], eps_n, 1, rng)[0])
    share = _SPLITS["hybrid.grid"] if method is KMeansMethod.HYBRID else 1 - _SPLITS["grid.sizes"]
    eps_hist = budget.total * share - budget.spent
    m = _grid_resolution(n_noisy, eps_hist, d)
    if method is KMeansMethod.AUTO:
        enough = m >= 2 and m**d >= AUTO_CELLS_PER_CLUSTER * k
        method = KMeansMethod.GRID if enough else KMeansMethod.LLOYD
    grid = None
    if m >= 2 and method is not KMeansMethod.LLOYD:
        grid = _noisy_grid(synopses, m, budget.take(eps_hist), rng)
    if grid is not None:
        init = _weighted_kmeans(grid.centres, grid.weights, k, lo, hi, rng)
    if method is KMeansMethod.GRID and grid is not None:
        centroids, sizes, moved = _polish(synopses, grid, init, budget, rng)
        budget.close()
        return _Fitted(centroids, sizes, method, 1, grid, moved)
    # hybrid, or too little data and budget for a grid
    eps_lloyd = budget.total * (1.0 - _SPLITS["grid.sizes"]) - budget.spent
    centroids, _, var = _lloyd(synopses, init, budget, eps_lloyd, rng)
    sizes = _sizes(synopses, centroids, budget.rest(), rng)
    budget.close()
    return _Fitted(centroids, sizes, method, _LLOYD_ITERATIONS, grid, var.sum(axis=1))


def _polish(
    synopses: Synopses, grid: _Grid, centroids: FloatArray, budget: _Budget, rng: Any
) -> tuple[FloatArray, npt.NDArray[np.int64], FloatArray]:
    """One DP Lloyd step on the rows from the grid's centroids with the rest of the budget,
    blended with them by inverse variance per feature: a grid centroid is off by its cells'
    count noise and by up to a cell (rows sit anywhere in their cells), a Lloyd step's by
    its sum and count noise. Returns centroids, noisy sizes and expected displacements."""
    eps = budget.total - budget.spent
    eps_count = budget.take(eps * _SPLITS["lloyd.count"])
    stepped, counts, var_step = _lloyd_step(synopses, centroids, eps_count, budget.rest(), rng)
    labels = _nearest(grid.centres, centroids)
    size = np.maximum(counts, 1).astype(np.float64)[:, None]
    reach = np.stack(
        [
            np.bincount(
                labels,
                weights=(grid.centres[:, j] - centroids[labels, j]) ** 2,
                minlength=len(centroids),
            )
            for j in range(grid.centres.shape[1])
        ],
        axis=1,
    )
    var_grid = geometric_var(grid.epsilon, 1) * reach / size**2 + 1.0 / (12.0 * grid.m**2)
    weight = var_grid / (var_grid + var_step)
    blended = centroids + weight * (stepped - centroids)
    return blended, _blended_sizes(grid, labels, counts, eps_count), (weight * var_step).sum(axis=1)


def _blended_sizes(
    grid: _Grid, labels: npt.NDArray[np.int64], counts: npt.NDArray[np.int64], eps_count: float
) -> npt.NDArray[np.int64]:
    """Cluster sizes by inverse variance (post-processing) from the Lloyd step's noisy counts
    and the sums of the grid's signed noisy counts over each cluster's cells."""
    k = len(counts)
    from_grid = np.bincount(labels, weights=grid.weights, minlength=k)
    var_grid = np.bincount(labels, minlength=k) * geometric_var(grid.epsilon, 1)
    var_step = geometric_var(eps_count, 1)
    weight = var_step / (var_step + np.maximum(var_grid, 1e-12))
    sizes = counts + weight * (from_grid - counts)
    return np.clip(np.rint(sizes), 0, None).astype(np.int64)  # type: ignore[no-any-return]


def _predict(fitted: _Fitted, d: int) -> float | None:
    """Predicted cost ratio (``value.predict_cost_ratio``, a lower quantile), from the noisy
    grid, the noisy sizes and the noise only: the DP centroids' cost is estimated on the
    noisy grid (signed counts: unbiased, plus the spread within a cell; its standard
    deviation from the count noise), the loss by the expected displacements
    ``fitted.moved``. None without a grid to estimate from.
    """
    grid = fitted.grid
    if grid is None or fitted.moved is None:
        return None
    labels = _nearest(grid.centres, fitted.centroids)
    per_row = ((grid.centres - fitted.centroids[labels]) ** 2).sum(axis=1) + d / (12.0 * grid.m**2)
    dp_cost = float((grid.weights * per_row).sum())
    cost_sd = math.sqrt(geometric_var(grid.epsilon, 1) * float((per_row**2).sum()))
    return predict_cost_ratio(dp_cost, cost_sd, fitted.sizes, fitted.moved, d=d)


# -- grid -------------------------------------------------------------------------------------


def _grid_resolution(n_noisy: float, epsilon: float, d: int) -> int:
    """Cells per axis, after Su et al. (2016): (n * epsilon / 10) ** (2 / (2 + d)), capped."""
    m = int((max(n_noisy, 1.0) * epsilon / 10.0) ** (2.0 / (2.0 + d)))
    cap = int(_MAX_CELLS ** (1.0 / d))
    return min(m, cap)


def _noisy_grid(synopses: Synopses, m: int, epsilon: float, rng: Any) -> _Grid:
    """Cell centres of the unit box's ``m**d`` grid and their noisy counts (signed: negative
    noise is kept)."""
    d = synopses.dims
    counts = synopses.grid_counts(m)
    if counts.shape != (m**d,):
        raise AssertionError("grid counts of the wrong shape")  # pragma: no cover
    noisy = geometric(counts, epsilon, 1, rng).astype(np.float64)
    axis = (np.arange(m) + 0.5) / m
    centres = np.stack(np.meshgrid(*([axis] * d), indexing="ij"), axis=-1).reshape(-1, d)
    return _Grid(centres, noisy, m, epsilon)


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
    seeds = np.random.RandomState(seeded_bits(rng).randbelow(2**31 - 1))
    best: tuple[float, FloatArray] | None = None
    for _ in range(_SYNOPSIS_RESTARTS):
        centroids = _plus_plus(points, positive, k, seeds)
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


def _plus_plus(
    points: FloatArray, positive: FloatArray, k: int, seeds: np.random.RandomState
) -> FloatArray:
    """k-means++ seeding on the synopsis (cells drawn by weight x squared distance)."""
    chosen = [int(seeds.choice(len(points), p=positive / positive.sum()))]
    d2 = ((points - points[chosen[0]]) ** 2).sum(axis=1)
    for _ in range(1, k):
        mass = positive * d2
        if mass.sum() <= 0:
            mass = positive
        chosen.append(int(seeds.choice(len(points), p=mass / mass.sum())))
        d2 = np.minimum(d2, ((points - points[chosen[-1]]) ** 2).sum(axis=1))
    return points[chosen].copy()


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


# -- Lloyd ------------------------------------------------------------------------------------


def _diagonal_init(lo: FloatArray, hi: FloatArray, k: int) -> FloatArray:
    """Data-independent start: k points evenly spaced along the box diagonal."""
    t = (np.arange(k, dtype=np.float64) + 0.5) / k
    return np.asarray(lo[None, :] + t[:, None] * (hi - lo)[None, :], dtype=np.float64)


def _lloyd_step(
    synopses: Synopses, centroids: FloatArray, eps_count: float, eps_sum: float, rng: Any
) -> tuple[FloatArray, npt.NDArray[np.int64], FloatArray]:
    """One DP Lloyd step: new centroids (a cluster with a noisy count under 1 stays), the
    noisy counts, and each centroid feature's noise variance (``k x d``)."""
    k, d = centroids.shape
    # one row's offsets from the centre, in grid steps: at most OFFSET_GRID / 2 per feature
    sensitivity = d * OFFSET_GRID // 2
    counts, sums = synopses.cluster_stats(centroids)
    noisy_counts = geometric(counts, eps_count, 1, rng)
    noisy_sums = geometric(sums, eps_sum, sensitivity, rng).reshape(k, d) / OFFSET_GRID
    size = np.maximum(noisy_counts, 1).astype(np.float64)[:, None]
    stepped = np.where(
        noisy_counts[:, None] >= 1, np.clip(0.5 + noisy_sums / size, 0.0, 1.0), centroids
    )
    var_sum = geometric_var(eps_sum, sensitivity) / OFFSET_GRID**2
    var = (var_sum + (stepped - 0.5) ** 2 * geometric_var(eps_count, 1)) / size**2
    return stepped, noisy_counts, var


def _lloyd(
    synopses: Synopses, init: FloatArray, budget: _Budget, epsilon: float, rng: Any
) -> tuple[FloatArray, npt.NDArray[np.int64], FloatArray]:
    """``_LLOYD_ITERATIONS`` DP Lloyd steps in the unit box spending ``epsilon`` in equal
    parts: centroids, the last step's noisy counts (>= 0) and noise variances."""
    centroids = init.copy()
    per_iter = epsilon / _LLOYD_ITERATIONS
    for _ in range(_LLOYD_ITERATIONS):
        eps_count = budget.take(per_iter * _SPLITS["lloyd.count"])
        centroids, counts, var = _lloyd_step(
            synopses, centroids, eps_count, budget.take(per_iter - eps_count), rng
        )
    return centroids, np.clip(counts, 0, None), var
