"""Vectorized text building for the demo generator: digits, characters, dates and picks as
Arrow strings, without a Python loop per row."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

DAY = 86_400


WINDOW = 30 * DAY


WINDOWS = 48


Int = npt.NDArray[np.int64]


Float = npt.NDArray[np.float64]


SpendArray = npt.NDArray[np.float32]


Bytes = npt.NDArray[np.uint8]


Bool = npt.NDArray[np.bool_]


Part = npt.NDArray[np.uint8] | bytes


ALNUM = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


B64URL = ALNUM + b"-_"


HEX = b"0123456789abcdef"


FOUR = np.array([list(f"{i:04d}".encode()) for i in range(10_000)], dtype=np.uint8)


def digit_bytes(values: npt.NDArray[np.integer], width: int) -> npt.NDArray[np.uint8]:
    """ASCII digits of non-negative integers, zero-padded to ``width`` (one row per value)."""
    x = values.astype(np.int64)
    groups = []
    for _ in range(-(-width // 4)):
        groups.append(FOUR[x % 10_000])
        x = x // 10_000
    return np.concatenate(groups[::-1], axis=1)[:, -width:]


def random_chars(
    rng: np.random.Generator, n: int, k: int, alphabet: bytes
) -> npt.NDArray[np.uint8]:
    """Random characters from ``alphabet`` (random bytes modulo its size: a negligible bias)."""
    table = np.frombuffer(alphabet, dtype=np.uint8)
    draws = np.frombuffer(rng.bytes(n * k), dtype=np.uint8).reshape(n, k)
    return table[draws % len(table)]


def byte_rows(n: int, *parts: Part) -> npt.NDArray[np.uint8]:
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


def ascii_array(n: int, *parts: Part) -> pa.Array:
    """One ASCII string per row from fixed-width byte blocks, without copying into Python."""
    mat = byte_rows(n, *parts)
    width = mat.shape[1]
    large = n * width >= 2**31
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int64 if large else np.int32)
    kind = pa.large_string() if large else pa.string()
    return pa.Array.from_buffers(kind, n, [None, pa.py_buffer(offsets), pa.py_buffer(mat)])


def join_text(*parts: pa.Array | str) -> pa.Array:
    """Concatenate string arrays element-wise; a null part makes the row null."""
    return pc.binary_join_element_wise(*parts, "")


def take_text(values: Sequence[str], index: npt.NDArray[np.integer]) -> pa.Array:
    return pa.array(list(values), type=pa.string()).take(pa.array(index))


def text_array(values: npt.NDArray[np.integer]) -> pa.Array:
    return pc.cast(pa.array(values), pa.string())


def only_where(values: pa.Array, keep: Bool) -> pa.Array:
    """``values`` where ``keep``, null elsewhere."""
    return pc.if_else(pa.array(keep), values, pa.scalar(None, values.type))


def choose_where(values: pa.Array, where: Bool, other: pa.Array) -> pa.Array:
    return pc.if_else(pa.array(where), values, other)


def calendar_bytes(days: Int) -> tuple[npt.NDArray[np.uint8], Int]:
    """``YYYY-MM-DD`` bytes and the year of each day number, through a table of the span."""
    first = int(days.min()) if len(days) else 0
    span = np.arange(first, (int(days.max()) if len(days) else 0) + 1).astype("datetime64[D]")
    text = np.frombuffer(span.astype("S10").tobytes(), dtype=np.uint8).reshape(-1, 10)
    years = span.astype("datetime64[Y]").astype(np.int64) + 1970
    return text[days - first], years[days - first]


@functools.cache
def _clock() -> npt.NDArray[np.uint8]:
    """``HH:MM:SS`` bytes for every second of a day."""
    sod = np.arange(DAY)
    return byte_rows(
        DAY,
        FOUR[sod // 3600][:, 2:],
        b":",
        FOUR[sod // 60 % 60][:, 2:],
        b":",
        FOUR[sod % 60][:, 2:],
    )


def datetimes(secs: Int) -> pa.Array:
    """``YYYY-MM-DD HH:MM:SS`` for seconds since the epoch."""
    days, sod = np.divmod(secs, DAY)
    return ascii_array(len(secs), calendar_bytes(days)[0], b" ", _clock()[sod])


def pick(rng: np.random.Generator, n: int, shares: Sequence[float] | Float) -> Int:
    p = np.asarray(shares, dtype=np.float64)
    return rng.choice(len(p), size=n, p=p / p.sum()).astype(np.int64)


def between(rng: np.random.Generator, lo: Int | int, hi: Int | int, n: int) -> Int:
    """Uniform integers in [lo, hi] (inclusive, per row)."""
    lo_a = np.asarray(lo, dtype=np.int64)
    hi_a = np.asarray(hi, dtype=np.int64)
    return lo_a + np.floor(rng.random(n) * (hi_a - lo_a + 1)).astype(np.int64)


def log_uniform(rng: np.random.Generator, least: float, most: float, n: int) -> Float:
    return np.exp(rng.uniform(np.log(least), np.log(most), n))
