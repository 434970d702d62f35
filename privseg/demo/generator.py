"""Built-in synthetic WeCom customer data: deterministic for a seed, generated offline.

Three tables joined on 外部联系人ID (external_userid), the privacy unit: customers, orders and
interactions. Each customer is drawn from personas so that every seed segment of the design
occurs relative to ``as_of`` with a reasonable share:

- lifecycle: introduction (registered < 7 days ago, no order), growth (last 30-day window spends
  >= 1.5x the one before), mature (3+ consecutive 30-day windows within +-7%), decline (last
  order more than 210 days ago), plus occasional buyers and registered non-buyers;
- value tier: platinum (> 120,000 in the last 360 days), gold (> 12,000 in the last 90 days,
  < 100,000 a year), silver (> 700 in every one of the last 12 months, < 10,000 a quarter),
  bronze (< 500 lifetime), plus customers in none of them;
- activity: high (>= 16 interactions in the last 28 days), medium, low, silent (none in the
  last 120 days).

Orders fall on days 3-27 of each 30-day window counted back from ``as_of``, so calendar-month
and rolling-window readings of the rules agree. Every column is text (pandas ``str``; missing
values are NA), exactly as ``privseg.io.read_table`` reads the written CSV back. Generation is
vectorized with numpy and pyarrow (no Python loop runs per customer or per order) and draws
customers in blocks of 100,000, each from its own random stream spawned from the seed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa

from privseg.demo import vocab
from privseg.demo.customers import customer_columns, external_userids, id_check
from privseg.demo.habits import habits_of, interaction_kinds, social_columns
from privseg.demo.people import (
    ACTIVITY_SHARES,
    EXTRA_ORDERS,
    ActivityLevel,
    Life,
    People,
    draw_people,
    draw_registration,
    draw_spend,
)
from privseg.demo.tables import (
    CUSTOMER_COLUMNS,
    FOLLOW,
    INTERACTION_COLUMNS,
    INTERACTION_TYPES,
    ORDER_COLUMNS,
    YES_NO,
    ZH_HEADERS,
    Lang,
)
from privseg.demo.text import (
    DAY,
    FOUR,
    WINDOW,
    WINDOWS,
    Bytes,
    Float,
    Int,
    SpendArray,
    ascii_array,
    between,
    datetimes,
    digit_bytes,
    join_text,
    pick,
    random_chars,
    take_text,
    text_array,
)
from privseg.errors import InputError
from privseg.publish import Staging, staged

__all__ = [
    "DEMO_AS_OF",
    "ZH_HEADERS",
    "DemoData",
    "Lang",
    "generate",
    "write_demo_data",
]

#: The reference date of the demo data; segments are computed relative to it.
DEMO_AS_OF = date(2026, 6, 30)


@dataclass(frozen=True, eq=False)
class DemoData:
    """The three demo tables; every column is text. Unpacks in file order.

    >>> from privseg.demo.generator import generate
    >>> customers, orders, interactions = generate(100, seed=0)
    >>> len(customers), list(orders.columns)
    (100, ['订单号', '外部联系人ID', '下单时间', '金额', '商品SKU', '是否促销'])
    >>> generate(100, seed=0).customers.equals(customers)  # the same seed, the same data
    True
    """

    NAMES: ClassVar[tuple[str, str, str]] = ("customers", "orders", "interactions")

    customers: pd.DataFrame
    orders: pd.DataFrame
    interactions: pd.DataFrame

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables by file stem: customers, orders, interactions."""
        return {name: getattr(self, name) for name in self.NAMES}

    def __iter__(self) -> Iterator[pd.DataFrame]:
        return iter(self.tables().values())


def generate(
    customers: int = 20_000,
    *,
    seed: int = 0,
    lang: Lang = Lang.ZH,
    as_of: date = DEMO_AS_OF,
) -> DemoData:
    """Generate the demo tables for ``customers`` customers; the same seed gives the same data."""
    if customers < 1:
        raise ValueError("customers must be at least 1")
    lang = Lang(lang)
    as_of_s = int((np.datetime64(as_of, "D") - np.datetime64(0, "D")).astype(np.int64)) * DAY
    sizes = [min(_CHUNK, customers - start) for start in range(0, customers, _CHUNK)]
    streams = np.random.SeedSequence(seed).spawn(len(sizes))
    chunks: list[tuple[list[pa.Array], list[pa.Array], list[pa.Array]]] = []
    orders = 0
    for size, stream in zip(sizes, streams, strict=True):
        # the social and service fields come from a child stream: the older columns stay the
        # same for a seed
        rngs = np.random.default_rng(stream), np.random.default_rng(stream.spawn(1)[0])
        chunks.append(_chunk(rngs, size, lang, as_of_s, orders))
        orders += len(chunks[-1][1][0])
    return DemoData(
        customers=_frame(CUSTOMER_COLUMNS, lang, [c[0] for c in chunks]),
        orders=_frame(ORDER_COLUMNS, lang, [c[1] for c in chunks]),
        interactions=_frame(INTERACTION_COLUMNS, lang, [c[2] for c in chunks]),
    )


