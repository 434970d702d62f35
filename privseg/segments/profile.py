"""The static-attribute schemes: region and city tier from where a customer lives, generation.

- ``region``: the province -> one of China's seven geographic regions (华东, 华北, 华中, 华南,
  西南, 西北, 东北) or 港澳台 by declared name prefixes (``广东`` matches 广东省 and 广东);
  a province matching no prefix -> ``overseas`` (海外), a missing one -> ``missing`` (未知).
- ``city_tier``: the city -> 一线 / 新一线 / 二线 by the declared lists (the shipped file: the
  2024 edition of 第一财经·新一线城市研究所's 城市商业魅力排行榜), else ``other`` (三线及以下),
  missing -> 未知.
- ``life_stage``: 学生, 家长, ... from declared tags in a tag column (``企业标签``: 宝妈 and
  宝爸 mean 家长), first stage in declared order, else ``other``. Only where the policy keeps
  the tags (the shipped wecom-marketing policy drops them: free-form tags may carry health
  or religion hints), so the shipped scheme file leaves it commented out.
- ``generation``: 60后, 70后, ... from the birth year: a year (``1990``), a date, or an age band
  as ``privseg apply`` writes it (``30-39``, ``80+``), whose middle age decides
  (the birth year is the ``as_of`` year minus the middle of the band). Births before ``first``
  -> ``60前``; ``last`` is the youngest decade.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import ConfigDict, Field, model_validator
from pydantic.dataclasses import dataclass

from privseg.errors import InputError
from privseg.segments.inputs import Columns, Inputs, Labels, Table

__all__ = ["CityTier", "Generation", "LifeStage", "Region"]

_CONFIG = ConfigDict(extra="forbid")


def _unique_prefixes(table: dict[str, tuple[str, ...]]) -> None:
    seen: dict[str, str] = {}
    for label, prefixes in table.items():
        for prefix in prefixes:
            if not prefix:
                raise ValueError(f"an empty name under {label!r}")
            if prefix in seen:
                raise ValueError(f"{prefix!r} is declared under {seen[prefix]!r} and {label!r}")
            seen[prefix] = label


def _by_prefix(
    values: pd.Series, table: dict[str, tuple[str, ...]], unmatched: str, missing: str
) -> Labels:
    """Each value's label by its longest declared prefix."""
    prefixes = sorted(
        ((p, label) for label, ps in table.items() for p in ps), key=lambda x: -len(x[0])
    )
    codes, uniques = pd.factorize(values.astype("str").str.strip())
    found = [next((lab for p, lab in prefixes if str(u).startswith(p)), unmatched) for u in uniques]
    lookup = np.array([*found, missing], dtype=np.str_)
    empty = values.isna().to_numpy() | (values.astype("str").str.strip() == "").to_numpy()
    return lookup[np.where(empty | (codes < 0), len(found), codes)]


class _ByPrefix:
    """A customers column -> labels by declared name prefixes; unmatched and missing values
    get labels of their own. Subclasses name the prefixes, the column and the words."""

    what: ClassVar[str]
    unmatched_rule: ClassVar[str]
    missing: str

    def _prefixes(self) -> dict[str, tuple[str, ...]]:
        raise NotImplementedError

    def _unmatched(self) -> str:
        raise NotImplementedError

    def _column(self, cols: Columns) -> str:
        raise NotImplementedError

    def labels(self) -> tuple[str, ...]:
        """Every label this scheme can yield."""
        return tuple(dict.fromkeys([*self._prefixes(), self._unmatched(), self.missing]))

    def rules(self) -> dict[str, str]:
        """Each label's rule in words."""
        rules = {
            label: f"{self.what} starts with " + ", ".join(names)
            for label, names in self._prefixes().items()
        }
        return {
            **rules,
            self._unmatched(): self.unmatched_rule,
            self.missing: f"{self.what} unknown",
        }

    def needs(self, cols: Columns) -> dict[Table, tuple[str, ...]]:
        """Input columns per table."""
        return {Table.CUSTOMERS: (self._column(cols),)}

    def compute(self, inputs: Inputs) -> tuple[Labels, dict[str, Any]]:
        """One label per customer."""
        values = inputs.customer(self._column(inputs.columns))
        return _by_prefix(values, self._prefixes(), self._unmatched(), self.missing), {}


@dataclass(frozen=True, config=_CONFIG)
class Region(_ByPrefix):
    """Province -> geographic region by declared prefixes."""

    what: ClassVar[str] = "province"
    unmatched_rule: ClassVar[str] = "province outside the lists above"
    regions: dict[str, tuple[str, ...]]
    overseas: str = "海外"
    missing: str = "未知"

    @model_validator(mode="after")
    def _check(self) -> Region:
        _unique_prefixes(self.regions)
        return self

    def _prefixes(self) -> dict[str, tuple[str, ...]]:
        return self.regions

    def _unmatched(self) -> str:
        return self.overseas

    def _column(self, cols: Columns) -> str:
        return cols.province


