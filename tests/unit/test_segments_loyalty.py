"""The loyalty and behaviour schemes at their edges."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pandas as pd

from privseg import segments

K = segments.SchemeKind
UNIT = "外部联系人ID"
AS_OF = date(2026, 6, 30)  # windows end at 2026-07-01 00:00
SCHEMES = replace(segments.load_schemes(), dimensions=()).only(K.LOYALTY, K.BEHAVIOUR)


def _assign(
    nps: dict[str, str | None],
    orders: list[tuple[str, str, str]] = (),  # type: ignore[assignment]
    interactions: list[tuple[str, str, str]] = (),  # type: ignore[assignment]
) -> pd.DataFrame:
    c = pd.DataFrame({UNIT: list(nps), "NPS评分": list(nps.values())}, dtype="str")
    o = pd.DataFrame(
        [(u, f"{d} 12:00:00", "100", p) for u, d, p in orders],
        columns=[UNIT, "下单时间", "金额", "是否促销"],
        dtype="str",
    )
    i = pd.DataFrame(
        [(u, f"{d} 12:00:00", t) for u, d, t in interactions],
        columns=[UNIT, "互动时间", "互动类型"],
        dtype="str",
    )
    return segments.assign(c, o, i, SCHEMES, as_of=AS_OF).set_index(UNIT)


def _shares(unit: str, n: int, day: str = "2026-06-10") -> list[tuple[str, str, str]]:
    return [(unit, day, "分享")] * n


def test_fan_needs_more_than_5_shares_a_quarter_and_nps_over_80() -> None:
    out = _assign(
        {"fan": "81", "nps80": "80", "five": "95", "unanswered": None, "early": "90"},
        interactions=_shares("fan", 6)
        + _shares("nps80", 6)
        + _shares("five", 5)
        + _shares("unanswered", 9)
        + _shares("early", 5)
        + _shares("early", 1, "2026-04-01"),  # 91 days before the end: outside the quarter
    )
    assert out["loyalty"].to_dict() == {
        "fan": "fan",
        "nps80": "other",
        "five": "other",
        "unanswered": "other",
        "early": "other",
    }


def test_price_sensitive_buys_only_in_promotions() -> None:
    out = _assign(
        {"only": None, "one": None, "mixed": None, "old": None},
        orders=[
            ("only", "2026-06-01", "是"),
            ("only", "2026-01-15", "是"),
            ("one", "2026-06-01", "是"),  # a single order is not a habit
            ("mixed", "2026-06-01", "是"),
            ("mixed", "2026-05-01", "否"),
            ("old", "2026-06-01", "是"),
            ("old", "2025-06-30", "是"),  # 366 days before the end: outside the year
        ],
    )
    assert out["loyalty"].to_dict() == {
        "only": "price_sensitive",
        "one": "other",
        "mixed": "other",
        "old": "other",
    }
    assert out.loc["mixed", "behaviour"] == "promotion_sensitive"  # half on promotion
    assert out.loc["only", "behaviour"] == "promotion_sensitive"


def test_rational_supporter_keeps_buying_and_rarely_interacts() -> None:
    three_months = [("u", "2026-06-20", "否"), ("u", "2026-05-10", "否"), ("u", "2026-01-20", "否")]
    units = ("quiet", "chatty", "two_months")
    orders = [(name, d, p) for name in units[:2] for _, d, p in three_months]
    orders += [("two_months", "2026-06-20", "否"), ("two_months", "2026-06-10", "否")]
    out = _assign(
        dict.fromkeys(units),
        orders=orders,
        interactions=[("quiet", "2026-06-01", "点击")] * 2 + [("chatty", "2026-06-01", "点击")] * 3,
    )
    assert out["loyalty"].to_dict() == {
        "quiet": "rational_supporter",
        "chatty": "other",
        "two_months": "other",
    }


def test_frequent_consulter_more_than_8_messages_in_30_days() -> None:
    out = _assign(
        {"nine": None, "eight": None},
        interactions=[("nine", "2026-06-20", "消息")] * 9 + [("eight", "2026-06-20", "消息")] * 8,
    )
    assert out["behaviour"].to_dict() == {"nine": "frequent_consulter", "eight": "other"}


def test_promotion_sensitive_needs_half_of_the_orders_on_promotion() -> None:
    out = _assign(
        {"third": None},
        orders=[
            ("third", "2026-06-01", "是"),
            ("third", "2026-05-01", "否"),
            ("third", "2026-04-01", "否"),
        ],
    )
    assert out.loc["third", "behaviour"] == "other"
