"""Column transforms a policy can ask for: generalize, mask, bucketize, clip.

Each transform is a frozen value with an ``apply(values, column=...)`` method vectorized over
a pandas Series. Nulls stay null. Values that cannot be read (a non-numeric age, an invalid
date or coordinate) raise MalformedInputError naming the column and how many values failed,
never the values themselves. Addresses that do not start with a recognizable province give
null (the safe direction of generalization).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from privseg.errors import MalformedInputError

__all__ = [
    "AddressLevel",
    "AgeBand",
    "BirthDateAgeBand",
    "BirthDateYear",
    "Bucketize",
    "Clip",
    "GeneralizeAddress",
    "Geohash",
    "Mask",
    "MaskKind",
    "TimeUnit",
    "Transform",
    "TruncateTime",
    "Withhold",
    "geohash_encode",
]


class Transform(Protocol):
    """A vectorized column transform."""

    def apply(self, values: pd.Series, *, column: str) -> pd.Series: ...


def _numbers(values: pd.Series, column: str, what: str) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce")
    bad = int((numbers.isna() & values.notna()).sum())
    if bad:
        raise MalformedInputError(f"{bad} values are not {what}", column=column)
    return numbers.astype("Float64")


@dataclass(frozen=True)
class _IsoDates:
    """A string column whose every value is ``YYYY-MM-DD`` or ``YYYY-MM-DD HH:MM:SS``."""

    text: pa.Array  # large_string, as given
    stamps: pa.Array  # timestamp[s], null where text is
    has_time: bool  # some value carries a time of day


def _iso_dates(values: pd.Series) -> _IsoDates | None:
    """_IsoDates if every value is ``YYYY-MM-DD`` or ``YYYY-MM-DD HH:MM:SS`` naming a real
    date and time; else None.

    No regex pass: for values of 10 or 19 bytes with a space as the 11th, Arrow's ISO 8601 cast
    to a timestamp without time zone accepts exactly those (it rejects zone offsets).
    """
    if not pd.api.types.is_string_dtype(values.dtype):
        return None
    text = pa.array(values, type=pa.large_string(), from_pandas=True)
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    _, offsets_buffer, data_buffer = text.buffers()
    offsets = np.frombuffer(
        offsets_buffer, dtype=np.int64, count=len(text) + 1, offset=text.offset * 8
    )
    starts, lengths = offsets[:-1], np.diff(offsets)
    if text.null_count:
        valid = text.is_valid().to_numpy(zero_copy_only=False)
        starts, lengths = starts[valid], lengths[valid]
    timed = lengths == 19
    if not bool((timed | (lengths == 10)).all()):
        return None
    data = np.frombuffer(data_buffer or b"", dtype=np.uint8)
    if not bool((data[starts[timed] + 10] == ord(" ")).all()):
        return None
    try:
        stamps = pc.cast(text, pa.timestamp("s"))
    except pa.ArrowInvalid:  # e.g. 2023-02-30: the pandas path names the problem
        return None
    return _IsoDates(text, stamps, bool(timed.any()))


def _parse_dates(values: pd.Series, column: str) -> _IsoDates | pd.Series:
    """ISO text as _IsoDates (the fast paths); anything else as a datetime64 Series."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values
    iso = _iso_dates(values)
    if iso is not None:
        return iso
    parsed = pd.to_datetime(values.astype("str"), errors="coerce", format="mixed")
    bad = int((parsed.isna() & values.notna()).sum())
    if bad:
        raise MalformedInputError(f"{bad} values are not dates or timestamps", column=column)
    return parsed


def _text_series(text: pa.Array, values: pd.Series) -> pd.Series:
    """Arrow text as a ``str`` Series with the index and name of ``values``."""
    return pd.Series(text, dtype="str", index=values.index, name=values.name)


def _band_labels(lower: pd.Series, width: int) -> pd.Series:
    low = lower.astype("Int64").astype("str")
    high = (lower + width - 1).astype("Int64").astype("str")
    return (low + "-" + high).astype("str")


