"""The customers table of the demo: one column of synthetic personal data per maker."""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from privseg.demo import places, vocab
from privseg.demo.people import People
from privseg.demo.tables import CHANNEL_SHARES, CHANNELS, GENDERS, Lang
from privseg.demo.text import (
    ALNUM,
    B64URL,
    FOUR,
    HEX,
    Bool,
    Bytes,
    Int,
    Part,
    ascii_array,
    byte_rows,
    choose_where,
    datetimes,
    digit_bytes,
    join_text,
    only_where,
    pick,
    random_chars,
    take_text,
    text_array,
)


def external_userids(rng: np.random.Generator, n: int) -> Bytes:
    """``wm`` (80%) or ``wo`` followed by 30 letters and digits, as an ``(n, 32)`` byte matrix."""
    prefix = np.where(rng.random(n) < 0.2, ord("o"), ord("m")).astype(np.uint8)[:, None]
    return byte_rows(n, b"w", prefix, random_chars(rng, n, 30, ALNUM))


def customer_columns(
    rng: np.random.Generator, people: People, ids: Bytes, lang: Lang
) -> list[pa.Array]:
    n = len(people.life)
    cities = places.CITIES
    gender = people.male.astype(np.int64)
    has_id = rng.random(n) < 0.7
    return [
        ascii_array(n, ids),
        only_where(ascii_array(n, b"o", random_chars(rng, n, 27, B64URL)), rng.random(n) < 0.8),
        only_where(ascii_array(n, b"o", random_chars(rng, n, 27, B64URL)), rng.random(n) < 0.9),
        only_where(_names(rng, people.male), rng.random(n) < 0.97),
        only_where(_mobiles(rng, n), rng.random(n) < 0.92),
        only_where(_emails(rng, people), rng.random(n) < 0.45),
        only_where(_id_numbers(rng, people), has_id),
        take_text(GENDERS[lang], gender),
        only_where(ascii_array(n, people.birth_text), has_id | (rng.random(n) < 0.5)),
        take_text([c.province for c in cities], people.city),
        take_text([c.name for c in cities], people.city),
        only_where(_addresses(rng, people), rng.random(n) < 0.85),
        datetimes(people.registered),
        take_text(CHANNELS[lang], pick(rng, n, CHANNEL_SHARES)),
        _tags(rng, n),
        _religions(people.religion, lang),
        *_faces(rng, n),
        only_where(_bank_cards(rng, n), rng.random(n) < 0.18),
        only_where(_locations(rng, people), rng.random(n) < 0.3),
        only_where(_ips(rng, n), rng.random(n) < 0.9),
        _remarks(rng, n, people.religion),
    ]


def _names(rng: np.random.Generator, male: Bool) -> pa.Array:
    n = len(male)
    surname = take_text([s for s, _, _ in vocab.SURNAMES], pick(rng, n, _surname_weights()))
    pool = np.where(male, 0, 1)
    given_m, given_f = vocab.GIVEN_MALE, vocab.GIVEN_FEMALE
    first = choose_where(
        take_text(given_m, rng.integers(0, len(given_m), n)),
        pool == 0,
        take_text(given_f, rng.integers(0, len(given_f), n)),
    )
    second = choose_where(
        take_text(given_m, rng.integers(0, len(given_m), n)),
        pool == 0,
        take_text(given_f, rng.integers(0, len(given_f), n)),
    )
    two = rng.random(n) < 0.65
    return choose_where(join_text(surname, first, second), two, join_text(surname, first))


def _surname_weights() -> list[float]:
    return [w for _, _, w in vocab.SURNAMES]


def _mobiles(rng: np.random.Generator, n: int) -> pa.Array:
    """11-digit mainland mobiles; formats vary: plain, +86, spaces, dashes."""
    prefixes = np.array(vocab.MOBILE_PREFIXES, dtype=np.int64)
    d = np.concatenate(
        [
            digit_bytes(prefixes[rng.integers(0, len(prefixes), n)], 3),
            digit_bytes(rng.integers(0, 10**8, n), 8),
        ],
        axis=1,
    )
    a, b, c = d[:, :3], d[:, 3:7], d[:, 7:]
    formats = [
        ascii_array(n, d),
        ascii_array(n, b"+86 ", a, b" ", b, b" ", c),
        ascii_array(n, a, b"-", b, b"-", c),
        ascii_array(n, a, b" ", b, b" ", c),
        ascii_array(n, b"+86", d),
        ascii_array(n, b"86-", d),
    ]
    which = pick(rng, n, (0.70, 0.08, 0.08, 0.07, 0.05, 0.02))
    out = formats[0]
    for i in range(1, len(formats)):
        out = choose_where(formats[i], which == i, out)
    return out


