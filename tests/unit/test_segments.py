"""Segment schemes: each rule at its boundaries, the demo data's coverage, YAML errors."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from privseg import segments
from privseg.errors import InputError, PolicyError, PrivsegWarning

AS_OF = date(2026, 6, 30)  # windows end at 2026-07-01 00:00
UNIT = "外部联系人ID"
K = segments.SchemeKind
#: the commerce schemes, which read only the columns these tests' tables have
COMMERCE = segments.load_schemes().only(K.RFM, K.LIFECYCLE, K.VALUE_TIER, K.ACTIVITY, K.CHANNEL)


def _customers(*ids: str, registered: str = "2025-01-01 00:00:00") -> pd.DataFrame:
    return pd.DataFrame(
        {
            UNIT: list(ids),
            "注册时间": [registered] * len(ids),
            "渠道来源": ["公众号"] * len(ids),
            "省份": ["广东省"] * len(ids),
        }
    )


def _orders(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=[UNIT, "下单时间", "金额"], dtype="str")


def _interactions(rows: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=[UNIT, "互动时间"], dtype="str")


def _assign(
    customers: pd.DataFrame,
    orders: list[tuple[str, str, str]] = (),  # type: ignore[assignment]
    interactions: list[tuple[str, str]] = (),  # type: ignore[assignment]
) -> pd.DataFrame:
    out = segments.assign(
        customers, _orders(list(orders)), _interactions(list(interactions)), COMMERCE, as_of=AS_OF
    )
    return out.set_index(UNIT)


def test_introduction_needs_registration_under_7_days_and_no_order() -> None:
    customers = pd.concat(
        [
            _customers("new", registered="2026-06-24 00:00:01"),  # 6.99998 days
            _customers("week", registered="2026-06-24 00:00:00"),  # exactly 7 days
            _customers("buyer", registered="2026-06-29 10:00:00"),
        ]
    )
    out = _assign(customers, [("buyer", "2026-06-29 12:00:00", "10")])
    assert out.loc["new", "lifecycle"] == "introduction"
    assert out.loc["week", "lifecycle"] == "other"
    assert out.loc["buyer", "lifecycle"] != "introduction"


def test_decline_after_more_than_180_days_without_an_order() -> None:
    out = _assign(
        _customers("d180", "d180p"),
        [("d180", "2026-01-02", "50"), ("d180p", "2026-01-01 12:00:00", "50")],
    )
    assert out.loc["d180", "lifecycle"] == "other"
    assert out.loc["d180p", "lifecycle"] == "decline"


def test_growth_is_over_20_percent_month_on_month() -> None:
    out = _assign(
        _customers("g", "flat"),
        [
            ("g", "2026-05-22", "100"),
            ("g", "2026-06-21", "120.01"),
            ("flat", "2026-05-22", "100"),
            ("flat", "2026-06-21", "120"),
        ],
    )
    assert out.loc["g", "lifecycle"] == "growth"
    assert out.loc["flat", "lifecycle"] == "other"


def test_mature_is_three_stable_months() -> None:
    def three(unit: str, a: str, b: str, c: str) -> list[tuple[str, str, str]]:
        return [(unit, "2026-06-21", a), (unit, "2026-05-22", b), (unit, "2026-04-22", c)]

    out = _assign(
        _customers("same", "edge", "wobbly", "gap"),
        three("same", "100", "100", "100")
        + three("edge", "90", "100", "110")
        + three("wobbly", "89", "100", "111")
        + [("gap", "2026-06-21", "100"), ("gap", "2026-05-22", "100")],
    )
    assert out.loc["same", "lifecycle"] == "mature"
    assert out.loc["edge", "lifecycle"] == "mature"
    assert out.loc["wobbly", "lifecycle"] == "other"
    assert out.loc["gap", "lifecycle"] == "other"


@pytest.mark.parametrize(
    ("amount", "day", "tier"),
    [
        ("100000.01", "2025-12-13", "platinum"),  # 200 days ago: yearly, not quarterly
        ("100000", "2025-12-13", "silver"),  # not over 100,000; 100,000 / 12 > 500
        ("10000.01", "2026-05-12", "gold"),  # 50 days ago
        ("10000", "2026-05-12", "silver"),
        ("6000.12", "2025-12-13", "silver"),  # 500.01 a month
        ("6000", "2025-12-13", "regular"),  # exactly 500 a month, lifetime >= 500
        ("499.99", "2025-05-27", "bronze"),  # 400 days ago
        ("500", "2025-05-27", "regular"),
    ],
)
def test_value_tier_boundaries(amount: str, day: str, tier: str) -> None:
    out = _assign(_customers("c"), [("c", day, amount)])
    assert out.loc["c", "value_tier"] == tier


def test_no_order_is_no_purchase() -> None:
    assert _assign(_customers("c")).loc["c", "value_tier"] == "no_purchase"


def _times(n: int, day: str) -> list[str]:
    return [f"{day} {h % 24:02d}:{h // 24:02d}:00" for h in range(n)]


@pytest.mark.parametrize(
    ("recent", "older", "level"),
    [
        (13, 0, "high"),  # > 3 a week over 4 weeks
        (12, 0, "medium"),
        (4, 0, "medium"),  # 1 a week
        (3, 0, "low"),  # under 1 a week, 3 in 3 months: not silent
        (2, 1, "low"),
        (2, 0, "silent"),  # under 1 a month over 3 months
        (0, 0, "silent"),
    ],
)
def test_activity_levels(recent: int, older: int, level: str) -> None:
    rows = [("c", t) for t in _times(recent, "2026-06-20")]
    rows += [("c", t) for t in _times(older, "2026-04-10")]  # 82 days ago
    out = _assign(_customers("c"), interactions=rows)
    assert out.loc["c", "activity"] == level


def test_rfm_scores_at_their_edges() -> None:
    out = _assign(
        _customers("a", "b", "none", "old"),
        [
            ("a", "2026-06-01", "250"),  # exactly 30 days ago
            ("a", "2026-05-01", "250"),
            ("b", "2026-05-31 12:00:00", "499.99"),  # 30.5 days ago
            ("old", "2025-06-30", "100000"),  # 366 days ago: outside the lookback
        ],
    )
    assert tuple(out.loc["a", ["R", "F", "M"]]) == (5, 2, 2)
    assert tuple(out.loc["b", ["R", "F", "M"]]) == (4, 1, 1)
    assert tuple(out.loc["none", ["R", "F", "M"]]) == (1, 1, 1)
    assert tuple(out.loc["old", ["R", "F", "M"]]) == (1, 1, 1)
    assert out.loc["old", "recency"] == 365  # capped at the lookback
    assert out.loc["a", "rfm"] == "general_develop"  # R high, F and M low (high = score >= 3)
    assert out.loc["none", "rfm"] == "general_winback"


def test_channel_maps_declared_values_and_falls_back() -> None:
    customers = _customers("a", "b", "c", "d")
    customers["渠道来源"] = ["公众号", "referral", "抖音", pd.NA]
    out = _assign(customers)
    assert list(out["channel"]) == ["公众号", "口碑推荐", "other", "other"]
    assert list(out["省份"]) == ["广东省"] * 4


def test_output_has_one_row_per_customer_and_ignores_unknown_units() -> None:
    out = _assign(_customers("a", "b"), [("zzz", "2026-06-01", "10")], [("zzz", "2026-06-01")])
    assert list(out.index) == ["a", "b"]
    assert {"rfm", "lifecycle", "value_tier", "activity", "channel", "R", "F", "M"} <= set(
        out.columns
    )


def test_numbers_arriving_as_text_are_checked_by_column() -> None:
    with pytest.raises(InputError, match="金额") as info:
        _assign(_customers("a"), [("a", "2026-06-01", "12,5元")])
    assert "12,5" not in str(info.value)
    with pytest.raises(InputError, match="下单时间"):
        _assign(_customers("a"), [("a", "yesterday", "1")])


def test_duplicate_or_missing_columns_are_input_errors() -> None:
    with pytest.raises(InputError, match="duplicate"):
        _assign(_customers("a", "a"))
    with pytest.raises(InputError, match="渠道来源"):
        _assign(_customers("a").drop(columns=["渠道来源"]))


def test_every_behavioural_label_occurs_on_the_demo_data() -> None:
    from privseg.demo import generator

    data = generator.generate(3000, seed=1)
    out = segments.assign(
        data.customers, data.orders, data.interactions, as_of=generator.DEMO_AS_OF
    )
    assert len(out) == 3000
    assert out[UNIT].is_unique
    schemes = segments.load_schemes()
    for kind in (K.LIFECYCLE, K.VALUE_TIER, K.ACTIVITY, K.SOCIAL, K.SERVICE_PRIORITY, K.LOYALTY):
        assert set(out[kind.value]) == set(schemes.labels()[kind]), kind
    assert set(out[K.BEHAVIOUR.value]) == set(schemes.labels()[K.BEHAVIOUR])
    # the demo's cities are all on the mainland and in the top three tiers
    assert set(out[K.REGION.value]) == {"华东", "华北", "华中", "华南", "西南", "西北", "东北"}
    assert set(out[K.CITY_TIER.value]) == {"一线", "新一线", "二线"}
    assert set(out[K.GENERATION.value]) <= set(schemes.labels()[K.GENERATION])


def test_shipped_default_and_label_sets() -> None:
    schemes = segments.load_schemes()
    # every scheme but life_stage, whose tags the shipped policy drops
    assert [k for k, _ in schemes.schemes] == [k for k in K if k is not K.LIFE_STAGE]
    labels = schemes.labels()
    assert len(labels[segments.SchemeKind.RFM]) == 8
    assert labels[segments.SchemeKind.LIFECYCLE] == (
        "introduction",
        "decline",
        "growth",
        "mature",
        "other",
    )


def test_more_than_100_labels_warns(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("schemes:\n  rfm: {label: cell}\n", encoding="utf-8")
    with pytest.warns(PrivsegWarning, match="125 labels"):
        segments.load_schemes(path)
    channels = "\n".join(f"      c{i}: label{i}" for i in range(101))
    path.write_text(f"schemes:\n  channel:\n    map:\n{channels}\n", encoding="utf-8")
    with pytest.warns(PrivsegWarning, match="102 labels"):
        segments.load_schemes(path)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("schemes:\n  rfm:\n    frequency: [1, 2\n", 4, "not valid YAML"),
        ("schemes:\n  rfm:\n    lookback_days: 30\n    frequency: [4, 2, 8, 16]\n", 4, "frequency"),
        ("schemes:\n  lifecycle:\n    growth:\n      min_growth: -1\n", 4, "min_growth"),
        ("schemes:\n  rfm: {}\n  nonsense: {}\n", 3, "nonsense"),
        ("columns:\n  unit: id\n  wrong: x\nschemes:\n  rfm: {}\n", 3, "wrong"),
        ("- just\n- a list\n", 1, "mapping"),
    ],
)
def test_bad_yaml_names_file_line_and_field(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        segments.load_schemes(path)
    assert info.value.line == line
    assert str(path) in str(info.value)
    assert words in str(info.value)


def test_missing_scheme_file() -> None:
    with pytest.raises(PolicyError, match="not found"):
        segments.load_schemes("/nonexistent/segments.yaml")