def _chunk(
    rngs: tuple[np.random.Generator, np.random.Generator],
    n: int,
    lang: Lang,
    as_of_s: int,
    first_order: int,
) -> tuple[list[pa.Array], list[pa.Array], list[pa.Array]]:
    """Columns of the three tables for ``n`` customers drawn from two random streams."""
    rng, extra = rngs
    people = draw_people(rng, n, as_of_s)
    spend = draw_spend(rng, people)
    people.registered = draw_registration(rng, people, spend, as_of_s)
    ids = external_userids(rng, n)
    fading = np.isin(people.life, [Life.DECLINE, Life.DORMANT])
    habits = habits_of(extra, fading, np.isin(people.life, [Life.GROWTH, Life.MATURE]))
    customers = customer_columns(rng, people, ids, lang)
    orders, buyer = _order_columns(rng, spend, people, ids, as_of_s, first_order)
    promotion = extra.random(len(buyer)) < habits.promotion[buyer]
    (unit, when), who = _interaction_columns(rng, people, ids, as_of_s)
    kind, urgent, important = interaction_kinds(extra, habits, who, INTERACTION_TYPES[lang])
    return (
        customers + social_columns(habits, YES_NO[lang], FOLLOW[lang]),
        [*orders, take_text(YES_NO[lang], promotion.astype(np.int64))],
        [unit, kind, when, urgent, important],
    )


def write_demo_data(
    outdir: str | Path,
    customers: int = 20_000,
    *,
    seed: int = 0,
    lang: Lang = Lang.ZH,
    as_of: date = DEMO_AS_OF,
    overwrite: bool = False,
    staging: Staging | None = None,
) -> dict[str, Path]:
    """Generate and write ``customers.csv``, ``orders.csv``, ``interactions.csv`` (UTF-8),
    staged in ``staging`` (published by its owner) or published together at the end.

    Refuses (``InputError``) when one of them exists, unless ``overwrite`` is true.

    >>> sorted(privseg.write_demo_data("demo", 100))
    ['customers', 'interactions', 'orders']
    >>> privseg.write_demo_data("demo", 100)
    Traceback (most recent call last):
    privseg.errors.InputError: demo: customers.csv, orders.csv, interactions.csv already exist ...
    """
    from privseg.io import make_parent, write_table

    paths = {name: Path(outdir) / f"{name}.csv" for name in DemoData.NAMES}
    existing = [p.name for p in paths.values() if p.exists()]
    if existing and not overwrite:
        raise InputError(
            f"{', '.join(existing)} already exist here; choose another folder or pass --force"
            " to overwrite",
            source=outdir,
        )
    make_parent(paths["customers"])
    data = generate(customers, seed=seed, lang=lang, as_of=as_of)
    with staged(staging) as files:
        for name, df in data.tables().items():
            write_table(df, files.path(paths[name]))
    return paths


#: customers per random stream: bounds memory and keeps temporaries small
_CHUNK = 100_000


def _order_ids(rng: np.random.Generator, m: int, first: int) -> pa.Array:
    """Unique 18-digit order ids whose last digit is NOT the resident-ID check character.

    Digits 1-8 are random (the first not 0); digits 9-17 are a bijective scramble of the row number, so ids are
    unique for up to 10**9 orders; ``first`` is the number of orders drawn before this chunk.
    """
    if first + m > 10**9:
        raise ValueError("too many orders for unique 18-digit order ids")
    scramble = (np.arange(first, first + m, dtype=np.int64) * 387_420_489 + 123_456_789) % 10**9
    digits = np.concatenate(
        [
            random_chars(rng, m, 1, b"123456789"),
            random_chars(rng, m, 7, b"0123456789"),
            digit_bytes(scramble, 9),
        ],
        axis=1,
    )
    right = id_check(digits)
    wrong = np.where(right == 10, rng.integers(0, 10, m), (right + rng.integers(1, 10, m)) % 10)
    return ascii_array(m, digits, (wrong + 48).astype(np.uint8)[:, None])


