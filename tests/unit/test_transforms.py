"""Generalize, mask, bucketize and clip."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privseg.errors import MalformedInputError
from privseg.transforms import (
    AddressLevel,
    AgeBand,
    BirthDateAgeBand,
    BirthDateYear,
    Bucketize,
    Clip,
    GeneralizeAddress,
    Geohash,
    Mask,
    MaskKind,
    TimeUnit,
    Transform,
    TruncateTime,
    Withhold,
    _iso_dates,
    geohash_encode,
)


def s(*values: str | None) -> pd.Series:
    return pd.Series(list(values), dtype="str")


def test_age_band() -> None:
    assert AgeBand(10).apply(s("23", "5", None, "40"), column="a").tolist()[:2] == ["20-29", "0-9"]
    with pytest.raises(MalformedInputError, match="1 values are not ages") as info:
        AgeBand(10).apply(s("23", "secret-value"), column="age")
    assert "secret-value" not in str(info.value) and "'age'" in str(info.value)


def test_birth_date_year_and_age_band_on_reference_date() -> None:
    born = s("1990-07-01", "2012-06-30", "2012-07-01", None)
    assert BirthDateYear().apply(born, column="b").tolist()[:3] == ["1990", "2012", "2012"]
    bands = BirthDateAgeBand(7, date(2026, 6, 30)).apply(born, column="b")
    # 35 -> 35-41; exactly 14 on the reference date -> 14-20; 13 the day before -> 7-13
    assert bands.tolist()[:3] == ["35-41", "14-20", "7-13"]
    assert pd.isna(bands.iloc[3])


@pytest.mark.parametrize(
    ("address", "province", "city"),
    [
        ("广东省深圳市南山区科技园", "广东省", "广东省深圳市"),
        ("上海市浦东新区世纪大道1号", "上海市", "上海市"),
        ("新疆维吾尔自治区乌鲁木齐市天山区", "新疆维吾尔自治区", "新疆维吾尔自治区乌鲁木齐市"),
        ("云南省大理白族自治州大理市", "云南省", "云南省大理白族自治州"),
        ("somewhere", None, None),
    ],
)
def test_address(address: str, province: str | None, city: str | None) -> None:
    p = GeneralizeAddress(AddressLevel.PROVINCE).apply(s(address), column="a").iloc[0]
    c = GeneralizeAddress(AddressLevel.CITY).apply(s(address), column="a").iloc[0]
    assert (None if pd.isna(p) else p) == province
    assert (None if pd.isna(c) else c) == city


def test_geohash_known_values() -> None:
    # reference cells from the geohash definition (Wikipedia example u4pruydqqvj)
    cells = geohash_encode(np.array([57.64911, 39.9042]), np.array([10.40744, 116.4074]), 11)
    assert cells[0] == b"u4pruydqqvj"
    out = Geohash(5).apply(s("57.64911,10.40744", None, "39.9042, 116.4074"), column="g")
    assert out.iloc[0] == "u4pru" and pd.isna(out.iloc[1]) and out.iloc[2] == "wx4g0"
    with pytest.raises(MalformedInputError, match="latitude"):
        Geohash(5).apply(s("91,0"), column="g")


def test_truncate_time() -> None:
    stamps = s("2026-06-30 13:45:00", "2026-06-28 00:00:01", None)
    assert TruncateTime(TimeUnit.DAY).apply(stamps, column="t").tolist()[:2] == [
        "2026-06-30",
        "2026-06-28",
    ]
    assert TruncateTime(TimeUnit.WEEK).apply(stamps, column="t").tolist()[:2] == [
        "2026-06-29",
        "2026-06-22",
    ]
    assert TruncateTime(TimeUnit.MONTH).apply(stamps, column="t").iloc[0] == "2026-06"


@pytest.mark.parametrize(
    ("kind", "value", "masked"),
    [
        (MaskKind.MOBILE, "+86 138-1234-5678", "138****5678"),
        (MaskKind.NATIONAL_ID, "11010119900307123X", "110*************3X"),
        (MaskKind.EMAIL, "alice@example.com", "a****@example.com"),
        (MaskKind.BANK_CARD, "6222021234567890123", "***************0123"),
        (MaskKind.NAME, "张三丰", "张**"),
        (MaskKind.OTHER, "wmABCDEF", "w******F"),
        (MaskKind.OTHER, "ab", "**"),
    ],
)
def test_mask(kind: MaskKind, value: str, masked: str) -> None:
    out = Mask(kind).apply(s(value, None), column="m")
    assert out.iloc[0] == masked and pd.isna(out.iloc[1])


def test_bucketize_and_clip() -> None:
    buckets = Bucketize((0, 100, 500)).apply(s("-1", "0", "99.5", "500", None), column="x")
    assert buckets.tolist()[:4] == ["<0", "[0, 100)", "[0, 100)", ">=500"]
    clipped = Clip(0, 100).apply(s("-1", "50", "1000", None), column="x")
    assert clipped.tolist()[:3] == [0, 50, 100] and pd.isna(clipped.iloc[3])
    with pytest.raises(MalformedInputError, match="not numbers"):
        Clip(0, 1).apply(s("x"), column="x")


def test_iso_text_and_other_formats_truncate_alike_on_any_index() -> None:
    """ISO text (Arrow's fast parse) and other formats (pandas) give the same days."""
    iso = pd.Series(["2026-06-30 23:59:59", None, "2024-02-29"], index=[7, 8, 9], dtype="str")
    other = pd.Series(["2026/06/30 23:59:59", None, "2024/02/29"], index=[7, 8, 9], dtype="str")
    expected = pd.Series(["2026-06-30", None, "2024-02-29"], index=[7, 8, 9], dtype="str")
    for values in (iso, other):
        out = TruncateTime(TimeUnit.DAY).apply(values, column="t")
        pd.testing.assert_series_equal(out, expected, check_names=False)
    with pytest.raises(MalformedInputError, match="1 values are not dates"):
        TruncateTime(TimeUnit.DAY).apply(pd.Series(["2023-02-30"], dtype="str"), column="t")


_REFERENCE = date(2024, 2, 29)
_NOTABLE_DAYS = [
    _REFERENCE - timedelta(days=1),
    _REFERENCE,
    _REFERENCE + timedelta(days=1),
    date(1900, 2, 28),
    date(2000, 2, 29),
    date(2099, 12, 31),
]
_DATE_TRANSFORMS: list[Transform] = [
    TruncateTime(TimeUnit.DAY),
    TruncateTime(TimeUnit.WEEK),
    TruncateTime(TimeUnit.MONTH),
    BirthDateYear(),
    BirthDateAgeBand(7, _REFERENCE),
    BirthDateAgeBand(10, date(2099, 12, 31)),
]
_iso_values = st.one_of(
    st.none(),
    st.builds(date.isoformat, st.dates(date(1900, 1, 1), date(2099, 12, 31))),
    st.builds(date.isoformat, st.sampled_from(_NOTABLE_DAYS)),
    st.builds(
        lambda day, at: datetime.combine(day, at).isoformat(sep=" "),
        st.one_of(st.dates(date(1900, 1, 1), date(2099, 12, 31)), st.sampled_from(_NOTABLE_DAYS)),
        st.times(),
    ).map(lambda text: text[:19]),
)


def _outcome(transform: Transform, values: pd.Series) -> pd.Series | str:
    try:
        return transform.apply(values, column="d")
    except MalformedInputError as error:
        return str(error)


@settings(deadline=None)  # six transforms, two paths per example: slow on busy shared cores
@given(st.lists(_iso_values, max_size=30))
def test_iso_text_fast_path_equals_the_pandas_path(texts: list[str | None]) -> None:
    """ISO text (Arrow and numpy) gives what the same instants as datetime64 (pandas) give."""
    iso = pd.Series(texts, index=range(100, 100 + len(texts)), dtype="str", name="d")
    stamps = pd.Series(pd.to_datetime(iso, format="ISO8601"), name="d")
    for transform in _DATE_TRANSFORMS:
        fast, reference = _outcome(transform, iso), _outcome(transform, stamps)
        if isinstance(reference, str):
            assert fast == reference and "birth dates are after the reference date" in fast
        else:
            assert isinstance(fast, pd.Series)
            pd.testing.assert_series_equal(fast, reference, check_exact=True)


_ISO = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?: [0-9]{2}:[0-9]{2}:[0-9]{2})?")


