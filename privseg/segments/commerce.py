"""The commerce schemes: RFM, lifecycle, value tier, activity and channel.

Seed rules of DESIGN.md (defaults in ``policies/segments.yaml``). Windows end with the
``as_of`` day: a "month" is the 30-day window ending then, a "week" 7 days. Each scheme yields
one label per customer, the first matching rule in the documented order, else its declared
``fallback``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
from pydantic import Field, field_validator

from privseg.segments.inputs import Columns, Floats, Inputs, Ints, Labels, Table, times
from privseg.segments.inputs import Model as _Model

__all__ = ["Activity", "Channel", "Lifecycle", "Rfm", "RfmLabel", "ValueTier"]


class RfmLabel(StrEnum):
    """How the ``rfm`` column is labelled."""

    SEGMENT = "segment"  # the eight classic segments (important/general x value/develop/...)
    CELL = "cell"  # R5F3M4 codes: 125 labels


#: The eight RFM segments by (R high, F high, M high).
_RFM_SEGMENTS = {
    (True, True, True): "important_value",
    (True, False, True): "important_develop",
    (False, True, True): "important_retain",
    (False, False, True): "important_winback",
    (True, True, False): "general_value",
    (True, False, False): "general_develop",
    (False, True, False): "general_retain",
    (False, False, False): "general_winback",
}


class _Rfm(_Model):
    lookback_days: int = Field(365, gt=0)
    recency_days: tuple[float, ...] = (30, 90, 180, 365)
    frequency: tuple[float, ...] = (2, 4, 8, 16)
    monetary: tuple[float, ...] = (500, 2000, 10000, 50000)
    high_score: int = Field(3, ge=2, le=5)
    label: RfmLabel = RfmLabel.SEGMENT

    @field_validator("recency_days", "frequency", "monetary")
    @classmethod
    def _edges(cls, values: tuple[float, ...]) -> tuple[float, ...]:
        if len(values) != 4 or any(b <= a for a, b in itertools.pairwise(values)):
            raise ValueError("needs 4 strictly increasing edges (scores 1-5)")
        return values


class _Within(_Model):
    registered_within_days: float = Field(gt=0)


class _NoPurchase(_Model):
    no_purchase_days: float = Field(gt=0)


class _Growth(_Model):
    min_growth: float = Field(ge=0)


class _Stable(_Model):
    months: int = Field(ge=2)
    max_spread: float = Field(ge=0)


class _Lifecycle(_Model):
    introduction: _Within = _Within(registered_within_days=7)
    decline: _NoPurchase = _NoPurchase(no_purchase_days=180)
    growth: _Growth = _Growth(min_growth=0.2)
    mature: _Stable = _Stable(months=3, max_spread=0.2)
    fallback: str = "other"


class _Over(_Model):
    days: int = Field(gt=0)
    over: float = Field(ge=0)


class _Average(_Model):
    months: int = Field(gt=0)
    monthly_average_over: float = Field(ge=0)


class _Under(_Model):
    lifetime_under: float = Field(gt=0)


class _ValueTier(_Model):
    platinum: _Over = _Over(days=365, over=100_000)
    gold: _Over = _Over(days=90, over=10_000)
    silver: _Average = _Average(months=12, monthly_average_over=500)
    bronze: _Under = _Under(lifetime_under=500)
    no_purchase: str = "no_purchase"
    fallback: str = "regular"


class _PerWeekOver(_Model):
    weeks: int = Field(gt=0)
    per_week_over: float = Field(ge=0)


class _PerWeekUnder(_Model):
    weeks: int = Field(gt=0)
    per_week_under: float = Field(gt=0)


class _PerMonthUnder(_Model):
    months: int = Field(gt=0)
    per_month_under: float = Field(gt=0)


class _Activity(_Model):
    high: _PerWeekOver = _PerWeekOver(weeks=4, per_week_over=3)
    silent: _PerMonthUnder = _PerMonthUnder(months=3, per_month_under=1)
    low: _PerWeekUnder | None = _PerWeekUnder(weeks=4, per_week_under=1)
    fallback: str = "medium"


class _Channel(_Model):
    map: dict[str, str]
    fallback: str = "other"


# -- frozen values ---------------------------------------------------------------------------


def _orders_need(cols: Columns, *customers: str) -> dict[Table, tuple[str, ...]]:
    return {
        Table.CUSTOMERS: customers,
        Table.ORDERS: (cols.ordered_at, cols.amount),
    }


@dataclass(frozen=True)
class Rfm:
    """RFM scores 1-5 from declared edges; ``label`` chooses segments or cells."""

    lookback_days: int
    recency_days: tuple[float, ...]
    frequency: tuple[float, ...]
    monetary: tuple[float, ...]
    high_score: int
    label: RfmLabel

    @classmethod
    def of(cls, body: _Rfm) -> Rfm:
        return cls(
            body.lookback_days,
            tuple(body.recency_days),
            tuple(body.frequency),
            tuple(body.monetary),
            body.high_score,
            body.label,
        )

    def labels(self) -> tuple[str, ...]:
        """Every label this scheme can yield."""
        if self.label is RfmLabel.CELL:
            return tuple(
                f"R{r}F{f}M{m}" for r in range(1, 6) for f in range(1, 6) for m in range(1, 6)
            )
        return tuple(_RFM_SEGMENTS.values())

    def rules(self) -> dict[str, str]:
        """Each label's rule in words."""
        if self.label is RfmLabel.CELL:
            return {
                label: f"RFM scores {label[1]}/{label[3]}/{label[5]}" for label in self.labels()
            }
        hi = self.high_score
        word = {True: f">= {hi}", False: f"< {hi}"}
        return {
            name: f"R score {word[r]}, F score {word[f]}, M score {word[m]} "
            f"(last {self.lookback_days} days)"
            for (r, f, m), name in _RFM_SEGMENTS.items()
        }

    def needs(self, cols: Columns) -> dict[Table, tuple[str, ...]]:
        """Input columns per table."""
        return _orders_need(cols)

    def compute(self, inputs: Inputs) -> tuple[Labels, dict[str, Any]]:
        """Labels, and the R/F/M scores with recency, frequency and monetary values."""
        spend = _Spend(inputs)
        last = spend.last_age()
        recency = np.minimum(last, float(self.lookback_days))
        frequency = spend.count(self.lookback_days)
        monetary = spend.total(self.lookback_days)
        # R: 5 at or under the first edge ... 1 beyond the last edge or without orders
        r = 5 - np.searchsorted(np.asarray(self.recency_days), last, side="left").astype(np.int64)
        f = _score(frequency, self.frequency)
        m = _score(monetary, self.monetary)
        if self.label is RfmLabel.CELL:
            label = np.char.add(
                np.char.add(np.char.add("R", r.astype(str)), np.char.add("F", f.astype(str))),
                np.char.add("M", m.astype(str)),
            )
        else:
            hi = self.high_score
            codes = (r >= hi) * 4 + (f >= hi) * 2 + (m >= hi)
            names = np.array(
                [_RFM_SEGMENTS[(bool(c & 4), bool(c & 2), bool(c & 1))] for c in range(8)]
            )
            label = names[codes]
        extra = {
            "R": r,
            "F": f,
            "M": m,
            "recency": np.round(recency, 6),
            "frequency": frequency.astype(np.int64),
            "monetary": np.round(monetary, 2),
        }
        return label.astype(str), extra


