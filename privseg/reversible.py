"""Reversible pseudonyms: AES-SIV ciphertexts beside HMAC tokens, opened only on purpose.

A policy field with ``reversible: true`` keeps, beside the token column ``C``, a column
``C__reversible`` (``ReversibleCipher``). ``reidentify`` opens it again, checking every id
against the row's token; ``rotate`` re-keys tokens and ciphertexts without the raw ids.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence

import pandas as pd
import pyarrow as pa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from privseg.errors import InputError, IntegrityError, KeyFileError
from privseg.pseudonym import (
    REVERSIBLE_SUFFIX,
    IdKind,
    Key,
    Tokenizer,
    as_text,
    normalize_strings,
    take,
)

__all__ = ["ReversibleCipher", "reidentify", "rotate"]

_REVERSIBLE_SALT = b"privseg-reversible-v1"


class ReversibleCipher:
    """Deterministic AES-SIV encryption of normalized ids, bound to the purpose and column.

    The AES-256-SIV key is HKDF-SHA256(reversible key, salt=b"privseg-reversible-v1",
    info=b"aes-256-siv", length=64); the associated data are two items, the purpose and
    the token column's name (UTF-8 each), so a ciphertext opens only under the purpose and in
    the column it was made for. Ciphertexts are lowercase, unpadded base32.

    >>> cipher = privseg.ReversibleCipher(privseg.Key(bytes(range(32))), "wecom-marketing")
    >>> sealed = cipher.encrypt(pd.Series(["+86 138-1234-5678"]), kind="mobile", column="手机号")
    >>> cipher.decrypt(sealed, column="手机号").tolist()  # the normalized id
    ['13812345678']
    """

    def __init__(self, key: Key, purpose: str) -> None:
        hkdf = HKDF(
            algorithm=hashes.SHA256(), length=64, salt=_REVERSIBLE_SALT, info=b"aes-256-siv"
        )
        self._aead = AESSIV(hkdf.derive(key.material))
        self.key_id = key.key_id
        self.purpose = purpose

    def _ad(self, column: str) -> list[bytes]:
        return [self.purpose.encode(), column.encode()]

    def encrypt_one(self, normalized: str, *, column: str) -> str:
        """Ciphertext of one normalized id of token column ``column``."""
        sealed = self._aead.encrypt(normalized.encode(), self._ad(column))
        return base64.b32encode(sealed).decode("ascii").rstrip("=").lower()

    def decrypt_one(self, ciphertext: str, *, column: str) -> str:
        """The normalized id; IntegrityError if the ciphertext does not open under this key,
        purpose and column (a wrong key, or a ciphertext altered or moved from elsewhere)."""
        text = ciphertext.strip().upper()
        try:
            sealed = base64.b32decode(text + "=" * (-len(text) % 8))
            return self._aead.decrypt(sealed, self._ad(column)).decode()
        except (InvalidTag, binascii.Error, ValueError, UnicodeDecodeError) as error:
            raise IntegrityError(
                f"column {column + REVERSIBLE_SUFFIX!r}: a reversible token does not decrypt "
                "under this key, purpose and column (wrong key, or altered or moved)"
            ) from error

    def encrypt(self, values: pd.Series, *, kind: IdKind | str, column: str) -> pd.Series:
        """Ciphertext per value (normalized first) of token column ``column``; nulls stay null."""
        codes, uniques = pd.factorize(as_text(values), use_na_sentinel=True)
        normalized = normalize_strings(IdKind.parse(kind), pd.Series(uniques, dtype="str"))
        encrypted = self.encrypt_normalized(normalized, column=column)
        return take(codes, pa.array(encrypted.to_numpy(na_value=None), pa.large_string()), values)

    def encrypt_normalized(self, normalized: pd.Series, *, column: str) -> pd.Series:
        """Ciphertext per already-normalized id; empty ids become null like their tokens."""
        codes, uniques = pd.factorize(normalized.astype("str"), use_na_sentinel=True)
        mapped = [self.encrypt_one(u, column=column) if u else None for u in uniques]
        return take(codes, pa.array(mapped, pa.large_string()), normalized)

    def decrypt(self, values: pd.Series, *, column: str) -> pd.Series:
        """Normalized id per ciphertext of token column ``column``; nulls stay null."""
        text = values.astype("str")
        codes, uniques = pd.factorize(text, use_na_sentinel=True)
        mapped = [self.decrypt_one(u, column=column) for u in uniques]
        return take(codes, pa.array(mapped, pa.large_string()), text)


def reidentify(
    table: pd.DataFrame,
    columns: Sequence[str],
    cipher: ReversibleCipher,
    tokenizer: Tokenizer | None,
) -> pd.DataFrame:
    """Replace each ``C__reversible`` of ``columns`` by ``C__id`` (the decrypted normalized id).

    Where the row also holds the HMAC token ``C``, the id must give that token under
    ``tokenizer`` (the pseudonym key of the same purpose): a ciphertext moved from another
    row, or a token altered, raises IntegrityError naming the column and the count of rows.
    ``tokenizer`` may be None only when no column ``C`` is present.
    """
    out = table.copy()
    for column in columns:
        companion = column + REVERSIBLE_SUFFIX
        position = int(out.columns.get_loc(companion))
        ids = cipher.decrypt(out.pop(companion), column=column)
        if column in table.columns:
            if tokenizer is None:
                raise KeyFileError(
                    f"column {column!r}: pass the pseudonym key (--key) to check the "
                    "decrypted ids against the tokens"
                )
            expected = tokenizer.tokenize_normalized(ids)
            actual = table[column]
            both = expected.notna().to_numpy() & actual.notna().to_numpy()
            exp_text = expected.astype("str").to_numpy(dtype=object)[both]
            bad = int((exp_text != actual.astype("str").to_numpy(dtype=object)[both]).sum())
            if bad:
                raise IntegrityError(
                    f"column {column!r}: {bad} rows whose decrypted id does not give the "
                    "row's token (a ciphertext moved between rows, or an altered token)"
                )
        out.insert(position, column + "__id", ids)
    return out


def rotate(
    table: pd.DataFrame,
    columns: Sequence[str],
    *,
    old_tokenizer: Tokenizer,
    old_cipher: ReversibleCipher,
    new_tokenizer: Tokenizer,
    new_cipher: ReversibleCipher,
) -> pd.DataFrame:
    """Re-key pseudonymized columns that carry reversible ciphertexts, without raw inputs.

    For each column ``C`` the ciphertext column ``C__reversible`` is opened with the old
    reversible key; the ids must give the existing tokens under the old key (else the keys
    are not the ones the table was made with); then ``C`` (new master key) and
    ``C__reversible`` (new reversible key) are recomputed. HMAC tokens alone cannot be
    rotated: they are one-way, so a column without its ciphertext raises InputError.
    """
    purposes = {old_tokenizer.purpose, old_cipher.purpose, new_tokenizer.purpose}
    if len(purposes | {new_cipher.purpose}) != 1:
        raise InputError("rotation keeps the purpose: every key must be used for one purpose")
    out = table.copy()
    for column in columns:
        companion = column + REVERSIBLE_SUFFIX
        if companion not in table.columns:
            raise InputError(
                "has only one-way HMAC tokens, which cannot be re-keyed without the raw ids; "
                "re-run privseg apply on the source with the new key (README, key rotation)",
                column=column,
            )
        normalized = old_cipher.decrypt(table[companion], column=column)
        expected = old_tokenizer.tokenize_normalized(normalized)
        if not expected.equals(table[column].astype("str")):
            raise InputError(
                "tokens do not match the old key and its ciphertexts: wrong --old-key?",
                column=column,
            )
        out[column] = new_tokenizer.tokenize_normalized(normalized)
        out[companion] = new_cipher.encrypt_normalized(normalized, column=column)
    return out