@given(
    st.sampled_from(["2024-02-29", "2023-12-31 23:59:59", "1999-01-01 00:00:00"]),
    st.integers(0, 18),
    st.sampled_from([*"T:-+Z. 0９a", "", "+08", "+08:00", ".5", "Z", "\n"]),
)
def test_fast_path_takes_exactly_valid_iso_text(text: str, at: int, edit: str) -> None:
    """No regex pass, yet the fast path accepts exactly the ISO regex with a real date."""
    edited = (text[:at] + edit + text[at + 1 :]) if at < len(text) else text + edit
    try:
        real = _ISO.fullmatch(edited) is not None and bool(datetime.fromisoformat(edited))
    except ValueError:
        real = False
    assert (_iso_dates(s(edited, None)) is not None) == real


def test_invalid_or_mixed_iso_text_takes_the_pandas_path() -> None:
    with pytest.raises(MalformedInputError, match=": 1 values are not dates") as info:
        BirthDateAgeBand(10, _REFERENCE).apply(s("2024-02-29", "2023-02-30"), column="born")
    assert "2023-02-30" not in str(info.value) and "'born'" in str(info.value)
    mixed = s("2024-02-29 08:00:00", "2024/03/04", "2023-02-28T23:00:00", None)
    assert TruncateTime(TimeUnit.WEEK).apply(mixed, column="t").tolist()[:3] == [
        "2024-02-26",
        "2024-03-04",
        "2023-02-27",
    ]
    assert BirthDateYear().apply(mixed, column="t").tolist()[:3] == ["2024", "2024", "2023"]


@pytest.mark.parametrize("born", [s("2024-03-01", None, "2024-02-29"), s("2024/03/01", "1990/1/1")])
def test_birth_dates_after_the_reference_date_raise_on_either_path(born: pd.Series) -> None:
    with pytest.raises(MalformedInputError, match=": 1 birth dates are after"):
        BirthDateAgeBand(10, _REFERENCE).apply(born, column="born")


def test_quarter_year_region_and_withhold() -> None:
    stamps = s("2025-06-25 11:53:13", "2024-01-02", "2024-12-31", None)
    assert TruncateTime(TimeUnit.QUARTER).apply(stamps, column="t").tolist()[:3] == [
        "2025-Q2",
        "2024-Q1",
        "2024-Q4",
    ]
    assert TruncateTime(TimeUnit.YEAR).apply(stamps, column="t").tolist()[:3] == [
        "2025",
        "2024",
        "2024",
    ]
    assert pd.isna(TruncateTime(TimeUnit.QUARTER).apply(stamps, column="t").iloc[3])
    regions = GeneralizeAddress(AddressLevel.REGION).apply(
        s(
            "广东省深圳市南山区",
            "上海市浦东新区",
            "新疆维吾尔自治区乌鲁木齐市",
            "香港特别行政区",
            "某地",
        ),
        column="a",
    )
    assert regions.tolist()[:4] == ["华南", "华东", "西北", "港澳台"]
    assert pd.isna(regions.iloc[4])
    assert Withhold().apply(stamps, column="t").isna().all()