@dataclass(frozen=True)
class Lifecycle:
    """introduction, decline, growth, mature (first match), else ``fallback``."""

    registered_within_days: float
    no_purchase_days: float
    min_growth: float
    stable_months: int
    max_spread: float
    fallback: str

    @classmethod
    def of(cls, body: _Lifecycle) -> Lifecycle:
        return cls(
            body.introduction.registered_within_days,
            body.decline.no_purchase_days,
            body.growth.min_growth,
            body.mature.months,
            body.mature.max_spread,
            body.fallback,
        )

    def labels(self) -> tuple[str, ...]:
        """Every label this scheme can yield."""
        return ("introduction", "decline", "growth", "mature", self.fallback)

    def rules(self) -> dict[str, str]:
        """Each label's rule in words."""
        return {
            "introduction": f"registered under {self.registered_within_days:g} days ago, no order",
            "decline": f"has ordered, none in the last {self.no_purchase_days:g} days",
            "growth": f"last 30 days' spend > {1 + self.min_growth:g} x the 30 days before",
            "mature": f"spend in each of the last {self.stable_months} months, "
            f"(max - min) / mean <= {self.max_spread:g}",
            self.fallback: "none of the above",
        }

    def needs(self, cols: Columns) -> dict[Table, tuple[str, ...]]:
        """Input columns per table."""
        return _orders_need(cols, cols.registered_at)

    def compute(self, inputs: Inputs) -> tuple[Labels, dict[str, Any]]:
        """One label per customer."""
        spend = _Spend(inputs)
        registered = times(
            inputs.customer(inputs.columns.registered_at), "customers", allow_missing=True
        ).to_numpy()
        reg_age = np.asarray(inputs.end - registered, dtype="timedelta64[s]") / np.timedelta64(
            1, "D"
        )  # NaN where unknown
        ever = spend.count(np.inf) > 0
        last = spend.last_age()
        months = spend.months(max(2, self.stable_months))
        cur, prev = months[:, 0], months[:, 1]
        recent = months[:, : self.stable_months]
        mean = recent.mean(axis=1)
        spread = np.divide(
            recent.max(axis=1) - recent.min(axis=1),
            mean,
            out=np.full(len(mean), np.inf),
            where=mean > 0,
        )
        with np.errstate(invalid="ignore"):
            introduction = ~ever & (reg_age < self.registered_within_days)
        conditions = [
            introduction,
            ever & (last > self.no_purchase_days),
            (prev > 0) & (cur > (1 + self.min_growth) * prev),
            (recent > 0).all(axis=1) & (spread <= self.max_spread),
        ]
        labels = ["introduction", "decline", "growth", "mature"]
        return np.select(conditions, labels, self.fallback), {}


