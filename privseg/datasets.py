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

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import IntEnum, StrEnum
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from privseg import _demo_vocab as vocab
from privseg._demo_habits import habits_of, interaction_kinds, social_columns
from privseg.errors import InputError

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


class Lang(StrEnum):
    """Language of headers and categorical values."""

    ZH = "zh"
    EN = "en"


_CUSTOMER_COLUMNS = (
    ("external_userid", "外部联系人ID"),
    ("unionid", "unionid"),
    ("openid", "openid"),
    ("name", "姓名"),
    ("mobile", "手机号"),
    ("email", "邮箱"),
    ("id_number", "身份证号"),
    ("gender", "性别"),
    ("birth_date", "出生日期"),
    ("province", "省份"),
    ("city", "城市"),
    ("address", "详细地址"),
    ("registered_at", "注册时间"),
    ("channel", "渠道来源"),
    ("tags", "企业标签"),
    ("religion", "宗教信仰"),
    ("face_photo", "人脸照片"),
    ("face_embedding", "人脸特征"),
    ("bank_card", "银行卡号"),
    ("last_location", "最近位置"),
    ("last_login_ip", "最近登录IP"),
    ("remark", "备注"),
    ("friend_count", "好友数"),
    ("kol_in_network", "网络中有KOL"),
    ("follow_direction", "关注方式"),
    ("nps_score", "NPS评分"),
)
_ORDER_COLUMNS = (
    ("order_id", "订单号"),
    ("external_userid", "外部联系人ID"),
    ("ordered_at", "下单时间"),
    ("amount", "金额"),
    ("sku", "商品SKU"),
    ("promotion", "是否促销"),
)
_INTERACTION_COLUMNS = (
    ("external_userid", "外部联系人ID"),
    ("interaction_type", "互动类型"),
    ("occurred_at", "互动时间"),
    ("urgent_keywords", "紧急词数"),
    ("important_keywords", "重要词数"),
)

#: English column name -> Chinese header, for all three tables.
ZH_HEADERS: Mapping[str, str] = dict(_CUSTOMER_COLUMNS + _ORDER_COLUMNS + _INTERACTION_COLUMNS)

_GENDERS = {Lang.ZH: ("女", "男"), Lang.EN: ("female", "male")}
_CHANNELS = {
    Lang.ZH: ("渠道活码", "公众号", "小程序", "线下活动", "口碑推荐"),
    Lang.EN: ("qr_code", "official_account", "mini_program", "offline_event", "referral"),
}
_CHANNEL_SHARES = (0.30, 0.25, 0.25, 0.10, 0.10)
_INTERACTION_TYPES = {
    Lang.ZH: ("消息", "点击", "分享", "浏览商品页", "群聊发言"),
    Lang.EN: ("message", "click", "share", "page_view", "group_chat"),
}
_YES_NO = {Lang.ZH: ("否", "是"), Lang.EN: ("no", "yes")}
_FOLLOW = {Lang.ZH: ("双向", "单向"), Lang.EN: ("mutual", "one_way")}