def _emails(rng: np.random.Generator, people: People) -> pa.Array:
    n = len(people.life)
    qq = join_text(text_array(rng.integers(10**5, 10**10, n)), "@qq.com")
    pinyin = take_text([p for _, p, _ in vocab.SURNAMES], pick(rng, n, _surname_weights()))
    suffix = choose_where(
        text_array(people.birth_year), rng.random(n) < 0.5, text_array(rng.integers(1, 1000, n))
    )
    domain = take_text(vocab.EMAIL_DOMAINS, rng.integers(0, len(vocab.EMAIL_DOMAINS), n))
    return choose_where(qq, rng.random(n) < 0.4, join_text(pinyin, suffix, "@", domain))


_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)


def id_check(body: npt.NDArray[np.uint8]) -> Int:
    """ISO 7064 MOD 11-2 check value (10 means 'X') of 17 ASCII digits per row."""
    # exact in float32: the weighted sum of ASCII codes stays below 2**24
    total = np.rint(body.astype(np.float32) @ _ID_WEIGHTS.astype(np.float32)).astype(np.int64)
    total -= 48 * int(_ID_WEIGHTS.sum())
    return (12 - total % 11) % 11


def _check_char(value: Int) -> npt.NDArray[np.uint8]:
    return np.where(value == 10, ord("X"), value + 48).astype(np.uint8)[:, None]


def _region_codes(people: People) -> Int:
    """The region code in force in the birth year: the district's, else the city's older code."""
    districts = [d for c in places.CITIES for d in c.districts]
    code = np.array([int(d.code) for d in districts])[people.district]
    valid_from = np.array([d.valid_from for d in districts])[people.district]
    mid = np.array([int(c.mid_code) for c in places.CITIES])[people.city]
    old = np.array([int(c.old_code) for c in places.CITIES])[people.city]
    year = people.birth_year
    return np.where(year >= valid_from, code, np.where(year >= 1983, mid, old))


def _id_numbers(rng: np.random.Generator, people: People) -> pa.Array:
    n = len(people.life)
    sequence = rng.integers(0, 100, n) * 10 + 2 * rng.integers(0, 5, n) + people.male
    body = np.concatenate(
        [
            digit_bytes(_region_codes(people), 6),
            people.birth_text[:, [0, 1, 2, 3, 5, 6, 8, 9]],
            digit_bytes(sequence, 3),
        ],
        axis=1,
    )
    return ascii_array(n, body, _check_char(id_check(body)))


