"""Segment schemes (RFM, lifecycle, value tier, activity, channel) assigned per customer.

Schemes are declared in YAML (``policies/segments.yaml`` is the shipped default with the seed
rules of DESIGN.md); pydantic validates the file and ``load_schemes`` returns frozen
dataclasses. Every threshold is a parameter, declared: never a quantile of the data, which
would leak (``privseg.dp.quantiles`` offers DP quantiles to choose thresholds privately).

``assign`` computes one row per customer, vectorized (numpy ``bincount`` over factorized unit
codes), relative to the end of the ``as_of`` day: a "month" is the 30-day window ending then,
a "week" 7 days. Each scheme yields exactly one label per customer: the first matching rule
in the documented order, else the scheme's declared ``fallback`` (``other`` for lifecycle:
e.g. registered customers without orders, or irregular buyers; ``regular`` / ``no_purchase``
for value tiers; ``medium`` for activity; ``other`` for unmapped channels). Labels therefore
come from the scheme file, never from the data.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from privseg._resources import policies_dir
from privseg.errors import InputError, PolicyError, PrivsegWarning

__all__ = [
    "WECHAT_TAG_LIMIT",
    "RfmLabel",
    "SchemeKind",
    "Schemes",
    "assign",
    "default_schemes_path",
    "load_schemes",
]

#: A WeChat official account can hold at most 100 tags.
WECHAT_TAG_LIMIT = 100

_DAY = np.timedelta64(1, "D")


class SchemeKind(StrEnum):
    """The segment schemes; each names its label column."""

    RFM = "rfm"
    LIFECYCLE = "lifecycle"
    VALUE_TIER = "value_tier"
    ACTIVITY = "activity"
    CHANNEL = "channel"


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


# -- pydantic models (the YAML boundary) -----------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Columns(_Model):
    unit: str = "外部联系人ID"
    registered_at: str = "注册时间"
    channel: str = "渠道来源"
    ordered_at: str = "下单时间"
    amount: str = "金额"
    occurred_at: str = "互动时间"


class _Rfm(_Model):
    lookback_days: int = Field(365, gt=0)
    recency_days: list[float] = [30, 90, 180, 365]
    frequency: list[float] = [2, 4, 8, 16]
    monetary: list[float] = [500, 2000, 10000, 50000]
    high_score: int = Field(3, ge=2, le=5)
    label: RfmLabel = RfmLabel.SEGMENT

    @field_validator("recency_days", "frequency", "monetary")
    @classmethod
    def _edges(cls, values: list[float]) -> list[float]:
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


class _SchemeBodies(_Model):
    rfm: _Rfm | None = None
    lifecycle: _Lifecycle | None = None
    value_tier: _ValueTier | None = None
    activity: _Activity | None = None
    channel: _Channel | None = None

    @model_validator(mode="before")
    @classmethod
    def _empty_bodies(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {key: ({} if value is None else value) for key, value in data.items()}
        return data


class _Schemes(_Model):
    columns: _Columns = _Columns()
    dimensions: list[str] = []
    schemes: _SchemeBodies


# -- frozen values ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Columns:
    """Column names of the input tables."""

    unit: str
    registered_at: str
    channel: str
    ordered_at: str
    amount: str
    occurred_at: str


@dataclass(frozen=True)
class Rfm:
    """RFM scores 1-5 from declared edges; ``label`` chooses segments or cells."""

    lookback_days: int
    recency_days: tuple[float, ...]
    frequency: tuple[float, ...]
    monetary: tuple[float, ...]
    high_score: int
    label: RfmLabel

    def labels(self) -> tuple[str, ...]:
        """Every label this scheme can yield."""
        if self.label is RfmLabel.CELL:
            return tuple(
                f"R{r}F{f}M{m}" for r in range(1, 6) for f in range(1, 6) for m in range(1, 6)
            )
        return tuple(_RFM_SEGMENTS.values())


@dataclass(frozen=True)
class Lifecycle:
    """introduction, decline, growth, mature (first match), else ``fallback``."""

    registered_within_days: float
    no_purchase_days: float
    min_growth: float
    stable_months: int
    max_spread: float
    fallback: str

    def labels(self) -> tuple[str, ...]:
        """Every label this scheme can yield."""
        return ("introduction", "decline", "growth", "mature", self.fallback)


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

    def labels(self) -> tuple[str, ...]:
        """Every label this scheme can yield."""
        return ("platinum", "gold", "silver", "bronze", self.no_purchase, self.fallback)


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

    def labels(self) -> tuple[str, ...]:
        """Every label this scheme can yield."""
        low = ("low",) if self.low_weeks is not None else ()
        return ("high", "silent", *low, self.fallback)


@dataclass(frozen=True)
class Channel:
    """Declared channel values -> labels; anything else (or missing) -> ``fallback``."""

    mapping: tuple[tuple[str, str], ...]
    fallback: str

    def labels(self) -> tuple[str, ...]:
        """Every label this scheme can yield."""
        return tuple(dict.fromkeys([label for _, label in self.mapping] + [self.fallback]))


Scheme = Rfm | Lifecycle | ValueTier | Activity | Channel


@dataclass(frozen=True)
class Schemes:
    """A scheme file: input columns, kept dimensions, and the schemes in file order."""

    columns: Columns
    dimensions: tuple[str, ...]
    schemes: tuple[tuple[SchemeKind, Scheme], ...]
    source: str = "<schemes>"

    def get(self, kind: SchemeKind) -> Scheme | None:
        """The scheme of ``kind``, if declared."""
        return dict(self.schemes).get(kind)

    def labels(self) -> dict[SchemeKind, tuple[str, ...]]:
        """Every label each scheme can yield (the declared keys of a release)."""
        return {kind: scheme.labels() for kind, scheme in self.schemes}


def default_schemes_path() -> Path:
    """The shipped ``policies/segments.yaml``."""
    return policies_dir() / "segments.yaml"


def load_schemes(path: str | Path | None = None) -> Schemes:
    """Read and validate a scheme file; ``PolicyError`` names the file, line and field."""
    source = Path(path) if path is not None else default_schemes_path()
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError("scheme file not found", source=source) from None
    except (OSError, UnicodeDecodeError) as error:
        raise PolicyError(
            f"cannot read scheme file ({type(error).__name__})", source=source
        ) from None
    return parse_schemes(text, source=str(source))


def parse_schemes(text: str, *, source: str = "<schemes>") -> Schemes:
    """Validate scheme YAML text (see ``load_schemes``)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = None if mark is None else mark.line + 1
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise PolicyError(f"invalid YAML: {problem}", source=source, line=line) from None
    if not isinstance(raw, dict):
        raise PolicyError(
            "a scheme file is a mapping with a 'schemes' section", source=source, line=1
        )
    try:
        model = _Schemes.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        loc = tuple(first["loc"])
        field = ".".join(str(p) for p in loc) or "<root>"
        raise PolicyError(
            f"field {field!r}: {first['msg']}", source=source, line=_line_of(node, loc)
        ) from None
    declared = [SchemeKind(key) for key in raw.get("schemes") or {}]
    if not declared:
        raise PolicyError("declare at least one scheme under 'schemes'", source=source, line=1)
    schemes = tuple((kind, _freeze(kind, getattr(model.schemes, kind.value))) for kind in declared)
    result = Schemes(
        columns=Columns(**model.columns.model_dump()),
        dimensions=tuple(model.dimensions),
        schemes=schemes,
        source=source,
    )
    _warn_tag_limit(result)
    return result


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the YAML node at ``loc`` (or its nearest ancestor)."""
    line = None if node is None else node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = [v for k, v in node.value if str(k.value) == str(part)]
            if not match:
                break
            node = match[0]
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            node = node.value[part]
        else:
            continue  # pydantic's union / model tags in loc
        line = node.start_mark.line + 1
    return line


def _freeze(kind: SchemeKind, body: Any) -> Scheme:
    if kind is SchemeKind.RFM:
        return Rfm(
            body.lookback_days,
            tuple(body.recency_days),
            tuple(body.frequency),
            tuple(body.monetary),
            body.high_score,
            body.label,
        )
    if kind is SchemeKind.LIFECYCLE:
        return Lifecycle(
            body.introduction.registered_within_days,
            body.decline.no_purchase_days,
            body.growth.min_growth,
            body.mature.months,
            body.mature.max_spread,
            body.fallback,
        )
    if kind is SchemeKind.VALUE_TIER:
        return ValueTier(
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
    if kind is SchemeKind.ACTIVITY:
        return Activity(
            body.high.weeks,
            body.high.per_week_over,
            body.silent.months,
            body.silent.per_month_under,
            None if body.low is None else body.low.weeks,
            None if body.low is None else body.low.per_week_under,
            body.fallback,
        )
    return Channel(tuple(body.map.items()), body.fallback)


def _warn_tag_limit(schemes: Schemes) -> None:
    for kind, labels in schemes.labels().items():
        if len(labels) > WECHAT_TAG_LIMIT:
            warnings.warn(
                f"{schemes.source}: scheme {kind.value!r} yields {len(labels)} labels, more than "
                f"the {WECHAT_TAG_LIMIT} tags a WeChat official account can hold",
                PrivsegWarning,
                stacklevel=3,
            )


# -- assignment ------------------------------------------------------------------------------


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
        names = np.array([_RFM_SEGMENTS[(bool(c & 4), bool(c & 2), bool(c & 1))] for c in range(8)])
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
