"""Segment schemes (RFM, lifecycle, value tier, activity, channel) assigned per customer.

The schemes come from ``privseg.schemes`` (declared in YAML, re-exported here).

``assign`` computes one row per customer, vectorized (numpy ``bincount`` over factorized unit
codes), relative to the end of the ``as_of`` day: a "month" is the 30-day window ending then,
a "week" 7 days. Each scheme yields exactly one label per customer: the first matching rule
in the documented order, else the scheme's declared ``fallback`` (``other`` for lifecycle:
e.g. registered customers without orders, or irregular buyers; ``regular`` / ``no_purchase``
for value tiers; ``medium`` for activity; ``other`` for unmapped channels). Labels therefore
come from the scheme file, never from the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from privseg.errors import InputError
from privseg.schemes import (
    RFM_SEGMENTS,
    WECHAT_TAG_LIMIT,
    Activity,
    Columns,
    Lifecycle,
    Rfm,
    RfmLabel,
    SchemeKind,
    Schemes,
    ValueTier,
    default_schemes_path,
    load_schemes,
)

__all__ = [
    "WECHAT_TAG_LIMIT",
    "RfmLabel",
    "SchemeKind",
    "Schemes",
    "assign",
    "default_schemes_path",
    "load_schemes",
]

_DAY = np.timedelta64(1, "D")


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
    """
    schemes = schemes if schemes is not None else load_schemes()
    cols = schemes.columns
    end = np.datetime64(datetime.combine(as_of + timedelta(days=1), datetime.min.time()), "s")
    units = _column(customers, cols.unit, "customers")
    if units.isna().any():
        raise InputError("missing customer ids", column=cols.unit, source="customers")
    if units.duplicated().any():
        raise InputError("duplicate customer ids", column=cols.unit, source="customers")
    index = pd.Index(units.astype(str))
    n = len(index)
    out = pd.DataFrame({cols.unit: units.to_numpy()})
    need_orders = any(
        k in schemes.labels() for k in (SchemeKind.RFM, SchemeKind.LIFECYCLE, SchemeKind.VALUE_TIER)
    )
    spend = _Spend.of(orders, cols, index, end) if need_orders else None
    for kind, scheme in schemes.schemes:
        if isinstance(scheme, Rfm):
            assert spend is not None
            out = pd.concat([out, _rfm(scheme, spend, n)], axis=1)
        elif isinstance(scheme, Lifecycle):
            assert spend is not None
            registered = _times(
                _column(customers, cols.registered_at, "customers"), "customers", allow_missing=True
            )
            out[kind.value] = _lifecycle(scheme, spend, registered.to_numpy(), end)
        elif isinstance(scheme, ValueTier):
            assert spend is not None
            out[kind.value] = _value_tier(scheme, spend)
        elif isinstance(scheme, Activity):
            out[kind.value] = _activity(scheme, interactions, cols, index, end)
        else:
            channel = _column(customers, cols.channel, "customers")
            mapped = channel.map(dict(scheme.mapping)).fillna(scheme.fallback)
            out[kind.value] = mapped.astype(str).to_numpy()
    for dim in schemes.dimensions:
        out[dim] = _column(customers, dim, "customers").to_numpy()
    return out


def _column(df: pd.DataFrame, name: str, table: str) -> pd.Series:
    if name not in df.columns:
        raise InputError(
            "column not found (set it in the scheme file's 'columns')", source=table, column=name
        )
    return df[name]


def _times(values: pd.Series, table: str, *, allow_missing: bool = False) -> pd.Series:
    parsed = (
        pd.to_datetime(values, format="ISO8601", errors="coerce")
        if values.dtype.kind != "M"
        else values
    )
    bad = parsed.isna() & (values.notna() if allow_missing else True)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"{int(bad.sum())} value(s) are not dates/times (YYYY-MM-DD[ HH:MM:SS]); first at data row {row + 1}",
            source=table,
            column=str(values.name),
        )
    return parsed.astype("datetime64[s]")


def _numbers(values: pd.Series, table: str) -> npt.NDArray[np.float64]:
    parsed = pd.to_numeric(values, errors="coerce")
    bad = parsed.isna() | ~np.isfinite(parsed.to_numpy(dtype=np.float64, na_value=np.nan))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"{int(bad.sum())} value(s) are not numbers; first at data row {row + 1}",
            source=table,
            column=str(values.name),
        )
    return np.asarray(parsed.to_numpy(dtype=np.float64), dtype=np.float64)


@dataclass(frozen=True)
class _Spend:
    """Per-order customer codes, ages (days before the end of as_of) and amounts."""

    code: npt.NDArray[np.int64]
    age_days: npt.NDArray[np.float64]
    amount: npt.NDArray[np.float64]
    n: int

    @classmethod
    def of(cls, orders: pd.DataFrame, cols: Columns, index: pd.Index, end: np.datetime64) -> _Spend:
        unit = _column(orders, cols.unit, "orders")
        ts = _times(_column(orders, cols.ordered_at, "orders"), "orders")
        amount = _numbers(_column(orders, cols.amount, "orders"), "orders")
        code = index.get_indexer(unit.astype(str))
        age = (end - ts.to_numpy()) / _DAY
        keep = (code >= 0) & (age > 0)  # orders after as_of are ignored
        return cls(code[keep], age[keep].astype(np.float64), amount[keep], len(index))

    def total(
        self, within_days: float | None = None, since_days: float = 0.0
    ) -> npt.NDArray[np.float64]:
        """Spend per customer in the window (since_days, within_days] before the end."""
        keep = self.age_days > since_days
        if within_days is not None:
            keep &= self.age_days <= within_days
        return np.bincount(self.code[keep], weights=self.amount[keep], minlength=self.n).astype(
            np.float64
        )

    def count(self, within_days: float) -> npt.NDArray[np.int64]:
        keep = self.age_days <= within_days
        return np.bincount(self.code[keep], minlength=self.n)

    def last_age(self) -> npt.NDArray[np.float64]:
        """Days since each customer's latest order (inf without orders)."""
        out = np.full(self.n, np.inf)
        np.minimum.at(out, self.code, self.age_days)
        return out

    def months(self, m: int) -> npt.NDArray[np.float64]:
        """Spend per customer in each of the last ``m`` 30-day windows (column 0 = latest)."""
        return np.stack([self.total(30.0 * (i + 1), 30.0 * i) for i in range(m)], axis=1)