@dataclass(frozen=True)
class ValueTier:
    """platinum, gold, silver, bronze (first match), ``no_purchase``, else ``fallback``."""

    platinum_days: int
    platinum_over: float
    gold_days: int
    gold_over: float
    silver_months: int
    silver_monthly_average_over: float
    bronze_lifetime_under: float
    no_purchase: str
    fallback: str

    @classmethod
    def of(cls, body: _ValueTier) -> ValueTier:
        return cls(
            body.platinum.days,
            body.platinum.over,
            body.gold.days,
            body.gold.over,
            body.silver.months,
            body.silver.monthly_average_over,
            body.bronze.lifetime_under,
            body.no_purchase,
            body.fallback,
        )

    def labels(self) -> tuple[str, ...]:
        """Every label this scheme can yield."""
        return ("platinum", "gold", "silver", "bronze", self.no_purchase, self.fallback)

    def rules(self) -> dict[str, str]:
        """Each label's rule in words."""
        return {
            "platinum": f"spend over {self.platinum_over:,g} in the last {self.platinum_days} days",
            "gold": f"spend over {self.gold_over:,g} in the last {self.gold_days} days",
            "silver": f"monthly average over {self.silver_monthly_average_over:,g} "
            f"in the last {self.silver_months} months",
            "bronze": f"lifetime spend under {self.bronze_lifetime_under:,g}, at least one order",
            self.no_purchase: "never ordered",
            self.fallback: "none of the above",
        }

    def needs(self, cols: Columns) -> dict[Table, tuple[str, ...]]:
        """Input columns per table."""
        return _orders_need(cols)

    def compute(self, inputs: Inputs) -> tuple[Labels, dict[str, Any]]:
        """One label per customer."""
        spend = _Spend(inputs)
        lifetime = spend.total()
        ever = spend.count(np.inf) > 0
        conditions = [
            spend.total(self.platinum_days) > self.platinum_over,
            spend.total(self.gold_days) > self.gold_over,
            spend.total(30.0 * self.silver_months) / self.silver_months
            > self.silver_monthly_average_over,
            ever & (lifetime < self.bronze_lifetime_under),
            ~ever,
        ]
        labels = ["platinum", "gold", "silver", "bronze", self.no_purchase]
        return np.select(conditions, labels, self.fallback), {}


