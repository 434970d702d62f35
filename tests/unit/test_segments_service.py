"""The service-priority scheme at its edges: urgent, important, routine, latent, none."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pandas as pd
import pytest

from privseg import segments
from privseg.errors import InputError

UNIT = "外部联系人ID"
AS_OF = date(2026, 6, 30)  # windows end at 2026-07-01 00:00
SCHEMES = replace(segments.load_schemes(), dimensions=()).only(segments.SchemeKind.SERVICE_PRIORITY)
Row = tuple[str, str, str, str | None, str | None]


def _assign(rows: list[Row]) -> dict[str, str]:
    units = sorted({r[0] for r in rows} | {"nobody"})
    c = pd.DataFrame({UNIT: units}, dtype="str")
    i = pd.DataFrame(
        rows, columns=[UNIT, "互动时间", "互动类型", "紧急词数", "重要词数"], dtype="str"
    )
    out = segments.assign(c, pd.DataFrame({UNIT: []}, dtype="str"), i, SCHEMES, as_of=AS_OF)
    return dict(zip(out[UNIT], out["service_priority"], strict=True))


def _message(unit: str, day: str, urgent: str = "0", important: str = "0") -> Row:
    return (unit, f"{day} 09:00:00", "消息", urgent, important)


def test_urgent_needs_two_urgent_messages_within_7_days() -> None:
    got = _assign(
        [
            _message("two", "2026-06-29", urgent="1"),
            _message("two", "2026-06-24", urgent="3"),  # 6.6 days before the end
            _message("one", "2026-06-29", urgent="2"),
            _message("one", "2026-06-29"),
            _message("late", "2026-06-29", urgent="1"),
            _message("late", "2026-06-23", urgent="1"),  # 7.6 days: outside the week
        ]
    )
    assert got["two"] == "urgent"
    assert got["one"] == "routine"  # one urgent message is not "repeated"
    assert got["late"] == "routine"
    assert got["nobody"] == "none"


def test_important_routine_and_their_30_day_window() -> None:
    got = _assign(
        [
            _message("contract", "2026-06-01", important="1"),  # the window's first day
            _message("old_contract", "2026-05-31", important="1"),
            _message("old_contract", "2026-06-20"),
            _message("plain", "2026-06-20"),
        ]
    )
    assert got == {
        "contract": "important",
        "old_contract": "routine",
        "plain": "routine",
        "nobody": "none",
    }


def test_latent_viewed_a_product_page_without_asking() -> None:
    got = _assign(
        [
            ("viewer", "2026-06-20 10:00:00", "浏览商品页", None, None),
            ("asker", "2026-06-20 10:00:00", "浏览商品页", None, None),
            _message("asker", "2026-06-21"),
            ("clicker", "2026-06-20 10:00:00", "点击", None, None),
            ("old_viewer", "2026-05-20 10:00:00", "page_view", None, None),
        ]
    )
    assert got["viewer"] == "latent"
    assert got["asker"] == "routine"
    assert got["clicker"] == "none"
    assert got["old_viewer"] == "none"


def test_keyword_counts_on_non_messages_do_not_count() -> None:
    got = _assign([("clicker", "2026-06-29 10:00:00", "点击", "5", "5")] * 3)
    assert got["clicker"] == "none"


def test_a_keyword_count_that_is_not_a_number_is_refused() -> None:
    with pytest.raises(InputError, match="紧急词数"):
        _assign([_message("x", "2026-06-29", urgent="many")])