def _skus() -> list[str]:
    catalog = np.random.default_rng(2026).choice(10_000, size=25, replace=False)
    return [f"{p}-{c:04d}" for p in vocab.SKU_PREFIXES for c in sorted(catalog)]


def _order_columns(
    rng: np.random.Generator,
    spend: SpendArray,
    people: People,
    ids: Bytes,
    as_of_s: int,
    first_order: int,
) -> tuple[list[pa.Array], Int]:
    """Orders grouped by customer, oldest window first; each active window splits into 1-5.

    Returns the columns up to the SKU, and the customer of each order.
    """
    customer, back = np.nonzero(spend[:, ::-1])
    window = WINDOWS - 1 - back
    per_cell = 1 + np.minimum(rng.poisson(np.array(EXTRA_ORDERS)[people.tier[customer]]), 4)
    cell = np.repeat(np.arange(len(customer)), per_cell)
    m = len(cell)
    weight = rng.random(m) + 0.25
    weight /= np.bincount(cell, weights=weight)[cell]
    cents = np.maximum(np.rint(spend[customer, window][cell] * weight * 100), 100).astype(np.int64)
    when = as_of_s - window[cell] * WINDOW - between(rng, 3 * DAY, 27 * DAY, m)
    skus = _skus()
    popularity: Float = 1.0 / np.arange(1, len(skus) + 1, dtype=np.float64) ** 1.1
    sku = take_text(skus, rng.permutation(len(skus))[pick(rng, m, popularity)])
    amount = join_text(text_array(cents // 100), ".", ascii_array(m, FOUR[cents % 100][:, 2:]))
    return [
        _order_ids(rng, m, first_order),
        ascii_array(m, ids[customer[cell]]),
        datetimes(when),
        amount,
        sku,
    ], customer[cell]


#: (days back the recent burst spans, fewest, most) per activity level
_BURSTS = {
    ActivityLevel.HIGH: (28, 16, 40),
    ActivityLevel.MEDIUM: (56, 4, 23),
    ActivityLevel.LOW: (90, 1, 3),
    ActivityLevel.SILENT: (90, 0, 0),
}


def _interaction_columns(
    rng: np.random.Generator, people: People, ids: Bytes, as_of_s: int
) -> tuple[list[pa.Array], Int]:
    """The unit and time of each interaction, and its customer (types come from habits)."""
    n = len(people.life)
    fading = np.isin(people.life, [Life.DECLINE, Life.DORMANT])
    new = people.life == Life.INTRODUCTION
    activity = np.select(
        [fading, new],
        [pick(rng, n, ACTIVITY_SHARES["fading"]), pick(rng, n, ACTIVITY_SHARES["new"])],
        pick(rng, n, ACTIVITY_SHARES["active"]),
    )
    span, fewest, most = np.array([_BURSTS[a] for a in ActivityLevel]).T[:, activity]
    span = span * DAY
    count = between(rng, fewest, most, n)
    older = between(rng, 0, 5, n)
    # recent burst within [as_of - span, as_of); older history within [as_of - 720d, as_of - 120d),
    # both after registration
    recent_lo = np.maximum(as_of_s - span, people.registered)
    older_lo = np.maximum(as_of_s - 720 * DAY, people.registered)
    recent = np.where(recent_lo < as_of_s - 60, count, 0)
    older = np.where(older_lo < as_of_s - 120 * DAY, older, 0)
    # grouped by customer: each customer's older history, then the recent burst
    who = np.repeat(np.arange(n), older + recent)
    position = np.arange(len(who)) - np.repeat(
        np.cumsum(older + recent) - older - recent, older + recent
    )
    is_recent = position >= older[who]
    lo = np.where(is_recent, recent_lo[who], older_lo[who])
    hi = np.where(is_recent, as_of_s - 60, as_of_s - 120 * DAY)
    when = lo + np.floor(rng.random(len(who)) * (hi - lo)).astype(np.int64)
    return [ascii_array(len(who), ids[who]), datetimes(when)], who


def _frame(
    columns: Sequence[tuple[str, str]], lang: Lang, chunks: Sequence[Sequence[pa.Array]]
) -> pd.DataFrame:
    headers = [en if lang is Lang.EN else zh for en, zh in columns]
    return pd.DataFrame(
        {
            header: pd.array(pa.chunked_array([c[i] for c in chunks]), dtype="str")
            for i, header in enumerate(headers)
        }
    )
