"""Static-attribute schemes: region and city tier by declared prefixes, generation by decade."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pandas as pd
import pytest

from privseg import segments
from privseg.errors import InputError, PolicyError

K = segments.SchemeKind
UNIT = "外部联系人ID"
SCHEMES = replace(segments.load_schemes(), dimensions=())
EMPTY = pd.DataFrame({UNIT: pd.Series(dtype="str")})


def _assign(column: str, values: list[str | None], kind: segments.SchemeKind) -> list[str]:
    customers = pd.DataFrame(
        {UNIT: [f"c{i}" for i in range(len(values))], column: pd.array(values, dtype="str")}
    )
    out = segments.assign(customers, EMPTY, EMPTY, SCHEMES.only(kind), as_of=date(2026, 6, 30))
    return list(out[kind.value])


def test_region_by_province_prefix_overseas_and_missing() -> None:
    got = _assign(
        "省份",
        ["广东省", "广东", "内蒙古自治区", "黑龙江省", "香港特别行政区", "California", None, " "],
        K.REGION,
    )
    assert got == ["华南", "华南", "华北", "东北", "港澳台", "海外", "未知", "未知"]


def test_city_tier_by_declared_lists() -> None:
    got = _assign("城市", ["北京市", "佛山市", "昆明市", "哈尔滨市", "三亚市", None], K.CITY_TIER)
    assert got == ["一线", "新一线", "二线", "二线", "三线及以下", "未知"]


@pytest.mark.parametrize(
    ("value", "label"),
    [
        ("1959", "60前"),
        ("1960", "60后"),
        ("1969-12-31", "60后"),
        ("1990-01-01", "90后"),
        ("2009", "00后"),
        ("2010", "10后"),
        ("2021-03-04", "10后"),  # the youngest declared decade takes every later birth
        ("30-39", "90后"),  # middle age 35 on 2026-06-30: born 1991
        ("40-49", "80后"),  # 45: 1981
        ("25-34", "90后"),  # 30: 1996
        ("0-9", "10后"),
        ("80+", "60前"),  # 85: 1941
        ("", "未知"),
        (None, "未知"),
    ],
)
def test_generation_edges(value: str | None, label: str) -> None:
    assert _assign("出生日期", [value], K.GENERATION) == [label]


def test_generation_refuses_values_it_cannot_read_without_quoting_them() -> None:
    with pytest.raises(InputError, match="1 value") as info:
        _assign("出生日期", ["1990", "secret-13812345678"], K.GENERATION)
    assert "13812345678" not in str(info.value)
    assert "出生日期" in str(info.value)


def test_a_name_under_two_labels_is_refused() -> None:
    text = "schemes:\n  region:\n    regions: {华东: [上海], 华北: [上海]}\n"
    with pytest.raises(PolicyError, match="上海"):
        segments.parse_schemes(text)


def test_generation_decades_must_be_decades() -> None:
    with pytest.raises(PolicyError, match="generation"):
        segments.parse_schemes("schemes:\n  generation: {first: 1965}\n")


def test_life_stage_from_declared_tags_first_stage_wins() -> None:
    schemes = segments.parse_schemes(
        "schemes:\n  life_stage:\n    stages: {学生: [学生, 大学生], 家长: [宝妈, 宝爸]}\n"
    )
    schemes = replace(schemes, dimensions=())
    customers = pd.DataFrame(
        {
            UNIT: ["a", "b", "c", "d", "e"],
            "企业标签": pd.array(
                ["高意向;宝妈", "大学生", "宝爸;学生", "宝妈妈", None], dtype="str"
            ),
        }
    )
    out = segments.assign(customers, EMPTY, EMPTY, schemes, as_of=date(2026, 6, 30))
    # whole tags only: 宝妈妈 is not 宝妈; 学生 is declared first, so it wins over 宝爸
    assert list(out["life_stage"]) == ["家长", "学生", "学生", "未知", "未知"]
