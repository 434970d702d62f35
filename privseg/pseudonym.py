"""Keyed pseudonyms: key files, per-purpose keys, tokens, reversible tokens and rotation.

The token is a contract downstream systems reproduce (README, "Pseudonym tokens")::

    purpose key = HKDF-SHA256(ikm=master key, salt=b"privseg-pseudonym-v1", info=purpose, 32)
    token       = base32(HMAC-SHA256(purpose key, normalize(id, kind=kind))).lower()[:26]

Tokens are one-way: the same key and purpose give the same token in every table (joins), other
purposes give unlinkable tokens. The reversible mode adds an AES-SIV ciphertext of the
normalized id under a separate key, bound to the purpose as associated data; only
``reidentify`` and ``rotate`` open it.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import select
import signal
import stat
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from privseg._files import atomic_path
from privseg.errors import InputError, KeyFileError
from privseg.lifecycle import die_with_parent
from privseg.limits import read_regular, require_regular

__all__ = [
    "KEY_ENV",
    "REVERSIBLE_SUFFIX",
    "TOKEN_LENGTH",
    "IdKind",
    "Key",
    "Pseudonymize",
    "Tokenizer",
    "load_key",
    "new_key_file",
    "normalize",
    "purpose_key",
    "read_key_file",
]

KEY_ENV = "PRIVSEG_MASTER_KEY"
TOKEN_LENGTH = 26
REVERSIBLE_SUFFIX = "__reversible"
_PSEUDONYM_SALT = b"privseg-pseudonym-v1"
#: A key file is 65 bytes; anything much larger is not one (and is never read whole).
_KEY_FILE_BYTES = 4096
_HEX_KEY = re.compile(r"[0-9a-f]{64}")
_KIND_NAME = re.compile(r"[a-z_]{1,20}")
_B32 = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz234567", dtype=np.uint8)
#: Two base32 characters per 10-bit value, as little-endian uint16 (first character low).
_B32_PAIRS = _B32[np.arange(1024) >> 5].astype("<u2") | (
    _B32[np.arange(1024) & 31].astype("<u2") << 8
)
_PARALLEL_MIN = 50_000
#: How long a tokenizing child may take beyond its parent's half before it is replaced.
_CHILD_GRACE_S = 10.0
_CHILD_GRACE_PER_VALUE_S = 20e-6


class IdKind(StrEnum):
    """Kinds of identifier; each has its own normalization.

    The same names serve the CLI (``--kind mobile``), policies (``kind: mobile``) and Python,
    where a kind may be given as the enum or its string: ``IdKind.MOBILE`` and ``"mobile"``
    give the same token; any other string raises ``InputError``.

    >>> [k.value for k in privseg.IdKind]
    ['mobile', 'national_id', 'email', 'wechat_id', 'other']
    >>> privseg.IdKind.parse("national_id") is privseg.IdKind.NATIONAL_ID
    True
    >>> privseg.IdKind.parse("phone")
    Traceback (most recent call last):
    privseg.errors.InputError: unknown id kind 'phone'; use one of: mobile, national_id, email, ...
    """

    MOBILE = "mobile"
    NATIONAL_ID = "national_id"
    EMAIL = "email"
    WECHAT_ID = "wechat_id"
    OTHER = "other"

    @classmethod
    def parse(cls, kind: IdKind | str) -> IdKind:
        """The kind named by ``kind`` (enum or string); InputError for any other value.

        >>> privseg.IdKind.parse("mobile") is privseg.IdKind.MOBILE
        True
        """
        try:
            return cls(kind)
        except ValueError:
            text = str(kind)
            # the value may be an id passed in the wrong place: show it only if it looks
            # like a kind name
            shown = repr(text) if _KIND_NAME.fullmatch(text) else "(value not shown)"
            names = ", ".join(k.value for k in cls)
            raise InputError(f"unknown id kind {shown}; use one of: {names}") from None


@dataclass(frozen=True)
class Key:
    """32 bytes of key material; ``repr`` never shows it, ``key_id`` names it safely.

    Keys normally come from a key file (``privseg keys new``, mode 0600):

    >>> from privseg.pseudonym import new_key_file, read_key_file
    >>> key = new_key_file("marketing.key")
    >>> read_key_file("marketing.key") == key, len(key.key_id)
    (True, 16)
    >>> privseg.Key(bytes(32))
    Key()
    """

    material: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.material) != 32:
            raise KeyFileError("a key must be 32 bytes (64 hex characters)")

    @property
    def key_id(self) -> str:
        """First 16 hex characters of SHA-256 of the key bytes: safe to log."""
        return hashlib.sha256(self.material).hexdigest()[:16]


@dataclass(frozen=True)
class Pseudonymize:
    """Policy parameters of a pseudonymized column."""

    kind: IdKind
    reversible: bool = False


# ---------------------------------------------------------------------------- key files


def _parse_hex(text: str, source: str) -> Key:
    body = text[:-1] if text.endswith("\n") else text
    if not _HEX_KEY.fullmatch(body):
        raise KeyFileError("expected 64 lowercase hex characters and a newline", source=source)
    return Key(bytes.fromhex(body))


def new_key_file(path: str | Path) -> Key:
    """Write a new random key as 64 lowercase hex characters and a newline, mode 0600.

    The file appears atomically (a 0600 temp file hard-linked into place) and an existing
    file is never overwritten.
    """
    dest = Path(path)
    if dest.exists():
        raise KeyFileError("refusing to overwrite an existing key file", source=dest)
    if not dest.parent.is_dir():
        raise KeyFileError("the key file's folder does not exist", source=dest)
    key = Key(secrets.token_bytes(32))
    try:
        with atomic_path(dest, mode=0o600, exclusive=True) as tmp:
            tmp.write_text(key.material.hex() + "\n", encoding="ascii")
    except FileExistsError as error:
        raise KeyFileError("refusing to overwrite an existing key file", source=dest) from error
    return key


def read_key_file(path: str | Path, *, insecure_permissions: bool = False) -> Key:
    """Read a key file; refuse one that group or others can read unless told otherwise."""
    source = Path(path)
    try:
        mode = require_regular(source, "key file", KeyFileError).st_mode
        text = read_regular(source, _KEY_FILE_BYTES, "key file", KeyFileError).decode("ascii")
    except (OSError, UnicodeDecodeError) as error:
        raise KeyFileError(
            f"cannot read key file ({type(error).__name__})", source=source
        ) from error
    if mode & (stat.S_IRWXG | stat.S_IRWXO) and not insecure_permissions:
        raise KeyFileError(
            f"key file mode is {stat.S_IMODE(mode):04o}: group or others can access it; "
            "run chmod 600 on it, or pass --insecure-key-permissions",
            source=source,
        )
    return _parse_hex(text, str(source))


def load_key(path: str | Path | None, *, insecure_permissions: bool = False) -> Key:
    """The key from ``path``, or else from the ``PRIVSEG_MASTER_KEY`` environment variable."""
    if path is not None:
        return read_key_file(path, insecure_permissions=insecure_permissions)
    value = os.environ.get(KEY_ENV)
    if value is None:
        raise KeyFileError(f"no key: pass a key file or set {KEY_ENV}")
    return _parse_hex(value.strip(), f"${KEY_ENV}")


def purpose_key(master: Key, purpose: str) -> bytes:
    """HKDF-SHA256(master, salt=b"privseg-pseudonym-v1", info=purpose UTF-8, length=32)."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=_PSEUDONYM_SALT, info=purpose.encode())
    return hkdf.derive(master.material)


