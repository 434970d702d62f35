"""The social scheme at its edges: strong tie, potential influencer, isolated, ordinary."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pandas as pd

from privseg import segments

UNIT = "外部联系人ID"
AS_OF = date(2026, 6, 30)  # windows end at 2026-07-01 00:00
SCHEMES = replace(segments.load_schemes(), dimensions=()).only(segments.SchemeKind.SOCIAL)


def _customer(
    unit: str, friends: str | None = "100", kol: str = "否", follow: str = "双向"
) -> dict:
    return {UNIT: unit, "好友数": friends, "网络中有KOL": kol, "关注方式": follow}


def _assign(customers: list[dict], interactions: list[tuple[str, str, str]]) -> dict[str, str]:
    c = pd.DataFrame(customers, dtype="str")
    i = pd.DataFrame(interactions, columns=[UNIT, "互动时间", "互动类型"], dtype="str")
    out = segments.assign(c, pd.DataFrame({UNIT: []}, dtype="str"), i, SCHEMES, as_of=AS_OF)
    return dict(zip(out[UNIT], out["social"], strict=True))


def _shares(unit: str, n: int, day: str = "2026-06-15") -> list[tuple[str, str, str]]:
    return [(unit, f"{day} 10:00:00", "分享")] * n


def test_strong_tie_needs_more_than_3_shares_in_30_days() -> None:
    got = _assign(
        [_customer("four"), _customer("three"), _customer("old")],
        _shares("four", 4)
        + _shares("three", 3)
        + _shares("old", 3)
        + _shares("old", 1, "2026-05-31"),  # 31 days before the end of as_of: outside
    )
    assert got == {"four": "strong_tie", "three": "ordinary", "old": "ordinary"}


def test_share_on_the_window_edge_counts() -> None:
    # 2026-06-01 00:00:00 is exactly 30 days before 2026-07-01 00:00
    got = _assign([_customer("edge")], _shares("edge", 3) + _shares("edge", 1, "2026-06-01"))
    assert got == {"edge": "strong_tie"}


def test_influencer_over_2000_friends_or_a_kol_in_the_network() -> None:
    got = _assign(
        [
            _customer("many", friends="2001"),
            _customer("limit", friends="2000"),
            _customer("kol", kol="是"),
            _customer("kol_en", kol="yes"),
            _customer("unknown", friends=None),
        ],
        [],
    )
    assert got == {
        "many": "potential_influencer",
        "limit": "ordinary",
        "kol": "potential_influencer",
        "kol_en": "potential_influencer",
        "unknown": "ordinary",
    }


def test_strong_tie_wins_over_influencer() -> None:
    got = _assign([_customer("both", friends="5000")], _shares("both", 4))
    assert got == {"both": "strong_tie"}


def test_isolated_needs_one_way_follow_and_no_group_chat_in_90_days() -> None:
    got = _assign(
        [
            _customer("alone", follow="单向"),
            _customer("alone_en", follow="one_way"),
            _customer("mutual", follow="双向"),
            _customer("chats", follow="单向"),
            _customer("chatted_long_ago", follow="单向"),
        ],
        [
            ("chats", "2026-04-02 00:00:00", "群聊发言"),  # 90 days before the end: inside
            ("chatted_long_ago", "2026-04-01 23:59:59", "群聊发言"),
        ],
    )
    assert got == {
        "alone": "isolated",
        "alone_en": "isolated",
        "mutual": "ordinary",
        "chats": "ordinary",
        "chatted_long_ago": "isolated",
    }
