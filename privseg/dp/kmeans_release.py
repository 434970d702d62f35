"""DP k-means releases: features clipped to declared bounds, the fit (``privseg.dp.kmeans``)
charged to the ledger, centroids and noisy sizes released. The rows may stay elsewhere
(``KMeansSource``, e.g. on Spark): the fit reads only their exact synopses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from privseg.dp.cells import bound_rows, numeric
from privseg.dp.charge import charge, record_prediction, stamp
from privseg.dp.noise import no_privacy_leak
from privseg.dp.types import (
    PER_ROW,
    Account,
    Bounding,
    Mechanism,
    RandomState,
    Release,
    ReleaseKind,
    ReleasePlan,
)
from privseg.dp.validation import check_epsilon, measure_bounds, seeded
from privseg.errors import InputError

if TYPE_CHECKING:  # privseg.dp.kmeans imports scikit-learn, slow: only k-means releases load it
    from privseg.dp.kmeans import Synopses

__all__ = ["KMeansSource", "kmeans_rows", "release_kmeans"]


def kmeans_rows(
    df: pd.DataFrame, features: Sequence[str], box: Sequence[tuple[float, float]]
) -> np.ndarray:
    """The rows with every feature numeric, each feature clipped to its declared ``box`` pair.

    The one per-row step of a k-means release, shared by the local and Spark engines.
    """
    data = np.column_stack([numeric(df, f) for f in features])
    lo, hi = [b[0] for b in box], [b[1] for b in box]
    return np.asarray(np.clip(data[~np.isnan(data).any(axis=1)], lo, hi), dtype=float)


@dataclass(frozen=True)
class KMeansSource:
    """The rows of a k-means release held elsewhere (``privseg.engines.spark.kmeans_source``): their
    exact ``synopses`` (``privseg.dp.kmeans.Synopses``), made from ``features`` clipped to
    ``bounds`` (declared, in order) after ``bounding``. Only the synopses reach ``release_kmeans``.
    """

    synopses: Synopses
    features: tuple[str, ...]
    bounds: tuple[tuple[float, float], ...]
    bounding: Bounding


def release_kmeans(
    df: pd.DataFrame | KMeansSource,
    *,
    features: Sequence[str],
    bounds: Mapping[str, tuple[float, float]],
    k: int,
    epsilon: float,
    account: Account | None,
    bounding: Bounding = PER_ROW,
    evaluate: bool = False,
    random_state: RandomState = None,
) -> Release:
    """DP k-means (``privseg.dp.kmeans.fit``) over clipped features: centroids and noisy sizes.

    One row per customer (rows with a missing feature are excluded; their number is not
    released). Evaluation: exact k-means cost / cost of the DP centroids on the same rows.
    ``df`` may be a ``KMeansSource`` (rows on Spark; its bounding then applies): the fit reads
    only its exact synopses and draws all noise here, so a seed gives the local release.

    >>> ledger = privseg.Ledger("budget.db")
    >>> _ = ledger.set_budget("crm", privseg.PrivacyBudget(3), purpose="wecom-marketing")
    >>> account = privseg.Account(ledger, "crm", "wecom-marketing")
    >>> rfm = pd.DataFrame({"uid": [f"u{i}" for i in range(400)],
    ...                     "recency": [10.0] * 200 + [300.0] * 200,
    ...                     "monetary": [40000.0] * 200 + [1000.0] * 200})
    >>> release = privseg.release_kmeans(
    ...     rfm, features=["recency", "monetary"], k=2, epsilon=1, account=account,
    ...     bounds={"recency": (0, 365), "monetary": (0, 50000)},
    ...     bounding=privseg.Bounding(unit="uid"))
    >>> release.table["cluster"].tolist(), list(release.table.columns[1:4])
    ([0, 1], ['recency', 'monetary', 'size'])
    """
    from privseg.dp import kmeans  # sklearn is slow to import; only k-means needs it

    random_state = seeded(random_state)
    check_epsilon(epsilon)
    if not features:
        raise InputError("at least one feature is needed")
    if isinstance(df, KMeansSource):
        bounding = df.bounding
    if bounding.max_rows_per_unit != 1:
        raise InputError("k-means takes one row per customer (max rows per unit 1)")
    box = [measure_bounds(f, bounds) for f in features]
    data: np.ndarray | None = None
    if isinstance(df, KMeansSource):
        if (df.features, df.bounds) != (tuple(features), tuple(box)):
            raise InputError("the k-means synopses were made for other features or bounds")
        if evaluate:
            raise InputError(
                "evaluating k-means needs the rows on this machine: use the local engine"
            )
        synopses = df.synopses
    else:
        data = kmeans_rows(bound_rows(df, bounding), features, box)
        synopses = kmeans.ArraySynopses.from_rows(data, box)
    plan = ReleasePlan(
        kind=ReleaseKind.KMEANS,
        mechanism=Mechanism.DP_KMEANS,
        epsilon=epsilon,
        split=(("kmeans", epsilon),),
        sensitivity=1,
        noise_scale=float("nan"),
        expected_abs_error=float("nan"),
        ci95_half_width=float("nan"),
        bounding=bounding,
        notes=(
            "features clipped to their declared bounds; rows with a missing feature excluded",
            "predicted value: from the noisy grid and the noise, after the release "
            "(post-processing)",
        ),
    )
    spends = charge(account, epsilon, ReleaseKind.KMEANS)
    with no_privacy_leak():
        result = kmeans.fit_synopses(
            synopses, bounds=box, k=k, epsilon=epsilon, random_state=random_state
        )
    plan = replace(plan, predicted_value=result.predicted_value)
    record_prediction(account, spends, result.predicted_value)
    table = pd.DataFrame(result.centroids, columns=list(features))
    table.insert(0, "cluster", np.arange(result.k))
    table["size"] = np.clip(result.sizes, 0, None)
    stamp(table, plan, method=result.method.value, postprocessing="sizes clamped to >= 0")
    evaluation = None
    if evaluate and data is not None:  # a KMeansSource was refused above
        evaluation = {"realised_value": kmeans.analytic_value(data, result.centroids, bounds=box)}
        if result.predicted_value is not None:
            evaluation["predicted_value"] = result.predicted_value
    return Release(plan, table, spends, None, evaluation)
