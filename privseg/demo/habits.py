"""Social and service habits of the demo customers (for the social, service and loyalty schemes).

Per customer: WeChat friend count (log-normal, median about 160, about 1.5% above 2,000,
capped at WeChat's 10,000; 5% unknown), a KOL in the network (3%, 25% above 1,000 friends),
follow direction (one-way for 20% of active customers, 45% of fading ones), a recommendation
survey answer 0-100 (answered by 30%, more by loyal buyers; skewed high), the chance that an
order is a promotion order (12% buy only on promotions, the others about 25%), a mix of
interaction types drawn around the shares below (one-way followers rarely chat in groups,
high scorers share more), and how often their messages carry urgent (5% of customers: half
their messages) or contract/payment/complaint keywords (10%: a third). Messages are never
generated as text: the keyword counts stand for what ingestion derives before dropping it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from privseg.demo.tables import INTERACTION_SHARES
from privseg.demo.text import Bool, Float, Int

__all__ = ["Habits", "habits_of", "interaction_kinds", "social_columns"]


#: positions of message, share and group chat in ``INTERACTION_TYPES``
_MESSAGE, _SHARE, _GROUP_CHAT = 0, 2, 4
#: how concentrated each customer's mix is around the mean shares (lower: more varied)
_CONCENTRATION = 4.0


@dataclass(frozen=True)
class Habits:
    """Per-customer habits (one row each)."""

    friends: Float  # NaN: unknown
    kol: Bool
    one_way: Bool
    nps: Float  # NaN: not answered
    promotion: Float  # chance that an order is on promotion
    mix: npt.NDArray[np.float32]  # cumulative interaction-type shares, one row per customer
    urgent: Float  # chance that a message carries an urgent keyword
    important: Float  # chance that a message carries a contract/payment/complaint keyword


def habits_of(rng: np.random.Generator, fading: Bool, loyal: Bool) -> Habits:
    """Draw the habits of customers who are ``fading`` (decline, dormant) or ``loyal`` buyers."""
    n = len(fading)
    friends = np.minimum(np.rint(np.exp(rng.normal(np.log(160.0), 1.1, n))), 10_000.0)
    friends[rng.random(n) < 0.05] = np.nan
    kol = rng.random(n) < np.where(friends > 1000, 0.25, 0.03)
    one_way = rng.random(n) < np.where(fading, 0.45, 0.20)
    answered = rng.random(n) < np.where(loyal, 0.45, 0.22)
    nps = np.where(answered, np.rint(100 * rng.beta(4.0, 1.6, n)), np.nan)
    promotion = np.where(rng.random(n) < 0.12, 1.0, rng.beta(1.2, 3.5, n))
    weights = rng.gamma(_CONCENTRATION * np.asarray(INTERACTION_SHARES), size=(n, 5))
    weights[one_way, _GROUP_CHAT] *= 0.1
    weights[nps > 80, _SHARE] *= 2.5
    mix = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1).astype(np.float32)
    urgent = np.where(rng.random(n) < 0.05, 0.5, 0.01)
    important = np.where(rng.random(n) < 0.10, 0.35, 0.03)
    return Habits(friends, kol, one_way, nps, promotion, mix, urgent, important)


def _numbers(values: Float) -> pa.Array:
    """Whole numbers as text, null where NaN."""
    missing = np.isnan(values)
    ints = pa.array(np.where(missing, 0, values).astype(np.int64), mask=missing)
    return pc.cast(ints, pa.string())


def social_columns(habits: Habits, yes_no: Sequence[str], follow: Sequence[str]) -> list[pa.Array]:
    """好友数, 网络中有KOL, 关注方式 (mutual / one-way), NPS评分 columns."""
    words = pa.array(list(yes_no), type=pa.string())
    ways = pa.array(list(follow), type=pa.string())
    return [
        _numbers(habits.friends),
        words.take(pa.array(habits.kol.astype(np.int64))),
        ways.take(pa.array(habits.one_way.astype(np.int64))),
        _numbers(habits.nps),
    ]


def interaction_kinds(
    rng: np.random.Generator, habits: Habits, who: Int, names: Sequence[str]
) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Each interaction's type, and its urgent and important keyword counts (messages only)."""
    m = len(who)
    u = rng.random(m, dtype=np.float32)
    kind = np.minimum((u[:, None] > habits.mix[who, :-1]).sum(axis=1), len(names) - 1)
    message = kind == _MESSAGE
    counts = []
    for chance in (habits.urgent, habits.important):
        hit = message & (rng.random(m) < chance[who])
        count = np.where(hit, 1 + rng.poisson(0.3, m), 0).astype(np.float64)
        counts.append(_numbers(np.where(message, count, np.nan)))
    types = pa.array(list(names), type=pa.string()).take(pa.array(kind.astype(np.int64)))
    return types, counts[0], counts[1]