def _addresses(rng: np.random.Generator, people: People) -> pa.Array:
    n = len(people.life)
    cities = places.CITIES
    city_part = [c.name if c.province == c.name else c.province + c.name for c in cities]
    prefix = take_text(city_part, people.city)
    short = take_text([c.name for c in cities], people.city)
    district = take_text([d.name for c in cities for d in c.districts], people.district)
    street = take_text(vocab.STREETS, rng.integers(0, len(vocab.STREETS), n))
    compound = take_text(vocab.COMPOUNDS, rng.integers(0, len(vocab.COMPOUNDS), n))
    return join_text(
        choose_where(prefix, rng.random(n) < 0.7, short),
        district,
        street,
        text_array(rng.integers(1, 400, n)),
        "号",
        compound,
        text_array(rng.integers(1, 30, n)),
        "栋",
        text_array(rng.integers(1, 33, n) * 100 + rng.integers(1, 9, n)),
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


def _religions(religion: Int, lang: Lang) -> pa.Array:
    """Religion names; the last index (no religion) becomes null."""
    names = [zh if lang is Lang.ZH else en for zh, en, _ in vocab.RELIGIONS]
    believer = religion < len(names)
    return only_where(take_text(names, np.where(believer, religion, 0)), believer)


def _spread(values: pa.Array, rows: Int, n: int) -> pa.Array:
    """An ``n``-row array holding ``values`` at ``rows`` and nulls elsewhere."""
    index = np.zeros(n, dtype=np.int64)
    index[rows] = np.arange(len(rows))
    missing = np.ones(n, dtype=bool)
    missing[rows] = False
    return values.take(pa.array(index, mask=missing))


def _faces(rng: np.random.Generator, n: int) -> list[pa.Array]:
    """Face photo URL for 25% of customers and a 128-float embedding for 60% of those."""
    photo = rng.random(n) < 0.25
    url = ascii_array(
        n, b"https://cdn.privseg-demo.cn/faces/", random_chars(rng, n, 32, HEX), b".jpg"
    )
    rows = np.flatnonzero(photo & (rng.random(n) < 0.6))
    return [only_where(url, photo), _spread(_embeddings(rng, len(rows)), rows, n)]


@functools.cache
def _decimals() -> npt.NDArray[np.uint8]:
    """7-byte renderings: ``0.ddddd`` for 0..99999, then ``-0.dddd`` for 0..9999."""
    positive = byte_rows(100_000, b"0.", digit_bytes(np.arange(100_000), 5))
    negative = byte_rows(10_000, b"-0.", FOUR)
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
    return ascii_array(m, b"[", cell.reshape(m, dim * 8)[:, :-1], b"]")


def _bank_cards(rng: np.random.Generator, n: int) -> pa.Array:
    """Luhn-valid UnionPay cards (BIN 62...), 16-19 digits by issuer."""
    bins = np.array([int(b) for b, _ in vocab.CARD_BINS], dtype=np.int64)
    lengths = np.array([length for _, length in vocab.CARD_BINS], dtype=np.int64)
    which = rng.integers(0, len(bins), n)
    # right-aligned 18-digit body: zeros, BIN, random digits (leading zeros are trimmed below
    # and do not change the Luhn sum)
    pad = 19 - lengths[which]
    head = digit_bytes(bins[which], 6)
    tail = random_chars(rng, n, 18, b"0123456789")
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
    return pc.utf8_ltrim(ascii_array(n, body, check), characters="0")


def _locations(rng: np.random.Generator, people: People) -> pa.Array:
    """``lat,lon`` near the customer's city centre, 6 decimals."""
    n = len(people.life)
    lat = np.array([c.lat for c in places.CITIES])[people.city] + rng.normal(0, 0.04, n)
    lon = np.array([c.lon for c in places.CITIES])[people.city] + rng.normal(0, 0.05, n)
    lat_u = np.rint(lat * 1e6).astype(np.int64)
    lon_u = np.rint(lon * 1e6).astype(np.int64)
    return ascii_array(
        n,
        digit_bytes(lat_u // 10**6, 2),
        b".",
        digit_bytes(lat_u % 10**6, 6),
        b",",
        digit_bytes(lon_u // 10**6, 3),
        b".",
        digit_bytes(lon_u % 10**6, 6),
    )


def _ips(rng: np.random.Generator, n: int) -> pa.Array:
    """Login IPs: IPv4 in Chinese ISP ranges, 5% IPv6 (240e::/20)."""
    first = np.array(vocab.IP_FIRST_OCTETS)[rng.integers(0, len(vocab.IP_FIRST_OCTETS), n)]
    v4 = join_text(
        text_array(first),
        ".",
        text_array(rng.integers(0, 256, n)),
        ".",
        text_array(rng.integers(0, 256, n)),
        ".",
        text_array(rng.integers(1, 255, n)),
    )
    groups: list[Part] = [b"240e"]
    for _ in range(7):
        groups += [b":", random_chars(rng, n, 4, HEX)]
    return choose_where(ascii_array(n, *groups), rng.random(n) < 0.05, v4)


def _remarks(rng: np.random.Generator, n: int, religion: Int) -> pa.Array:
    """Free-text remarks: neutral, health, religion (matching the religion column) or decoys."""
    pools = (vocab.NEUTRAL_REMARKS, vocab.HEALTH_REMARKS, vocab.DECOY_REMARKS)
    kind = pick(rng, n, (0.68, 0.13, 0.19))
    text = pa.nulls(n, pa.string())
    for i, pool in enumerate(pools):
        text = choose_where(take_text(pool, rng.integers(0, len(pool), n)), kind == i, text)
    text = only_where(text, rng.random(n) < 0.55)
    believer = religion < len(vocab.RELIGION_REMARKS)
    faith = take_text(vocab.RELIGION_REMARKS, np.minimum(religion, len(vocab.RELIGION_REMARKS) - 1))
    return choose_where(faith, believer & (rng.random(n) < 0.4), text)
