"""Segment schemes (RFM, lifecycle, value tier, activity, channel) as declared in YAML.

``policies/segments.yaml`` is the shipped default with the seed rules of DESIGN.md; pydantic
validates the file and ``load_schemes`` returns frozen dataclasses. Every threshold is a
parameter, declared: never a quantile of the data, which would leak (``privseg.dp.quantiles``
offers DP quantiles to choose thresholds privately). ``privseg.segments`` assigns them.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

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
from privseg.errors import PolicyError, PrivsegWarning
from privseg.limits import MAX_POLICY_BYTES, parse_yaml, read_regular

__all__ = [
    "RFM_SEGMENTS",
    "WECHAT_TAG_LIMIT",
    "Activity",
    "Channel",
    "Columns",
    "Lifecycle",
    "Rfm",
    "RfmLabel",
    "Scheme",
    "SchemeKind",
    "Schemes",
    "ValueTier",
    "default_schemes_path",
    "load_schemes",
    "parse_schemes",
]

#: A WeChat official account can hold at most 100 tags.
WECHAT_TAG_LIMIT = 100


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
RFM_SEGMENTS = {
    (True, True, True): "important_value",
    (True, False, True): "important_develop",
    (False, True, True): "important_retain",
    (False, False, True): "important_winback",
    (True, True, False): "general_value",
    (True, False, False): "general_develop",
    (False, True, False): "general_retain",
    (False, False, False): "general_winback",
}


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
        return tuple(RFM_SEGMENTS.values())


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
    raw = read_regular(source, MAX_POLICY_BYTES, "scheme file", PolicyError)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PolicyError("scheme file is not UTF-8", source=source) from None
    return parse_schemes(text, source=str(source))


def parse_schemes(text: str, *, source: str = "<schemes>") -> Schemes:
    """Validate scheme YAML text (see ``load_schemes``)."""
    node, raw = parse_yaml(text, source)
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
