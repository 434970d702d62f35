"""Assign every declared scheme's label to each customer, vectorized."""

from __future__ import annotations

from datetime import date

import pandas as pd

from privseg.segments.inputs import Inputs
from privseg.segments.schemes import Schemes, load_schemes

__all__ = ["assign"]


def assign(
    customers: pd.DataFrame,
    orders: pd.DataFrame,
    interactions: pd.DataFrame,
    schemes: Schemes | None = None,
    *,
    as_of: date,
) -> pd.DataFrame:
    """One row per customer: unit, a label per scheme, R/F/M, the kept dimensions.

    With an ``rfm`` scheme the table also has ``recency`` (days since the last order in the
    lookback, the lookback length if none), ``frequency`` (orders) and ``monetary`` (yuan) in
    the lookback, the raw per-customer features the scores come from. Orders and
    interactions of units absent from ``customers`` are ignored.

    >>> from datetime import date
    >>> from privseg.demo.generator import generate
    >>> customers, orders, interactions = generate(200, seed=0)
    >>> labels = privseg.assign_segments(customers, orders, interactions, as_of=date(2026, 6, 30))
    >>> len(labels), list(labels.columns[:2]), "lifecycle" in labels, "省份" in labels
    (200, ['外部联系人ID', 'rfm'], True, True)
    """
    schemes = schemes if schemes is not None else load_schemes()
    inputs = Inputs(customers, orders, interactions, schemes.columns, schemes.vocabulary, as_of)
    out = {schemes.columns.unit: inputs.units.to_numpy()}
    for kind, scheme in schemes.schemes:
        labels, extra = scheme.compute(inputs)
        out[kind.value] = labels.astype(str)
        out.update(extra)
    for dim in schemes.dimensions:
        out[dim] = inputs.customer(dim).to_numpy()
    return pd.DataFrame(out)