# ---------------------------------------------------------------------------- normalization

_MOBILE_PREFIXES = (b"+86", b"0086")


def normalize(value: str, *, kind: IdKind | str) -> str:
    """Normalize one id: trim; mobile also loses spaces, dashes, parentheses and +86/0086.

    >>> from privseg.pseudonym import normalize
    >>> normalize("+86 138-1234-5678", kind="mobile")
    '13812345678'
    """
    array = pa.array([value], pa.large_string())
    return str(_normalize_arrow(IdKind.parse(kind), array)[0].as_py())


def as_text(values: pd.Series) -> pd.Series:
    """Ids as strings; integral numbers (e.g. from Parquet or XLSX) without a trailing '.0'."""
    if pd.api.types.is_float_dtype(values.dtype):
        numbers = values.dropna()
        if bool((numbers == numbers.round()).all()):
            values = values.astype("Int64")
    return values.astype("str")


def normalize_strings(kind: IdKind, values: pd.Series) -> pd.Series:
    """``_normalize_arrow`` of a string Series (same index)."""
    normalized = _normalize_arrow(kind, _arrow_text(values))
    return pd.Series(normalized, index=values.index, dtype="str", name=values.name)


def _normalize_arrow(kind: IdKind, values: pa.Array) -> pa.Array:
    """Normalize a ``large_string`` array with Arrow kernels (mobile: byte-level numpy)."""
    if kind is IdKind.MOBILE:
        return _normalize_mobile(values)
    out = pc.utf8_trim_whitespace(values)
    if kind is IdKind.NATIONAL_ID:
        return pc.utf8_upper(out)
    if kind is IdKind.EMAIL:
        return pc.utf8_lower(out)
    return out