@dataclass(frozen=True)
class Activity:
    """high, silent, low (optional; first match), else ``fallback`` (medium)."""

    high_weeks: int
    high_per_week_over: float
    silent_months: int
    silent_per_month_under: float
    low_weeks: int | None
    low_per_week_under: float | None
    fallback: str

    @classmethod
    def of(cls, body: _Activity) -> Activity:
        return cls(
            body.high.weeks,
            body.high.per_week_over,
            body.silent.months,
            body.silent.per_month_under,
            None if body.low is None else body.low.weeks,
            None if body.low is None else body.low.per_week_under,
            body.fallback,
        )

    def labels(self) -> tuple[str, ...]:
        """Every label this scheme can yield."""
        low = ("low",) if self.low_weeks is not None else ()
        return ("high", "silent", *low, self.fallback)

    def rules(self) -> dict[str, str]:
        """Each label's rule in words."""
        rules = {
            "high": f"more than {self.high_per_week_over:g} interactions a week "
            f"over the last {self.high_weeks} weeks",
            "silent": f"under {self.silent_per_month_under:g} interactions a month "
            f"over the last {self.silent_months} months",
        }
        if self.low_weeks is not None:
            rules["low"] = (
                f"under {self.low_per_week_under:g} interactions a week "
                f"over the last {self.low_weeks} weeks"
            )
        return {**rules, self.fallback: "none of the above"}

    def needs(self, cols: Columns) -> dict[Table, tuple[str, ...]]:
        """Input columns per table."""
        return {Table.INTERACTIONS: (cols.occurred_at,)}

    def compute(self, inputs: Inputs) -> tuple[Labels, dict[str, Any]]:
        """One label per customer."""
        events = inputs.interactions
        conditions = [
            events.count(7.0 * self.high_weeks) > self.high_per_week_over * self.high_weeks,
            events.count(30.0 * self.silent_months)
            < self.silent_per_month_under * self.silent_months,
        ]
        labels = ["high", "silent"]
        if self.low_weeks is not None and self.low_per_week_under is not None:
            conditions.append(
                events.count(7.0 * self.low_weeks) < self.low_per_week_under * self.low_weeks
            )
            labels.append("low")
        return np.select(conditions, labels, self.fallback), {}


@dataclass(frozen=True)
class Channel:
    """Declared channel values -> labels; anything else (or missing) -> ``fallback``."""

    mapping: tuple[tuple[str, str], ...]
    fallback: str

    @classmethod
    def of(cls, body: _Channel) -> Channel:
        return cls(tuple(body.map.items()), body.fallback)

    def labels(self) -> tuple[str, ...]:
        """Every label this scheme can yield."""
        return tuple(dict.fromkeys([label for _, label in self.mapping] + [self.fallback]))

    def rules(self) -> dict[str, str]:
        """Each label's rule in words."""
        rules = {
            label: "channel source " + " or ".join(v for v, to in self.mapping if to == label)
            for label in self.labels()
            if label != self.fallback
        }
        return {**rules, self.fallback: "any other or missing channel source"}

    def needs(self, cols: Columns) -> dict[Table, tuple[str, ...]]:
        """Input columns per table."""
        return {Table.CUSTOMERS: (cols.channel,)}

    def compute(self, inputs: Inputs) -> tuple[Labels, dict[str, Any]]:
        """One label per customer."""
        channel = inputs.customer(inputs.columns.channel)
        mapped = channel.map(dict(self.mapping)).fillna(self.fallback)
        return np.asarray(mapped.astype(str).to_numpy(), dtype=np.str_), {}


# -- spend -----------------------------------------------------------------------------------


class _Spend:
    """Per-customer spend and order counts over windows ending with ``as_of``."""

    def __init__(self, inputs: Inputs) -> None:
        self.orders = inputs.orders
        self.amount = inputs.amounts

    def total(self, within_days: float | None = None, since_days: float = 0.0) -> Floats:
        """Spend per customer in the window (since_days, within_days] before the end."""
        o = self.orders
        keep = o.age_days > since_days
        return o.count(np.inf if within_days is None else within_days, keep, self.amount)

    def count(self, within_days: float) -> Floats:
        return self.orders.count(within_days)

    def last_age(self) -> Floats:
        """Days since each customer's latest order (inf without orders)."""
        out = np.full(self.orders.n, np.inf)
        np.minimum.at(out, self.orders.code, self.orders.age_days)
        return out

    def months(self, m: int) -> Floats:
        """Spend per customer in each of the last ``m`` 30-day windows (column 0 = latest)."""
        return np.stack([self.total(30.0 * (i + 1), 30.0 * i) for i in range(m)], axis=1)


def _score(values: Floats, edges: Sequence[float]) -> Ints:
    """1 + the number of edges reached (value >= edge)."""
    return 1 + np.searchsorted(np.asarray(edges), values, side="right").astype(np.int64)
