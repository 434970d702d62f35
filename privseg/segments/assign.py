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

    Label columns are named after the schemes, in file order. With an ``rfm`` scheme the table
    also has ``R``/``F``/``M`` and ``recency`` (days since the last order in the lookback, the
    lookback length if none), ``frequency`` (orders) and ``monetary`` (yuan) in the lookback,
    the raw per-customer features the scores come from. Orders and interactions of units
    absent from ``customers``, or after ``as_of``, are ignored.
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