def _utf8_parts(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Offsets (from 0) and data bytes of a ``large_string`` array."""
    _, offsets_buf, data_buf = values.buffers()
    offsets = np.frombuffer(offsets_buf, np.int64)[values.offset : values.offset + len(values) + 1]
    data = np.frombuffer(data_buf, np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    return offsets - offsets[0], data[offsets[0] : offsets[-1]]


def _drop_bytes(
    offsets: np.ndarray, data: np.ndarray, drop: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Remove the bytes where ``drop`` is True; offsets follow."""
    lengths = np.diff(offsets)
    if len(lengths):  # a False sentinel keeps every start a valid index
        dropped = np.add.reduceat(np.append(drop, False), offsets[:-1], dtype=np.int64)
        lengths -= np.where(lengths > 0, dropped, 0)  # reduceat gives drop[i] for empty slices
    new_offsets = np.zeros(len(offsets), np.int64)
    np.cumsum(lengths, out=new_offsets[1:])
    return new_offsets, data[~drop]


def _normalize_mobile(values: pa.Array) -> pa.Array:
    """Trim, remove spaces, dashes and parentheses, then one leading +86 or 0086.

    The same as Arrow's ``utf8_trim_whitespace`` then literal and ``^(?:\\+86|0086)``
    replaces, done on the UTF-8 bytes: the removed characters are ASCII, which never occur
    inside a multi-byte sequence. Only text with other whitespace goes through Arrow's trim.
    """
    offsets, data = _utf8_parts(values)
    if bool((data.view(np.int8) < 0x20).any()):  # control characters or non-ASCII
        values = pc.utf8_trim_whitespace(values)
        offsets, data = _utf8_parts(values)
    noise = (data == 0x20) | (data == 0x2D) | (data == 0x28) | (data == 0x29)
    offsets, data = _drop_bytes(offsets, data, noise)
    starts, lengths = offsets[:-1], np.diff(offsets)
    padded = np.concatenate([data, np.zeros(4, np.uint8)])
    drop = np.zeros(len(data), bool)
    for prefix in _MOBILE_PREFIXES:  # "+86" and "0086" cannot both match
        match = lengths >= len(prefix)
        for i, byte in enumerate(prefix):
            match &= padded[starts + i] == byte
        for i in range(len(prefix)):
            drop[starts[match] + i] = True
        lengths[match] -= len(prefix)
    np.cumsum(lengths, out=offsets[1:])
    data = data[~drop]
    validity = pc.is_valid(values).buffers()[1] if values.null_count else None
    return pa.LargeStringArray.from_buffers(
        len(values), pa.py_buffer(offsets), pa.py_buffer(data), validity, values.null_count
    )


# ---------------------------------------------------------------------------- tokens


def _hmac_digests(inner: hashlib._Hash, outer: hashlib._Hash, texts: Sequence[bytes]) -> bytes:
    """Concatenated HMAC-SHA256 digests of UTF-8 texts from precomputed inner/outer states."""
    out: list[bytes] = []
    append = out.append
    inner_copy, outer_copy = inner.copy, outer.copy
    for text in texts:
        h = inner_copy()
        h.update(text)
        o = outer_copy()
        o.update(h.digest())
        append(o.digest())
    return b"".join(out)


def _token_bytes(inner: hashlib._Hash, outer: hashlib._Hash, texts: Sequence[bytes]) -> bytes:
    """Tokens of UTF-8 texts, 26 bytes each, concatenated."""
    if not texts:
        return b""
    return _base32_prefix(_hmac_digests(inner, outer, texts)).tobytes()


def _mostly_distinct(values: pa.Array, sample: int = 4096) -> bool:
    """Whether the non-empty ``values`` look at least 80% distinct, from collisions in an
    even sample.

    With k sampled non-empty values among u distinct ones about k**2 / (2 u) pairs collide,
    so u is estimated from the collisions seen. Nulls and empty strings are left out: they
    are never hashed, so repeating them costs nothing. It only chooses whether
    deduplicating pays off.
    """
    m = min(len(values), sample)
    if m < 2:
        return True
    picked = values.take(np.linspace(0, len(values) - 1, m).astype(np.int64))
    present = picked.filter(pc.greater(pc.binary_length(picked), 0))  # drops nulls too
    k = len(present)
    collisions = k - len(pc.unique(present))
    return collisions == 0 or k * k / (2 * collisions) >= 0.8 * len(values) * k / m


def _token_block(
    inner: hashlib._Hash, outer: hashlib._Hash, kind: IdKind | None, values: pa.Array
) -> bytes:
    """Tokens of one block of ``large_string`` values, normalized first unless ``kind`` is None.

    Unless the values look mostly distinct, distinct values are normalized and hashed once.
    Returns one validity byte per value (False: null or empty after normalization), then
    the 26-byte tokens of the valid values.
    """
    indices: np.ndarray | None = None
    uniques = values
    if not _mostly_distinct(values):
        encoded = values.dictionary_encode()
        uniques, indices = encoded.dictionary, encoded.indices.fill_null(-1).to_numpy()
    normalized = uniques if kind is None else _normalize_arrow(kind, uniques)
    offsets, _ = _utf8_parts(normalized)
    valid = np.diff(offsets) > 0
    if normalized.null_count:
        valid &= normalized.is_valid().to_numpy(zero_copy_only=False)
    texts = normalized.filter(pa.array(valid)).cast(pa.large_binary()).to_pylist()
    tokens = _token_bytes(inner, outer, texts)
    if indices is None:
        return bytes(valid.tobytes()) + tokens
    by_unique = np.zeros(len(uniques), f"S{TOKEN_LENGTH}")
    by_unique[valid] = np.frombuffer(tokens, f"S{TOKEN_LENGTH}")
    row_valid = indices >= 0
    row_valid[row_valid] = valid[indices[row_valid]]
    return bytes(row_valid.tobytes()) + bytes(by_unique[indices[row_valid]].tobytes())


def _block_ok(data: bytes, n: int) -> bool:
    valid = np.frombuffer(data, dtype=bool, count=n) if len(data) >= n else None
    return valid is not None and len(data) - n == TOKEN_LENGTH * int(valid.sum())


def _tokens_array(data: bytes, n: int) -> pa.Array:
    """A ``_token_block`` result as an Arrow string array with nulls where not valid."""
    valid = np.frombuffer(data, dtype=bool, count=n)
    tokens = data[n:]
    offsets = np.arange(0, len(tokens) + 1, TOKEN_LENGTH, dtype=np.int64)
    array = pa.LargeStringArray.from_buffers(
        len(tokens) // TOKEN_LENGTH, pa.py_buffer(offsets), pa.py_buffer(tokens)
    )
    if valid.all():
        return array
    positions = np.cumsum(valid) - 1
    return array.take(pa.array(positions, mask=~valid))


def _read_until(fd: int, deadline: float) -> bytes | None:
    """Everything written to pipe ``fd``, or None if the writer is not done by ``deadline``."""
    buffer = bytearray()
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            return None
        block = os.read(fd, 1 << 20)
        if not block:
            return bytes(buffer)
        buffer += block


def _forked_blocks(work: Callable[[pa.Array], bytes], values: pa.Array) -> tuple[bytes, bytes]:
    """``work`` on both halves of ``values``: the second in one forked child (same results).

    If the child fails, or is not done well after this process finished its half (e.g. it
    inherited a lock held by another thread at fork time), it is killed and its half is
    computed here.
    """
    half = len(values) // 2
    first, second = values.slice(0, half), values.slice(half)
    read_fd, write_fd = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            die_with_parent(parent)
            os.close(read_fd)
            data = work(second)
            with os.fdopen(write_fd, "wb") as pipe:
                pipe.write(data)
        finally:
            os._exit(0)
    os.close(write_fd)
    theirs: bytes | None = None
    try:
        mine = work(first)
        grace = _CHILD_GRACE_S + _CHILD_GRACE_PER_VALUE_S * len(second)
        theirs = _read_until(read_fd, time.monotonic() + grace)
    finally:
        os.close(read_fd)
        if theirs is None:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    if theirs is None or status != 0 or not _block_ok(theirs, len(second)):
        theirs = work(second)
    return mine, theirs


def _base32_prefix(digests: bytes) -> np.ndarray:
    """First 26 lowercase base32 characters of each 32-byte digest, as an ``S26`` array.

    Base32 maps every 5 bytes to 8 characters, so the first 20 bytes of a digest give 32
    characters with no padding; each 5-byte group is split into four 10-bit values, each
    looked up as a pair of characters (13 pairs = 26 characters).
    """
    n = len(digests) // 32
    groups = np.frombuffer(digests, np.uint8).reshape(n, 32)[:, :20].reshape(n, 4, 5)
    b0, b1, b2, b3, b4 = (groups[:, :, i].astype(np.uint16) for i in range(5))
    pairs = np.stack(
        [
            (b0 << 2) | (b1 >> 6),
            ((b1 & 63) << 4) | (b2 >> 4),
            ((b2 & 15) << 6) | (b3 >> 2),
            ((b3 & 3) << 8) | b4,
        ],
        axis=2,
    )
    chars = _B32_PAIRS[pairs.reshape(n, 16)[:, : TOKEN_LENGTH // 2]]
    return np.ascontiguousarray(chars).view(f"S{TOKEN_LENGTH}").ravel()


class Tokenizer:
    """Tokens for one master key and purpose; vectorized over pandas columns.

    The README's test vector (``kind`` is keyword-only: a string or an ``IdKind``):

    >>> key = privseg.Key(bytes.fromhex(
    ...     "7f3a9c0e5b2d4f6a8c1e3b5d7f9a0c2e4b6d8f1a3c5e7b9d0f2a4c6e8b1d3f5a"))
    >>> tokenizer = privseg.Tokenizer(key, "wecom-marketing")
    >>> tokenizer.token("+86 138-1234-5678", kind="mobile")
    'he4lscfas47ru2rbfeus4mgjj5'
    >>> ids = pd.Series(["13812345678", "0086 138 1234 5678", None])
    >>> tokenizer.tokenize(ids, kind=privseg.IdKind.MOBILE).tolist()
    ['he4lscfas47ru2rbfeus4mgjj5', 'he4lscfas47ru2rbfeus4mgjj5', nan]
    """

    def __init__(self, master: Key, purpose: str, *, workers: int | None = None) -> None:
        key = purpose_key(master, purpose).ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
        self.purpose = purpose
        self.key_id = master.key_id
        cpus = os.cpu_count() or 1
        self._workers = min(2, cpus) if workers is None else workers

    def token(self, value: str, *, kind: IdKind | str) -> str:
        """Token of one id (after normalization); ``kind`` as in ``IdKind.parse``.

        >>> tok = privseg.Tokenizer(privseg.Key(bytes(32)), "wecom-marketing")
        >>> tok.token("+86 138-1234-5678", kind="mobile") == tok.token("13812345678", kind="mobile")
        True
        """
        result = self.tokenize(pd.Series([value], dtype="str"), kind=kind).iloc[0]
        if pd.isna(result):
            raise InputError("the id is empty after normalization")
        return str(result)

    def tokenize(self, values: pd.Series, *, kind: IdKind | str) -> pd.Series:
        """Token per value; nulls (and ids empty after normalization) stay null.

        Distinct raw values are normalized and hashed once, then expanded back to the rows.
        """
        tokens = self._tokens(_arrow_text(as_text(values)), IdKind.parse(kind))
        return pd.Series(tokens, index=values.index, dtype="str", name=values.name)

    def tokenize_normalized(self, normalized: pd.Series) -> pd.Series:
        """Token per already-normalized id."""
        tokens = self._tokens(_arrow_text(normalized.astype("str")), None)
        return pd.Series(tokens, index=normalized.index, dtype="str", name=normalized.name)

    def _tokens(self, values: pa.Array, kind: IdKind | None) -> pa.Array:
        """Token per value (normalized first unless ``kind`` is None); empty ids -> null.

        Large batches are split by rows with one forked child: each half is deduplicated,
        normalized, hashed and base32-encoded on its own core.
        """

        def work(part: pa.Array) -> bytes:
            return _token_block(self._inner, self._outer, kind, part)

        if self._workers > 1 and len(values) >= _PARALLEL_MIN and hasattr(os, "fork"):
            half = len(values) // 2
            mine, theirs = _forked_blocks(work, values)
            return pa.concat_arrays(
                [_tokens_array(mine, half), _tokens_array(theirs, len(values) - half)]
            )
        return _tokens_array(work(values), len(values))


def _arrow_text(values: pd.Series) -> pa.Array:
    """A string Series as one Arrow array (zero-copy for Arrow-backed strings)."""
    array = pa.array(values, type=pa.large_string(), from_pandas=True)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def take(codes: np.ndarray, mapped: pa.Array, like: pd.Series) -> pd.Series:
    """Expand per-unique results back to the rows of ``like``; -1 codes (nulls) stay null."""
    indices = pa.array(np.maximum(codes, 0), mask=codes < 0)
    taken = mapped.take(indices) if len(mapped) else pa.nulls(len(codes), pa.large_string())
    return pd.Series(taken, index=like.index, dtype="str", name=like.name)


# ---------------------------------------------------------------------------- reversible mode
