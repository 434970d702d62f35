"""Demo personas: lifecycle, value tier and activity of each customer, their spend and
registration, drawn so that every seed segment occurs with a reasonable share."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from privseg.demo import places, vocab
from privseg.demo.text import (
    DAY,
    WINDOW,
    WINDOWS,
    Bool,
    Int,
    SpendArray,
    between,
    calendar_bytes,
    log_uniform,
    pick,
)


class Life(IntEnum):
    INTRODUCTION = 0
    DORMANT = 1
    GROWTH = 2
    MATURE = 3
    DECLINE = 4
    OCCASIONAL = 5


class _Tier(IntEnum):
    PLATINUM = 0
    GOLD = 1
    SILVER = 2
    BRONZE = 3
    NONE = 4


class ActivityLevel(IntEnum):
    HIGH = 0
    MEDIUM = 1
    LOW = 2
    SILENT = 3


_LIFE_SHARES = (0.04, 0.06, 0.12, 0.18, 0.27, 0.33)


#: tier shares per lifecycle persona (rows in Life order, columns in _Tier order)
_TIER_SHARES = np.array(
    [
        [0, 0, 0, 0, 1],
        [0, 0, 0, 0, 1],
        [0.06, 0.15, 0.45, 0.14, 0.20],
        [0.06, 0.18, 0.56, 0.00, 0.20],
        [0, 0, 0, 0.40, 0.60],
        [0, 0, 0, 0.45, 0.55],
    ]
)


#: active 30-day windows (min, max) for growth and mature customers, per tier
_DEPTH = {
    Life.GROWTH: ((12, 18), (2, 3), (12, 18), (2, 2), (2, 4)),
    Life.MATURE: ((12, 20), (3, 7), (12, 20), (3, 6), (3, 6)),
}


#: (first window, end window (exclusive), least, most): each tier's target for the summed spend
#: of those windows, drawn log-uniformly
_TARGETS = {
    _Tier.PLATINUM: (0, 12, 120_000.0, 600_000.0),
    _Tier.GOLD: (0, 3, 12_000.0, 30_000.0),
    _Tier.SILVER: (0, 12, 8_500.0, 22_000.0),
    _Tier.BRONZE: (0, WINDOWS, 20.0, 470.0),
    _Tier.NONE: (0, WINDOWS, 520.0, 5_500.0),
}


#: mean extra orders per active window, per tier
EXTRA_ORDERS = (2.0, 1.2, 0.5, 0.2, 0.4)


#: activity shares for recently active, fading, and new customers
ACTIVITY_SHARES = {
    "active": (0.16, 0.36, 0.24, 0.24),
    "fading": (0.03, 0.15, 0.27, 0.55),
    "new": (0.20, 0.40, 0.30, 0.10),
}


_RELIGION_SHARES = [share for _, _, share in vocab.RELIGIONS]


@dataclass
class People:
    """Per-customer latent state shared by the three tables (numpy arrays, one row each)."""

    life: Int
    tier: Int
    city: Int
    district: Int
    birth_day: Int
    birth_text: npt.NDArray[np.uint8]
    birth_year: Int
    male: Bool
    religion: Int
    registered: Int


def draw_people(rng: np.random.Generator, n: int, as_of_s: int) -> People:
    life = pick(rng, n, _LIFE_SHARES)
    cum = np.cumsum(_TIER_SHARES, axis=1)[life]
    tier = (rng.random(n)[:, None] >= cum[:, :-1]).sum(axis=1).astype(np.int64)
    city = pick(rng, n, [c.weight for c in places.CITIES])
    counts = np.array([len(c.districts) for c in places.CITIES])
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    district = offsets[city] + np.floor(rng.random(n) * counts[city]).astype(np.int64)
    # ages: 4% under 14, 3% aged 14-17, the rest adults skewed young
    kind = pick(rng, n, (0.04, 0.03, 0.93))
    age = np.select(
        [kind == 0, kind == 1],
        [rng.uniform(3.0, 13.95, n), rng.uniform(14.05, 17.99, n)],
        18.0 + 57.0 * rng.beta(2.0, 3.5, n),
    )
    birth_day = as_of_s // DAY - np.floor(age * 365.2425).astype(np.int64)
    birth_text, birth_year = calendar_bytes(birth_day)
    return People(
        life=life,
        tier=tier,
        city=city,
        district=district,
        birth_day=birth_day,
        birth_text=birth_text,
        birth_year=birth_year,
        male=rng.random(n) < 0.48,
        religion=pick(rng, n, [*_RELIGION_SHARES, 1.0 - sum(_RELIGION_SHARES)]),
        registered=np.zeros(n, dtype=np.int64),
    )


def draw_spend(rng: np.random.Generator, people: People) -> SpendArray:
    """Spend per customer and 30-day window (column 0 = the window ending at ``as_of``)."""
    n = len(people.life)
    life, tier = people.life, people.tier
    w = np.arange(WINDOWS)
    start = np.zeros(n, dtype=np.int64)
    depth = np.zeros(n, dtype=np.int64)
    for lc, ranges in _DEPTH.items():
        for t, (lo, hi) in enumerate(ranges):
            rows = (life == lc) & (tier == t)
            depth[rows] = between(rng, lo, hi, int(rows.sum()))
    decline = life == Life.DECLINE
    start[decline] = between(rng, 7, 30, int(decline.sum()))
    depth[decline] = between(rng, 1, 6, int(decline.sum()))
    active = (w >= start[:, None]) & (w < (start + depth)[:, None])
    # occasional buyers: 1-3 random windows within the last year
    occ = np.flatnonzero(life == Life.OCCASIONAL)
    draws = rng.random((len(occ), 12))
    k = between(rng, 1, 3, len(occ))
    cut = np.sort(draws, axis=1)[np.arange(len(occ)), k - 1]
    active[occ, :12] = draws <= cut[:, None]

    # window-to-window variation: +-7% for mature, 0.85-1.0 below a 1.5-3x last window for growth
    low = np.select([life == Life.MATURE, life == Life.GROWTH], [0.93, 0.85], 0.3)
    high = np.select([life == Life.MATURE, life == Life.GROWTH], [1.07, 1.0], 1.7)
    jitter = rng.random((n, WINDOWS), dtype=np.float32)
    jitter *= (high - low)[:, None].astype(np.float32)
    jitter += low[:, None].astype(np.float32)
    growth = life == Life.GROWTH
    jitter[growth, 0] = rng.uniform(1.5, 3.0, int(growth.sum()))
    rel = np.where(active, jitter, np.float32(0.0))

    scale = np.zeros(n)
    for t, (first, last, least, most) in _TARGETS.items():
        rows = (tier == t) & active.any(axis=1)
        size = int(rows.sum())
        target = log_uniform(rng, least, most, size)
        scale[rows] = target / rel[rows, first:last].sum(axis=1, dtype=np.float64)
    return rel * scale[:, None].astype(np.float32)


def draw_registration(
    rng: np.random.Generator, people: People, spend: SpendArray, as_of_s: int
) -> Int:
    """Registration time: before the first order, recent for introduction customers."""
    n = len(people.life)
    buyer = spend.any(axis=1)
    first = WINDOWS - 1 - np.argmax(spend[:, ::-1] > 0, axis=1)
    before_first = as_of_s - first * WINDOW - 28 * DAY - between(rng, DAY // 10, 45 * DAY, n)
    new = as_of_s - between(rng, 3600, int(6.5 * DAY), n)
    old = as_of_s - between(rng, 8 * DAY, 1400 * DAY, n)
    return np.where(buyer, before_first, np.where(people.life == Life.INTRODUCTION, new, old))