@dataclass(frozen=True, config=_CONFIG)
class CityTier(_ByPrefix):
    """City -> tier by declared lists of city names (prefixes: 北京 matches 北京市)."""

    what: ClassVar[str] = "city"
    unmatched_rule: ClassVar[str] = "any other city"
    tiers: dict[str, tuple[str, ...]]
    other: str = "三线及以下"
    missing: str = "未知"

    @model_validator(mode="after")
    def _check(self) -> CityTier:
        _unique_prefixes(self.tiers)
        return self

    def _prefixes(self) -> dict[str, tuple[str, ...]]:
        return self.tiers

    def _unmatched(self) -> str:
        return self.other

    def _column(self, cols: Columns) -> str:
        return cols.city


@dataclass(frozen=True, config=_CONFIG)
class LifeStage:
    """Life-stage hints from declared tags (宝妈 -> 家长), first stage in declared order."""

    stages: dict[str, tuple[str, ...]]
    other: str = "未知"

    def labels(self) -> tuple[str, ...]:
        """Every label this scheme can yield."""
        return tuple(dict.fromkeys([*self.stages, self.other]))

    def rules(self) -> dict[str, str]:
        """Each label's rule in words."""
        rules = {label: "tagged " + " or ".join(tags) for label, tags in self.stages.items()}
        return {**rules, self.other: "none of these tags"}

    def needs(self, cols: Columns) -> dict[Table, tuple[str, ...]]:
        """Input columns per table."""
        return {Table.CUSTOMERS: (cols.tags,)}

    def compute(self, inputs: Inputs) -> tuple[Labels, dict[str, Any]]:
        """One label per customer."""
        values = inputs.customer(inputs.columns.tags)
        codes, uniques = pd.factorize(values.astype("str"))
        found = []
        for cell in uniques:
            tags = {t.strip() for t in _TAG_SEPARATORS.split(str(cell))}
            stage = (label for label, names in self.stages.items() if tags & set(names))
            found.append(next(stage, self.other))
        lookup = np.array([*found, self.other], dtype=np.str_)
        return lookup[np.where(codes < 0, len(found), codes)], {}


_TAG_SEPARATORS = re.compile(r"[;,，、；\s]+")
_YEAR = re.compile(r"^(\d{4})(?:-\d{2}-\d{2}.*)?$")
_BAND = re.compile(r"^(\d{1,3})\s*(?:-\s*(\d{1,3})|\+|以上)$")


@dataclass(frozen=True, config=_CONFIG)
class Generation:
    """Decade of birth -> 60后, 70后, ...; earlier births -> 60前; missing -> 未知."""

    first: int = Field(default=1960, ge=1900, le=2090)
    last: int = Field(default=2010, ge=1900, le=2090)
    missing: str = "未知"

    @model_validator(mode="after")
    def _check(self) -> Generation:
        if self.first % 10 or self.last % 10 or self.last < self.first:
            raise ValueError("first and last are decades (multiples of 10), first <= last")
        return self

    def _decades(self) -> list[int]:
        return list(range(self.first, self.last + 1, 10))

    def labels(self) -> tuple[str, ...]:
        """Every label this scheme can yield."""
        before = f"{self.first % 100:02d}前"
        return (before, *(f"{d % 100:02d}后" for d in self._decades()), self.missing)

    def rules(self) -> dict[str, str]:
        """Each label's rule in words."""
        decades = self._decades()
        rules = {self.labels()[0]: f"born before {self.first}"}
        for d, label in zip(decades, self.labels()[1:-1], strict=True):
            rules[label] = f"born {d}-{d + 9}" if d != decades[-1] else f"born {d} or later"
        rules[self.missing] = "birth year and age band unknown"
        return rules

    def needs(self, cols: Columns) -> dict[Table, tuple[str, ...]]:
        """Input columns per table."""
        return {Table.CUSTOMERS: (cols.age_band,)}

    def compute(self, inputs: Inputs) -> tuple[Labels, dict[str, Any]]:
        """One label per customer."""
        values = inputs.customer(inputs.columns.age_band)
        codes, uniques = pd.factorize(values.astype("str").str.strip())
        years = [_birth_year(str(u), inputs.as_of.year) for u in uniques]
        bad = [i for i, y in enumerate(years) if y is None and str(uniques[i])]
        if bad:
            rows = int(np.isin(codes, bad).sum())
            raise InputError(
                f"{rows} value(s) are neither a birth year, a date nor an age band (30-39, 80+)",
                source="customers",
                column=inputs.columns.age_band,
            )
        labels = self.labels()
        decade = [None if y is None else y // 10 * 10 for y in years]
        found = [
            labels[-1]
            if d is None
            else labels[0]
            if d < self.first
            else labels[1 + (min(d, self.last) - self.first) // 10]
            for d in decade
        ]
        lookup = np.array([*found, self.missing], dtype=np.str_)
        return lookup[np.where(codes < 0, len(found), codes)], {}


def _birth_year(value: str, as_of_year: int) -> int | None:
    """A birth year, a date's year, or the as_of year minus an age band's middle age."""
    if not value:
        return None
    year = _YEAR.match(value)
    if year:
        return int(year.group(1))
    band = _BAND.match(value)
    if band is None:
        return None
    low = int(band.group(1))
    high = int(band.group(2)) if band.group(2) else low + 9
    return as_of_year - (low + high + 1) // 2
