"""The inputs every scheme reads: column names, value vocabularies, per-customer windows.

``Inputs`` wraps the three tables (customers, orders, interactions) for one ``as_of`` day.
Orders and interactions are parsed once, lazily, into per-row customer codes and ages in days
before the end of ``as_of`` (rows after it, or of unknown customers, are ignored); schemes
then count them per customer over declared windows with ``numpy.bincount``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict

from privseg.errors import InputError

__all__ = [
    "Columns",
    "Events",
    "Inputs",
    "InteractionKind",
    "SchemeKind",
    "Table",
    "Vocabulary",
]

_DAY = np.timedelta64(1, "D")
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
Labels = npt.NDArray[np.str_]


class Table(StrEnum):
    """The three input tables."""

    CUSTOMERS = "customers"
    ORDERS = "orders"
    INTERACTIONS = "interactions"


class SchemeKind(StrEnum):
    """The segment schemes; each names its label column.

    >>> [k.value for k in privseg.SchemeKind][:5]
    ['rfm', 'lifecycle', 'value_tier', 'activity', 'channel']
    """

    RFM = "rfm"
    LIFECYCLE = "lifecycle"
    VALUE_TIER = "value_tier"
    ACTIVITY = "activity"
    CHANNEL = "channel"
    REGION = "region"
    CITY_TIER = "city_tier"
    GENERATION = "generation"
    LIFE_STAGE = "life_stage"
    SOCIAL = "social"
    SERVICE_PRIORITY = "service_priority"
    LOYALTY = "loyalty"
    BEHAVIOUR = "behaviour"


class InteractionKind(StrEnum):
    """Kinds of interaction the schemes count (their values are declared in the scheme file)."""

    MESSAGE = "message"
    SHARE = "share"
    PAGE_VIEW = "page_view"
    GROUP_CHAT = "group_chat"


class Model(BaseModel):
    """Base of the scheme file's pydantic models: no unknown keys, frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnsModel(Model):
    """Column names of the input tables (the YAML ``columns`` section)."""

    unit: str = "外部联系人ID"
    registered_at: str = "注册时间"
    channel: str = "渠道来源"
    province: str = "省份"
    city: str = "城市"
    age_band: str = "出生日期"
    friends: str = "好友数"
    kol_in_network: str = "网络中有KOL"
    follow: str = "关注方式"
    nps: str = "NPS评分"
    tags: str = "企业标签"
    ordered_at: str = "下单时间"
    amount: str = "金额"
    promotion: str = "是否促销"
    occurred_at: str = "互动时间"
    interaction_type: str = "互动类型"
    urgent_keywords: str = "紧急词数"
    important_keywords: str = "重要词数"


class VocabularyModel(Model):
    """How values are spelled (the YAML ``values`` section)."""

    message: list[str] = ["消息", "message"]
    share: list[str] = ["分享", "share"]
    page_view: list[str] = ["浏览商品页", "page_view"]
    group_chat: list[str] = ["群聊发言", "group_chat"]
    yes_values: list[str] = ["是", "yes", "true", "1"]


@dataclass(frozen=True)
class Columns:
    """Column names of the input tables."""

    unit: str
    registered_at: str
    channel: str
    province: str
    city: str
    age_band: str
    friends: str
    kol_in_network: str
    follow: str
    nps: str
    tags: str
    ordered_at: str
    amount: str
    promotion: str
    occurred_at: str
    interaction_type: str
    urgent_keywords: str
    important_keywords: str


@dataclass(frozen=True)
class Vocabulary:
    """Declared spellings: interaction type values per kind, and what a flag's "yes" is."""

    kinds: tuple[tuple[InteractionKind, tuple[str, ...]], ...]
    yes: tuple[str, ...]

    def values(self, kind: InteractionKind) -> tuple[str, ...]:
        """The interaction type values of ``kind``."""
        return dict(self.kinds)[kind]


DEFAULT_VOCABULARY = Vocabulary(
    kinds=tuple((kind, tuple(getattr(VocabularyModel(), kind.value))) for kind in InteractionKind),
    yes=tuple(VocabularyModel().yes_values),
)


def column(df: pd.DataFrame, name: str, table: str) -> pd.Series:
    """``df[name]``; ``InputError`` naming the table and column when it is absent."""
    if name not in df.columns:
        raise InputError(
            "column not found (set it in the scheme file's 'columns')", source=table, column=name
        )
    return df[name]


def times(values: pd.Series, table: str, *, allow_missing: bool = False) -> pd.Series:
    """ISO dates/times as ``datetime64[s]``; ``InputError`` with the first bad row."""
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


def numbers(values: pd.Series, table: str, *, missing: float | None = None) -> Floats:
    """Finite numbers; missing cells become ``missing`` when given, else they are an error."""
    parsed = pd.to_numeric(values, errors="coerce")
    array = parsed.to_numpy(dtype=np.float64, na_value=np.nan)
    empty = values.isna().to_numpy() if missing is not None else np.zeros(len(values), bool)
    bad = ~np.isfinite(array) & ~empty
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{int(bad.sum())} value(s) are not numbers; first at data row {row + 1}",
            source=table,
            column=str(values.name),
        )
    if missing is not None:
        array = np.where(empty, missing, array)
    return np.asarray(array, dtype=np.float64)