@dataclass(frozen=True)
class AgeBand:
    """Age in years -> band of ``width`` years, labelled like ``20-29``."""

    width: int

    def apply(self, values: pd.Series, *, column: str) -> pd.Series:
        ages = _numbers(values, column, "ages")
        if bool((ages < 0).any()):
            raise MalformedInputError(f"{int((ages < 0).sum())} ages are negative", column=column)
        return _band_labels((ages // self.width) * self.width, self.width)


def _date_parts(parsed: _IsoDates | pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``YYYYMMDD`` integers of parsed dates (0 where null) and where they are present."""
    if isinstance(parsed, _IsoDates):
        stamps = parsed.stamps.fill_null(pa.scalar(0, parsed.stamps.type))
        year, month, day = (part(stamps).to_numpy() for part in (pc.year, pc.month, pc.day))
        present = parsed.stamps.is_valid().to_numpy(zero_copy_only=False)
    else:
        year, month, day = (
            part.to_numpy(dtype=np.int64, na_value=0)
            for part in (parsed.dt.year, parsed.dt.month, parsed.dt.day)
        )
        present = parsed.notna().to_numpy()
    return np.where(present, year * 10000 + month * 100 + day, 0), present


@dataclass(frozen=True)
class BirthDateYear:
    """Birth date -> year of birth (``1990``)."""

    def apply(self, values: pd.Series, *, column: str) -> pd.Series:
        born, present = _date_parts(_parse_dates(values, column))
        years = pa.array(born // 10000, mask=~present)
        return _text_series(pc.cast(years, pa.large_string()), values)


@dataclass(frozen=True)
class BirthDateAgeBand:
    """Birth date -> band of the age on ``reference`` (a date from the policy, never today)."""

    width: int
    reference: date

    def apply(self, values: pd.Series, *, column: str) -> pd.Series:
        born, present = _date_parts(_parse_dates(values, column))
        ref = self.reference
        # whole years between YYYYMMDD integers: a birthday later in the year counts one less
        age = (ref.year * 10000 + ref.month * 100 + ref.day - born) // 10000
        after = int((age[present] < 0).sum())
        if after:
            raise MalformedInputError(
                f"{after} birth dates are after the reference date", column=column
            )
        band = np.where(present, age // self.width, 0)
        lows = pd.Series(np.arange(int(band.max(initial=0)) + 1) * self.width)
        labels = pa.array(_band_labels(lows, self.width), type=pa.large_string())
        return _text_series(pc.take(labels, pa.array(band, mask=~present)), values)


class AddressLevel(StrEnum):
    """How much of a Chinese address to keep."""

    PROVINCE = "province"
    CITY = "city"
    REGION = "region"


_MUNICIPALITIES = "北京市|天津市|上海市|重庆市"
_PROVINCE = rf"(?:{_MUNICIPALITIES}|[^省市区]{{2,7}}?(?:省|自治区|特别行政区))"
_CITY = r"(?:[^省市区县]{1,12}?(?:市|自治州|地区|盟))"


#: The seven geographic regions of mainland China, and Hong Kong, Macao and Taiwan.
_REGIONS = {
    "华北": "北京市 天津市 河北省 山西省 内蒙古自治区",
    "东北": "辽宁省 吉林省 黑龙江省",
    "华东": "上海市 江苏省 浙江省 安徽省 福建省 江西省 山东省",
    "华中": "河南省 湖北省 湖南省",
    "华南": "广东省 广西壮族自治区 海南省",
    "西南": "重庆市 四川省 贵州省 云南省 西藏自治区",
    "西北": "陕西省 甘肃省 青海省 宁夏回族自治区 新疆维吾尔自治区",
    "港澳台": "香港特别行政区 澳门特别行政区 台湾省",
}
_REGION_OF = {p: region for region, names in _REGIONS.items() for p in names.split()}


@dataclass(frozen=True)
class GeneralizeAddress:
    """Chinese address -> its region (``华南``), province (``广东省``) or province and city
    (``广东省深圳市``).

    A municipality (北京/天津/上海/重庆) is its own city. Addresses that do not start with a
    province-level name (or a province of no region) become null.
    """

    level: AddressLevel

    def apply(self, values: pd.Series, *, column: str) -> pd.Series:
        text = values.astype("str").str.strip()
        parts = text.str.extract(rf"^(?P<province>{_PROVINCE})(?P<city>{_CITY})?")
        province = parts["province"]
        if self.level is AddressLevel.REGION:
            return province.map(_REGION_OF).astype("str").rename(values.name)
        if self.level is AddressLevel.PROVINCE:
            return province.astype("str").rename(values.name)
        municipality = province.str.fullmatch(_MUNICIPALITIES).fillna(False).astype(bool)
        city = (province + parts["city"]).where(~municipality, province)
        return city.astype("str").rename(values.name)


_GEOHASH = np.frombuffer(b"0123456789bcdefghjkmnpqrstuvwxyz", dtype=np.uint8)


def geohash_encode(lat: np.ndarray, lon: np.ndarray, precision: int) -> np.ndarray:
    """Geohash strings (``S{precision}`` array) of latitude/longitude arrays in degrees."""
    bits = precision * 5
    lat_lo, lat_hi = np.full(lat.shape, -90.0), np.full(lat.shape, 90.0)
    lon_lo, lon_hi = np.full(lon.shape, -180.0), np.full(lon.shape, 180.0)
    codes = np.zeros((lat.shape[0], precision), dtype=np.uint8)
    for bit in range(bits):
        if bit % 2 == 0:  # even bits refine longitude
            mid = (lon_lo + lon_hi) / 2
            upper = lon >= mid
            lon_lo = np.where(upper, mid, lon_lo)
            lon_hi = np.where(upper, lon_hi, mid)
        else:
            mid = (lat_lo + lat_hi) / 2
            upper = lat >= mid
            lat_lo = np.where(upper, mid, lat_lo)
            lat_hi = np.where(upper, lat_hi, mid)
        codes[:, bit // 5] |= upper.astype(np.uint8) << (4 - bit % 5)
    return np.ascontiguousarray(_GEOHASH[codes]).view(f"S{precision}").ravel()


@dataclass(frozen=True)
class Geohash:
    """``"lat,lon"`` text (or a pair) -> geohash cell of ``precision`` characters."""

    precision: int

    def apply(self, values: pd.Series, *, column: str) -> pd.Series:
        present = values.notna()
        parts = values[present].astype("str").str.split(",", n=1, expand=True)
        if parts.shape[1] < 2:
            parts = parts.reindex(columns=[0, 1])
        lat = pd.to_numeric(parts[0].str.strip(), errors="coerce")
        lon = pd.to_numeric(parts[1].str.strip(), errors="coerce")
        bad = lat.isna() | lon.isna() | ~lat.between(-90, 90) | ~lon.between(-180, 180)
        if bool(bad.any()):
            raise MalformedInputError(
                f"{int(bad.sum())} values are not 'latitude,longitude' in range", column=column
            )
        cells = geohash_encode(
            lat.to_numpy(dtype=float), lon.to_numpy(dtype=float), self.precision
        ).astype(f"U{self.precision}")
        out = pd.Series(pd.NA, index=values.index, dtype="str", name=values.name)
        out[present] = cells
        return out


class TimeUnit(StrEnum):
    """Granularity of a truncated timestamp."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


@dataclass(frozen=True)
class TruncateTime:
    """Timestamp -> ``YYYY-MM-DD`` (day; for week, the Monday starting it), ``YYYY-MM``,
    ``YYYY-Q1`` .. ``YYYY-Q4`` or ``YYYY``."""

    unit: TimeUnit

    def apply(self, values: pd.Series, *, column: str) -> pd.Series:
        parsed = _parse_dates(values, column)
        if self.unit in (TimeUnit.QUARTER, TimeUnit.YEAR):
            day, present = _date_parts(parsed)
            year = pd.Series(day // 10000, index=values.index).astype("str")
            if self.unit is TimeUnit.QUARTER:
                quarter = pd.Series((day // 100 % 100 - 1) // 3 + 1, index=values.index)
                year = year + "-Q" + quarter.astype("str")
            return year.where(present).astype("str").rename(values.name)
        if isinstance(parsed, _IsoDates):
            return _text_series(self._truncate_iso(parsed), values)
        if self.unit is TimeUnit.MONTH:
            out = parsed.dt.strftime("%Y-%m")
        else:
            day = parsed.dt.normalize()
            if self.unit is TimeUnit.WEEK:
                day = day - pd.to_timedelta(day.dt.day_of_week, unit="D")
            out = day.dt.strftime("%Y-%m-%d")
        return out.astype("str").rename(values.name)

    def _truncate_iso(self, iso: _IsoDates) -> pa.Array:
        """Day and month are prefixes of ISO text; a week starts on the Monday before."""
        if self.unit is TimeUnit.WEEK:
            days = np.asarray(iso.stamps.to_numpy(zero_copy_only=False), dtype="datetime64[D]")
            monday = days - (days.view(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
            return pc.cast(pa.array(monday), pa.large_string())
        length = 7 if self.unit is TimeUnit.MONTH else 10
        if length == 10 and not iso.has_time:
            return iso.text
        return pc.utf8_slice_codeunits(iso.text, 0, length)


class MaskKind(StrEnum):
    """What a masked column holds; decides which characters stay visible."""

    MOBILE = "mobile"
    NATIONAL_ID = "national_id"
    EMAIL = "email"
    BANK_CARD = "bank_card"
    NAME = "name"
    OTHER = "other"


# visible leading and trailing characters per kind
_VISIBLE: dict[MaskKind, tuple[int, int]] = {
    MaskKind.MOBILE: (3, 4),
    MaskKind.NATIONAL_ID: (3, 2),
    MaskKind.BANK_CARD: (0, 4),
    MaskKind.NAME: (1, 0),
    MaskKind.OTHER: (1, 1),
}


def _mask_middle(text: pd.Series, head: int, tail: int) -> pd.Series:
    length = text.str.len()
    hidden = (length - head - tail).clip(lower=0)
    short = length <= head + tail
    stars = pd.Series("*", index=text.index, dtype="str").str.repeat(hidden.fillna(0).astype(int))
    tail_part = text.str.slice(-tail) if tail else ""
    masked = text.str.slice(0, head) + stars + tail_part
    return masked.where(
        ~short,
        pd.Series("*", index=text.index, dtype="str").str.repeat(length.fillna(0).astype(int)),
    ).where(text.notna())


@dataclass(frozen=True)
class Mask:
    """Hide the middle of a value: ``138****5678``, ``张**``, ``a***@example.com``."""

    kind: MaskKind

    def apply(self, values: pd.Series, *, column: str) -> pd.Series:
        text = values.astype("str").str.strip()
        if self.kind is MaskKind.MOBILE:
            text = text.str.replace(r"[ \-()]", "", regex=True).str.replace(
                r"^(?:\+86|0086)", "", regex=True
            )
        if self.kind is MaskKind.EMAIL:
            parts = text.str.split("@", n=1, expand=True).reindex(columns=[0, 1])
            local = _mask_middle(parts[0].astype("str"), 1, 0)
            out = (local + "@" + parts[1].astype("str")).where(parts[1].notna(), local)
        else:
            head, tail = _VISIBLE[self.kind]
            out = _mask_middle(text, head, tail)
        return out.astype("str").rename(values.name)


@dataclass(frozen=True)
class Bucketize:
    """Number -> bucket of explicit, increasing ``edges``: ``<0``, ``[0, 100)``, ..., ``>=1000``."""

    edges: tuple[float, ...]

    def labels(self) -> tuple[str, ...]:
        """Every bucket label, lowest first."""
        shown = [f"{e:g}" for e in self.edges]
        inner = [f"[{lo}, {hi})" for lo, hi in itertools.pairwise(shown)]
        return (f"<{shown[0]}", *inner, f">={shown[-1]}")

    def apply(self, values: pd.Series, *, column: str) -> pd.Series:
        numbers = _numbers(values, column, "numbers")
        index = np.searchsorted(
            np.asarray(self.edges), numbers.to_numpy(dtype=float, na_value=np.nan), side="right"
        )
        labels = np.asarray(self.labels(), dtype=object)[index]
        return pd.Series(labels, index=values.index, dtype="str", name=values.name).where(
            numbers.notna()
        )


@dataclass(frozen=True)
class Withhold:
    """Any value -> null: the column is withheld (the top of a generalization ladder)."""

    def apply(self, values: pd.Series, *, column: str) -> pd.Series:
        return pd.Series(pd.NA, index=values.index, dtype="str", name=values.name)


@dataclass(frozen=True)
class Clip:
    """Number -> clipped to ``[lower, upper]`` (bounds from the policy, never from the data)."""

    lower: float
    upper: float

    def apply(self, values: pd.Series, *, column: str) -> pd.Series:
        return _numbers(values, column, "numbers").clip(self.lower, self.upper).rename(values.name)