@dataclass(frozen=True, eq=False)
class DemoData:
    """The three demo tables; every column is text."""

    customers: pd.DataFrame
    orders: pd.DataFrame
    interactions: pd.DataFrame

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables by file stem: customers, orders, interactions."""
        return {
            "customers": self.customers,
            "orders": self.orders,
            "interactions": self.interactions,
        }


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
    as_of_s = int((np.datetime64(as_of, "D") - np.datetime64(0, "D")).astype(np.int64)) * _DAY
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
        customers=_frame(_CUSTOMER_COLUMNS, lang, [c[0] for c in chunks]),
        orders=_frame(_ORDER_COLUMNS, lang, [c[1] for c in chunks]),
        interactions=_frame(_INTERACTION_COLUMNS, lang, [c[2] for c in chunks]),
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
    people = _people(rng, n, as_of_s)
    spend = _spend(rng, people)
    people.registered = _registration(rng, people, spend, as_of_s)
    ids = _external_userids(rng, n)
    fading = np.isin(people.life, [_Life.DECLINE, _Life.DORMANT])
    habits = habits_of(extra, fading, np.isin(people.life, [_Life.GROWTH, _Life.MATURE]))
    customers = _customer_columns(rng, people, ids, lang)
    orders, buyer = _order_columns(rng, spend, people, ids, as_of_s, first_order)
    promotion = extra.random(len(buyer)) < habits.promotion[buyer]
    (unit, when), who = _interaction_columns(rng, people, ids, as_of_s)
    kind, urgent, important = interaction_kinds(extra, habits, who, _INTERACTION_TYPES[lang])
    return (
        customers + social_columns(habits, _YES_NO[lang], _FOLLOW[lang]),
        [*orders, _take(_YES_NO[lang], promotion.astype(np.int64))],
        [unit, kind, when, urgent, important],
    )


def write_demo_data(
    outdir: str | Path,
    customers: int = 20_000,
    *,
    seed: int = 0,
    lang: Lang = Lang.ZH,
    as_of: date = DEMO_AS_OF,
) -> dict[str, Path]:
    """Generate and write ``customers.csv``, ``orders.csv``, ``interactions.csv`` (UTF-8)."""
    from privseg.io import write_table

    folder = Path(outdir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(
            f"cannot create the output folder ({error.strerror})", source=folder
        ) from None
    data = generate(customers, seed=seed, lang=lang, as_of=as_of)
    return {name: write_table(df, folder / f"{name}.csv") for name, df in data.tables().items()}


# --------------------------------------------------------------------------- text building

_DAY = 86_400
_WINDOW = 30 * _DAY
_WINDOWS = 48
#: customers per random stream: bounds memory and keeps temporaries small
_CHUNK = 100_000
_Int = npt.NDArray[np.int64]
_Float = npt.NDArray[np.float64]
_Spend = npt.NDArray[np.float32]
_Bytes = npt.NDArray[np.uint8]
_Bool = npt.NDArray[np.bool_]
_Part = npt.NDArray[np.uint8] | bytes
_ALNUM = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_B64URL = _ALNUM + b"-_"
_HEX = b"0123456789abcdef"


_FOUR = np.array([list(f"{i:04d}".encode()) for i in range(10_000)], dtype=np.uint8)


def _digits(values: npt.NDArray[np.integer], width: int) -> npt.NDArray[np.uint8]:
    """ASCII digits of non-negative integers, zero-padded to ``width`` (one row per value)."""
    x = values.astype(np.int64)
    groups = []
    for _ in range(-(-width // 4)):
        groups.append(_FOUR[x % 10_000])
        x = x // 10_000
    return np.concatenate(groups[::-1], axis=1)[:, -width:]


def _chars(rng: np.random.Generator, n: int, k: int, alphabet: bytes) -> npt.NDArray[np.uint8]:
    """Random characters from ``alphabet`` (random bytes modulo its size: a negligible bias)."""
    table = np.frombuffer(alphabet, dtype=np.uint8)
    draws = np.frombuffer(rng.bytes(n * k), dtype=np.uint8).reshape(n, k)
    return table[draws % len(table)]


def _bytes(n: int, *parts: _Part) -> npt.NDArray[np.uint8]:
    """Concatenate fixed-width byte blocks (constants broadcast) into an ``(n, width)`` matrix."""
    if len(parts) == 1 and not isinstance(parts[0], bytes):
        return np.ascontiguousarray(parts[0])
    blocks = [
        np.broadcast_to(np.frombuffer(p, dtype=np.uint8), (n, len(p)))
        if isinstance(p, bytes)
        else p
        for p in parts
    ]
    return np.ascontiguousarray(np.concatenate(blocks, axis=1))


def _ascii(n: int, *parts: _Part) -> pa.Array:
    """One ASCII string per row from fixed-width byte blocks, without copying into Python."""
    mat = _bytes(n, *parts)
    width = mat.shape[1]
    large = n * width >= 2**31
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int64 if large else np.int32)
    kind = pa.large_string() if large else pa.string()
    return pa.Array.from_buffers(kind, n, [None, pa.py_buffer(offsets), pa.py_buffer(mat)])


def _join(*parts: pa.Array | str) -> pa.Array:
    """Concatenate string arrays element-wise; a null part makes the row null."""
    return pc.binary_join_element_wise(*parts, "")


def _take(values: Sequence[str], index: npt.NDArray[np.integer]) -> pa.Array:
    return pa.array(list(values), type=pa.string()).take(pa.array(index))


def _text(values: npt.NDArray[np.integer]) -> pa.Array:
    return pc.cast(pa.array(values), pa.string())


def _only(values: pa.Array, keep: _Bool) -> pa.Array:
    """``values`` where ``keep``, null elsewhere."""
    return pc.if_else(pa.array(keep), values, pa.scalar(None, values.type))


def _choose(values: pa.Array, where: _Bool, other: pa.Array) -> pa.Array:
    return pc.if_else(pa.array(where), values, other)


def _calendar(days: _Int) -> tuple[npt.NDArray[np.uint8], _Int]:
    """``YYYY-MM-DD`` bytes and the year of each day number, through a table of the span."""
    first = int(days.min()) if len(days) else 0
    span = np.arange(first, (int(days.max()) if len(days) else 0) + 1).astype("datetime64[D]")
    text = np.frombuffer(span.astype("S10").tobytes(), dtype=np.uint8).reshape(-1, 10)
    years = span.astype("datetime64[Y]").astype(np.int64) + 1970
    return text[days - first], years[days - first]


@functools.cache
def _clock() -> npt.NDArray[np.uint8]:
    """``HH:MM:SS`` bytes for every second of a day."""
    sod = np.arange(_DAY)
    return _bytes(
        _DAY,
        _FOUR[sod // 3600][:, 2:],
        b":",
        _FOUR[sod // 60 % 60][:, 2:],
        b":",
        _FOUR[sod % 60][:, 2:],
    )


def _datetimes(secs: _Int) -> pa.Array:
    """``YYYY-MM-DD HH:MM:SS`` for seconds since the epoch."""
    days, sod = np.divmod(secs, _DAY)
    return _ascii(len(secs), _calendar(days)[0], b" ", _clock()[sod])


def _pick(rng: np.random.Generator, n: int, shares: Sequence[float] | _Float) -> _Int:
    p = np.asarray(shares, dtype=np.float64)
    return rng.choice(len(p), size=n, p=p / p.sum()).astype(np.int64)


def _between(rng: np.random.Generator, lo: _Int | int, hi: _Int | int, n: int) -> _Int:
    """Uniform integers in [lo, hi] (inclusive, per row)."""
    lo_a = np.asarray(lo, dtype=np.int64)
    hi_a = np.asarray(hi, dtype=np.int64)
    return lo_a + np.floor(rng.random(n) * (hi_a - lo_a + 1)).astype(np.int64)


def _log_uniform(rng: np.random.Generator, least: float, most: float, n: int) -> _Float:
    return np.exp(rng.uniform(np.log(least), np.log(most), n))


# --------------------------------------------------------------------------- personas


class _Life(IntEnum):
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


class _Activity(IntEnum):
    HIGH = 0
    MEDIUM = 1
    LOW = 2
    SILENT = 3


_LIFE_SHARES = (0.04, 0.06, 0.12, 0.18, 0.27, 0.33)
#: tier shares per lifecycle persona (rows in _Life order, columns in _Tier order)
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
    _Life.GROWTH: ((12, 18), (2, 3), (12, 18), (2, 2), (2, 4)),
    _Life.MATURE: ((12, 20), (3, 7), (12, 20), (3, 6), (3, 6)),
}
#: (first window, end window (exclusive), least, most): each tier's target for the summed spend
#: of those windows, drawn log-uniformly
_TARGETS = {
    _Tier.PLATINUM: (0, 12, 120_000.0, 600_000.0),
    _Tier.GOLD: (0, 3, 12_000.0, 30_000.0),
    _Tier.SILVER: (0, 12, 8_500.0, 22_000.0),
    _Tier.BRONZE: (0, _WINDOWS, 20.0, 470.0),
    _Tier.NONE: (0, _WINDOWS, 520.0, 5_500.0),
}
#: mean extra orders per active window, per tier
_EXTRA_ORDERS = (2.0, 1.2, 0.5, 0.2, 0.4)
#: activity shares for recently active, fading, and new customers
_ACTIVITY_SHARES = {
    "active": (0.16, 0.36, 0.24, 0.24),
    "fading": (0.03, 0.15, 0.27, 0.55),
    "new": (0.20, 0.40, 0.30, 0.10),
}


_RELIGION_SHARES = [share for _, _, share in vocab.RELIGIONS]


@dataclass
class _People:
    """Per-customer latent state shared by the three tables (numpy arrays, one row each)."""

    life: _Int
    tier: _Int
    city: _Int
    district: _Int
    birth_day: _Int
    birth_text: npt.NDArray[np.uint8]
    birth_year: _Int
    male: _Bool
    religion: _Int
    registered: _Int


def _people(rng: np.random.Generator, n: int, as_of_s: int) -> _People:
    life = _pick(rng, n, _LIFE_SHARES)
    cum = np.cumsum(_TIER_SHARES, axis=1)[life]
    tier = (rng.random(n)[:, None] >= cum[:, :-1]).sum(axis=1).astype(np.int64)
    city = _pick(rng, n, [c.weight for c in vocab.CITIES])
    counts = np.array([len(c.districts) for c in vocab.CITIES])
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    district = offsets[city] + np.floor(rng.random(n) * counts[city]).astype(np.int64)
    # ages: 4% under 14, 3% aged 14-17, the rest adults skewed young
    kind = _pick(rng, n, (0.04, 0.03, 0.93))
    age = np.select(
        [kind == 0, kind == 1],
        [rng.uniform(3.0, 13.95, n), rng.uniform(14.05, 17.99, n)],
        18.0 + 57.0 * rng.beta(2.0, 3.5, n),
    )
    birth_day = as_of_s // _DAY - np.floor(age * 365.2425).astype(np.int64)
    birth_text, birth_year = _calendar(birth_day)
    return _People(
        life=life,
        tier=tier,
        city=city,
        district=district,
        birth_day=birth_day,
        birth_text=birth_text,
        birth_year=birth_year,
        male=rng.random(n) < 0.48,
        religion=_pick(rng, n, [*_RELIGION_SHARES, 1.0 - sum(_RELIGION_SHARES)]),
        registered=np.zeros(n, dtype=np.int64),
    )


def _spend(rng: np.random.Generator, people: _People) -> _Spend:
    """Spend per customer and 30-day window (column 0 = the window ending at ``as_of``)."""
    n = len(people.life)
    life, tier = people.life, people.tier
    w = np.arange(_WINDOWS)
    start = np.zeros(n, dtype=np.int64)
    depth = np.zeros(n, dtype=np.int64)
    for lc, ranges in _DEPTH.items():
        for t, (lo, hi) in enumerate(ranges):
            rows = (life == lc) & (tier == t)
            depth[rows] = _between(rng, lo, hi, int(rows.sum()))
    decline = life == _Life.DECLINE
    start[decline] = _between(rng, 7, 30, int(decline.sum()))
    depth[decline] = _between(rng, 1, 6, int(decline.sum()))
    active = (w >= start[:, None]) & (w < (start + depth)[:, None])
    # occasional buyers: 1-3 random windows within the last year
    occ = np.flatnonzero(life == _Life.OCCASIONAL)
    draws = rng.random((len(occ), 12))
    k = _between(rng, 1, 3, len(occ))
    cut = np.sort(draws, axis=1)[np.arange(len(occ)), k - 1]
    active[occ, :12] = draws <= cut[:, None]

    # window-to-window variation: +-7% for mature, 0.85-1.0 below a 1.5-3x last window for growth
    low = np.select([life == _Life.MATURE, life == _Life.GROWTH], [0.93, 0.85], 0.3)
    high = np.select([life == _Life.MATURE, life == _Life.GROWTH], [1.07, 1.0], 1.7)
    jitter = rng.random((n, _WINDOWS), dtype=np.float32)
    jitter *= (high - low)[:, None].astype(np.float32)
    jitter += low[:, None].astype(np.float32)
    growth = life == _Life.GROWTH
    jitter[growth, 0] = rng.uniform(1.5, 3.0, int(growth.sum()))
    rel = np.where(active, jitter, np.float32(0.0))

    scale = np.zeros(n)
    for t, (first, last, least, most) in _TARGETS.items():
        rows = (tier == t) & active.any(axis=1)
        size = int(rows.sum())
        target = _log_uniform(rng, least, most, size)
        scale[rows] = target / rel[rows, first:last].sum(axis=1, dtype=np.float64)
    return rel * scale[:, None].astype(np.float32)


def _registration(rng: np.random.Generator, people: _People, spend: _Spend, as_of_s: int) -> _Int:
    """Registration time: before the first order, recent for introduction customers."""
    n = len(people.life)
    buyer = spend.any(axis=1)
    first = _WINDOWS - 1 - np.argmax(spend[:, ::-1] > 0, axis=1)
    before_first = as_of_s - first * _WINDOW - 28 * _DAY - _between(rng, _DAY // 10, 45 * _DAY, n)
    new = as_of_s - _between(rng, 3600, int(6.5 * _DAY), n)
    old = as_of_s - _between(rng, 8 * _DAY, 1400 * _DAY, n)
    return np.where(buyer, before_first, np.where(people.life == _Life.INTRODUCTION, new, old))


# --------------------------------------------------------------------------- customers


def _external_userids(rng: np.random.Generator, n: int) -> _Bytes:
    """``wm`` (80%) or ``wo`` followed by 30 letters and digits, as an ``(n, 32)`` byte matrix."""
    prefix = np.where(rng.random(n) < 0.2, ord("o"), ord("m")).astype(np.uint8)[:, None]
    return _bytes(n, b"w", prefix, _chars(rng, n, 30, _ALNUM))


def _customer_columns(
    rng: np.random.Generator, people: _People, ids: _Bytes, lang: Lang
) -> list[pa.Array]:
    n = len(people.life)
    cities = vocab.CITIES
    gender = people.male.astype(np.int64)
    has_id = rng.random(n) < 0.7
    return [
        _ascii(n, ids),
        _only(_ascii(n, b"o", _chars(rng, n, 27, _B64URL)), rng.random(n) < 0.8),
        _only(_ascii(n, b"o", _chars(rng, n, 27, _B64URL)), rng.random(n) < 0.9),
        _only(_names(rng, people.male), rng.random(n) < 0.97),
        _only(_mobiles(rng, n), rng.random(n) < 0.92),
        _only(_emails(rng, people), rng.random(n) < 0.45),
        _only(_id_numbers(rng, people), has_id),
        _take(_GENDERS[lang], gender),
        _only(_ascii(n, people.birth_text), has_id | (rng.random(n) < 0.5)),
        _take([c.province for c in cities], people.city),
        _take([c.name for c in cities], people.city),
        _only(_addresses(rng, people), rng.random(n) < 0.85),
        _datetimes(people.registered),
        _take(_CHANNELS[lang], _pick(rng, n, _CHANNEL_SHARES)),
        _tags(rng, n),
        _religions(people.religion, lang),
        *_faces(rng, n),
        _only(_bank_cards(rng, n), rng.random(n) < 0.18),
        _only(_locations(rng, people), rng.random(n) < 0.3),
        _only(_ips(rng, n), rng.random(n) < 0.9),
        _remarks(rng, n, people.religion),
    ]


def _names(rng: np.random.Generator, male: _Bool) -> pa.Array:
    n = len(male)
    surname = _take([s for s, _, _ in vocab.SURNAMES], _pick(rng, n, _surname_weights()))
    pool = np.where(male, 0, 1)
    given_m, given_f = vocab.GIVEN_MALE, vocab.GIVEN_FEMALE
    first = _choose(
        _take(given_m, rng.integers(0, len(given_m), n)),
        pool == 0,
        _take(given_f, rng.integers(0, len(given_f), n)),
    )
    second = _choose(
        _take(given_m, rng.integers(0, len(given_m), n)),
        pool == 0,
        _take(given_f, rng.integers(0, len(given_f), n)),
    )
    two = rng.random(n) < 0.65
    return _choose(_join(surname, first, second), two, _join(surname, first))


def _surname_weights() -> list[float]:
    return [w for _, _, w in vocab.SURNAMES]


def _mobiles(rng: np.random.Generator, n: int) -> pa.Array:
    """11-digit mainland mobiles; formats vary: plain, +86, spaces, dashes."""
    prefixes = np.array(vocab.MOBILE_PREFIXES, dtype=np.int64)
    d = np.concatenate(
        [
            _digits(prefixes[rng.integers(0, len(prefixes), n)], 3),
            _digits(rng.integers(0, 10**8, n), 8),
        ],
        axis=1,
    )
    a, b, c = d[:, :3], d[:, 3:7], d[:, 7:]
    formats = [
        _ascii(n, d),
        _ascii(n, b"+86 ", a, b" ", b, b" ", c),
        _ascii(n, a, b"-", b, b"-", c),
        _ascii(n, a, b" ", b, b" ", c),
        _ascii(n, b"+86", d),
        _ascii(n, b"86-", d),
    ]
    which = _pick(rng, n, (0.70, 0.08, 0.08, 0.07, 0.05, 0.02))
    out = formats[0]
    for i in range(1, len(formats)):
        out = _choose(formats[i], which == i, out)
    return out


def _emails(rng: np.random.Generator, people: _People) -> pa.Array:
    n = len(people.life)
    qq = _join(_text(rng.integers(10**5, 10**10, n)), "@qq.com")
    pinyin = _take([p for _, p, _ in vocab.SURNAMES], _pick(rng, n, _surname_weights()))
    suffix = _choose(_text(people.birth_year), rng.random(n) < 0.5, _text(rng.integers(1, 1000, n)))
    domain = _take(vocab.EMAIL_DOMAINS, rng.integers(0, len(vocab.EMAIL_DOMAINS), n))
    return _choose(qq, rng.random(n) < 0.4, _join(pinyin, suffix, "@", domain))


_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)


def _id_check(body: npt.NDArray[np.uint8]) -> _Int:
    """ISO 7064 MOD 11-2 check value (10 means 'X') of 17 ASCII digits per row."""
    # exact in float32: the weighted sum of ASCII codes stays below 2**24
    total = np.rint(body.astype(np.float32) @ _ID_WEIGHTS.astype(np.float32)).astype(np.int64)
    total -= 48 * int(_ID_WEIGHTS.sum())
    return (12 - total % 11) % 11


def _check_char(value: _Int) -> npt.NDArray[np.uint8]:
    return np.where(value == 10, ord("X"), value + 48).astype(np.uint8)[:, None]


def _region_codes(people: _People) -> _Int:
    """The region code in force in the birth year: the district's, else the city's older code."""
    districts = [d for c in vocab.CITIES for d in c.districts]
    code = np.array([int(d.code) for d in districts])[people.district]
    valid_from = np.array([d.valid_from for d in districts])[people.district]
    mid = np.array([int(c.mid_code) for c in vocab.CITIES])[people.city]
    old = np.array([int(c.old_code) for c in vocab.CITIES])[people.city]
    year = people.birth_year
    return np.where(year >= valid_from, code, np.where(year >= 1983, mid, old))


def _id_numbers(rng: np.random.Generator, people: _People) -> pa.Array:
    n = len(people.life)
    sequence = rng.integers(0, 100, n) * 10 + 2 * rng.integers(0, 5, n) + people.male
    body = np.concatenate(
        [
            _digits(_region_codes(people), 6),
            people.birth_text[:, [0, 1, 2, 3, 5, 6, 8, 9]],
            _digits(sequence, 3),
        ],
        axis=1,
    )
    return _ascii(n, body, _check_char(_id_check(body)))


def _addresses(rng: np.random.Generator, people: _People) -> pa.Array:
    n = len(people.life)
    cities = vocab.CITIES
    city_part = [c.name if c.province == c.name else c.province + c.name for c in cities]
    prefix = _take(city_part, people.city)
    short = _take([c.name for c in cities], people.city)
    district = _take([d.name for c in cities for d in c.districts], people.district)
    street = _take(vocab.STREETS, rng.integers(0, len(vocab.STREETS), n))
    compound = _take(vocab.COMPOUNDS, rng.integers(0, len(vocab.COMPOUNDS), n))
    return _join(
        _choose(prefix, rng.random(n) < 0.7, short),
        district,
        street,
        _text(rng.integers(1, 400, n)),
        "号",
        compound,
        _text(rng.integers(1, 30, n)),
        "栋",
        _text(rng.integers(1, 33, n) * 100 + rng.integers(1, 9, n)),
        "室",
    )


@functools.cache
def _tag_sets() -> pa.Array:
    """Every combination of tags, indexed by its bit mask (null for none)."""
    combos = [
        ";".join(t for i, t in enumerate(vocab.TAGS) if c >> i & 1) or None
        for c in range(1 << len(vocab.TAGS))
    ]
    return pa.array(combos, type=pa.string())


def _tags(rng: np.random.Generator, n: int) -> pa.Array:
    """';'-separated enterprise tags (null when none)."""
    bits = rng.random((n, len(vocab.TAGS))) < np.array(vocab.TAG_PROBS)
    return _tag_sets().take(pa.array(bits @ (1 << np.arange(len(vocab.TAGS)))))


def _religions(religion: _Int, lang: Lang) -> pa.Array:
    """Religion names; the last index (no religion) becomes null."""
    names = [zh if lang is Lang.ZH else en for zh, en, _ in vocab.RELIGIONS]
    believer = religion < len(names)
    return _only(_take(names, np.where(believer, religion, 0)), believer)


def _spread(values: pa.Array, rows: _Int, n: int) -> pa.Array:
    """An ``n``-row array holding ``values`` at ``rows`` and nulls elsewhere."""
    index = np.zeros(n, dtype=np.int64)
    index[rows] = np.arange(len(rows))
    missing = np.ones(n, dtype=bool)
    missing[rows] = False
    return values.take(pa.array(index, mask=missing))


def _faces(rng: np.random.Generator, n: int) -> list[pa.Array]:
    """Face photo URL for 25% of customers and a 128-float embedding for 60% of those."""
    photo = rng.random(n) < 0.25
    url = _ascii(n, b"https://cdn.privseg-demo.cn/faces/", _chars(rng, n, 32, _HEX), b".jpg")
    rows = np.flatnonzero(photo & (rng.random(n) < 0.6))
    return [_only(url, photo), _spread(_embeddings(rng, len(rows)), rows, n)]


@functools.cache
def _decimals() -> npt.NDArray[np.uint8]:
    """7-byte renderings: ``0.ddddd`` for 0..99999, then ``-0.dddd`` for 0..9999."""
    positive = _bytes(100_000, b"0.", _digits(np.arange(100_000), 5))
    negative = _bytes(10_000, b"-0.", _FOUR)
    return np.concatenate([positive, negative])


def _embeddings(rng: np.random.Generator, m: int, dim: int = 128) -> pa.Array:
    """JSON arrays of ``dim`` unit-norm floats, e.g. ``[0.01234,-0.1042,...]`` (7 characters each)."""
    x = rng.standard_normal((m, dim), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    magnitude = np.abs(x)
    index = np.where(
        x < 0,
        100_000 + np.minimum(np.rint(magnitude * 1e4), 9_999).astype(np.int64),
        np.minimum(np.rint(magnitude * 1e5), 99_999).astype(np.int64),
    )
    cell = np.empty((m, dim, 8), dtype=np.uint8)
    cell[:, :, :7] = _decimals()[index]
    cell[:, :, 7] = ord(",")
    return _ascii(m, b"[", cell.reshape(m, dim * 8)[:, :-1], b"]")


def _bank_cards(rng: np.random.Generator, n: int) -> pa.Array:
    """Luhn-valid UnionPay cards (BIN 62...), 16-19 digits by issuer."""
    bins = np.array([int(b) for b, _ in vocab.CARD_BINS], dtype=np.int64)
    lengths = np.array([length for _, length in vocab.CARD_BINS], dtype=np.int64)
    which = rng.integers(0, len(bins), n)
    # right-aligned 18-digit body: zeros, BIN, random digits (leading zeros are trimmed below
    # and do not change the Luhn sum)
    pad = 19 - lengths[which]
    head = _digits(bins[which], 6)
    tail = _chars(rng, n, 18, b"0123456789")
    body = np.empty((n, 18), dtype=np.uint8)
    rows = np.arange(n)
    for j in range(18):
        in_bin = (j >= pad) & (j < pad + 6)
        from_bin = head[rows, np.clip(j - pad, 0, 5)]
        body[:, j] = np.where(j < pad, 48, np.where(in_bin, from_bin, tail[:, j]))
    digits = body.astype(np.int64) - 48
    doubled = digits[:, ::-2] * 2
    total = (doubled - 9 * (doubled > 9)).sum(axis=1) + digits[:, -2::-2].sum(axis=1)
    check = ((10 - total % 10) % 10 + 48).astype(np.uint8)[:, None]
    return pc.utf8_ltrim(_ascii(n, body, check), characters="0")


def _locations(rng: np.random.Generator, people: _People) -> pa.Array:
    """``lat,lon`` near the customer's city centre, 6 decimals."""
    n = len(people.life)
    lat = np.array([c.lat for c in vocab.CITIES])[people.city] + rng.normal(0, 0.04, n)
    lon = np.array([c.lon for c in vocab.CITIES])[people.city] + rng.normal(0, 0.05, n)
    lat_u = np.rint(lat * 1e6).astype(np.int64)
    lon_u = np.rint(lon * 1e6).astype(np.int64)
    return _ascii(
        n,
        _digits(lat_u // 10**6, 2),
        b".",
        _digits(lat_u % 10**6, 6),
        b",",
        _digits(lon_u // 10**6, 3),
        b".",
        _digits(lon_u % 10**6, 6),
    )


def _ips(rng: np.random.Generator, n: int) -> pa.Array:
    """Login IPs: IPv4 in Chinese ISP ranges, 5% IPv6 (240e::/20)."""
    first = np.array(vocab.IP_FIRST_OCTETS)[rng.integers(0, len(vocab.IP_FIRST_OCTETS), n)]
    v4 = _join(
        _text(first),
        ".",
        _text(rng.integers(0, 256, n)),
        ".",
        _text(rng.integers(0, 256, n)),
        ".",
        _text(rng.integers(1, 255, n)),
    )
    groups: list[_Part] = [b"240e"]
    for _ in range(7):
        groups += [b":", _chars(rng, n, 4, _HEX)]
    return _choose(_ascii(n, *groups), rng.random(n) < 0.05, v4)


def _remarks(rng: np.random.Generator, n: int, religion: _Int) -> pa.Array:
    """Free-text remarks: neutral, health, religion (matching the religion column) or decoys."""
    pools = (vocab.NEUTRAL_REMARKS, vocab.HEALTH_REMARKS, vocab.DECOY_REMARKS)
    kind = _pick(rng, n, (0.68, 0.13, 0.19))
    text = pa.nulls(n, pa.string())
    for i, pool in enumerate(pools):
        text = _choose(_take(pool, rng.integers(0, len(pool), n)), kind == i, text)
    text = _only(text, rng.random(n) < 0.55)
    believer = religion < len(vocab.RELIGION_REMARKS)
    faith = _take(vocab.RELIGION_REMARKS, np.minimum(religion, len(vocab.RELIGION_REMARKS) - 1))
    return _choose(faith, believer & (rng.random(n) < 0.4), text)


# --------------------------------------------------------------------------- orders


def _order_ids(rng: np.random.Generator, m: int, first: int) -> pa.Array:
    """Unique 18-digit order ids whose last digit is NOT the resident-ID check character.

    Digits 1-8 are random (the first not 0); digits 9-17 are a bijective scramble of the row number, so ids are
    unique for up to 10**9 orders; ``first`` is the number of orders drawn before this chunk.
    """
    if first + m > 10**9:
        raise ValueError("too many orders for unique 18-digit order ids")
    scramble = (np.arange(first, first + m, dtype=np.int64) * 387_420_489 + 123_456_789) % 10**9
    digits = np.concatenate(
        [_chars(rng, m, 1, b"123456789"), _chars(rng, m, 7, b"0123456789"), _digits(scramble, 9)],
        axis=1,
    )
    right = _id_check(digits)
    wrong = np.where(right == 10, rng.integers(0, 10, m), (right + rng.integers(1, 10, m)) % 10)
    return _ascii(m, digits, (wrong + 48).astype(np.uint8)[:, None])


def _skus() -> list[str]:
    catalog = np.random.default_rng(2026).choice(10_000, size=25, replace=False)
    return [f"{p}-{c:04d}" for p in vocab.SKU_PREFIXES for c in sorted(catalog)]


def _order_columns(
    rng: np.random.Generator,
    spend: _Spend,
    people: _People,
    ids: _Bytes,
    as_of_s: int,
    first_order: int,
) -> tuple[list[pa.Array], _Int]:
    """Orders grouped by customer, oldest window first; each active window splits into 1-5.

    Returns the columns up to the SKU, and the customer of each order.
    """
    customer, back = np.nonzero(spend[:, ::-1])
    window = _WINDOWS - 1 - back
    per_cell = 1 + np.minimum(rng.poisson(np.array(_EXTRA_ORDERS)[people.tier[customer]]), 4)
    cell = np.repeat(np.arange(len(customer)), per_cell)
    m = len(cell)
    weight = rng.random(m) + 0.25
    weight /= np.bincount(cell, weights=weight)[cell]
    cents = np.maximum(np.rint(spend[customer, window][cell] * weight * 100), 100).astype(np.int64)
    when = as_of_s - window[cell] * _WINDOW - _between(rng, 3 * _DAY, 27 * _DAY, m)
    skus = _skus()
    popularity: _Float = 1.0 / np.arange(1, len(skus) + 1, dtype=np.float64) ** 1.1
    sku = _take(skus, rng.permutation(len(skus))[_pick(rng, m, popularity)])
    amount = _join(_text(cents // 100), ".", _ascii(m, _FOUR[cents % 100][:, 2:]))
    return [
        _order_ids(rng, m, first_order),
        _ascii(m, ids[customer[cell]]),
        _datetimes(when),
        amount,
        sku,
    ], customer[cell]


# --------------------------------------------------------------------------- interactions

#: (days back the recent burst spans, fewest, most) per activity level
_BURSTS = {
    _Activity.HIGH: (28, 16, 40),
    _Activity.MEDIUM: (56, 4, 23),
    _Activity.LOW: (90, 1, 3),
    _Activity.SILENT: (90, 0, 0),
}


def _interaction_columns(
    rng: np.random.Generator, people: _People, ids: _Bytes, as_of_s: int
) -> tuple[list[pa.Array], _Int]:
    """The unit and time of each interaction, and its customer (types come from habits)."""
    n = len(people.life)
    fading = np.isin(people.life, [_Life.DECLINE, _Life.DORMANT])
    new = people.life == _Life.INTRODUCTION
    activity = np.select(
        [fading, new],
        [_pick(rng, n, _ACTIVITY_SHARES["fading"]), _pick(rng, n, _ACTIVITY_SHARES["new"])],
        _pick(rng, n, _ACTIVITY_SHARES["active"]),
    )
    span, fewest, most = np.array([_BURSTS[a] for a in _Activity]).T[:, activity]
    span = span * _DAY
    count = _between(rng, fewest, most, n)
    older = _between(rng, 0, 5, n)
    # recent burst within [as_of - span, as_of); older history within [as_of - 720d, as_of - 120d),
    # both after registration
    recent_lo = np.maximum(as_of_s - span, people.registered)
    older_lo = np.maximum(as_of_s - 720 * _DAY, people.registered)
    recent = np.where(recent_lo < as_of_s - 60, count, 0)
    older = np.where(older_lo < as_of_s - 120 * _DAY, older, 0)
    # grouped by customer: each customer's older history, then the recent burst
    who = np.repeat(np.arange(n), older + recent)
    position = np.arange(len(who)) - np.repeat(
        np.cumsum(older + recent) - older - recent, older + recent
    )
    is_recent = position >= older[who]
    lo = np.where(is_recent, recent_lo[who], older_lo[who])
    hi = np.where(is_recent, as_of_s - 60, as_of_s - 120 * _DAY)
    when = lo + np.floor(rng.random(len(who)) * (hi - lo)).astype(np.int64)
    return [_ascii(len(who), ids[who]), _datetimes(when)], who


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