def flags(values: pd.Series, yes: Sequence[str]) -> Bools:
    """True where the cell is one of the declared ``yes`` spellings (missing: False)."""
    text = values.astype("str").str.strip().str.lower()
    return np.asarray(text.isin([y.lower() for y in yes]).to_numpy(), dtype=bool)


@dataclass(frozen=True)
class Events:
    """Rows of an event table (orders or interactions) up to the end of ``as_of``.

    ``rows`` are the positions of the kept rows in the table, ``code`` their customer and
    ``age_days`` how many days before the end of ``as_of`` they happened (> 0).
    """

    table: Table
    frame: pd.DataFrame
    rows: Ints
    code: Ints
    age_days: Floats
    n: int

    @classmethod
    def of(
        cls,
        table: Table,
        frame: pd.DataFrame,
        unit: str,
        at: str,
        index: pd.Index,
        end: np.datetime64,
    ) -> Events:
        codes = index.get_indexer(column(frame, unit, table).astype(str))
        ts = times(column(frame, at, table), table)
        age = (end - ts.to_numpy()) / _DAY
        rows = np.flatnonzero((codes >= 0) & (age > 0))  # events after as_of are ignored
        return cls(table, frame, rows, codes[rows], age[rows].astype(np.float64), len(index))

    def values(self, name: str) -> pd.Series:
        """Column ``name`` at the kept rows."""
        return column(self.frame, name, self.table).iloc[self.rows].reset_index(drop=True)

    def count(
        self, within_days: float, where: Bools | None = None, weights: Floats | None = None
    ) -> Floats:
        """Per customer: the number (or ``weights`` sum) of rows in the last ``within_days``."""
        keep = self.age_days <= within_days
        if where is not None:
            keep &= where
        w = None if weights is None else weights[keep]
        return np.bincount(self.code[keep], weights=w, minlength=self.n).astype(np.float64)

    def months_with(self, months: int) -> Ints:
        """Per customer: in how many of the last ``months`` 30-day windows a row falls."""
        window = np.floor_divide(np.ceil(self.age_days) - 1, 30).astype(np.int64)
        keep = window < months
        seen = np.zeros((self.n, months), dtype=bool)
        seen[self.code[keep], window[keep]] = True
        return np.asarray(seen.sum(axis=1), dtype=np.int64)


class Inputs:
    """The three tables of one assignment, parsed lazily and once."""

    def __init__(
        self,
        customers: pd.DataFrame,
        orders: pd.DataFrame,
        interactions: pd.DataFrame,
        columns: Columns,
        vocabulary: Vocabulary,
        as_of: date,
    ) -> None:
        self.customers, self._orders, self._interactions = customers, orders, interactions
        self.columns, self.vocabulary, self.as_of = columns, vocabulary, as_of
        self.end = np.datetime64(
            datetime.combine(as_of + timedelta(days=1), datetime.min.time()), "s"
        )
        units = column(customers, columns.unit, Table.CUSTOMERS)
        if units.isna().any():
            raise InputError("missing customer ids", column=columns.unit, source="customers")
        if units.duplicated().any():
            raise InputError("duplicate customer ids", column=columns.unit, source="customers")
        self.units = units
        self.index = pd.Index(units.astype(str))
        self.n = len(self.index)

    def customer(self, name: str) -> pd.Series:
        """A customers column (``InputError`` if absent)."""
        return column(self.customers, name, Table.CUSTOMERS)

    @functools.cached_property
    def orders(self) -> Events:
        """Orders up to the end of ``as_of``."""
        c = self.columns
        return Events.of(Table.ORDERS, self._orders, c.unit, c.ordered_at, self.index, self.end)

    @functools.cached_property
    def interactions(self) -> Events:
        """Interactions up to the end of ``as_of``."""
        c = self.columns
        return Events.of(
            Table.INTERACTIONS, self._interactions, c.unit, c.occurred_at, self.index, self.end
        )

    @functools.cached_property
    def amounts(self) -> Floats:
        """Order amounts (yuan) at the kept order rows."""
        return numbers(self.orders.values(self.columns.amount), Table.ORDERS)

    @functools.cached_property
    def _types(self) -> tuple[Ints, pd.Index]:
        """The kept interaction rows' type codes and the distinct types."""
        types = self.interactions.values(self.columns.interaction_type).astype("str")
        codes, uniques = pd.factorize(types)
        return np.asarray(codes, dtype=np.int64), pd.Index(uniques)

    def of_kind(self, kind: InteractionKind) -> Bools:
        """Which kept interaction rows are of ``kind``."""
        codes, uniques = self._types
        wanted = np.flatnonzero(uniques.isin(self.vocabulary.values(kind)))
        return np.isin(codes, wanted)

    @functools.cached_property
    def promotions(self) -> Bools:
        """Which kept order rows were bought in a promotion."""
        return flags(self.orders.values(self.columns.promotion), self.vocabulary.yes)

    def interaction_count(
        self, kind: InteractionKind | None, within_days: float, where: Bools | None = None
    ) -> Floats:
        """Per customer: interactions of ``kind`` (any kind: None) in the last ``within_days``."""
        mask = None if kind is None else self.of_kind(kind)
        if where is not None:
            mask = where if mask is None else mask & where
        return self.interactions.count(within_days, mask)

    def keyword_messages(self, name: str) -> Bools:
        """Which kept interaction rows are messages with at least one keyword counted in ``name``."""
        counts = numbers(self.interactions.values(name), Table.INTERACTIONS, missing=0.0)
        return self.of_kind(InteractionKind.MESSAGE) & (counts >= 1)