def _score(values: npt.NDArray[np.float64], edges: Sequence[float]) -> npt.NDArray[np.int64]:
    """1 + the number of edges reached (value >= edge)."""
    return 1 + np.searchsorted(np.asarray(edges), values, side="right").astype(np.int64)


def _rfm(scheme: Rfm, spend: _Spend, n: int) -> pd.DataFrame:
    last = spend.last_age()
    recency = np.minimum(last, float(scheme.lookback_days))
    frequency = spend.count(scheme.lookback_days).astype(np.float64)
    monetary = spend.total(scheme.lookback_days)
    # R: 5 at or under the first edge ... 1 beyond the last edge or without orders
    r = 5 - np.searchsorted(np.asarray(scheme.recency_days), last, side="left").astype(np.int64)
    f = _score(frequency, scheme.frequency)
    m = _score(monetary, scheme.monetary)
    if scheme.label is RfmLabel.CELL:
        label = np.char.add(
            np.char.add(np.char.add("R", r.astype(str)), np.char.add("F", f.astype(str))),
            np.char.add("M", m.astype(str)),
        )
    else:
        hi = scheme.high_score
        codes = (r >= hi) * 4 + (f >= hi) * 2 + (m >= hi)
        names = np.array([RFM_SEGMENTS[(bool(c & 4), bool(c & 2), bool(c & 1))] for c in range(8)])
        label = names[codes]
    return pd.DataFrame(
        {
            SchemeKind.RFM.value: label.astype(str),
            "R": r,
            "F": f,
            "M": m,
            "recency": np.round(recency, 6),
            "frequency": frequency.astype(np.int64),
            "monetary": np.round(monetary, 2),
        }
    )


def _lifecycle(
    scheme: Lifecycle, spend: _Spend, registered: npt.NDArray[Any], end: np.datetime64
) -> npt.NDArray[np.str_]:
    reg_age = np.asarray(end - registered, dtype="timedelta64[s]") / _DAY  # NaN where unknown
    ever = spend.count(np.inf) > 0
    last = spend.last_age()
    months = spend.months(max(2, scheme.stable_months))
    cur, prev = months[:, 0], months[:, 1]
    recent = months[:, : scheme.stable_months]
    mean = recent.mean(axis=1)
    spread = np.divide(
        recent.max(axis=1) - recent.min(axis=1),
        mean,
        out=np.full(len(mean), np.inf),
        where=mean > 0,
    )
    with np.errstate(invalid="ignore"):
        introduction = ~ever & (reg_age < scheme.registered_within_days)
    conditions = [
        introduction,
        ever & (last > scheme.no_purchase_days),
        (prev > 0) & (cur > (1 + scheme.min_growth) * prev),
        (recent > 0).all(axis=1) & (spread <= scheme.max_spread),
    ]
    return np.select(conditions, ["introduction", "decline", "growth", "mature"], scheme.fallback)


def _value_tier(scheme: ValueTier, spend: _Spend) -> npt.NDArray[np.str_]:
    lifetime = spend.total()
    ever = spend.count(np.inf) > 0
    conditions = [
        spend.total(scheme.platinum_days) > scheme.platinum_over,
        spend.total(scheme.gold_days) > scheme.gold_over,
        spend.total(30.0 * scheme.silver_months) / scheme.silver_months
        > scheme.silver_monthly_average_over,
        ever & (lifetime < scheme.bronze_lifetime_under),
        ~ever,
    ]
    labels = ["platinum", "gold", "silver", "bronze", scheme.no_purchase]
    return np.select(conditions, labels, scheme.fallback)


def _activity(
    scheme: Activity, interactions: pd.DataFrame, cols: Columns, index: pd.Index, end: np.datetime64
) -> npt.NDArray[np.str_]:
    unit = _column(interactions, cols.unit, "interactions")
    ts = _times(_column(interactions, cols.occurred_at, "interactions"), "interactions")
    code = index.get_indexer(unit.astype(str))
    age = (end - ts.to_numpy()) / _DAY
    keep = (code >= 0) & (age > 0)
    code, age = code[keep], age[keep]

    def within(days: float) -> npt.NDArray[np.int64]:
        return np.bincount(code[age <= days], minlength=len(index))

    conditions = [
        within(7.0 * scheme.high_weeks) > scheme.high_per_week_over * scheme.high_weeks,
        within(30.0 * scheme.silent_months) < scheme.silent_per_month_under * scheme.silent_months,
    ]
    labels = ["high", "silent"]
    if scheme.low_weeks is not None and scheme.low_per_week_under is not None:
        conditions.append(
            within(7.0 * scheme.low_weeks) < scheme.low_per_week_under * scheme.low_weeks
        )
        labels.append("low")
    return np.select(conditions, labels, scheme.fallback)
